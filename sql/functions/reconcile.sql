-- Public: one reconcile cycle (DESIGN §2, §5-9), in the caller's transaction.
--
-- Single-flight: when another cycle holds the lock, returns {"status": "skipped"} at once,
-- naming the backend that holds it (and records the skipped run). Incremental by default:
-- the working set is what changed or is due (_working_set); an unchanged registry costs
-- nothing however large. p_full re-checks every signal. A p_now later than now() plus
-- max_clock_skew is refused: a wrong clock must not schedule, fill or prune as of a time that
-- has not come.
--
-- The steps, in order:
--   1. close answered sync requests, time out old ones     _expire_sync_requests
--   2. the working set, locked                              _working_set
--   3. per signal: fills (Tier 0/3, targets), cancellations,
--      Tier 2, gaps and health, work marks                  _cycle_signals
--      a signal that makes them fail is isolated (_failing_signals): its work is undone, it is
--      reported (summary "failed", audit 'error', signals.set_aside_at) and left alone until it
--      changes again or a full cycle; the others are reconciled (past 100 isolated signals in
--      one cycle, the rest waits, marked, for the next cycle: "signals_deferred")
--   4. Tier 1: ask the indicator for what only it can fill  _request_sync
--   5. history past its retention (wall clock)              _prune_history
--   6. the summary: returned and stored in sync_runs, with the registry-wide health figures
--      (sigsync._health_totals: what the writes since the last cycle changed, not a count)
-- Every write is audited with this run's id. Results do not depend on the caller's session
-- settings (_pin_session_settings, at the end of this file).
CREATE OR REPLACE FUNCTION sigsync.reconcile(p_now timestamptz DEFAULT now(), p_full boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_max_failed constant integer := 100;   -- signals one cycle isolates at most (the rest wait for the next)
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
    v_all_syms text[];
    v_all_tids text[];
    v_all_gens bigint[];
    v_syms text[];
    v_tids text[];
    v_srcs text[];
    v_gens bigint[];
    v_steps jsonb;
    v_failed jsonb := '[]'::jsonb;
    v_found jsonb;
    v_step_error text;
    v_deferred integer := 0;
    v_requests integer;
    v_pruned bigint;
    v_fills jsonb;
    v_upgrades integer;
    v_anomalies integer;
    v_opened integer;
    v_closed integer;
    v_summary jsonb;
    v_registry jsonb;
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
        v_all_syms := v_syms;
        v_all_tids := v_tids;
        v_all_gens := v_gens;

        -- 3. per-signal steps; a signal that makes them fail is isolated and the rest go on
        LOOP
            BEGIN
                v_steps := sigsync._cycle_signals(v_run, p_now, v_syms, v_tids, v_srcs, v_gens);
                EXIT;
            EXCEPTION
                WHEN others THEN
                    IF sigsync._transient(SQLSTATE) THEN
                        RAISE;
                    END IF;
                    v_step_error := SQLERRM;
            END;
            v_found := sigsync._failing_signals(v_run, p_now, v_syms, v_tids, v_srcs, v_gens,
                                                c_max_failed - jsonb_array_length(v_failed));
            IF jsonb_array_length(v_found) = 0 AND jsonb_array_length(v_failed) >= c_max_failed THEN
                -- as many set aside as one cycle isolates: the rest waits for the next cycle
                -- (it stays marked), which sets aside the next ones; no cycle halts for good
                v_deferred := cardinality(v_syms);
                v_syms := '{}';
                v_tids := '{}';
                v_srcs := '{}';
                v_gens := '{}';
                EXIT;
            ELSIF jsonb_array_length(v_found) = 0 THEN
                RAISE EXCEPTION '%', v_step_error;   -- not one signal's doing: the cycle fails
            END IF;
            v_failed := v_failed || v_found;
            SELECT coalesce(array_agg(k.symbol ORDER BY k.o), '{}'), coalesce(array_agg(k.trade_id ORDER BY k.o), '{}'),
                   coalesce(array_agg(k.source ORDER BY k.o), '{}'), coalesce(array_agg(k.gen ORDER BY k.o), '{}')
              INTO v_syms, v_tids, v_srcs, v_gens
              FROM unnest(v_syms, v_tids, v_srcs, v_gens) WITH ORDINALITY k(symbol, trade_id, source, gen, o)
             WHERE NOT v_found @> jsonb_build_array(jsonb_build_object('symbol', k.symbol, 'trade_id', k.trade_id));
            IF cardinality(v_syms) = 0 AND jsonb_array_length(v_failed) > 1 THEN
                -- every signal fails: a fault of the cycle, not of its signals (none is set aside)
                RAISE EXCEPTION 'every signal of the working set failed: %', v_step_error;
            END IF;
        END LOOP;
        -- the isolated signals: reported, and left alone until they change again (or a full cycle)
        WITH f AS (
            SELECT f.symbol, f.trade_id, f.error, k.gen
              FROM jsonb_to_recordset(v_failed) f(symbol text, trade_id text, error text)
              JOIN unnest(v_all_syms, v_all_tids, v_all_gens) k(symbol, trade_id, gen)
                ON k.symbol = f.symbol AND k.trade_id = f.trade_id
        ),
        audit AS (
            INSERT INTO sigsync.sync_audit_log (symbol, trade_id, run_id, action_type, reason)
            SELECT f.symbol, f.trade_id, v_run, 'error',
                   'the cycle could not process this signal and left it alone until it changes again (or a full '
                   || 'cycle): ' || f.error
              FROM f
            RETURNING 1
        )
        UPDATE sigsync.signals s
           SET dirty = false, next_check_at = NULL, set_aside_at = clock_timestamp()
          FROM f
         WHERE s.symbol = f.symbol AND s.trade_id = f.trade_id AND s.dirty_gen = f.gen;

        -- 4. Tier 1: ask the indicator for what only it can fill
        v_requests := sigsync._request_sync(v_run, p_now, v_srcs, v_syms, v_tids);

        -- 5. bounded history (retention settings, by the wall clock)
        v_pruned := sigsync._prune_history(p_now);

        -- 6. the summary
        SELECT coalesce(jsonb_object_agg(t.tier, t.n), '{}') INTO v_fills
          FROM (SELECT a.tier, count(*) AS n FROM sigsync.sync_audit_log a
                 WHERE a.run_id = v_run AND a.action_type IN ('fill', 'upgrade', 'refresh')
                 GROUP BY a.tier) t;
        SELECT count(*) FILTER (WHERE a.action_type = 'upgrade'),
               count(*) FILTER (WHERE a.action_type IN ('anomaly', 'conflict'))
          INTO v_upgrades, v_anomalies
          FROM sigsync.sync_audit_log a
         WHERE a.run_id = v_run;
        SELECT coalesce(sum(x.after - x.before) FILTER (WHERE x.after > x.before), 0),
               coalesce(sum(x.before - x.after) FILTER (WHERE x.before > x.after), 0)
          INTO v_opened, v_closed
          FROM (SELECT coalesce((v_steps -> 'gaps_before' ->> t.gap_type)::integer, 0) AS before,
                       coalesce((v_steps -> 'gaps_after' ->> t.gap_type)::integer, 0) AS after
                  FROM sigsync.gap_types t) x;

        v_registry := sigsync._health_totals();
        v_summary := jsonb_build_object(
            'status', 'ok',
            'run_id', v_run,
            'trigger', v_trigger,
            'p_now', p_now,
            'full', p_full,
            'signals_processed', cardinality(v_syms),
            'signals_failed', jsonb_array_length(v_failed),
            'failed', v_failed,
            'signals_deferred', v_deferred,
            'gaps_before', coalesce(v_steps -> 'gaps_before', '{}'),
            'gaps_after', coalesce(v_steps -> 'gaps_after', '{}'),
            'mean_health', v_steps -> 'mean_health',
            -- the whole registry after the cycle (the figures above are its working set's)
            'registry_signals', v_registry -> 'signals',
            'registry_mean_health', v_registry -> 'mean_health',
            'registry_open_gaps', v_registry -> 'open_gaps',
            'gaps_opened', v_opened,
            'gaps_closed', v_closed,
            'fills_by_tier', v_fills,
            'upgrades', v_upgrades,
            'cancellations_inferred', coalesce(v_steps -> 'cancellations_inferred', '0'),
            'cancellations_reverted', coalesce(v_steps -> 'cancellations_reverted', '0'),
            'anomalies', v_anomalies,
            'sync_requests', v_requests,
            'sync_timeouts', v_timeouts,
            'pruned', v_pruned,
            'duration_ms', round(extract(epoch FROM clock_timestamp() - v_started) * 1000, 3));

        UPDATE sigsync.sync_runs
           SET finished_at = clock_timestamp(),
               duration_ms = (v_summary ->> 'duration_ms')::numeric,
               status = 'ok',
               signals_processed = cardinality(v_syms),
               gaps_before = v_summary -> 'gaps_before',
               gaps_after = v_summary -> 'gaps_after',
               fills_by_tier = v_fills,
               upgrades = v_upgrades,
               cancellations_inferred = (v_summary ->> 'cancellations_inferred')::integer,
               cancellations_reverted = (v_summary ->> 'cancellations_reverted')::integer,
               anomalies = v_anomalies,
               summary = v_summary
         WHERE id = v_run;
        RETURN v_summary;
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
