-- Internal: is an indicator online at p_now, given its last HEARTBEAT time? Online means a
-- HEARTBEAT within heartbeat_timeout of p_now (DESIGN §8); never heard of is offline. The one
-- home of that rule: _indicator_answers and reconcile (which notices the indicator going
-- offline or coming back) call it, and so do the views indicator_link and, through it,
-- system_health (so sigsync_reader may call it: it reads the setting as sigsync_definer).
CREATE OR REPLACE FUNCTION sigsync._indicator_online(p_last_heartbeat_at timestamptz, p_now timestamptz)
RETURNS boolean
LANGUAGE sql
STABLE
SECURITY DEFINER   -- sigsync_reader may call it without reading sigsync.settings
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(p_last_heartbeat_at >= p_now - sigsync._setting_interval('heartbeat_timeout'), false)
$$;
COMMENT ON FUNCTION sigsync._indicator_online(timestamptz, timestamptz) IS
    'Internal: true when the last HEARTBEAT is within heartbeat_timeout of p_now.';
REVOKE ALL ON FUNCTION sigsync._indicator_online(timestamp with time zone, timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync._indicator_online(timestamptz, timestamptz) TO sigsync_reader, sigsync_admin;
SELECT sigsync._definer_owns('sigsync._indicator_online(timestamptz, timestamptz)');
