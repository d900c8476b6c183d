-- Internal: a payload value as shown in an error message: its JSON text, cut to 60 characters
-- (a message never repeats a large value whole).
CREATE OR REPLACE FUNCTION sigsync._excerpt(p_value jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN length(t) > 60 THEN left(t, 57) || '...' ELSE t END
      FROM (SELECT coalesce(p_value::text, 'null') AS t) x
$$;
COMMENT ON FUNCTION sigsync._excerpt(jsonb) IS 'Internal: a JSON value for an error message, at most 60 characters.';
REVOKE ALL ON FUNCTION sigsync._excerpt(jsonb) FROM PUBLIC;
