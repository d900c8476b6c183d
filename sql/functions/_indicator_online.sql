-- Internal: is an indicator online at p_now, given its last HEARTBEAT time? Online means a
-- HEARTBEAT within heartbeat_timeout of p_now (DESIGN §8); never heard of is offline.
-- Used by _indicator_answers and by reconcile (which notices the indicator going offline or
-- coming back).
CREATE OR REPLACE FUNCTION sigsync._indicator_online(p_last_heartbeat_at timestamptz, p_now timestamptz)
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(p_last_heartbeat_at >= p_now - sigsync._setting_interval('heartbeat_timeout'), false)
$$;
COMMENT ON FUNCTION sigsync._indicator_online(timestamptz, timestamptz) IS
    'Internal: true when the last HEARTBEAT is within heartbeat_timeout of p_now.';
REVOKE ALL ON FUNCTION sigsync._indicator_online(timestamp with time zone, timestamp with time zone) FROM PUBLIC;
