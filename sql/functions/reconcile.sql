-- Public: one reconcile cycle (DESIGN §2, §5-9), in the caller's transaction.
--
-- Single-flight: when another cycle holds the lock, returns {"status": "skipped"} at once
-- (and records the skipped run). Incremental by default: the working set is the signals
-- marked dirty (by ingest, by a bar correction, by a fill) since the last cycle, the signals
-- whose time-driven check is due (next_check_at <= p_now: an MFE going stale, a new bar to
-- walk, a timed-out sync request's hold ending), the signals of the sync requests this cycle
-- closes, and the signals whose indicator went offline, came back or changed its not-tracking
-- list; found through indexes, locked in key
-- order with SKIP LOCKED (a signal being ingested right now stays dirty for the next cycle).
-- An unchanged registry costs nothing however large. A cycle at an earlier p_now than the
-- last one also re-checks every active signal. p_full re-checks every signal.
--
-- Steps: close or time out sync requests -> working set -> Tier 0 / Tier 3 / targets fills ->
-- cancellation (alternation rule) -> Tier 2 bar walk (missed exits always; running metrics whenever the indicator cannot answer) -> gaps
-- and health -> Tier 1 sync requests -> prune history past its retention -> clear the work marks.
-- Every write is audited with this run's id; the summary is stored in sync_runs and returned.
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
    v_run bigint;
    v_syms text[];
    v_tids text[];
    v_srcs text[];
    v_rewound boolean;
    v_before jsonb;
    v_after jsonb;
    v_opened integer;
    v_closed integer;
    v_cancel jsonb;
    v_tier2 sigsync._candidate[];
    v_fills jsonb;
    v_upgrades integer;
    v_anomalies integer;
    v_requests integer := 0;
    v_timeouts integer := 0;
    v_pruned bigint;
    v_health numeric;
    v_check_syms text[];
    v_check_tids text[];
    v_check_at timestamptz[];
    v_closed_syms text[];
    v_closed_tids text[];
    v_summary jsonb;
    v_err text;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('sigsync.reconcile')) THEN
        INSERT INTO sigsync.sync_runs (trigger, p_now, full_cycle, status, started_at, finished_at, duration_ms, summary)
        VALUES (v_trigger, p_now, p_full, 'skipped', v_started, clock_timestamp(),
                round(extract(epoch FROM clock_timestamp() - v_started) * 1000, 3),
                '{"status": "skipped", "reason": "another reconcile cycle is running"}')
        RETURNING id INTO v_run;
        RETURN jsonb_build_object('status', 'skipped', 'run_id', v_run,
                                  'reason', 'another reconcile cycle is running');
    END IF;

    v_started := clock_timestamp();   -- the cycle starts once it holds the lock
    INSERT INTO sigsync.sync_runs (trigger, p_now, full_cycle, started_at)
    VALUES (v_trigger, p_now, p_full, v_started)
    RETURNING id INTO v_run;

    BEGIN
        -- 0. close answered sync requests and time out old ones first: their signals join this
        --    cycle (Tier 1 may ask again; Tier 2 fills at once for a timed-out one, DESIGN §8)
        SELECT count(DISTINCT e.request_id) FILTER (WHERE e.timed_out),
               coalesce(array_agg(e.symbol), '{}'), coalesce(array_agg(e.trade_id), '{}')
          INTO v_timeouts, v_closed_syms, v_closed_tids
          FROM sigsync._expire_sync_requests(v_run, p_now) e;

        -- 1. working set, locked in key order; busy rows are skipped (they stay dirty)
        SELECT coalesce(array_agg(w.symbol ORDER BY w.symbol, w.trade_id), '{}'),
               coalesce(array_agg(w.trade_id ORDER BY w.symbol, w.trade_id), '{}'),
               coalesce(array_agg(w.source ORDER BY w.symbol, w.trade_id), '{}')
          INTO v_syms, v_tids, v_srcs
          FROM (SELECT s.symbol, s.trade_id, s.source
                  FROM sigsync.signals s
                 WHERE p_full
                 ORDER BY s.symbol, s.trade_id
                   FOR NO KEY UPDATE SKIP LOCKED) w;
        IF NOT p_full THEN
            -- the signals that changed (dirty), those whose time-driven check is due
            -- (next_check_at), and those whose indicator went offline or came back or changed
            -- its not-tracking list since the last cycle; each through its own index. A cycle
            -- at an earlier p_now than the last one also re-checks every active signal (their
            -- schedules were computed for the later time).
            v_rewound := p_now < (SELECT r.p_now FROM sigsync.sync_runs r
                                   WHERE r.status = 'ok' AND r.id <> v_run
                                   ORDER BY r.started_at DESC LIMIT 1);
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
            SELECT coalesce(array_agg(w.symbol ORDER BY w.symbol, w.trade_id), '{}'),
                   coalesce(array_agg(w.trade_id ORDER BY w.symbol, w.trade_id), '{}'),
                   coalesce(array_agg(w.source ORDER BY w.symbol, w.trade_id), '{}')
              INTO v_syms, v_tids, v_srcs
              FROM (SELECT s.symbol, s.trade_id, s.source
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
                            SELECT k.symbol, k.trade_id FROM unnest(v_closed_syms, v_closed_tids) k(symbol, trade_id))
                     ORDER BY s.symbol, s.trade_id
                       FOR NO KEY UPDATE SKIP LOCKED) w;
        END IF;
        -- the indicator state this cycle has taken into account
        UPDATE sigsync.indicator_status i
           SET checked_online = sigsync._indicator_online(i.last_heartbeat_at, p_now),
               checked_not_tracking = coalesce(i.not_tracking, '{}')
         WHERE i.checked_online IS DISTINCT FROM sigsync._indicator_online(i.last_heartbeat_at, p_now)
            OR i.checked_not_tracking IS DISTINCT FROM coalesce(i.not_tracking, '{}');

        SELECT coalesce(jsonb_object_agg(t.gap_type, t.n), '{}') INTO v_before
          FROM (SELECT g.key AS gap_type, count(*) AS n
                  FROM sigsync._open_gaps(p_now, v_syms, v_tids) o, jsonb_each(o.gaps) g
                 GROUP BY g.key) t;

        -- 2. Tier 0 / Tier 3 / targets
        PERFORM sigsync._merge_candidates(sigsync._static_fills(v_syms, v_tids), v_run, true);

        -- 3. cancellations (may touch signals just outside the working set)
        v_cancel := sigsync._infer_cancellations(v_run, v_syms, v_tids);

        -- 4. Tier 2 bar walk. Its inferences (BE trigger, EXIT_BE, missed EXIT_SL) are derived
        --    facts: recomputed from the current entry/stop/bars each time, a JSON null clearing
        --    an inference that no longer holds; they never beat an event value.
        WITH walk AS (
            SELECT w.*, a.can_answer AS indicator_can_answer,
                   s.evt_be_mfe, s.evt_be_mfe_at, s.evt_no_be_mfe, s.evt_no_be_mfe_at,
                   s.evt_mae_global_r, s.evt_mae_global_r_at,
                   s.be_triggered_at AS cur_trigger, s.be_exit_time AS cur_be_exit, s.exit_type AS cur_exit_type,
                   s.exit_time AS cur_exit_time, s.exit_price AS cur_exit_price, s.final_mfe AS cur_final_mfe
              FROM sigsync._bar_walk(p_now, v_syms, v_tids) w
              JOIN sigsync.signals s ON s.symbol = w.symbol AND s.trade_id = w.trade_id
              JOIN sigsync._indicator_answers(p_now, v_srcs, v_syms, v_tids) a
                ON a.source = coalesce(s.source, 'indicator') AND a.symbol = s.symbol AND a.trade_id = s.trade_id
        ),
        metric AS (
            -- running metrics: Tier 2 competes when the indicator cannot answer (offline, not
            -- tracking, timed out), or for the final values (be_mfe, no_be_mfe, MAE) of a trade
            -- whose stop the bars show; the value
            -- with the latest as-of time wins, the real one at equal time (DESIGN §6)
            SELECT w.symbol, w.trade_id, m.field, m.t2, coalesce(w.stop_ts, w.as_of) AS t2_at, m.real, m.real_at
              FROM walk w
             CROSS JOIN LATERAL (VALUES
                ('be_mfe', w.be_mfe, w.evt_be_mfe, w.evt_be_mfe_at),
                ('no_be_mfe', w.no_be_mfe, w.evt_no_be_mfe, w.evt_no_be_mfe_at),
                ('mae_global_r', w.mae_global_r, w.evt_mae_global_r, w.evt_mae_global_r_at)) m(field, t2, real, real_at)
             WHERE NOT w.indicator_can_answer OR w.stop_ts IS NOT NULL
        ),
        c AS (
            SELECT m.symbol, m.trade_id, m.field, to_jsonb(m.t2) AS value, 'replace' AS kind, m.t2_at AS at,
                   '2' AS tier, 0.8 AS conf
              FROM metric m
             WHERE m.real_at IS NULL OR m.t2_at > m.real_at
            UNION ALL
            SELECT m.symbol, m.trade_id, m.field, to_jsonb(m.real), 'replace', m.real_at, 'event', 1.0
              FROM metric m
             WHERE m.real_at IS NOT NULL AND m.t2_at <= m.real_at
            UNION ALL
            -- inferred BE trigger / EXIT_BE / EXIT_SL (missed exits)
            SELECT w.symbol, w.trade_id, x.field, coalesce(x.value, 'null'::jsonb), 'derived',
                   coalesce(x.at, w.as_of), '2', 0.8
              FROM walk w
             CROSS JOIN LATERAL (VALUES
                ('be_triggered_at', to_jsonb(w.trigger_ts), w.trigger_ts, w.cur_trigger IS NOT NULL),
                ('be_exit_time',    to_jsonb(w.be_exit_ts), w.be_exit_ts, w.cur_be_exit IS NOT NULL),
                ('exit_type',       CASE WHEN w.stop_ts IS NOT NULL THEN '"EXIT_SL"'::jsonb END, w.stop_ts,
                                    w.cur_exit_type IS NOT NULL),
                ('exit_time',       to_jsonb(w.stop_ts), w.stop_ts, w.cur_exit_time IS NOT NULL),
                ('exit_price',      CASE WHEN w.stop_ts IS NOT NULL THEN to_jsonb(w.stop_price) END, w.stop_ts,
                                    w.cur_exit_price IS NOT NULL),
                ('final_mfe',       CASE WHEN w.stop_ts IS NOT NULL THEN to_jsonb(w.no_be_mfe) END, w.stop_ts,
                                    w.cur_final_mfe IS NOT NULL)
             ) x(field, value, at, is_set)
             -- a JSON null only clears a field that is set: none to merge for an empty one
             WHERE x.value IS NOT NULL OR x.is_set
        )
        SELECT array_agg(ROW(c.symbol, c.trade_id, c.field, c.value, c.kind, c.tier, c.conf, c.at,
                             CASE WHEN c.tier = '2' THEN 'rule:bar_walk' ELSE 'events' END,
                             CASE WHEN c.tier = '2' THEN 'rule:bar_walk' ELSE 'events' END,
                             NULL, NULL)::sigsync._candidate)
          INTO v_tier2
          FROM c;
        PERFORM sigsync._merge_candidates(v_tier2, v_run, true);

        -- 5. gaps and health
        WITH g AS (
            SELECT * FROM sigsync._store_health(p_now, v_syms, v_tids)
        )
        SELECT coalesce((SELECT jsonb_object_agg(t.gap_type, t.n)
                           FROM (SELECT x.key AS gap_type, count(*) AS n
                                   FROM g, jsonb_each(g.gaps) x GROUP BY x.key) t), '{}'),
               (SELECT round(avg(g.health_score), 1) FROM g),
               (SELECT coalesce(array_agg(g.symbol ORDER BY g.symbol, g.trade_id), '{}') FROM g WHERE g.next_check_at IS NOT NULL),
               (SELECT coalesce(array_agg(g.trade_id ORDER BY g.symbol, g.trade_id), '{}') FROM g WHERE g.next_check_at IS NOT NULL),
               (SELECT coalesce(array_agg(g.next_check_at ORDER BY g.symbol, g.trade_id), '{}') FROM g WHERE g.next_check_at IS NOT NULL)
          INTO v_after, v_health, v_check_syms, v_check_tids, v_check_at;

        -- 6. Tier 1: ask the indicator for what only it can fill
        v_requests := sigsync._request_sync(v_run, p_now, v_srcs, v_syms, v_tids);

        -- 7. bounded history (retention settings)
        v_pruned := sigsync._prune_history(p_now);

        -- 8. the work is done: clear the marks of the rows this cycle holds, and schedule their
        --    next time-driven check: the earliest of the gap rules' (step 5) and the end of a
        --    timed-out sync request's hold (when Tier 1 may ask again)
        UPDATE sigsync.signals s
           SET dirty = false, next_check_at = n.at
          FROM (SELECT k.symbol, k.trade_id, least(h.at, q.at) AS at
                  FROM unnest(v_syms, v_tids) k(symbol, trade_id)
                  LEFT JOIN unnest(v_check_syms, v_check_tids, v_check_at) h(symbol, trade_id, at)
                         ON h.symbol = k.symbol AND h.trade_id = k.trade_id
                  LEFT JOIN (SELECT o.symbol, o.trade_id, min(r.closed_at + sigsync._sync_request_hold()) AS at
                               FROM sigsync.sync_requests r
                              CROSS JOIN LATERAL unnest(r.symbols, r.trade_ids) o(symbol, trade_id)
                              WHERE r.status = 'timed_out' AND r.closed_at > p_now - sigsync._sync_request_hold()
                              GROUP BY o.symbol, o.trade_id) q
                         ON q.symbol = k.symbol AND q.trade_id = k.trade_id) n
         WHERE s.symbol = n.symbol AND s.trade_id = n.trade_id
           AND (s.dirty OR s.next_check_at IS DISTINCT FROM n.at);
        UPDATE sigsync.signals s
           SET dirty = false
          FROM jsonb_array_elements(v_cancel -> 'keys') k
         WHERE s.symbol = k.value ->> 0 AND s.trade_id = k.value ->> 1 AND s.dirty;

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
          FROM (SELECT coalesce((v_before ->> t.gap_type)::integer, 0) AS before,
                       coalesce((v_after ->> t.gap_type)::integer, 0) AS after
                  FROM sigsync.gap_types t) x;

        v_summary := jsonb_build_object(
            'status', 'ok',
            'run_id', v_run,
            'trigger', v_trigger,
            'p_now', p_now,
            'full', p_full,
            'signals_processed', cardinality(v_syms),
            'gaps_before', v_before,
            'gaps_after', v_after,
            'mean_health', v_health,
            'gaps_opened', v_opened,
            'gaps_closed', v_closed,
            'fills_by_tier', v_fills,
            'upgrades', v_upgrades,
            'cancellations_inferred', (v_cancel ->> 'inferred')::integer,
            'cancellations_reverted', (v_cancel ->> 'reverted')::integer,
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
               gaps_before = v_before,
               gaps_after = v_after,
               fills_by_tier = v_fills,
               upgrades = v_upgrades,
               cancellations_inferred = (v_cancel ->> 'inferred')::integer,
               cancellations_reverted = (v_cancel ->> 'reverted')::integer,
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
    'One reconcile cycle at p_now (default now()): fills (Tier 0/1/2/3), cancellations, gaps, health, audit; '
    'incremental unless p_full. Single-flight: a concurrent call returns {"status": "skipped"}. Returns the cycle '
    'summary (also stored in sigsync.sync_runs). Example: SELECT sigsync.reconcile();';
REVOKE ALL ON FUNCTION sigsync.reconcile(timestamptz, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync.reconcile(timestamptz, boolean) TO sigsync_admin;
REVOKE ALL ON FUNCTION sigsync.reconcile(timestamp with time zone,boolean) FROM PUBLIC;
