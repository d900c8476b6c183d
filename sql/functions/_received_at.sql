-- Internal: when ingest received a call's bodies, from the time its caller gives (ingest_many's
-- p_received_at: a receiver that kept the bodies, serve's spool, says when it got them). NULL:
-- now (clock_timestamp()); never a time to come (the clock, at most). It stands in for a
-- missing timestamp and bounds future ones, so it must be a time an event may have: one before
-- 2000 (the bound of event times, _parse_ts) or infinite is the caller's error, not a
-- payload's, and raises (invalid_parameter_value). A time in the past is a replay and is kept;
-- rejected_events is pruned by when a row was stored (stored_at), so a replay's old time cannot
-- make its rejections go at the next cycle.
CREATE OR REPLACE FUNCTION sigsync._received_at(p_received_at timestamptz)
RETURNS timestamptz
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT isfinite(p_received_at) OR p_received_at < '2000-01-01 00:00:00+00' THEN
        RAISE EXCEPTION 'sigsync: p_received_at % is not a receipt time (one from 2000 on; leave it out for now)',
                        p_received_at
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN least(coalesce(p_received_at, clock_timestamp()), clock_timestamp());
END
$$;
COMMENT ON FUNCTION sigsync._received_at(timestamptz) IS
    'Internal: the receipt time of an ingest call: p_received_at (NULL: now), never later than now; raises for one '
    'before 2000 or infinite.';
REVOKE ALL ON FUNCTION sigsync._received_at(timestamptz) FROM PUBLIC;
