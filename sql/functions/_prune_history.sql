-- Internal: keep history bounded (DESIGN §9: pg_cron run history must not grow without bound).
-- Deletes sync_runs and closed sync_requests older than run_retention, pg_cron's
-- cron.job_run_details rows of the job sigsync-reconcile older than run_retention (when
-- pg_cron is installed and readable), sync_audit_log rows older than audit_retention (kept
-- longer than run history) and rejected_events stored longer ago than rejected_retention (by
-- stored_at, sigsync's own clock, not the received_at a caller may give). A row goes
-- only when it is older than its retention both by the wall clock (now()) and by the cycle's
-- p_now: a cycle evaluated at a wrong time never deletes more (reconcile refuses a p_now in
-- the future; one in the past deletes less), and sync requests, which carry cycle times, are
-- not pruned by a replay of past days. Each delete is an index range scan on the time column.
-- Returns rows deleted.
CREATE OR REPLACE FUNCTION sigsync._prune_history(p_now timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_runs_before timestamptz := least(p_now, now()) - sigsync._setting_interval('run_retention');
    v_audit_before timestamptz := least(p_now, now()) - sigsync._setting_interval('audit_retention');
    v_rejected_before timestamptz := least(p_now, now()) - sigsync._setting_interval('rejected_retention');
    v_n bigint;
    v_total bigint := 0;
    v_cron_history regclass := to_regclass('cron.job_run_details');   -- exists only where pg_cron is
    v_cron_jobs regclass := to_regclass('cron.job');
BEGIN
    DELETE FROM sigsync.sync_runs WHERE started_at < v_runs_before AND status <> 'running';
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_total := v_total + v_n;
    DELETE FROM sigsync.sync_requests WHERE created_at < v_runs_before AND status <> 'open';
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_total := v_total + v_n;
    DELETE FROM sigsync.sync_audit_log WHERE action_timestamp < v_audit_before;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_total := v_total + v_n;
    DELETE FROM sigsync.rejected_events WHERE stored_at < v_rejected_before;   -- (not received_at: a caller's time)
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_total := v_total + v_n;
    IF v_cron_history IS NOT NULL AND v_cron_jobs IS NOT NULL THEN
        BEGIN   -- only the history of our own job (sigsync schedule names it sigsync-reconcile)
            EXECUTE format('DELETE FROM %s d USING %s j WHERE d.jobid = j.jobid AND j.jobname = $2 AND d.end_time < $1',
                           v_cron_history, v_cron_jobs)
              USING v_runs_before, 'sigsync-reconcile';
            GET DIAGNOSTICS v_n = ROW_COUNT;
            v_total := v_total + v_n;
        EXCEPTION WHEN insufficient_privilege THEN
            NULL;   -- pg_cron's history belongs to its owner; nothing to prune from here
        END;
    END IF;
    RETURN v_total;
END
$$;
COMMENT ON FUNCTION sigsync._prune_history(timestamptz) IS
    'Internal: delete run history (sync_runs, closed sync_requests, cron.job_run_details) older than run_retention, '
    'audit rows older than audit_retention and rejected payloads stored longer ago than rejected_retention (stored_at; '
    'by the wall clock and by p_now).';
REVOKE ALL ON FUNCTION sigsync._prune_history(timestamptz) FROM PUBLIC;
