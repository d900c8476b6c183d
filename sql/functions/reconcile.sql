-- Public: one reconcile cycle (DESIGN §2, §5-9), in the caller's transaction.
--
-- Single-flight: when another cycle holds the lock, returns {"status": "skipped"} at once,
-- naming the backend that holds it (and records the skipped run). Incremental by default:
-- the working set is what changed or is due (_working_set); an unchanged registry costs
-- nothing however large. p_full re-checks every signal. A p_now later than now() plus
-- max_clock_skew is refused: a wrong clock must not schedule, fill or prune as of a time that
-- has not come; so is one before 2000 (-infinity included). Every write is audited with this
-- run's id. Results do not depend on the caller's session settings (_pin_session_settings, at
-- the end of this file).
--
-- The steps, in order (each one function):
--   1. sync requests: close the answered, time out the old       _expire_sync_requests
--   2. the working set, locked                                    _working_set
--   3. per signal, isolating a signal that makes them fail:       _cycle_work_set
--        the events ingest queued, Tier 0/3 and targets,          (_cycle_signals: _project_queued,
--        cancellations, Tier 2, gaps and health, work marks        _static_fills, _alternation_rule,
--        and the next check                                        _tier2_candidates, _store_health)
--   4. Tier 1: ask the indicator for what only it can fill        _request_sync
--   5. history past its retention (wall clock)                    _prune_history
--   6. the summary, returned and stored in sync_runs              _finish_run
CREATE OR REPLACE FUNCTION sigsync.reconcile(p_now timestamptz DEFAULT now(), p_full boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_trigger text := coalesce(nullif(current_setting('sigsync.trigger', true), ''),
                               CASE WHEN current_setting('application_name', true) = 'pg_cron'
                                    THEN 'pg_cron' ELSE 'manual' END);
    v_skew interval := sigsync._setting_interval('max_clock_skew');
    v_run bigint;
    v_reason text;
    v_timeouts integer;
    v_closed_syms text[];
    v_closed_tids text[];
    v_syms text[];
    v_tids text[];
    v_srcs text[];
    v_gens bigint[];
    v_cycle record;
    v_requests integer;
    v_pruned bigint;
    v_err text;
BEGIN
    IF p_now > now() + v_skew THEN
        RAISE EXCEPTION 'sigsync: p_now % is later than now() + max_clock_skew (%)', p_now, v_skew
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Leave p_now out (it defaults to now()) or pass a time that has come; check the clock.';
    END IF;
    IF p_now IS NULL OR p_full IS NULL THEN
        RAISE EXCEPTION 'sigsync: reconcile() needs a p_now and a p_full (leave them out for now() and false)'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT isfinite(p_now) OR p_now < '2000-01-01 00:00:00+00' THEN   -- (before any event time)
        RAISE EXCEPTION 'sigsync: p_now % is not a time a cycle can run at (one from 2000 on)', p_now
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Leave p_now out (it defaults to now()).';
    END IF;

    -- single flight: the row of sigsync.cycle_lock, which only sigsync_admin may lock
    PERFORM 1 FROM sigsync.cycle_lock FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        v_reason := 'another reconcile cycle is running'
                    || coalesce(format(' (backend pid %s holds the lock)', sigsync._cycle_lock_holder()), '');
        INSERT INTO sigsync.sync_runs (trigger, p_now, full_cycle, status, started_at, finished_at, duration_ms, summary)
        VALUES (v_trigger, p_now, p_full, 'skipped', v_started, clock_timestamp(),
                round(extract(epoch FROM clock_timestamp() - v_started) * 1000, 3),
                jsonb_build_object('status', 'skipped', 'reason', v_reason))
        RETURNING id INTO v_run;
        RETURN jsonb_build_object('status', 'skipped', 'run_id', v_run, 'reason', v_reason);
    END IF;

    v_started := clock_timestamp();   -- the cycle starts once it holds the lock
    INSERT INTO sigsync.sync_runs (trigger, p_now, full_cycle, started_at)
    VALUES (v_trigger, p_now, p_full, v_started)
    RETURNING id INTO v_run;

    BEGIN
        -- 1. answered and timed-out sync requests close first: their signals join this cycle
        --    (Tier 1 may ask again; Tier 2 fills at once for a timed-out one, DESIGN §8)
        SELECT count(DISTINCT e.request_id) FILTER (WHERE e.timed_out),
               coalesce(array_agg(e.symbol), '{}'), coalesce(array_agg(e.trade_id), '{}')
          INTO v_timeouts, v_closed_syms, v_closed_tids
          FROM sigsync._expire_sync_requests(v_run, p_now) e;

        -- 2. the working set
        SELECT coalesce(array_agg(w.symbol ORDER BY w.symbol, w.trade_id), '{}'),
               coalesce(array_agg(w.trade_id ORDER BY w.symbol, w.trade_id), '{}'),
               coalesce(array_agg(w.source ORDER BY w.symbol, w.trade_id), '{}'),
               coalesce(array_agg(w.dirty_gen ORDER BY w.symbol, w.trade_id), '{}')
          INTO v_syms, v_tids, v_srcs, v_gens
          FROM sigsync._working_set(v_run, p_now, p_full, v_closed_syms, v_closed_tids) w;

        -- 3. the per-signal steps
        SELECT * INTO v_cycle FROM sigsync._cycle_work_set(v_run, p_now, v_syms, v_tids, v_srcs, v_gens);

        -- 4. Tier 1
        v_requests := sigsync._request_sync(v_run, p_now, v_cycle.sources, v_cycle.symbols, v_cycle.trade_ids);

        -- 5. bounded history
        v_pruned := sigsync._prune_history(p_now);

        -- 6. the summary
        RETURN sigsync._finish_run(v_run, v_started, jsonb_build_object(
            'trigger', v_trigger, 'p_now', p_now, 'full', p_full,
            'steps', v_cycle.steps,
            'signals_processed', cardinality(v_cycle.symbols),
            'failed', v_cycle.failed,
            'signals_deferred', v_cycle.deferred,
            'sync_requests', v_requests,
            'sync_timeouts', v_timeouts,
            'pruned', v_pruned));
    EXCEPTION WHEN others THEN
        -- the cycle's work is rolled back (this block); the failure itself is recorded
        GET STACKED DIAGNOSTICS v_err = MESSAGE_TEXT;
        UPDATE sigsync.sync_runs
           SET finished_at = clock_timestamp(),
               duration_ms = round(extract(epoch FROM clock_timestamp() - v_started) * 1000, 3),
               status = 'error', error = v_err,
               summary = jsonb_build_object('status', 'error', 'run_id', v_run, 'error', v_err)
         WHERE id = v_run;
        RETURN jsonb_build_object('status', 'error', 'run_id', v_run, 'error', v_err);
    END;
END
$$;
COMMENT ON FUNCTION sigsync.reconcile(timestamptz, boolean) IS
    'One reconcile cycle at p_now (default now(); a time later than now() + max_clock_skew is refused): fills '
    '(Tier 0/1/2/3), cancellations, gaps, health, audit; incremental unless p_full. A signal the cycle cannot process is '
    'isolated and reported (summary "failed"). Single-flight: a concurrent call returns {"status": "skipped"}. Returns '
    'the cycle summary (also stored in sigsync.sync_runs). Example: SELECT sigsync.reconcile();';
REVOKE ALL ON FUNCTION sigsync.reconcile(timestamptz, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync.reconcile(timestamptz, boolean) TO sigsync_admin;
SELECT sigsync._pin_session_settings('sigsync.reconcile(timestamptz, boolean)');
