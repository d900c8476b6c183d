-- Inverse of schema/0006_health_totals.sql.
DROP TRIGGER IF EXISTS signal_health_metrics_totals_truncate ON sigsync.signal_health_metrics;
DROP TRIGGER IF EXISTS signal_health_metrics_totals_delete ON sigsync.signal_health_metrics;
DROP TRIGGER IF EXISTS signal_health_metrics_totals_update ON sigsync.signal_health_metrics;
DROP TRIGGER IF EXISTS signal_health_metrics_totals_insert ON sigsync.signal_health_metrics;
DROP FUNCTION IF EXISTS sigsync._health_totals_track();
DROP TABLE IF EXISTS sigsync.health_totals;
