-- Internal: the registry's health totals now (reconciled signals, mean health, open gaps), for
-- a cycle's summary: folds the deltas of sigsync.health_totals it can see into one row
-- (deltas other transactions have not committed yet stay, and are folded by a later cycle).
-- Costs the number of writes since the last cycle, not the size of the registry.
CREATE OR REPLACE FUNCTION sigsync._health_totals()
RETURNS jsonb
LANGUAGE sql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH folded AS (
        DELETE FROM sigsync.health_totals t RETURNING t.signals, t.health_sum, t.open_gaps
    ),
    total AS (
        INSERT INTO sigsync.health_totals (signals, health_sum, open_gaps)
        SELECT coalesce(sum(f.signals), 0), coalesce(sum(f.health_sum), 0), coalesce(sum(f.open_gaps), 0)
          FROM folded f
        RETURNING signals, health_sum, open_gaps
    )
    SELECT jsonb_build_object(
               'signals', t.signals,
               'mean_health', round(t.health_sum::numeric / nullif(t.signals, 0), 1),
               'open_gaps', t.open_gaps)
      FROM total t
$$;
COMMENT ON FUNCTION sigsync._health_totals() IS
    'Internal: registry-wide reconciled signals, mean health and open gaps (folds sigsync.health_totals).';
REVOKE ALL ON FUNCTION sigsync._health_totals() FROM PUBLIC;
