-- Internal: Tier 1 (DESIGN §8). For signals of the working set with an open gap only the
-- indicator can fill (no_mfe_update, no_mae), that the indicator can answer for and that no
-- open request covers yet, write ONE row into the outbox sigsync.sync_requests and send
-- NOTIFY sigsync_sync_request (payload: the request id). Returns the number of signals asked for.
CREATE OR REPLACE FUNCTION sigsync._request_sync(p_run_id bigint, p_now timestamptz, p_sources text[], p_symbols text[],
                                                 p_trade_ids text[])
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint;
    v_n integer;
BEGIN
    WITH want AS (
        SELECT m.symbol, m.trade_id,
               array_to_string(ARRAY(SELECT g FROM jsonb_object_keys(m.gaps) g
                                      WHERE g IN ('no_mfe_update', 'no_mae') ORDER BY g), ',') AS reasons
          FROM sigsync._indicator_answers(p_now, p_sources, p_symbols, p_trade_ids) k
          JOIN sigsync.signal_health_metrics m ON m.symbol = k.symbol AND m.trade_id = k.trade_id
          JOIN sigsync.signals s ON s.symbol = k.symbol AND s.trade_id = k.trade_id
         WHERE (m.gaps ? 'no_mfe_update' OR m.gaps ? 'no_mae')
           AND k.can_answer
           AND NOT EXISTS (SELECT 1
                             FROM sigsync.sync_requests r
                            CROSS JOIN LATERAL unnest(r.symbols, r.trade_ids) o(symbol, trade_id)
                            WHERE r.status = 'open' AND o.symbol = s.symbol AND o.trade_id = s.trade_id)
    ),
    ins AS (
        INSERT INTO sigsync.sync_requests (run_id, trade_ids, symbols, reason, created_at)
        SELECT p_run_id, array_agg(w.trade_id ORDER BY w.symbol, w.trade_id),
               array_agg(w.symbol ORDER BY w.symbol, w.trade_id),
               string_agg(DISTINCT w.reasons, ','), p_now
          FROM want w
        HAVING count(*) > 0
        RETURNING id, cardinality(trade_ids) AS n
    )
    SELECT ins.id, ins.n INTO v_id, v_n FROM ins;

    IF v_id IS NOT NULL THEN
        INSERT INTO sigsync.sync_audit_log (symbol, trade_id, run_id, action_type, tier, source, reason)
        SELECT k.symbol, k.trade_id, p_run_id, 'sync_request', '1', 'sync_request:' || v_id,
               'asked the indicator for an MFE update (' || r.reason || ')'
          FROM sigsync.sync_requests r CROSS JOIN LATERAL unnest(r.symbols, r.trade_ids) k(symbol, trade_id)
         WHERE r.id = v_id;
        PERFORM pg_notify('sigsync_sync_request', v_id::text);
    END IF;
    RETURN coalesce(v_n, 0);
END
$$;
COMMENT ON FUNCTION sigsync._request_sync(bigint, timestamptz, text[], text[], text[]) IS
    'Internal: Tier 1 — one sync request per cycle for the signals only the indicator can fill, with NOTIFY.';
REVOKE ALL ON FUNCTION sigsync._request_sync(bigint, timestamp with time zone, text[], text[], text[]) FROM PUBLIC;
