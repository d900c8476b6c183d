-- Internal: close open sync requests: 'answered' once every signal asked for got an MFE
-- update after the request (projected, or queued by ingest) or is no longer active; 'timed_out' when older than
-- sync_request_timeout (audited per signal; Tier 2 then fills at once). A request's symbols
-- and trade_ids are parallel arrays (schema 0004 checks new rows; a pair with a NULL, of an
-- older row, is passed over, never a cycle's failure). Returns one row per
-- signal of each request it closed: a closed request is a change for its signals (Tier 1 may
-- ask again, Tier 2 may compete), so the cycle processes them.
CREATE OR REPLACE FUNCTION sigsync._expire_sync_requests(p_run_id bigint, p_now timestamptz)
RETURNS TABLE (request_id bigint, timed_out boolean, symbol text, trade_id text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    WITH answered AS (
        UPDATE sigsync.sync_requests r
           SET status = 'answered', closed_at = p_now
         WHERE r.status = 'open'
           AND NOT EXISTS (SELECT 1
                             FROM unnest(r.symbols, r.trade_ids) k(symbol, trade_id)
                             LEFT JOIN sigsync.signals s ON s.symbol = k.symbol AND s.trade_id = k.trade_id
                            WHERE s.status = 'active'   -- a signal no longer active needs no answer
                              AND (s.last_mfe_update_at IS NULL OR s.last_mfe_update_at <= r.created_at)
                              -- (an update ingest queued, not yet projected, answers too)
                              AND NOT EXISTS (SELECT 1 FROM unnest(s.queued_events) q(id)
                                                JOIN sigsync.automated_signals a ON a.symbol = s.symbol AND a.id = q.id
                                               WHERE a."timestamp" > r.created_at))
        RETURNING r.id, r.symbols, r.trade_ids
    )
    SELECT a.id, false, k.symbol, k.trade_id
      FROM answered a CROSS JOIN LATERAL unnest(a.symbols, a.trade_ids) k(symbol, trade_id)
     WHERE k.symbol IS NOT NULL AND k.trade_id IS NOT NULL;

    RETURN QUERY
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
         WHERE k.symbol IS NOT NULL AND k.trade_id IS NOT NULL
        RETURNING 1
    )
    SELECT t.id, true, k.symbol, k.trade_id
      FROM t CROSS JOIN LATERAL unnest(t.symbols, t.trade_ids) k(symbol, trade_id)
     WHERE k.symbol IS NOT NULL AND k.trade_id IS NOT NULL;
END
$$;
COMMENT ON FUNCTION sigsync._expire_sync_requests(bigint, timestamptz) IS
    'Internal: mark open sync requests answered (MFE updates arrived) or timed out (audited); returns their signals.';
REVOKE ALL ON FUNCTION sigsync._expire_sync_requests(bigint,timestamp with time zone) FROM PUBLIC;
