-- Internal: the source a receiver vouches for (ingest_many's p_source, a webhook token's source)
-- is a name like a payload's "source": non-empty, trimmed, at most 64 characters, no control
-- characters (it is stored on every event, and is the key of the indicator link). A wrong one
-- is the caller's error, not a payload's: it raises (invalid_parameter_value). NULL: none.
CREATE OR REPLACE FUNCTION sigsync._check_source(p_source text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_source IS NOT NULL
       AND (p_source = '' OR p_source <> btrim(p_source) OR length(p_source) > 64 OR p_source ~ '[[:cntrl:]]') THEN
        RAISE EXCEPTION 'sigsync: the source % is not a source name (non-empty, trimmed, at most 64 characters)',
                        left(quote_literal(p_source), 80)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;
COMMENT ON FUNCTION sigsync._check_source(text) IS
    'Internal: raise unless a source a caller vouches for is a valid source name (NULL passes).';
REVOKE ALL ON FUNCTION sigsync._check_source(text) FROM PUBLIC;
