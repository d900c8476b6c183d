-- Internal: can the indicator still be asked for these signals' MFE/MAE (Tier 1)? One row per
-- (source, symbol, trade_id) given; source NULL is 'indicator'. No when it is offline (no
-- HEARTBEAT within heartbeat_timeout of p_now, or never heard of), when its latest SYNC_STATUS
-- says it is not tracking the signal, or when a sync request for the signal timed out
-- unanswered within the hold (_sync_request_hold). Then Tier 2 fills at once (DESIGN §8).
-- Set-based: each indicator's state is read once per call, not once per signal.
-- (PL/pgSQL for its plan, generic and kept for the session: a SQL function makes it again at every call.)
CREATE OR REPLACE FUNCTION sigsync._indicator_answers(p_now timestamptz, p_sources text[], p_symbols text[],
                                                      p_trade_ids text[])
RETURNS TABLE (source text, symbol text, trade_id text, can_answer boolean)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
    WITH k AS (
        SELECT DISTINCT coalesce(u.source, 'indicator') AS source, u.symbol, u.trade_id
          FROM unnest(p_sources, p_symbols, p_trade_ids) u(source, symbol, trade_id)
    ),
    ind AS (   -- a handful of rows: one per indicator
        SELECT i.source, sigsync._indicator_online(i.last_heartbeat_at, p_now) AS online,
               coalesce(i.not_tracking, '{}') AS not_tracking
          FROM sigsync.indicator_status i
    ),
    held AS (
        SELECT DISTINCT h.symbol, h.trade_id
          FROM sigsync.sync_requests r
         CROSS JOIN LATERAL unnest(r.symbols, r.trade_ids) h(symbol, trade_id)
         WHERE r.status = 'timed_out' AND r.closed_at > p_now - sigsync._sync_request_hold()
    )
    SELECT k.source, k.symbol, k.trade_id,
           coalesce(ind.online AND NOT (k.trade_id = ANY (ind.not_tracking)), false) AND held.symbol IS NULL
      FROM k
      LEFT JOIN ind ON ind.source = k.source
      LEFT JOIN held ON held.symbol = k.symbol AND held.trade_id = k.trade_id;
END
$$;
COMMENT ON FUNCTION sigsync._indicator_answers(timestamptz, text[], text[], text[]) IS
    'Internal: per signal, true when its indicator is online, tracks it and has not let a request for it time out.';
REVOKE ALL ON FUNCTION sigsync._indicator_answers(timestamp with time zone, text[], text[], text[]) FROM PUBLIC;
