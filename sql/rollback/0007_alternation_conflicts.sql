-- Inverse of schema/0007_alternation_conflicts.sql.
DROP INDEX IF EXISTS sigsync.sync_audit_log_alternation_conflict_idx;
