-- 0001_core: the sigsync data model (DESIGN §2-4, 8-10, 13).
--
-- Every table that holds per-signal rows carries `symbol` and has it in its
-- primary and unique keys, so the schema can be distributed by symbol later.
-- Configuration tables (settings, sessions, gap_types) are small reference tables.

CREATE SCHEMA IF NOT EXISTS sigsync;
COMMENT ON SCHEMA sigsync IS 'sigsync: a complete, audited trading-signal event log and registry.';

-- Roles --------------------------------------------------------------------
-- Roles are cluster-wide: create them only when missing, so several databases of
-- one cluster can each hold a sigsync schema.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'sigsync_ingest') THEN
        CREATE ROLE sigsync_ingest NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'sigsync_reader') THEN
        CREATE ROLE sigsync_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'sigsync_admin') THEN
        CREATE ROLE sigsync_admin NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA sigsync TO sigsync_ingest, sigsync_reader, sigsync_admin;

-- Functions are not executable by PUBLIC: each function file revokes that and grants its
-- function to the roles that may call it (sigsync_ingest gets only the ingest functions);
-- sigsync_admin may run every function.
ALTER DEFAULT PRIVILEGES IN SCHEMA sigsync GRANT EXECUTE ON FUNCTIONS TO sigsync_admin;

-- Settings -----------------------------------------------------------------
CREATE TABLE sigsync.settings (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    description text NOT NULL
);
COMMENT ON TABLE sigsync.settings IS
    'Tunable settings (key -> jsonb value). Intervals are strings PostgreSQL can cast to interval.';

INSERT INTO sigsync.settings (key, value, description) VALUES
    ('default_symbol',       '"NQ1!"',             'Symbol of events that do not carry one.'),
    ('timezone',             '"America/New_York"', 'Time zone of trade_ids, naive timestamps and session windows.'),
    ('bar_interval',         '"1 minute"',         'Length of one chart bar; used for bars_to_confirmation and bars_pending.'),
    ('be_trigger_r',         '1',                  'Favourable excursion (in R) at which break-even triggers.'),
    ('target_multiples',     '[1, 2, 3, 5, 10, 20]', 'R multiples of targets_extended.'),
    ('mfe_stale_after',      '"2 minutes"',        'An active signal whose MFE is older than this has a no_mfe_update gap.'),
    ('heartbeat_timeout',    '"5 minutes"',        'The indicator is offline when no HEARTBEAT came within this interval.'),
    ('sync_request_timeout', '"3 minutes"',        'A sync request unanswered for this long times out; Tier 2 fills at once.'),
    ('max_payload_bytes',    '65536',              'Payloads larger than this many bytes are rejected (payload_too_large).'),
    ('run_retention',        '"30 days"',          'sync_runs, closed sync_requests and pg_cron run history older than this are pruned.'),
    ('audit_retention',      '"365 days"',         'sync_audit_log rows older than this are pruned (kept longer than run history).');

-- Sessions -----------------------------------------------------------------
CREATE TABLE sigsync.sessions (
    name   text PRIMARY KEY,
    starts time NOT NULL,
    ends   time NOT NULL,
    CHECK (starts <> ends)
);
COMMENT ON TABLE sigsync.sessions IS
    'Trading session windows in the `timezone` setting; a window includes its start and excludes its end; '
    'ends <= starts wraps past midnight (ends 00:00 = until midnight). A time in no window is ''Off Hours''.';

INSERT INTO sigsync.sessions (name, starts, ends) VALUES
    ('Asia',     '20:00', '00:00'),
    ('London',   '02:00', '05:00'),
    ('NY Pre',   '05:00', '08:30'),
    ('NY AM',    '08:30', '12:00'),
    ('NY Lunch', '12:00', '13:30'),
    ('NY PM',    '13:30', '16:00');

-- Gap types ----------------------------------------------------------------
CREATE TABLE sigsync.gap_types (
    gap_type    text PRIMARY KEY,
    weight      integer NOT NULL CHECK (weight BETWEEN 0 AND 100),
    core        boolean NOT NULL,
    fields      text[] NOT NULL,
    description text NOT NULL
);
COMMENT ON TABLE sigsync.gap_types IS
    'Gap types with their health weights. The nine core types weigh 100 together; '
    'missed_exit and anomaly lower health as well.';

INSERT INTO sigsync.gap_types (gap_type, weight, core, fields, description) VALUES
    ('no_mfe_update',        15, true,  '{be_mfe,no_be_mfe}',  'Active signal whose MFE is older than mfe_stale_after.'),
    ('no_entry_price',       15, true,  '{entry_price}',       'Confirmed signal without entry price.'),
    ('no_stop_loss',         15, true,  '{stop_loss}',         'Confirmed signal without stop loss.'),
    ('no_mae',               10, true,  '{mae_global_r}',      'Confirmed signal with MFE updates but no MAE.'),
    ('no_session',            5, true,  '{session}',           'Signal without session.'),
    ('no_signal_date',       10, true,  '{signal_date,signal_time}', 'Signal without signal date or time.'),
    ('no_htf_alignment',     10, true,  '{htf_alignment}',     'Signal without higher-timeframe alignment.'),
    ('no_targets',           10, true,  '{targets_extended}',  'Confirmed signal without extended targets.'),
    ('no_confirmation_time', 10, true,  '{confirmation_time,bars_to_confirmation}', 'Confirmed signal without confirmation time or bars to confirmation.'),
    ('missed_exit',          20, false, '{exit_time}',         'Price bars show a stop was hit and no exit event came.'),
    ('anomaly',              10, false, '{}',                  'An implausible or conflicting event awaits review.');

-- Event log ----------------------------------------------------------------
CREATE TABLE sigsync.automated_signals (
    id                   bigint GENERATED ALWAYS AS IDENTITY,
    symbol               text NOT NULL,
    trade_id             text,
    event_type           text NOT NULL,
    "timestamp"          timestamptz NOT NULL,
    timestamp_from_received boolean NOT NULL DEFAULT false,
    source               text NOT NULL,
    direction            text,
    signal_time          timestamptz,
    session              text,
    htf_alignment        jsonb,
    signal_price         numeric,
    entry_price          numeric,
    stop_loss            numeric,
    confirmation_time    timestamptz,
    bars_to_confirmation integer,
    be_mfe               numeric,
    no_be_mfe            numeric,
    mae_global_r         numeric,
    current_price        numeric,
    exit_price           numeric,
    final_mfe            numeric,
    cancelled_time       timestamptz,
    cancel_reason        text,
    bars_pending         integer,
    cancelled_by         text,
    tracked_signals      integer,
    indicator_version    text,
    tracking             text[],
    not_tracking         text[],
    batch_checksum       text,
    batch_item           integer,
    payload              jsonb NOT NULL,
    payload_checksum     text NOT NULL,
    received_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (symbol, id),
    UNIQUE (symbol, payload_checksum),
    CHECK (event_type IN ('SIGNAL_CREATED','ENTRY','MFE_UPDATE','BE_TRIGGERED','EXIT_SL','EXIT_BE',
                          'CANCELLED','HEARTBEAT','SYNC_STATUS')),
    CHECK ((trade_id IS NULL) = (event_type IN ('HEARTBEAT','SYNC_STATUS')))
);
COMMENT ON TABLE sigsync.automated_signals IS
    'Append-only event log: one row per accepted webhook event (a MFE_UPDATE_BATCH becomes one row per item). '
    'Typed columns for the common fields plus the payload as received. Never updated or deleted.';
COMMENT ON COLUMN sigsync.automated_signals."timestamp" IS
    'Event time: the payload timestamp (CANCELLED: else cancelled_time); received_at when missing.';
COMMENT ON COLUMN sigsync.automated_signals.timestamp_from_received IS
    'true when the payload had no timestamp and received_at stands in for it.';
COMMENT ON COLUMN sigsync.automated_signals.payload_checksum IS
    'sha256 of the canonical payload (jsonb text with effective symbol, source and event_type); the dedupe key.';
COMMENT ON COLUMN sigsync.automated_signals.batch_checksum IS
    'For items of a MFE_UPDATE_BATCH: checksum of the whole batch body, linking its items.';

CREATE INDEX automated_signals_signal_idx
    ON sigsync.automated_signals (symbol, trade_id, "timestamp") WHERE trade_id IS NOT NULL;
CREATE INDEX automated_signals_type_time_idx
    ON sigsync.automated_signals (event_type, "timestamp");
CREATE INDEX automated_signals_received_brin
    ON sigsync.automated_signals USING brin (received_at);

CREATE FUNCTION sigsync._refuse_event_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'sigsync.automated_signals is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Events are never changed; send a new event instead.';
END
$$;
COMMENT ON FUNCTION sigsync._refuse_event_change() IS 'Trigger: keeps the event log append-only.';

REVOKE ALL ON FUNCTION sigsync._refuse_event_change() FROM PUBLIC;

CREATE TRIGGER automated_signals_append_only
    BEFORE UPDATE OR DELETE ON sigsync.automated_signals
    FOR EACH ROW EXECUTE FUNCTION sigsync._refuse_event_change();
CREATE TRIGGER automated_signals_no_truncate
    BEFORE TRUNCATE ON sigsync.automated_signals
    FOR EACH STATEMENT EXECUTE FUNCTION sigsync._refuse_event_change();

-- Rejected payloads ----------------------------------------------------------
CREATE TABLE sigsync.rejected_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payload     text NOT NULL,
    error_code  text NOT NULL,
    message     text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE sigsync.rejected_events IS
    'Payloads that could not be accepted, stored exactly as received with the reason. Nothing is lost.';
CREATE INDEX rejected_events_received_idx ON sigsync.rejected_events (received_at);

-- Registry -----------------------------------------------------------------
CREATE TABLE sigsync.signals (
    symbol               text NOT NULL,
    trade_id             text NOT NULL,
    source               text,
    direction            text CHECK (direction IN ('Bullish','Bearish')),
    signal_time          timestamptz,
    signal_date          date,
    session              text,
    signal_price         numeric,
    htf_alignment        jsonb,
    has_entry            boolean NOT NULL DEFAULT false,
    confirmation_time    timestamptz,
    bars_to_confirmation integer,
    entry_price          numeric,
    stop_loss            numeric,
    targets_extended     jsonb,
    be_mfe               numeric,
    no_be_mfe            numeric,
    mae_global_r         numeric,
    last_mfe_update_at   timestamptz,
    current_price        numeric,
    be_triggered_at      timestamptz,
    be_exit_time         timestamptz,
    exit_type            text CHECK (exit_type IN ('EXIT_SL')),
    exit_time            timestamptz,
    exit_price           numeric,
    final_mfe            numeric,
    cancelled_at         timestamptz,
    cancelled_by         text,
    cancel_reason        text,
    bars_pending         integer,
    cancel_detection     text CHECK (cancel_detection IN ('explicit','inferred')),
    status               text NOT NULL GENERATED ALWAYS AS (
        CASE WHEN exit_type = 'EXIT_SL' THEN 'closed'
             WHEN has_entry THEN 'active'
             WHEN cancelled_at IS NOT NULL THEN 'cancelled'
             ELSE 'pending' END) STORED,
    first_event_at       timestamptz,
    last_event_at        timestamptz,
    -- Real (event) running metrics, kept apart from the effective values above so that
    -- a Tier 2 refresh and a later real update can take turns (DESIGN §6).
    evt_be_mfe           numeric,
    evt_be_mfe_at        timestamptz,
    evt_no_be_mfe        numeric,
    evt_no_be_mfe_at     timestamptz,
    evt_mae_global_r     numeric,
    evt_mae_global_r_at  timestamptz,
    -- Per-field provenance: {"field": {"tier": "event"|"0"|"1"|"2"|"3", "confidence": n,
    --  "source": "event:<id>"|"rule:<name>", "at": as-of time, "key": tie-break, "filled_at": ts}}
    provenance           jsonb NOT NULL DEFAULT '{}',
    -- Work marking: set in the transaction that changes the signal, cleared by reconcile.
    dirty                boolean NOT NULL DEFAULT true,
    dirty_gen            bigint NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, trade_id)
);
COMMENT ON TABLE sigsync.signals IS
    'Signal registry: one row per signal (symbol, trade_id), derived from the event log plus recorded fills; '
    'sigsync.rebuild() re-derives it. Read it through the views (all_signals etc.).';
COMMENT ON COLUMN sigsync.signals.status IS
    'pending (no ENTRY), active (ENTRY, no EXIT_SL), closed (EXIT_SL, real or inferred), cancelled; '
    'precedence closed > active > cancelled > pending.';
COMMENT ON COLUMN sigsync.signals.provenance IS
    'Per-field origin: tier, confidence, source, as-of time; exposed by the view field_provenance.';
COMMENT ON COLUMN sigsync.signals.dirty IS
    'true when the signal changed since the last reconcile cycle processed it.';

CREATE INDEX signals_dirty_idx ON sigsync.signals (symbol, trade_id) WHERE dirty;
CREATE INDEX signals_active_idx ON sigsync.signals (symbol, trade_id) WHERE status = 'active';
CREATE INDEX signals_symbol_time_idx ON sigsync.signals (symbol, signal_time);
-- the alternation rule: the next / previous signal of a given direction
CREATE INDEX signals_symbol_direction_time_idx ON sigsync.signals (symbol, direction, signal_time);
CREATE INDEX signals_trade_id_idx ON sigsync.signals (trade_id);
CREATE INDEX signals_cancelled_by_idx ON sigsync.signals (symbol, cancelled_by) WHERE cancelled_by IS NOT NULL;

-- A candidate value for one registry field, from an event or a fill rule. The projection
-- (ingest) and the reconcile tiers produce these; sigsync._merge_candidates applies them.
CREATE TYPE sigsync._candidate AS (
    symbol     text,
    trade_id   text,
    field      text,
    value      jsonb,
    kind       text,         -- static | latest | running | set
    tier       text,         -- event | 0 | 1 | 2 | 3 | rule
    confidence numeric,
    at         timestamptz,  -- event time / as-of time of the value
    key        text,         -- deterministic tie-break (payload checksum or rule name)
    source     text,         -- event:<id> or rule:<name>
    event_type text,
    event_id   bigint
);
COMMENT ON TYPE sigsync._candidate IS 'Internal: a candidate value for a registry field (see sigsync._merge_candidates).';

-- Price bars ---------------------------------------------------------------
CREATE TABLE sigsync.price_bars (
    symbol text NOT NULL,
    ts     timestamptz NOT NULL,
    open   numeric NOT NULL,
    high   numeric NOT NULL,
    low    numeric NOT NULL,
    close  numeric NOT NULL,
    PRIMARY KEY (symbol, ts),
    CHECK (high >= low AND high >= open AND high >= close AND low <= open AND low <= close AND low > 0)
);
COMMENT ON TABLE sigsync.price_bars IS
    'OHLC bars (ts = bar open time) used by Tier 2; users COPY into it.';

-- Audit --------------------------------------------------------------------
CREATE TABLE sigsync.sync_runs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trigger          text NOT NULL DEFAULT 'manual',
    p_now            timestamptz NOT NULL,
    full_cycle       boolean NOT NULL DEFAULT false,
    started_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at      timestamptz,
    duration_ms      numeric,
    status           text NOT NULL DEFAULT 'running' CHECK (status IN ('running','ok','skipped','error')),
    signals_processed integer,
    gaps_before      jsonb,
    gaps_after       jsonb,
    fills_by_tier    jsonb,
    upgrades         integer,
    cancellations_inferred integer,
    cancellations_reverted integer,
    anomalies        integer,
    summary          jsonb,
    error            text
);
COMMENT ON TABLE sigsync.sync_runs IS 'One row per reconcile cycle: trigger, counts before/after, fills by tier, duration, status.';
CREATE INDEX sync_runs_started_idx ON sigsync.sync_runs (started_at);

CREATE TABLE sigsync.sync_audit_log (
    id               bigint GENERATED ALWAYS AS IDENTITY,
    symbol           text NOT NULL,
    trade_id         text,
    run_id           bigint,
    action_type      text NOT NULL CHECK (action_type IN
                        ('fill','upgrade','refresh','revert','cancel_inferred','cancel_reverted',
                         'conflict','anomaly','exit_inferred','sync_request','sync_timeout','info')),
    field            text,
    old_value        jsonb,
    new_value        jsonb,
    tier             text,
    confidence_score numeric,
    source           text,
    reason           text NOT NULL,
    event_id         bigint,
    reviewed_at      timestamptz,
    action_timestamp timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (symbol, id)
);
COMMENT ON TABLE sigsync.sync_audit_log IS
    'One row per change the reconciler (or the ingest projection) makes to the registry, and per conflict or anomaly noticed.';
CREATE INDEX sync_audit_log_signal_idx ON sigsync.sync_audit_log (symbol, trade_id, action_timestamp);
CREATE INDEX sync_audit_log_time_idx ON sigsync.sync_audit_log (action_timestamp);
CREATE INDEX sync_audit_log_run_idx ON sigsync.sync_audit_log (run_id);
CREATE INDEX sync_audit_log_open_review_idx ON sigsync.sync_audit_log (symbol, trade_id)
    WHERE action_type IN ('anomaly', 'conflict') AND reviewed_at IS NULL;

-- Health -------------------------------------------------------------------
CREATE TABLE sigsync.signal_health_metrics (
    symbol       text NOT NULL,
    trade_id     text NOT NULL,
    health_score integer NOT NULL CHECK (health_score BETWEEN 0 AND 100),
    gaps         jsonb NOT NULL DEFAULT '{}',
    gap_count    integer NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, trade_id)
);
COMMENT ON TABLE sigsync.signal_health_metrics IS 'Health score (0..100) and open gaps per signal, refreshed by reconcile.';

-- Indicator link -----------------------------------------------------------
CREATE TABLE sigsync.indicator_status (
    source            text PRIMARY KEY,
    last_heartbeat_at timestamptz,
    heartbeat_key     text,          -- checksum of that HEARTBEAT: tie-break at equal times
    tracked_signals   integer,
    indicator_version text,
    tracking          text[],
    not_tracking      text[],
    sync_status_at    timestamptz,
    sync_status_key   text,          -- checksum of that SYNC_STATUS: tie-break at equal times
    updated_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE sigsync.indicator_status IS 'Per reporting indicator: last heartbeat, tracked count, version, tracking lists.';

CREATE TABLE sigsync.sync_requests (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      bigint,
    trade_ids   text[] NOT NULL,
    symbols     text[] NOT NULL,
    reason      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open','answered','timed_out','cancelled')),
    closed_at   timestamptz
);
COMMENT ON TABLE sigsync.sync_requests IS 'Outbox of Tier 1 requests to the indicator (NOTIFY sigsync_sync_request).';
CREATE INDEX sync_requests_open_idx ON sigsync.sync_requests (created_at) WHERE status = 'open';

-- Privileges -----------------------------------------------------------------
-- sigsync_ingest only calls the (SECURITY DEFINER) ingest functions; sigsync_reader only reads
-- the views (granted in each view file); sigsync_admin runs migrations and reconcile.
GRANT ALL ON ALL TABLES IN SCHEMA sigsync TO sigsync_admin;
GRANT INSERT, SELECT ON sigsync.price_bars TO sigsync_admin;
GRANT UPDATE ON sigsync.settings, sigsync.sessions, sigsync.gap_types TO sigsync_admin;
