-- Internal: close open sync requests: 'answered' once every signal asked for got an MFE
-- update after the request or is no longer active; 'timed_out' when older than sync_request_timeout (audited per
-- signal; Tier 2 then fills at once). Returns the number timed out.
CREATE OR REPLACE FUNCTION sigsync._expire_sync_requests(p_run_id bigint, p_now timestamptz)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_timed_out integer;
BEGIN
    UPDATE sigsync.sync_requests r
       SET status = 'answered', closed_at = p_now
     WHERE r.status = 'open'
       AND NOT EXISTS (SELECT 1
                         FROM unnest(r.symbols, r.trade_ids) k(symbol, trade_id)
                         LEFT JOIN sigsync.signals s ON s.symbol = k.symbol AND s.trade_id = k.trade_id
                        WHERE s.status = 'active'   -- a signal no longer active needs no answer
                          AND (s.last_mfe_update_at IS NULL OR s.last_mfe_update_at <= r.created_at));

    WITH t AS (
        UPDATE sigsync.sync_requests r
           SET status = 'timed_out', closed_at = p_now
         WHERE r.status = 'open' AND r.created_at < p_now - sigsync._setting_interval('sync_request_timeout')
        RETURNING r.id, r.symbols, r.trade_ids, r.created_at
    ),
    a AS (
        INSERT INTO sigsync.sync_audit_log (symbol, trade_id, run_id, action_type, tier, source, reason)
        SELECT k.symbol, k.trade_id, p_run_id, 'sync_timeout', '1', 'sync_request:' || t.id,
               format('sync request %s of %s unanswered past sync_request_timeout; Tier 2 fills', t.id, t.created_at)
          FROM t CROSS JOIN LATERAL unnest(t.symbols, t.trade_ids) k(symbol, trade_id)
        RETURNING 1
    )
    SELECT count(*) INTO v_timed_out FROM t;
    RETURN v_timed_out;
END
$$;
COMMENT ON FUNCTION sigsync._expire_sync_requests(bigint, timestamptz) IS
    'Internal: mark open sync requests answered (MFE updates arrived) or timed out (audited).';
REVOKE ALL ON FUNCTION sigsync._expire_sync_requests(bigint,timestamp with time zone) FROM PUBLIC;
