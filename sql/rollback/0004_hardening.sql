-- Inverse of schema/0004_hardening.sql.
COMMENT ON COLUMN sigsync.signals.dirty_gen IS NULL;
DROP TABLE IF EXISTS sigsync.cycle_lock;
ALTER TABLE sigsync.signal_health_metrics DROP CONSTRAINT IF EXISTS signal_health_metrics_gaps_object;
ALTER TABLE sigsync.signals DROP CONSTRAINT IF EXISTS signals_provenance_object;
ALTER TABLE sigsync.sync_runs DROP CONSTRAINT IF EXISTS sync_runs_finite_times;
ALTER TABLE sigsync.sync_requests DROP CONSTRAINT IF EXISTS sync_requests_keys;
ALTER TABLE sigsync.price_bars DROP CONSTRAINT IF EXISTS price_bars_computable;
DROP INDEX IF EXISTS sigsync.signals_set_aside_idx;
DROP INDEX IF EXISTS sigsync.sync_audit_log_anomaly_event_idx;
ALTER TABLE sigsync.signals DROP COLUMN IF EXISTS set_aside_at;

DELETE FROM sigsync.sync_audit_log WHERE action_type = 'error';
ALTER TABLE sigsync.sync_audit_log DROP CONSTRAINT sync_audit_log_action_type_check;
ALTER TABLE sigsync.sync_audit_log ADD CONSTRAINT sync_audit_log_action_type_check CHECK (action_type IN
    ('fill','upgrade','refresh','revert','cancel_inferred','cancel_reverted',
     'conflict','anomaly','exit_inferred','sync_request','sync_timeout','info'));

COMMENT ON COLUMN sigsync.rejected_events.payload IS NULL;
ALTER TABLE sigsync.rejected_events
    DROP COLUMN IF EXISTS source,
    DROP COLUMN IF EXISTS raw,
    DROP COLUMN IF EXISTS payload_truncated,
    DROP COLUMN IF EXISTS payload_sha256,
    DROP COLUMN IF EXISTS payload_bytes;

DROP TRIGGER IF EXISTS settings_check ON sigsync.settings;
DROP FUNCTION IF EXISTS sigsync._check_setting();

DELETE FROM sigsync.settings
 WHERE key IN ('max_clock_skew', 'max_batch_items', 'max_payloads_per_call', 'rejected_retention', 'cycle_stall_after');

-- sigsync_admin: back to the table privileges of 0001-0003
REVOKE ALL ON sigsync.settings, sigsync.sessions, sigsync.gap_types, sigsync.automated_signals,
              sigsync.rejected_events, sigsync.signals, sigsync.price_bars, sigsync.sync_runs,
              sigsync.sync_audit_log, sigsync.signal_health_metrics, sigsync.indicator_status,
              sigsync.sync_requests, sigsync.bar_walks, sigsync.sigsync_migrations
    FROM sigsync_admin;
GRANT ALL ON sigsync.settings, sigsync.sessions, sigsync.gap_types, sigsync.automated_signals,
             sigsync.rejected_events, sigsync.signals, sigsync.price_bars, sigsync.sync_runs,
             sigsync.sync_audit_log, sigsync.signal_health_metrics, sigsync.indicator_status,
             sigsync.sync_requests, sigsync.bar_walks, sigsync.sigsync_migrations
    TO sigsync_admin;

-- sigsync_definer: its grants, then the role itself unless another database still uses it
ALTER DEFAULT PRIVILEGES IN SCHEMA sigsync REVOKE EXECUTE ON FUNCTIONS FROM sigsync_definer;
REVOKE ALL ON ALL TABLES IN SCHEMA sigsync FROM sigsync_definer;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA sigsync FROM sigsync_definer;
REVOKE ALL ON SCHEMA sigsync FROM sigsync_definer;
DO $$
BEGIN
    BEGIN
        DROP ROLE IF EXISTS sigsync_definer;
    EXCEPTION WHEN dependent_objects_still_exist THEN
        RAISE NOTICE 'role sigsync_definer kept: still used by another database';
    END;
END
$$;
