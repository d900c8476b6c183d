-- Internal: can the indicator still be asked for this signal's MFE/MAE (Tier 1)?
-- No when it is offline (no HEARTBEAT within heartbeat_timeout of p_now, or never heard of),
-- when its latest SYNC_STATUS says it is not tracking the signal, or when a sync request for
-- the signal timed out unanswered. Then Tier 2 fills at once (DESIGN §8).
CREATE OR REPLACE FUNCTION sigsync._indicator_can_answer(p_source text, p_symbol text, p_trade_id text, p_now timestamptz)
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((
        SELECT sigsync._indicator_online(i.last_heartbeat_at, p_now)
               AND NOT (p_trade_id = ANY (coalesce(i.not_tracking, '{}')))
          FROM sigsync.indicator_status i
         WHERE i.source = coalesce(p_source, 'indicator')), false)
       AND NOT EXISTS (SELECT 1
                         FROM sigsync.sync_requests r
                        CROSS JOIN LATERAL unnest(r.symbols, r.trade_ids) k(symbol, trade_id)
                        WHERE r.status = 'timed_out' AND k.symbol = p_symbol AND k.trade_id = p_trade_id
                          AND r.closed_at > p_now - sigsync._sync_request_hold())
$$;
COMMENT ON FUNCTION sigsync._indicator_can_answer(text, text, text, timestamptz) IS
    'Internal: true when the indicator is online, tracks the signal and has not let a request for it time out.';
REVOKE ALL ON FUNCTION sigsync._indicator_can_answer(text, text, text, timestamp with time zone) FROM PUBLIC;
