-- Internal: the last step of a reconcile cycle: its summary, returned by reconcile and stored in
-- its sync_runs row. p_facts holds what the steps found (trigger, p_now, full, the steps' result
-- of _cycle_work_set, the isolated and deferred signals, the signals processed, sync requests,
-- timeouts, pruned rows); the rest is read here: fills by tier, upgrades and anomalies from the
-- run's audit rows, gaps opened and closed from the steps' before/after counts, and the
-- registry-wide health figures (sigsync._health_totals: kept by the writes, not counted).
CREATE OR REPLACE FUNCTION sigsync._finish_run(p_run_id bigint, p_started timestamptz, p_facts jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_steps jsonb := coalesce(p_facts -> 'steps', '{}');
    v_fills jsonb;
    v_upgrades integer;
    v_anomalies integer;
    v_opened integer;
    v_closed integer;
    v_registry jsonb := sigsync._health_totals();
    v_summary jsonb;
BEGIN
    SELECT coalesce(jsonb_object_agg(t.tier, t.n), '{}') INTO v_fills
      FROM (SELECT a.tier, count(*) AS n FROM sigsync.sync_audit_log a
             WHERE a.run_id = p_run_id AND a.action_type IN ('fill', 'upgrade', 'refresh')
             GROUP BY a.tier) t;
    SELECT count(*) FILTER (WHERE a.action_type = 'upgrade'),
           count(*) FILTER (WHERE a.action_type IN ('anomaly', 'conflict'))
      INTO v_upgrades, v_anomalies
      FROM sigsync.sync_audit_log a
     WHERE a.run_id = p_run_id;
    SELECT coalesce(sum(x.after - x.before) FILTER (WHERE x.after > x.before), 0),
           coalesce(sum(x.before - x.after) FILTER (WHERE x.before > x.after), 0)
      INTO v_opened, v_closed
      FROM (SELECT coalesce((v_steps -> 'gaps_before' ->> t.gap_type)::integer, 0) AS before,
                   coalesce((v_steps -> 'gaps_after' ->> t.gap_type)::integer, 0) AS after
              FROM sigsync.gap_types t) x;

    v_summary := jsonb_build_object(
        'status', 'ok',
        'run_id', p_run_id,
        'trigger', p_facts -> 'trigger',
        'p_now', p_facts -> 'p_now',
        'full', p_facts -> 'full',
        'signals_processed', p_facts -> 'signals_processed',
        'signals_failed', jsonb_array_length(p_facts -> 'failed'),
        'failed', p_facts -> 'failed',
        'signals_deferred', p_facts -> 'signals_deferred',
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
        -- MFE updates still queued on the working set's signals (an incremental cycle's budget):
        -- the next cycle goes on with them
        'mfe_updates_left', coalesce(v_steps -> 'mfe_updates_left', '0'),
        'cancellations_inferred', coalesce(v_steps -> 'cancellations_inferred', '0'),
        'cancellations_reverted', coalesce(v_steps -> 'cancellations_reverted', '0'),
        'anomalies', v_anomalies,
        'sync_requests', p_facts -> 'sync_requests',
        'sync_timeouts', p_facts -> 'sync_timeouts',
        'pruned', p_facts -> 'pruned',
        'duration_ms', round(extract(epoch FROM clock_timestamp() - p_started) * 1000, 3));

    UPDATE sigsync.sync_runs
       SET finished_at = clock_timestamp(),
           duration_ms = (v_summary ->> 'duration_ms')::numeric,
           status = 'ok',
           signals_processed = (v_summary ->> 'signals_processed')::integer,
           gaps_before = v_summary -> 'gaps_before',
           gaps_after = v_summary -> 'gaps_after',
           fills_by_tier = v_fills,
           upgrades = v_upgrades,
           cancellations_inferred = (v_summary ->> 'cancellations_inferred')::integer,
           cancellations_reverted = (v_summary ->> 'cancellations_reverted')::integer,
           anomalies = v_anomalies,
           summary = v_summary
     WHERE id = p_run_id;
    RETURN v_summary;
END
$$;
COMMENT ON FUNCTION sigsync._finish_run(bigint, timestamptz, jsonb) IS
    'Internal: a reconcile cycle''s summary from what its steps found (p_facts) and its audit rows; stored in sync_runs.';
REVOKE ALL ON FUNCTION sigsync._finish_run(bigint, timestamptz, jsonb) FROM PUBLIC;
