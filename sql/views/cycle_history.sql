-- cycle_history: the reconcile cycles of sigsync.sync_runs (as far back as run_retention
-- keeps them), for a reader. The figures of a cycle are about the signals it processed (its
-- working set), not the whole registry:
--   gaps_before_total / gaps_after_total  open gaps among them before it filled anything / after
--   gaps_opened / gaps_closed             net increase / decrease per gap type among them
--   mean_health                           their mean health after the cycle
-- and of the whole registry after the cycle (NULL for cycles recorded before sigsync kept them):
--   registry_mean_health                  mean health of every reconciled signal
--   registry_open_gaps                    open gaps over every signal (sum of their gap_count)
--   fills                                 fill / upgrade / refresh writes (fills_by_tier by tier)
--   signals_failed                        signals it had to isolate
--   error                                 first line of a failed cycle's error, at most 300 characters
CREATE VIEW sigsync.cycle_history AS
SELECT r.id                                                           AS run_id,
       r.trigger,
       r.p_now,
       r.full_cycle,
       r.started_at,
       r.finished_at,
       r.duration_ms,
       r.status,
       r.signals_processed,
       (SELECT coalesce(sum(v.value::numeric), 0)::integer
          FROM jsonb_each_text(CASE WHEN jsonb_typeof(r.gaps_before) = 'object' THEN r.gaps_before END) v
         WHERE v.value ~ '^[0-9]+$')                                  AS gaps_before_total,
       (SELECT coalesce(sum(v.value::numeric), 0)::integer
          FROM jsonb_each_text(CASE WHEN jsonb_typeof(r.gaps_after) = 'object' THEN r.gaps_after END) v
         WHERE v.value ~ '^[0-9]+$')                                  AS gaps_after_total,
       CASE WHEN jsonb_typeof(r.summary -> 'gaps_opened') = 'number'
            THEN (r.summary ->> 'gaps_opened')::integer END            AS gaps_opened,
       CASE WHEN jsonb_typeof(r.summary -> 'gaps_closed') = 'number'
            THEN (r.summary ->> 'gaps_closed')::integer END            AS gaps_closed,
       CASE WHEN jsonb_typeof(r.summary -> 'mean_health') = 'number'
            THEN (r.summary ->> 'mean_health')::numeric END            AS mean_health,
       CASE WHEN jsonb_typeof(r.summary -> 'registry_mean_health') = 'number'
            THEN (r.summary ->> 'registry_mean_health')::numeric END   AS registry_mean_health,
       CASE WHEN jsonb_typeof(r.summary -> 'registry_open_gaps') = 'number'
            THEN (r.summary ->> 'registry_open_gaps')::numeric::bigint END AS registry_open_gaps,
       (SELECT coalesce(sum(v.value::numeric), 0)::integer
          FROM jsonb_each_text(CASE WHEN jsonb_typeof(r.fills_by_tier) = 'object' THEN r.fills_by_tier END) v
         WHERE v.value ~ '^[0-9]+$')                                  AS fills,
       r.fills_by_tier,
       r.gaps_before,
       r.gaps_after,
       r.upgrades,
       r.cancellations_inferred,
       r.cancellations_reverted,
       r.anomalies,
       CASE WHEN jsonb_typeof(r.summary -> 'signals_failed') = 'number'
            THEN (r.summary ->> 'signals_failed')::integer END         AS signals_failed,
       CASE WHEN jsonb_typeof(r.summary -> 'sync_requests') = 'number'
            THEN (r.summary ->> 'sync_requests')::integer END          AS sync_requests,
       left(split_part(r.error, chr(10), 1), 300)                     AS error
  FROM sigsync.sync_runs r;

COMMENT ON VIEW sigsync.cycle_history IS
    'Reconcile cycles (sync_runs, within run_retention): run_id, trigger, p_now, started_at, finished_at, duration_ms, '
    'status (running|ok|skipped|error), signals_processed, and for the signals it processed: gaps_before_total, '
    'gaps_after_total, gaps_opened, gaps_closed, mean_health, fills (fills_by_tier), upgrades, cancellations, '
    'anomalies, signals_failed; for the whole registry after it: registry_mean_health, registry_open_gaps; '
    'error = first line of a failure (300 characters). Example: SELECT run_id, '
    'started_at, status, duration_ms, signals_processed, gaps_after_total, mean_health FROM sigsync.cycle_history '
    'ORDER BY run_id DESC LIMIT 10;';

GRANT SELECT ON sigsync.cycle_history TO sigsync_reader, sigsync_admin;
