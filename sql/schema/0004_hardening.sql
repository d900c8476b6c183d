-- 0004: trust under hostile input, wrong clocks and curious roles.
--
-- * Least privilege. The SECURITY DEFINER functions (ingest and the few functions
--   sigsync_reader may call) are owned by sigsync_definer, a NOLOGIN role that is not a
--   superuser and holds only the table privileges they need (each such function file hands
--   its function over with sigsync._definer_owns). So no bug in them, and no trigger anybody
--   manages to attach, ever runs as the migrating user. sigsync_admin keeps exactly what
--   running sigsync needs: no TRIGGER, TRUNCATE or REFERENCES on any table, read-only on the
--   event log.
-- * Bounds and clocks: the settings below (max_clock_skew, max_batch_items,
--   max_payloads_per_call, rejected_retention, cycle_stall_after).
-- * rejected_events keeps what is needed to see and replay a rejection, bounded: the body
--   whole up to max_payload_bytes, else a prefix, with its size and sha256; a body that is not
--   UTF-8 keeps its bytes.
-- * Audit action 'error': a signal a cycle could not process is isolated and reported.

-- The owner of the SECURITY DEFINER functions ------------------------------------------------
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'sigsync_definer') THEN
        CREATE ROLE sigsync_definer NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS;
    ELSIF EXISTS (SELECT 1 FROM pg_catalog.pg_roles
                   WHERE rolname = 'sigsync_definer' AND (rolsuper OR rolcanlogin OR rolbypassrls OR rolcreaterole)) THEN
        RAISE EXCEPTION 'sigsync: the role sigsync_definer exists with more than NOLOGIN NOSUPERUSER powers'
            USING HINT = 'ALTER ROLE sigsync_definer NOLOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS; then migrate again.';
    END IF;
    -- a migrating user that is not a superuser hands functions over to (and replaces functions
    -- of) sigsync_definer only as a member of it
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT sigsync_definer TO %I', current_user);
    END IF;
END
$$;
COMMENT ON ROLE sigsync_definer IS
    'sigsync: owns the SECURITY DEFINER functions (ingest, ...); NOLOGIN, no superuser, only the privileges they need.';

GRANT USAGE ON SCHEMA sigsync TO sigsync_definer;
-- functions run what they call: every sigsync function, present and future, is executable by it
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA sigsync TO sigsync_definer;
ALTER DEFAULT PRIVILEGES IN SCHEMA sigsync GRANT EXECUTE ON FUNCTIONS TO sigsync_definer;
-- what ingest writes and reads
GRANT SELECT, INSERT ON sigsync.automated_signals, sigsync.rejected_events, sigsync.sync_audit_log TO sigsync_definer;
GRANT SELECT, INSERT, UPDATE ON sigsync.signals, sigsync.indicator_status TO sigsync_definer;
-- what ingest and the reader-callable functions read
GRANT SELECT ON sigsync.settings, sigsync.sessions, sigsync.gap_types TO sigsync_definer;

-- sigsync_admin: what running sigsync needs, nothing that changes the tables' definitions --------
REVOKE ALL ON sigsync.settings, sigsync.sessions, sigsync.gap_types, sigsync.automated_signals,
              sigsync.rejected_events, sigsync.signals, sigsync.price_bars, sigsync.sync_runs,
              sigsync.sync_audit_log, sigsync.signal_health_metrics, sigsync.indicator_status,
              sigsync.sync_requests, sigsync.bar_walks, sigsync.sigsync_migrations
    FROM sigsync_admin;
GRANT SELECT ON sigsync.automated_signals, sigsync.sigsync_migrations TO sigsync_admin;   -- the log: ingest only
GRANT SELECT, UPDATE ON sigsync.settings, sigsync.gap_types TO sigsync_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON sigsync.sessions, sigsync.price_bars, sigsync.signals,
      sigsync.sync_runs, sigsync.sync_audit_log, sigsync.signal_health_metrics, sigsync.indicator_status,
      sigsync.sync_requests, sigsync.bar_walks TO sigsync_admin;
GRANT SELECT, DELETE ON sigsync.rejected_events TO sigsync_admin;                         -- retention

-- Settings -----------------------------------------------------------------------------------
INSERT INTO sigsync.settings (key, value, description) VALUES
    ('max_clock_skew',        '"5 minutes"', 'Events and trade_ids dated later than received_at plus this are rejected '
                                             '(future_timestamp); a cycle at a p_now later than now() plus this is refused.'),
    ('max_batch_items',       '1000',        'A MFE_UPDATE_BATCH with more items is rejected (too_many_items).'),
    ('max_payloads_per_call', '10000',       'Elements of one ingest_many call past this many are rejected (too_many_payloads).'),
    ('rejected_retention',    '"90 days"',   'rejected_events rows older than this (wall clock) are pruned by each cycle.'),
    ('cycle_stall_after',     '"10 minutes"', 'system_health.alert_level is critical when no reconcile cycle succeeded '
                                              'for this long while the registry holds signals.');

-- A setting is checked when it is written (sigsync._setting_error holds each one's kind) -------
CREATE FUNCTION sigsync._check_setting() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_error text := sigsync._setting_error(NEW.key, NEW.value);
BEGIN
    IF v_error IS NOT NULL THEN
        RAISE EXCEPTION 'sigsync: setting %: %', NEW.key, v_error
            USING ERRCODE = 'check_violation',
                  HINT = 'SELECT key, value, description FROM sigsync.settings shows each setting and its current value.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sigsync._check_setting() IS 'Trigger: refuses a settings value that sigsync._setting_error does not accept.';
REVOKE ALL ON FUNCTION sigsync._check_setting() FROM PUBLIC;
CREATE TRIGGER settings_check BEFORE INSERT OR UPDATE ON sigsync.settings
    FOR EACH ROW EXECUTE FUNCTION sigsync._check_setting();

-- Rejected payloads, bounded -------------------------------------------------------------------
ALTER TABLE sigsync.rejected_events
    ADD COLUMN payload_bytes integer,
    ADD COLUMN payload_sha256 text,
    ADD COLUMN payload_truncated boolean NOT NULL DEFAULT false,
    ADD COLUMN raw bytea,
    ADD COLUMN source text;
UPDATE sigsync.rejected_events
   SET payload_bytes = octet_length(payload),
       payload_sha256 = encode(sha256(convert_to(payload, 'UTF8')), 'hex');
ALTER TABLE sigsync.rejected_events
    ALTER COLUMN payload_bytes SET NOT NULL,
    ALTER COLUMN payload_sha256 SET NOT NULL;
COMMENT ON COLUMN sigsync.rejected_events.payload IS
    'The body as received when it is at most max_payload_bytes; else its first 4096 characters (payload_truncated). '
    'A body that is not valid UTF-8 is shown with encode(..., ''escape'') here and kept in raw.';
COMMENT ON COLUMN sigsync.rejected_events.payload_bytes IS 'Size of the whole body as received, in bytes.';
COMMENT ON COLUMN sigsync.rejected_events.payload_sha256 IS 'sha256 (hex) of the whole body as received.';
COMMENT ON COLUMN sigsync.rejected_events.payload_truncated IS 'true when payload (or raw) holds only a prefix of the body.';
COMMENT ON COLUMN sigsync.rejected_events.raw IS 'The bytes of a body that is not valid UTF-8 (same bound as payload); NULL otherwise.';
COMMENT ON COLUMN sigsync.rejected_events.source IS 'The source the caller vouched for (a webhook token''s), when it gave one.';

-- Audit: a signal a cycle could not process ------------------------------------------------------
ALTER TABLE sigsync.sync_audit_log DROP CONSTRAINT sync_audit_log_action_type_check;
ALTER TABLE sigsync.sync_audit_log ADD CONSTRAINT sync_audit_log_action_type_check CHECK (action_type IN
    ('fill','upgrade','refresh','revert','cancel_inferred','cancel_reverted',
     'conflict','anomaly','exit_inferred','sync_request','sync_timeout','info','error'));

-- An anomaly is audited once per event and field: found by its event, not by scanning the
-- signal's audit rows (which made a stream of late MFE updates quadratic)
CREATE INDEX sync_audit_log_anomaly_event_idx ON sigsync.sync_audit_log (symbol, event_id)
    WHERE action_type = 'anomaly';

-- A signal a cycle set aside (isolated) stays visible until a cycle processes it again ----------
ALTER TABLE sigsync.signals ADD COLUMN set_aside_at timestamptz;
COMMENT ON COLUMN sigsync.signals.set_aside_at IS
    'When a reconcile cycle set this signal aside because its steps failed (audit action ''error''); cleared '
    'when a cycle processes it again (it changed, or a full cycle). system_health counts these.';
CREATE INDEX signals_set_aside_idx ON sigsync.signals (set_aside_at) WHERE set_aside_at IS NOT NULL;

-- Values no cycle can compute with are refused when written (checked for new rows; the old ones
-- were written by sigsync itself) ---------------------------------------------------------------
ALTER TABLE sigsync.price_bars ADD CONSTRAINT price_bars_computable CHECK (
    'NaN'::numeric <> ALL (ARRAY[open, high, low, close]) AND high < 1e15
    AND scale(open) <= 20 AND scale(high) <= 20 AND scale(low) <= 20 AND scale(close) <= 20) NOT VALID;
ALTER TABLE sigsync.sync_requests ADD CONSTRAINT sync_requests_keys CHECK (
    cardinality(symbols) = cardinality(trade_ids)
    AND array_position(symbols, NULL) IS NULL AND array_position(trade_ids, NULL) IS NULL) NOT VALID;
-- Times without end in a cycle's row broke system_health, `sigsync report` and /metrics for
-- every reader, and kept the row from retention
ALTER TABLE sigsync.sync_runs ADD CONSTRAINT sync_runs_finite_times CHECK (
    isfinite(p_now) AND isfinite(started_at) AND (finished_at IS NULL OR isfinite(finished_at))) NOT VALID;
-- Derived values every reader takes apart as JSON objects: one that is not (only a hand edit
-- stores one) broke field_provenance for everyone and failed every later event of its signal.
-- Such rows are reset and marked for the next cycle (derived data: the log re-derives it; a
-- rebuild() restores the provenance too), then refused from now on.
UPDATE sigsync.signals s
   SET provenance = '{}', dirty = true, dirty_gen = s.dirty_gen + 1
 WHERE jsonb_typeof(s.provenance) IS DISTINCT FROM 'object';
ALTER TABLE sigsync.signals ADD CONSTRAINT signals_provenance_object CHECK (jsonb_typeof(provenance) = 'object');
WITH reset AS (
    UPDATE sigsync.signal_health_metrics h SET gaps = '{}'
     WHERE jsonb_typeof(h.gaps) IS DISTINCT FROM 'object'
    RETURNING h.symbol, h.trade_id
)
UPDATE sigsync.signals s
   SET dirty = true, dirty_gen = s.dirty_gen + 1
  FROM reset r
 WHERE s.symbol = r.symbol AND s.trade_id = r.trade_id;
ALTER TABLE sigsync.signal_health_metrics ADD CONSTRAINT signal_health_metrics_gaps_object
    CHECK (jsonb_typeof(gaps) = 'object');

-- The single-flight lock of reconcile (and rebuild): a row only sigsync_admin may lock (FOR UPDATE
-- needs UPDATE), not an advisory key that any role that can connect could take -----------------
CREATE TABLE sigsync.cycle_lock (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton)
);
INSERT INTO sigsync.cycle_lock DEFAULT VALUES;
COMMENT ON TABLE sigsync.cycle_lock IS
    'One row: a reconcile cycle (or rebuild) holds it FOR UPDATE for its transaction; a second cycle skips.';
REVOKE ALL ON sigsync.cycle_lock FROM PUBLIC;
GRANT SELECT, UPDATE ON sigsync.cycle_lock TO sigsync_admin;
GRANT SELECT ON sigsync.cycle_lock TO sigsync_reader;   -- (system_health names the holder; locking needs UPDATE)

COMMENT ON COLUMN sigsync.signals.dirty_gen IS
    'Bumped by every change from outside a reconcile cycle (ingest, bars, reviews); a cycle clears the mark of a '
    'signal it processed only when dirty_gen is still what it was when the cycle took the signal.';

-- Functions whose signature changed (the repeatable files hold only the current definitions)
DROP FUNCTION IF EXISTS sigsync._normalize_events(jsonb[], timestamptz, text, text);
DROP FUNCTION IF EXISTS sigsync._normalize_event(jsonb, timestamptz, text, text);   -- (its row-at-a-time predecessor)
-- and functions no view calls any more: the views read open gaps from view signal_gaps, which the
-- planner sees through (a SECURITY DEFINER function per row cost seconds at 100,000 signals)
DROP FUNCTION IF EXISTS sigsync._gap_list(jsonb);
DROP FUNCTION IF EXISTS sigsync._open_gap_entries(jsonb);
