-- Internal: a reconcile cycle's first per-signal step: project the events ingest queued on the
-- given signals' rows (signals.queued_events: MFE updates, _queued), each read once by its key,
-- about c_chunk events (whole signals) at a time (a first cycle after a bulk load may find
-- millions), and empty the
-- queues. The caller holds the rows (the working set), so no ingest appends to a queue
-- meanwhile; an event queued after the cycle took its row waits for the next cycle (the row
-- stays marked). Returns the number of events projected.
CREATE OR REPLACE FUNCTION sigsync._project_queued(p_run_id bigint, p_symbols text[], p_trade_ids text[])
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_chunk constant integer := 5000;
    v_queued record;
    v_events sigsync.automated_signals[];
    v_count integer := 0;
BEGIN
    FOR v_queued IN
        WITH q AS (
            UPDATE sigsync.signals s
               SET queued_events = NULL
              FROM (SELECT o.symbol, o.trade_id, o.queued_events      -- (RETURNING sees the new row:
                      FROM unnest(p_symbols, p_trade_ids) k(symbol, trade_id)    -- the queue as it was)
                      JOIN sigsync.signals o ON o.symbol = k.symbol AND o.trade_id = k.trade_id
                     WHERE o.queued_events IS NOT NULL) k
             WHERE s.symbol = k.symbol AND s.trade_id = k.trade_id
            RETURNING k.symbol, k.trade_id, k.queued_events
        ),
        per_signal AS (   -- whole signals per chunk (the projection reads each one's history per chunk)
            SELECT q.symbol, q.queued_events,
                   (sum(cardinality(q.queued_events)) OVER (ORDER BY q.symbol, q.trade_id)
                    - cardinality(q.queued_events)) / c_chunk AS chunk
              FROM q
        )
        SELECT array_agg(p.symbol ORDER BY p.symbol, i.id) AS symbols, array_agg(i.id ORDER BY p.symbol, i.id) AS ids
          FROM per_signal p CROSS JOIN LATERAL unnest(p.queued_events) i(id)
         GROUP BY p.chunk
         ORDER BY p.chunk
    LOOP
        SELECT array_agg(e ORDER BY e.symbol, e.id) INTO v_events
          FROM sigsync._events(v_queued.symbols, v_queued.ids) e;
        PERFORM sigsync._project_events(v_events, true, p_run_id, false);
        v_count := v_count + cardinality(v_queued.ids);
    END LOOP;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION sigsync._project_queued(bigint, text[], text[]) IS
    'Internal: project the events ingest queued on the given signals (MFE updates) and empty their queues.';
REVOKE ALL ON FUNCTION sigsync._project_queued(bigint, text[], text[]) FROM PUBLIC;
