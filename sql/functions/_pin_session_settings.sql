-- Internal, for the function files: pin on a public function the session settings its results
-- could depend on, declared once here, so that they are the same whatever the caller's
-- settings (issue "trust under hostile input"): literals (standard_conforming_strings), the
-- text of times and intervals in messages and JSON (TimeZone, DateStyle, IntervalStyle) and of
-- numbers (extra_float_digits). Every public function file calls it for its function after
-- creating it (search_path is pinned in each CREATE, as for every function). A SET clause
-- holds for the whole call, so what the function calls runs under the same settings.
CREATE OR REPLACE FUNCTION sigsync._pin_session_settings(p_function regprocedure)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('ALTER FUNCTION %s SET TimeZone = %L SET DateStyle = %L SET IntervalStyle = %L '
                   'SET extra_float_digits = 1 SET standard_conforming_strings = on',
                   p_function, 'UTC', 'ISO, YMD', 'postgres');
END
$$;
COMMENT ON FUNCTION sigsync._pin_session_settings(regprocedure) IS
    'Internal (migrations): pin TimeZone, DateStyle, IntervalStyle, extra_float_digits and standard_conforming_strings '
    'on a public function.';
REVOKE ALL ON FUNCTION sigsync._pin_session_settings(regprocedure) FROM PUBLIC;
REVOKE ALL ON FUNCTION sigsync._pin_session_settings(regprocedure) FROM sigsync_admin;
