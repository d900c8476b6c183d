-- Internal: why a payload value is not an acceptable number: NULL when it is one (or is absent),
-- else 'non_numeric' or 'non_finite'. Numbers may be JSON numbers or numeric strings.
-- (No backslash in a literal of a function body: its meaning would depend on the caller's
-- standard_conforming_strings.)
CREATE OR REPLACE FUNCTION sigsync._num_error(p_value jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN p_value IS NULL OR jsonb_typeof(p_value) IN ('null', 'number') THEN NULL
        WHEN jsonb_typeof(p_value) <> 'string' THEN 'non_numeric'
        WHEN btrim(p_value #>> '{}') ~* '^[+-]?(inf|infinity|nan)$' THEN 'non_finite'
        WHEN btrim(p_value #>> '{}') ~ '^[+-]?([0-9]{1,30}([.][0-9]{0,20})?|[.][0-9]{1,20})([eE][+-]?[0-9]{1,3})?$' THEN NULL
        ELSE 'non_numeric'
    END
$$;
COMMENT ON FUNCTION sigsync._num_error(jsonb) IS
    'Internal: NULL when a payload value is a finite number (JSON number or numeric string), else non_numeric / non_finite.';
REVOKE ALL ON FUNCTION sigsync._num_error(jsonb) FROM PUBLIC;
