-- system_health: one row, the monitoring dashboard of seed 003 §9 and DESIGN §9.
--   signals, active_signals      registry size, and status active
--   reconciled_signals           signals with a signal_health_metrics row
--   pct_complete                 reconciled signals with no open gap / reconciled signals x 100
--                                (rounded to 1 decimal; NULL when nothing was reconciled yet)
--   open_gaps                    open gaps over all signals (= count(*) of sigsync.signal_gaps)
--   gaps_detected_last_hour      sum of summary->'gaps_opened' (the net increase of open gaps per
--                                gap type in a cycle; 0 when absent) over the sync_runs started in
--                                the last hour
--   gaps_filled_last_hour        fills written in the last hour (DESIGN §2, §6): the audit rows of the
--                                kinds that write a value, fill (into an empty field), upgrade (over a
--                                lower-confidence value) and refresh (a running metric brought up to
--                                date: how Tier 2 fills a no_mfe_update gap), by a fill tier (0-3 or a
--                                rule): not tier 'event', a real event's value replacing a lower-tier
--                                one (that is the event arriving, not a gap filled). The kinds a cycle
--                                counts in sync_runs.fills_by_tier; revert (a value cleared), conflict,
--                                anomaly and the rest write no value (sigsync.action_types)
--   mean_health                  mean health_score of reconciled signals (rounded to 1 decimal)
--   alert_level                  the worse of: mean_health < 80 warning, < 50 critical;
--                                open_gaps > 50 warning, > 100 critical; else ok
--   indicator_online             some source sent a HEARTBEAT within the heartbeat_timeout setting
--                                (default 5 minutes) of now()
--   last_heartbeat_at            latest heartbeat of any source
--   last_cycle_*                 the latest finished reconcile cycle (status ok or error; skipped calls
--                                did no work and are not cycles): finished_at, duration, status
--   error_rate                   share (0..1, 4 decimals) of the cycles (ok + error) started in the
--                                last 24 h that failed; NULL when there were none
--   open_sync_requests           Tier 1 requests still open
--   rejected_last_hour           payloads rejected in the last hour (stored then: a replay's
--                                rejections count when they happen, whenever received)
--   anomalies_open               audit rows anomaly / conflict not reviewed yet (reviewed_at NULL)
--   reconciled_signals           signals with a signal_health_metrics row
--   last_ok_cycle_at             when the latest successful cycle finished (NULL: none yet)
--                                (cycle rows dated after now are passed over in last_cycle_* and here)
--   cycle_lock_holder            pid of the backend holding the reconcile lock right now (NULL: none):
--                                the session to look at when cycles are skipped
--   signals_set_aside            signals a cycle could not process and set aside (signals.set_aside_at;
--                                audit action 'error'), until a cycle processes them again
--   alert_reasons                why alert_level is not ok, one sentence each
-- alert_level also rises to critical when the registry holds signals and no cycle succeeded for
-- the cycle_stall_after setting (default 10 minutes): a session idle in transaction after
-- reconcile(), say, makes every later cycle 'skipped' and nothing is reconciled any more; and to
-- warning while signals are set aside (a cycle could not process them).
CREATE VIEW sigsync.system_health AS
WITH reg AS (
    -- two counts, not one scan with a filter: each can be read from an index
    SELECT (SELECT count(*) FROM sigsync.signals s)                            AS signals,
           (SELECT count(*) FROM sigsync.signals s WHERE s.status = 'active') AS active_signals
),
hm AS (
    SELECT h.reconciled_signals,
           h.reconciled_signals - g.signals_with_gaps AS complete_signals,
           g.open_gaps,
           h.mean_health
      FROM (SELECT count(*) AS reconciled_signals, round(avg(h.health_score), 1) AS mean_health
              FROM sigsync.signal_health_metrics h) h,
           (SELECT count(*) AS signals_with_gaps, coalesce(sum(g.n), 0)::bigint AS open_gaps
              FROM (SELECT count(*) AS n FROM sigsync.signal_gaps g GROUP BY g.symbol, g.trade_id) g) g
),
last_cycle AS (
    SELECT r.finished_at, r.started_at, r.duration_ms, r.status
      FROM sigsync.sync_runs r
     WHERE r.status IN ('ok', 'error')
       -- (a row dated ahead, by a clock that jumped or by hand, must not stand for the latest cycle)
       AND greatest(r.started_at, r.finished_at) <= statement_timestamp()
     ORDER BY r.started_at DESC, r.id DESC
     LIMIT 1
),
ind AS (
    SELECT max(i.last_heartbeat_at) AS last_heartbeat_at
      FROM sigsync.indicator_status i
),
ok_cycle AS (
    SELECT r.finished_at
      FROM sigsync.sync_runs r
     WHERE r.status = 'ok' AND greatest(r.started_at, r.finished_at) <= statement_timestamp()
     ORDER BY r.started_at DESC, r.id DESC
     LIMIT 1
),
stall AS (
    SELECT (SELECT oc.finished_at FROM ok_cycle oc) AS last_ok_at,
           (SELECT count(*) FROM sigsync.signals s WHERE s.set_aside_at IS NOT NULL) AS failed,
           coalesce((SELECT (st.value #>> '{}')::interval FROM sigsync.settings st WHERE st.key = 'cycle_stall_after'),
                    interval '10 minutes') AS after,
           sigsync._cycle_lock_holder() AS holder,
           (SELECT count(*) FROM sigsync.sync_runs r
             WHERE r.status = 'skipped'
               AND r.started_at > coalesce((SELECT oc.finished_at FROM ok_cycle oc), '-infinity')) AS skipped
),
levels AS (
    SELECT CASE WHEN hm.mean_health < 50 THEN 2 WHEN hm.mean_health < 80 THEN 1 ELSE 0 END AS health,
           CASE WHEN hm.open_gaps > 100 THEN 2 WHEN hm.open_gaps > 50 THEN 1 ELSE 0 END AS gaps,
           CASE WHEN reg.signals > 0 AND coalesce(stall.last_ok_at < now() - stall.after, true) THEN 2 ELSE 0 END AS stalled,
           CASE WHEN stall.failed > 0 THEN 1 ELSE 0 END AS failed
      FROM reg, hm, stall
)
SELECT reg.signals,
       reg.active_signals,
       round(100.0 * hm.complete_signals / nullif(hm.reconciled_signals, 0), 1) AS pct_complete,
       hm.open_gaps,
       (SELECT coalesce(sum(CASE WHEN jsonb_typeof(r.summary -> 'gaps_opened') = 'number'
                                 THEN (r.summary ->> 'gaps_opened')::numeric ELSE 0 END), 0)::bigint
          FROM sigsync.sync_runs r
         WHERE r.started_at > now() - interval '1 hour') AS gaps_detected_last_hour,
       (SELECT count(*)
          FROM sigsync.sync_audit_log a
         WHERE a.action_timestamp > now() - interval '1 hour'
           AND a.action_type IN ('fill', 'upgrade', 'refresh')
           AND a.tier IS DISTINCT FROM 'event') AS gaps_filled_last_hour,
       hm.mean_health,
       CASE greatest(lv.health, lv.gaps, lv.stalled, lv.failed)
            WHEN 2 THEN 'critical' WHEN 1 THEN 'warning' ELSE 'ok' END AS alert_level,
       EXISTS (SELECT 1 FROM sigsync.indicator_link l WHERE l.online) AS indicator_online,   -- (its rule: there)
       ind.last_heartbeat_at,
       (SELECT coalesce(lc.finished_at, lc.started_at) FROM last_cycle lc) AS last_cycle_at,
       (SELECT lc.duration_ms FROM last_cycle lc)                          AS last_cycle_duration_ms,
       (SELECT lc.status FROM last_cycle lc)                               AS last_cycle_status,
       (SELECT round(count(*) FILTER (WHERE r.status = 'error')::numeric / nullif(count(*), 0), 4)
          FROM sigsync.sync_runs r
         WHERE r.started_at > now() - interval '24 hours'
           AND r.status IN ('ok', 'error')) AS error_rate,
       (SELECT count(*) FROM sigsync.sync_requests q WHERE q.status = 'open') AS open_sync_requests,
       (SELECT count(*) FROM sigsync.rejected_events x
         WHERE x.stored_at > now() - interval '1 hour') AS rejected_last_hour,
       (SELECT count(*) FROM sigsync.sync_audit_log a
         WHERE a.action_type IN ('anomaly', 'conflict') AND a.reviewed_at IS NULL) AS anomalies_open,
       hm.reconciled_signals,
       stall.last_ok_at AS last_ok_cycle_at,
       stall.holder AS cycle_lock_holder,
       stall.failed AS signals_set_aside,
       array_remove(ARRAY[
           CASE WHEN lv.stalled > 0 THEN
                CASE WHEN stall.last_ok_at IS NULL THEN 'no reconcile cycle has succeeded yet'
                     ELSE format('no reconcile cycle has succeeded for %s (since %s)',
                                 date_trunc('second', now() - stall.last_ok_at), stall.last_ok_at) END
                || CASE WHEN stall.skipped > 0 THEN format('; %s cycles were skipped since', stall.skipped) ELSE '' END
                || CASE WHEN stall.holder IS NOT NULL
                        THEN format('; backend pid %s holds the reconcile lock (an open transaction that called '
                                    'reconcile()? see pg_stat_activity)', stall.holder) ELSE '' END END,
           CASE WHEN lv.failed > 0 THEN format('%s signals are set aside: a cycle could not process them (audit '
                                               'action ''error''); they are tried again when they change, or by a '
                                               'full cycle', stall.failed) END,
           CASE WHEN lv.health > 0 THEN format('mean health %s is below %s', hm.mean_health,
                                               CASE WHEN lv.health = 2 THEN 50 ELSE 80 END) END,
           CASE WHEN lv.gaps > 0 THEN format('%s open gaps are more than %s', hm.open_gaps,
                                             CASE WHEN lv.gaps = 2 THEN 100 ELSE 50 END) END], NULL) AS alert_reasons
  FROM reg, hm, ind, stall, levels lv;

COMMENT ON VIEW sigsync.system_health IS
    'One row of system health: signals, active_signals, pct_complete (reconciled signals without open gap, %), '
    'open_gaps, gaps_detected_last_hour (sum of sync_runs.summary->gaps_opened), gaps_filled_last_hour (fills of '
    'the last hour: audit rows fill/upgrade/refresh of a fill tier, not of a real event), mean_health, '
    'alert_level (ok|warning|critical: health < 80 / < 50, open gaps > 50 / > 100, the worse wins), '
    'indicator_online, last_heartbeat_at, last cycle time / duration / status, error_rate (failed share of the '
    'last 24 h cycles), open_sync_requests, rejected_last_hour, anomalies_open, '
    'reconciled_signals, last_ok_cycle_at, cycle_lock_holder (pid holding the reconcile lock), '
    'signals_set_aside and alert_reasons; alert_level is also critical when no cycle succeeded for '
    'cycle_stall_after while the registry holds signals. '
    'Example: SELECT alert_level, mean_health, open_gaps, indicator_online FROM sigsync.system_health;';

GRANT SELECT ON sigsync.system_health TO sigsync_reader, sigsync_admin;
