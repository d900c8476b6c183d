-- Inverse of schema/0003_check_schedule.sql.
DROP TRIGGER IF EXISTS sync_audit_log_review_marks_signals ON sigsync.sync_audit_log;
DROP FUNCTION IF EXISTS sigsync._review_marks_signals();
DROP TRIGGER IF EXISTS gap_types_change_schedules_checks ON sigsync.gap_types;
DROP TRIGGER IF EXISTS sessions_change_schedules_checks ON sigsync.sessions;
DROP TRIGGER IF EXISTS settings_change_schedules_checks ON sigsync.settings;
DROP FUNCTION IF EXISTS sigsync._config_change_schedules_checks();
DROP TRIGGER IF EXISTS price_bars_update_schedules_checks ON sigsync.price_bars;
DROP TRIGGER IF EXISTS price_bars_insert_schedules_checks ON sigsync.price_bars;
DROP FUNCTION IF EXISTS sigsync._bar_arrival_schedules_checks();
DROP INDEX IF EXISTS sigsync.signals_symbol_exit_idx;
ALTER TABLE sigsync.indicator_status DROP COLUMN IF EXISTS checked_not_tracking, DROP COLUMN IF EXISTS checked_online;
DROP INDEX IF EXISTS sigsync.signals_next_check_idx;
ALTER TABLE sigsync.signals DROP COLUMN IF EXISTS next_check_at;
