-- Internal: a setting as interval.
CREATE OR REPLACE FUNCTION sigsync._setting_interval(p_key text)
RETURNS interval
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (sigsync._setting(p_key) #>> '{}')::interval
$$;
COMMENT ON FUNCTION sigsync._setting_interval(text) IS 'Internal: value of a sigsync setting as interval.';
REVOKE ALL ON FUNCTION sigsync._setting_interval(text) FROM PUBLIC;
