-- Internal: a setting as text (a jsonb string unquoted, anything else as its json text).
CREATE OR REPLACE FUNCTION sigsync._setting_text(p_key text)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT sigsync._setting(p_key) #>> '{}'
$$;
COMMENT ON FUNCTION sigsync._setting_text(text) IS 'Internal: value of a sigsync setting as text.';
REVOKE ALL ON FUNCTION sigsync._setting_text(text) FROM PUBLIC;
