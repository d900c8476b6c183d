-- Internal: a setting as numeric.
CREATE OR REPLACE FUNCTION sigsync._setting_numeric(p_key text)
RETURNS numeric
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (sigsync._setting(p_key) #>> '{}')::numeric
$$;
COMMENT ON FUNCTION sigsync._setting_numeric(text) IS 'Internal: value of a sigsync setting as numeric.';
REVOKE ALL ON FUNCTION sigsync._setting_numeric(text) FROM PUBLIC;
