-- Public: re-derive the registry from the event log (DESIGN §2). Deletes sigsync.signals
-- and projects every event again, a chunk of signals at a
-- time; fills come back with the next sigsync.reconcile(p_full => true). The audit log is
-- history and is kept. Returns the number of signals rebuilt.
CREATE OR REPLACE FUNCTION sigsync.rebuild()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_chunk record;
    v_count integer;
BEGIN
    PERFORM 1 FROM sigsync.cycle_lock FOR UPDATE;                   -- no cycle while rebuilding
    LOCK TABLE sigsync.signals IN EXCLUSIVE MODE;                   -- ingest waits; reads go on
    -- the MFE updates still queued have not been checked for anomalies: their projection (and
    -- audit) first, as the next cycle would have done; the projection below audits nothing again
    PERFORM sigsync._project_queued(NULL, array_agg(s.symbol), array_agg(s.trade_id))
       FROM sigsync.signals s WHERE s.queued_events IS NOT NULL;
    DELETE FROM sigsync.signals;   -- signal_health_metrics stay: the next cycle keeps each open gap's 'since'

    FOR v_chunk IN
        SELECT array_agg(e.e ORDER BY e.symbol, e.id) AS events
          FROM (SELECT e.symbol, e.id, e AS e,
                       dense_rank() OVER (ORDER BY e.symbol, coalesce(e.trade_id, '')) / 500 AS chunk
                  FROM sigsync.automated_signals e) e
         GROUP BY e.chunk
         ORDER BY e.chunk
    LOOP
        PERFORM sigsync._project_events(v_chunk.events, false, NULL, false);   -- (nothing queued)
    END LOOP;

    SELECT count(*) INTO v_count FROM sigsync.signals;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION sigsync.rebuild() IS
    'Re-derive sigsync.signals from the event log (then run SELECT sigsync.reconcile(p_full => true) to re-apply fills). '
    'Example: SELECT sigsync.rebuild();';
REVOKE ALL ON FUNCTION sigsync.rebuild() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync.rebuild() TO sigsync_admin;
SELECT sigsync._pin_session_settings('sigsync.rebuild()');
