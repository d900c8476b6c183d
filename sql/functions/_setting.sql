-- Internal: the value of one setting (jsonb); raises when the key is unknown.
CREATE OR REPLACE FUNCTION sigsync._setting(p_key text)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_value jsonb;
BEGIN
    SELECT s.value INTO v_value FROM sigsync.settings s WHERE s.key = p_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sigsync: unknown setting "%"', p_key
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT key, value, description FROM sigsync.settings lists the settings.';
    END IF;
    RETURN v_value;
END
$$;
COMMENT ON FUNCTION sigsync._setting(text) IS 'Internal: value of a sigsync setting as jsonb (raises for an unknown key).';
REVOKE ALL ON FUNCTION sigsync._setting(text) FROM PUBLIC;
