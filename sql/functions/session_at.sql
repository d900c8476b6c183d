-- Public: the trading session of a moment (windows of sigsync.sessions in the `timezone` setting).
CREATE OR REPLACE FUNCTION sigsync.session_at(p_at timestamptz)
RETURNS text
LANGUAGE sql
STABLE
SECURITY DEFINER   -- sigsync_reader may call it without reading the tables it uses
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT sigsync._session_at(p_at, sigsync._setting_text('timezone'))
$$;
COMMENT ON FUNCTION sigsync.session_at(timestamptz) IS
    'Session of a moment: the sigsync.sessions window (start included, end excluded) in the timezone setting, else ''Off Hours''. '
    'Example: SELECT sigsync.session_at(''2025-12-12 10:42 America/New_York'') -> NY AM.';
GRANT EXECUTE ON FUNCTION sigsync.session_at(timestamptz) TO sigsync_reader;
REVOKE ALL ON FUNCTION sigsync.session_at(timestamp with time zone) FROM PUBLIC;
SELECT sigsync._pin_session_settings('sigsync.session_at(timestamptz)');
SELECT sigsync._definer_owns('sigsync.session_at(timestamptz)');
