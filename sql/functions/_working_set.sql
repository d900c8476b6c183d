-- Internal: a reconcile cycle's working set, locked in key order; rows another transaction
-- holds right now are skipped (they stay marked for the next cycle). Full: every signal.
-- Incremental: the signals that changed (dirty), those whose time-driven check is due
-- (next_check_at <= p_now), those of the sync requests this cycle closed (p_closed_*), those
-- whose indicator went offline, came back or changed its not-tracking list since the last
-- cycle, and, when p_now is earlier than the last cycle's (the schedules were computed for the
-- later time), every active signal; each through its own index. Each row comes with its
-- dirty_gen as taken, so that the cycle clears only marks nobody set again since.
-- Then records the indicator state this cycle takes into account (indicator_status.checked_*).
CREATE OR REPLACE FUNCTION sigsync._working_set(p_run_id bigint, p_now timestamptz, p_full boolean,
                                                p_closed_symbols text[], p_closed_trade_ids text[])
RETURNS TABLE (symbol text, trade_id text, source text, dirty_gen bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rewound boolean := false;
BEGIN
    IF p_full THEN
        RETURN QUERY
            SELECT s.symbol, s.trade_id, s.source, s.dirty_gen
              FROM sigsync.signals s
             ORDER BY s.symbol, s.trade_id
               FOR NO KEY UPDATE SKIP LOCKED;
    ELSE
        v_rewound := p_now < (SELECT r.p_now FROM sigsync.sync_runs r
                               WHERE r.status = 'ok' AND r.id <> p_run_id
                               ORDER BY r.started_at DESC LIMIT 1);
        RETURN QUERY
            WITH seen AS (
                SELECT i.source, sigsync._indicator_online(i.last_heartbeat_at, p_now) AS online,
                       i.checked_online, coalesce(i.not_tracking, '{}') AS nt,
                       coalesce(i.checked_not_tracking, '{}') AS cnt
                  FROM sigsync.indicator_status i
            ),
            changed AS (
                SELECT s.symbol, s.trade_id
                  FROM seen
                  JOIN sigsync.signals s ON s.status = 'active' AND coalesce(s.source, 'indicator') = seen.source
                 WHERE seen.online IS DISTINCT FROM seen.checked_online
                UNION
                SELECT s.symbol, s.trade_id
                  FROM seen
                 CROSS JOIN LATERAL unnest(seen.nt || seen.cnt) d(trade_id)
                  JOIN sigsync.signals s ON s.trade_id = d.trade_id AND coalesce(s.source, 'indicator') = seen.source
                 WHERE NOT (d.trade_id = ANY (seen.nt) AND d.trade_id = ANY (seen.cnt))
            )
            SELECT s.symbol, s.trade_id, s.source, s.dirty_gen
              FROM sigsync.signals s
             WHERE (s.symbol, s.trade_id) IN (
                    SELECT d.symbol, d.trade_id FROM sigsync.signals d WHERE d.dirty
                    UNION
                    SELECT d.symbol, d.trade_id FROM sigsync.signals d WHERE d.next_check_at <= p_now
                    UNION
                    SELECT d.symbol, d.trade_id FROM sigsync.signals d WHERE v_rewound AND d.status = 'active'
                    UNION
                    SELECT c.symbol, c.trade_id FROM changed c
                    UNION
                    SELECT k.symbol, k.trade_id FROM unnest(p_closed_symbols, p_closed_trade_ids) k(symbol, trade_id))
             ORDER BY s.symbol, s.trade_id
               FOR NO KEY UPDATE SKIP LOCKED;
    END IF;

    -- the indicator state this cycle has taken into account; a row an ingest holds right now is
    -- left for the next cycle (never waited for: a session idle in transaction after an ingest
    -- must not stall the cycle, which holds its working set's rows meanwhile)
    UPDATE sigsync.indicator_status i
       SET checked_online = sigsync._indicator_online(i.last_heartbeat_at, p_now),
           checked_not_tracking = coalesce(i.not_tracking, '{}')
      FROM (SELECT x.source FROM sigsync.indicator_status x
             WHERE x.checked_online IS DISTINCT FROM sigsync._indicator_online(x.last_heartbeat_at, p_now)
                OR x.checked_not_tracking IS DISTINCT FROM coalesce(x.not_tracking, '{}')
               FOR NO KEY UPDATE SKIP LOCKED) k
     WHERE i.source = k.source;
END
$$;
COMMENT ON FUNCTION sigsync._working_set(bigint, timestamptz, boolean, text[], text[]) IS
    'Internal: the signals a reconcile cycle processes (changed, due, closed requests, indicator changes; all when full), '
    'locked, with their dirty_gen.';
REVOKE ALL ON FUNCTION sigsync._working_set(bigint, timestamptz, boolean, text[], text[]) FROM PUBLIC;
