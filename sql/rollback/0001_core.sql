-- Inverse of schema/0001_core.sql.
DROP TABLE IF EXISTS sigsync.sync_requests;
DROP TABLE IF EXISTS sigsync.indicator_status;
DROP TABLE IF EXISTS sigsync.signal_health_metrics;
DROP TABLE IF EXISTS sigsync.sync_audit_log;
DROP TABLE IF EXISTS sigsync.sync_runs;
DROP TABLE IF EXISTS sigsync.price_bars;
DROP TYPE IF EXISTS sigsync._candidate;
DROP TABLE IF EXISTS sigsync.signals;
DROP TABLE IF EXISTS sigsync.rejected_events;
DROP TABLE IF EXISTS sigsync.automated_signals;
DROP FUNCTION IF EXISTS sigsync._refuse_event_change();
DROP TABLE IF EXISTS sigsync.gap_types;
DROP TABLE IF EXISTS sigsync.sessions;
DROP TABLE IF EXISTS sigsync.settings;

ALTER DEFAULT PRIVILEGES IN SCHEMA sigsync REVOKE EXECUTE ON FUNCTIONS FROM sigsync_admin;
REVOKE ALL ON SCHEMA sigsync FROM sigsync_ingest, sigsync_reader, sigsync_admin;

-- Roles are cluster-wide: drop each one unless another database still uses it.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['sigsync_ingest', 'sigsync_reader', 'sigsync_admin'] LOOP
        BEGIN
            EXECUTE format('DROP ROLE IF EXISTS %I', r);
        EXCEPTION WHEN dependent_objects_still_exist THEN
            RAISE NOTICE 'role % kept: still used by another database', r;
        END;
    END LOOP;
END
$$;
