-- Inverse of schema/0008_vocabulary.sql: the CHECK lists of 0001/0004 come back exactly, with the
-- values 0008 removed ('cancelled', 'cancel_inferred'); rows 0008 re-typed keep their new values
-- (both are allowed by the restored CHECKs).
COMMENT ON COLUMN sigsync.gap_types.core IS NULL;

COMMENT ON COLUMN sigsync.sync_requests.status IS NULL;
ALTER TABLE sigsync.sync_requests DROP CONSTRAINT IF EXISTS sync_requests_status_fkey;
ALTER TABLE sigsync.sync_requests ADD CONSTRAINT sync_requests_status_check
    CHECK (status IN ('open','answered','timed_out','cancelled'));
DROP TABLE IF EXISTS sigsync.sync_request_statuses;

COMMENT ON COLUMN sigsync.sync_audit_log.action_type IS NULL;
ALTER TABLE sigsync.sync_audit_log DROP CONSTRAINT IF EXISTS sync_audit_log_action_type_fkey;
ALTER TABLE sigsync.sync_audit_log ADD CONSTRAINT sync_audit_log_action_type_check CHECK (action_type IN
    ('fill','upgrade','refresh','revert','cancel_inferred','cancel_reverted',
     'conflict','anomaly','exit_inferred','sync_request','sync_timeout','info','error'));
DROP TABLE IF EXISTS sigsync.action_types;

COMMENT ON COLUMN sigsync.rejected_events.error_code IS NULL;
ALTER TABLE sigsync.rejected_events DROP CONSTRAINT IF EXISTS rejected_events_error_code_fkey;
DROP TABLE IF EXISTS sigsync.error_codes;
