-- 0006: registry-wide health figures kept by the writes themselves (DESIGN §9, §15).
--
-- The overview plots mean health and open gaps over time "from sync_runs"; a cycle's own
-- figures cover only the signals it processed. Counting the whole registry in every cycle
-- would make a cycle cost in proportion to the registry, not to what changed. So each
-- statement that writes sigsync.signal_health_metrics appends what it changed (a delta row:
-- health rows, sum of health_score, sum of gap_count) to sigsync.health_totals, and a cycle
-- folds the deltas into one row and records the totals in its summary (sigsync._health_totals).
-- Append-only deltas, not one counter row: writers never wait on each other.

CREATE TABLE sigsync.health_totals (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    signals     bigint NOT NULL,
    health_sum  bigint NOT NULL,
    open_gaps   bigint NOT NULL
);
COMMENT ON TABLE sigsync.health_totals IS
    'Changes to signal_health_metrics as deltas (rows, sum of health_score, sum of gap_count), appended per '
    'statement by a trigger; their sum is the registry''s totals. Each reconcile cycle folds them into one row.';

-- what the registry holds now
INSERT INTO sigsync.health_totals (signals, health_sum, open_gaps)
SELECT count(*), coalesce(sum(h.health_score), 0), coalesce(sum(h.gap_count), 0)
  FROM sigsync.signal_health_metrics h;

CREATE FUNCTION sigsync._health_totals_track() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN   -- (TRUNCATE locks the table: no other writer's delta is pending)
        DELETE FROM sigsync.health_totals;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO sigsync.health_totals (signals, health_sum, open_gaps)
        SELECT count(*), coalesce(sum(n.health_score), 0), coalesce(sum(n.gap_count), 0)
          FROM new_rows n
        HAVING count(*) > 0;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO sigsync.health_totals (signals, health_sum, open_gaps)
        SELECT 0, d.h, d.g
          FROM (SELECT coalesce(sum(x.h), 0) AS h, coalesce(sum(x.g), 0) AS g
                  FROM (SELECT n.health_score AS h, n.gap_count AS g FROM new_rows n
                        UNION ALL
                        SELECT -o.health_score, -o.gap_count FROM old_rows o) x) d
         WHERE d.h <> 0 OR d.g <> 0;
    ELSE
        INSERT INTO sigsync.health_totals (signals, health_sum, open_gaps)
        SELECT -count(*), -coalesce(sum(o.health_score), 0), -coalesce(sum(o.gap_count), 0)
          FROM old_rows o
        HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sigsync._health_totals_track() IS
    'Trigger: appends what a statement changed in signal_health_metrics to health_totals.';
REVOKE ALL ON FUNCTION sigsync._health_totals_track() FROM PUBLIC;
CREATE TRIGGER signal_health_metrics_totals_insert
    AFTER INSERT ON sigsync.signal_health_metrics REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sigsync._health_totals_track();
CREATE TRIGGER signal_health_metrics_totals_update
    AFTER UPDATE ON sigsync.signal_health_metrics REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sigsync._health_totals_track();
CREATE TRIGGER signal_health_metrics_totals_delete
    AFTER DELETE ON sigsync.signal_health_metrics REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sigsync._health_totals_track();
CREATE TRIGGER signal_health_metrics_totals_truncate
    AFTER TRUNCATE ON sigsync.signal_health_metrics
    FOR EACH STATEMENT EXECUTE FUNCTION sigsync._health_totals_track();

-- Privileges: whoever may write health rows appends their deltas (the trigger runs as the
-- writer); a cycle (sigsync_admin) folds them.
REVOKE ALL ON sigsync.health_totals FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON sigsync.health_totals TO sigsync_admin;
