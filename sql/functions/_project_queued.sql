-- Internal: a reconcile cycle's first per-signal step: project the events ingest queued on the
-- given signals' rows (signals.queued_events: MFE updates, _queued), each read once by its key,
-- about c_chunk events (whole signals) at a time, and empty those queues. The caller holds the
-- rows (the working set), so no ingest appends to a queue meanwhile; an event queued after the
-- cycle took its row waits for the next cycle (the row stays marked).
-- An incremental cycle projects at most about c_budget events (whole signals): it holds its
-- rows' locks until it commits, and ingest waits on them (a webhook answer within serve's
-- --answer-timeout), so a backlog (a bulk load, a long pause of the cycles) is worked off over
-- the next cycles instead of in one long one; a signal whose queue is left keeps it, and its mark
-- (_cycle_signals), and the cycle's summary says how many wait (mfe_updates_left: `sigsync run`
-- then starts the next cycle at once). A full cycle (sync_runs.full_cycle), and a call outside a
-- cycle (p_run_id NULL: rebuild, update_signal_health), project everything.
-- Returns the number of events left queued on the given signals (0 but for a budget reached).
CREATE OR REPLACE FUNCTION sigsync._project_queued(p_run_id bigint, p_symbols text[], p_trade_ids text[])
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_chunk constant integer := 5000;
    c_budget constant integer := 5000;   -- (about 0.2-0.6 s of projection here)
    v_budget bigint := CASE WHEN p_run_id IS NULL
                                 OR (SELECT r.full_cycle FROM sigsync.sync_runs r WHERE r.id = p_run_id)
                            THEN NULL ELSE c_budget END;
    v_queued record;
    v_events sigsync.automated_signals[];
    v_left integer := 0;
BEGIN
    IF v_budget IS NOT NULL THEN   -- (without one, nothing is left)
        SELECT coalesce(sum(cardinality(o.queued_events)), 0) INTO v_left
          FROM unnest(p_symbols, p_trade_ids) k(symbol, trade_id)
          JOIN sigsync.signals o ON o.symbol = k.symbol AND o.trade_id = k.trade_id
         WHERE o.queued_events IS NOT NULL;
    END IF;
    FOR v_queued IN
        WITH per_signal AS (   -- in key order, with the number of queued events before each one
            SELECT o.symbol, o.trade_id, o.queued_events,
                   sum(cardinality(o.queued_events)) OVER (ORDER BY o.symbol, o.trade_id)
                   - cardinality(o.queued_events) AS before
              FROM unnest(p_symbols, p_trade_ids) k(symbol, trade_id)
              JOIN sigsync.signals o ON o.symbol = k.symbol AND o.trade_id = k.trade_id
             WHERE o.queued_events IS NOT NULL
        ),
        taken AS (   -- the signals this call projects, their queues emptied (RETURNING: the new row)
            UPDATE sigsync.signals s
               SET queued_events = NULL
              FROM per_signal p
             WHERE s.symbol = p.symbol AND s.trade_id = p.trade_id
               AND (v_budget IS NULL OR p.before < v_budget)
            RETURNING p.symbol, p.trade_id, p.queued_events, p.before / c_chunk AS chunk
        )
        -- a chunk holds whole signals (but for one with more than c_chunk events): the
        -- projection reads each of its signals' histories once per chunk
        SELECT array_agg(t.symbol ORDER BY t.symbol, i.id) AS symbols, array_agg(i.id ORDER BY t.symbol, i.id) AS ids
          FROM taken t CROSS JOIN LATERAL unnest(t.queued_events) i(id)
         GROUP BY t.chunk
         ORDER BY t.chunk
    LOOP
        SELECT array_agg(e ORDER BY e.symbol, e.id) INTO v_events
          FROM sigsync._events(v_queued.symbols, v_queued.ids) e;
        PERFORM sigsync._project_events(v_events, true, p_run_id, false);
        v_left := greatest(v_left - cardinality(v_queued.ids), 0);
    END LOOP;
    RETURN v_left;
END
$$;
COMMENT ON FUNCTION sigsync._project_queued(bigint, text[], text[]) IS
    'Internal: project the events ingest queued on the given signals (MFE updates) and empty their queues '
    '(an incremental cycle: about 5,000 events at most, the rest waits marked for the next); returns the events left.';
REVOKE ALL ON FUNCTION sigsync._project_queued(bigint, text[], text[]) FROM PUBLIC;
