-- 0008: sigsync's vocabulary as data (issue 15): each word sigsync writes into a column is
-- declared once, in a table with its meaning, and the column references that table.
--
-- * sigsync.error_codes: the code of every rejected payload (rejected_events.error_code; the
--   ingest functions write them, README's "Error codes" table lists the same codes with the same
--   meanings, tests/test_vocabulary.py checks both).
-- * sigsync.action_types: the kind of every audit row (sync_audit_log.action_type; replaces the
--   CHECK list of 0001/0004). Removed: 'cancel_inferred', which no sigsync version ever wrote (an
--   inferred cancellation is audited as a 'fill' of the cancel fields by rule:alternation).
--   'info' and 'exit_inferred' are written by no sigsync function either, only by hand (the pgTAP
--   files 17, 30 and 50 make such rows); they stay declared, with that meaning, until those go.
-- * sigsync.sync_request_statuses: the state of every Tier 1 request (sync_requests.status;
--   replaces the CHECK of 0001). Removed: 'cancelled', which no sigsync version ever wrote.
--
-- Why tables and foreign keys, not CHECK lists, enums or domains: a table holds each word's
-- meaning next to it (queryable, compared with README by a test), and a foreign key makes the
-- catalog refuse a word nobody declared, wherever it comes from. An enum would change the columns'
-- type under functions that write text (and enum values cannot be dropped); a domain or CHECK has
-- no place for the meaning. The vocabulary tables are small reference tables (DESIGN §13: under
-- Citus a distributed table may reference a reference table).
--
-- The cost, measured on PostgreSQL 15 (2 cores, shared): a foreign key adds ~5 us per inserted
-- row (50,000-row INSERT ... SELECT: sync_audit_log 340 -> 610 ms, rejected_events 160 -> 370 ms).
-- A full reconcile cycle of 1,005 signals writes 4,181 audit rows in ~1.9 s: the difference was
-- within the run-to-run noise (~1 %). Single-row inserts of one rejection per transaction from 8
-- concurrent sessions: 11,600 -> 9,700 transactions/s (the sessions share the lock on the one
-- vocabulary row). Rejections are not the hot path, and reconcile cycles are single-flight.
--
-- Rows already stored: an audit row 'cancel_inferred' (written by hand: sigsync never wrote
-- one) becomes a 'fill', which is how sigsync records an inferred cancellation; a sync request
-- 'cancelled' becomes 'answered' (closed, nothing more expected: no reader tells them apart).
-- A rejected payload whose code sigsync does not write (only a hand-made row can have one) stops
-- the migration with the rows to fix: the migration cannot know what such a code meant.

-- Error codes -----------------------------------------------------------------------------------
CREATE TABLE sigsync.error_codes (
    code    text PRIMARY KEY CHECK (code ~ '^[a-z][a-z_]*[a-z]$'),
    meaning text NOT NULL
);
COMMENT ON TABLE sigsync.error_codes IS
    'Every error code a rejected payload can get (ingest, ingest_many), declared once with its meaning; '
    'rejected_events.error_code references it. README''s "Error codes" table lists the same codes.';
COMMENT ON COLUMN sigsync.error_codes.code IS 'The code, as ingest answers it ({"error": {"code": ...}}) and rejected_events stores it.';
COMMENT ON COLUMN sigsync.error_codes.meaning IS 'What the code means: which rule the payload broke.';

INSERT INTO sigsync.error_codes (code, meaning) VALUES
    ('invalid_json',        'not JSON (or NULL)'),
    ('not_object',          'JSON, but not an object'),
    ('payload_too_large',   'over max_payload_bytes (65536) bytes'),
    ('missing_event_type',  'no event_type / type'),
    ('unknown_event_type',  'a type sigsync does not know'),
    ('missing_trade_id',    'a signal event without trade_id'),
    ('malformed_trade_id',  'trade_id (or cancelled_by, or an element of tracking / not_tracking) is not '
                            'YYYYMMDD_HHMMSSmmm_BULLISH|BEARISH with a real date and time in the years 2000–2099'),
    ('invalid_direction',   'direction is not Bullish/Bearish (LONG/SHORT)'),
    ('direction_mismatch',  'direction disagrees with the trade_id suffix'),
    ('non_numeric',         'a number field holds something that is not a number'),
    ('non_finite',          'a number field holds NaN or Infinity'),
    ('non_positive_price',  'a price is 0 or negative'),
    ('stop_wrong_side',     'a Bullish stop above the entry, or a Bearish stop below it'),
    ('stop_equals_entry',   'stop_loss equals entry_price (zero risk)'),
    ('bad_timestamp',       'a time field is neither epoch milliseconds nor ISO-8601, in the years 2000–2099'),
    ('invalid_field',       'a field of the wrong shape: htf_alignment not an object, a non-string symbol, bars not '
                            'a whole number ≥ 0, a batch without updates, a signal cancelled_by itself, ...'),
    ('too_deep',            'the body nests objects and arrays more than 16 levels deep'),
    ('number_out_of_range', 'a number beyond ±1e15, or non-zero below 1e-15 in magnitude'),
    ('text_too_long',       'a text field over its bound (table above)'),
    ('future_timestamp',    'a time later than received_at (or now(), when later) + max_clock_skew'),
    ('too_many_items',      'a MFE_UPDATE_BATCH with more than max_batch_items items'),
    ('too_many_payloads',   'an element past max_payloads_per_call in one ingest_many call'),
    ('source_mismatch',     'the payload names another source than the one the caller vouches for '
                            '(ingest_many(..., source))'),
    ('invalid_encoding',    'the body is not valid UTF-8 (or holds a NUL byte); kept as bytes'),
    ('internal_error',      'an unforeseen failure of this element; it alone is rejected, the payload is kept in '
                            'rejected_events all the same');

DO $$
DECLARE
    v_unknown text;
BEGIN
    SELECT string_agg(format('%s (%s rows)', r.error_code, r.n), ', ' ORDER BY r.error_code) INTO v_unknown
      FROM (SELECT e.error_code, count(*) AS n
              FROM sigsync.rejected_events e
             WHERE NOT EXISTS (SELECT 1 FROM sigsync.error_codes c WHERE c.code = e.error_code)
             GROUP BY e.error_code) r;
    IF v_unknown IS NOT NULL THEN
        RAISE EXCEPTION 'sigsync: sigsync.rejected_events holds error codes sigsync does not write: %', v_unknown
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Rows made by hand: give them one of the codes of README''s "Error codes" table '
                         '(UPDATE sigsync.rejected_events SET error_code = ...) or delete them, then migrate again.';
    END IF;
END
$$;
ALTER TABLE sigsync.rejected_events
    ADD CONSTRAINT rejected_events_error_code_fkey FOREIGN KEY (error_code) REFERENCES sigsync.error_codes (code);
COMMENT ON COLUMN sigsync.rejected_events.error_code IS 'Why the payload was rejected: a code of sigsync.error_codes.';

-- Audit action types ------------------------------------------------------------------------------
CREATE TABLE sigsync.action_types (
    action_type text PRIMARY KEY CHECK (action_type ~ '^[a-z][a-z_]*[a-z]$'),
    meaning     text NOT NULL
);
COMMENT ON TABLE sigsync.action_types IS
    'Every kind of sync_audit_log row, declared once with its meaning; sync_audit_log.action_type references it.';
COMMENT ON COLUMN sigsync.action_types.action_type IS 'The kind, as sync_audit_log.action_type stores it.';
COMMENT ON COLUMN sigsync.action_types.meaning IS 'What a row of this kind records, and who writes it.';

INSERT INTO sigsync.action_types (action_type, meaning) VALUES
    ('fill',            'A value written into an empty registry field (old_value NULL): by a tier rule (tier 0, 2, 3, '
                        'or rule: an inferred cancellation) in a reconcile cycle.'),
    ('upgrade',         'A value of higher confidence replaced a lower one (a SIGNAL_CREATED over a tier 3 session, '
                        'a real exit over an inferred one, ...); tier says which source wrote it.'),
    ('refresh',         'A running metric (be_mfe, no_be_mfe, mae_global_r) replaced by a value with a later as-of '
                        'time: a tier 2 computation refreshing a stale one, or a real update replacing a tier 2 value.'),
    ('revert',          'A derived value of a tier cleared (new_value null): its recomputation no longer yields it '
                        '(an inferred exit or cancellation that no longer holds).'),
    ('cancel_reverted', 'An inferred cancellation undone: an ENTRY arrived for the signal (old_value keeps the '
                        'inference).'),
    ('conflict',        'Sources of equal confidence disagree (on a static field, an explicit CANCELLED with an '
                        'ENTRY, an ENTRY confirmed after the opposite signal): kept the first; an anomaly gap until '
                        'reviewed_at is set.'),
    ('anomaly',         'An implausible event value (negative MFE, MFE below an earlier one, MAE out of range) '
                        'stored in the log but not applied; an anomaly gap until reviewed_at is set.'),
    ('sync_request',    'A Tier 1 request asked the indicator about this signal (source names the sync_requests row).'),
    ('sync_timeout',    'A Tier 1 request about this signal went unanswered past sync_request_timeout; Tier 2 fills '
                        'at once.'),
    ('error',           'A reconcile cycle could not process this signal and set it aside (signals.set_aside_at) '
                        'until it changes again or a full cycle.'),
    ('info',            'A note written by hand (sigsync itself writes none).'),
    ('exit_inferred',   'Not written by sigsync: an exit inferred from price bars is a tier 2 fill of exit_time / '
                        'be_exit_time. Kept for audit rows made by hand.');

-- what sigsync records an inferred cancellation as (nothing ever wrote 'cancel_inferred')
UPDATE sigsync.sync_audit_log SET action_type = 'fill' WHERE action_type = 'cancel_inferred';
ALTER TABLE sigsync.sync_audit_log DROP CONSTRAINT sync_audit_log_action_type_check;
ALTER TABLE sigsync.sync_audit_log
    ADD CONSTRAINT sync_audit_log_action_type_fkey FOREIGN KEY (action_type) REFERENCES sigsync.action_types (action_type);
COMMENT ON COLUMN sigsync.sync_audit_log.action_type IS 'What the row records: a kind of sigsync.action_types.';

-- Sync request statuses -------------------------------------------------------------------------
CREATE TABLE sigsync.sync_request_statuses (
    status  text PRIMARY KEY CHECK (status ~ '^[a-z][a-z_]*[a-z]$'),
    meaning text NOT NULL
);
COMMENT ON TABLE sigsync.sync_request_statuses IS
    'Every state of a Tier 1 request (sync_requests.status), declared once with its meaning; sync_requests.status '
    'references it.';
COMMENT ON COLUMN sigsync.sync_request_statuses.status IS 'The state, as sync_requests.status stores it.';
COMMENT ON COLUMN sigsync.sync_request_statuses.meaning IS 'What the state means, and which cycle step sets it.';

INSERT INTO sigsync.sync_request_statuses (status, meaning) VALUES
    ('open',      'Written by a cycle (Tier 1: a gap only the indicator can fill); waits for the indicator''s '
                  'MFE_UPDATE events.'),
    ('answered',  'Closed by a cycle: every signal asked about got an MFE update after the request, or is no longer '
                  'active.'),
    ('timed_out', 'Closed by a cycle: unanswered past sync_request_timeout; Tier 2 fills at once, and the signals are '
                  'not asked again for a while.');

UPDATE sigsync.sync_requests SET status = 'answered' WHERE status = 'cancelled';
ALTER TABLE sigsync.sync_requests DROP CONSTRAINT sync_requests_status_check;
ALTER TABLE sigsync.sync_requests
    ADD CONSTRAINT sync_requests_status_fkey FOREIGN KEY (status) REFERENCES sigsync.sync_request_statuses (status);
COMMENT ON COLUMN sigsync.sync_requests.status IS 'The state of the request: a status of sigsync.sync_request_statuses.';

-- gap_types.core, documented (DESIGN §9: the weights of the nine core types sum to 100) -----------
COMMENT ON COLUMN sigsync.gap_types.core IS
    'true for the nine gap types of DESIGN §5, whose weights sum to 100; false for missed_exit and anomaly, which '
    'lower health as well.';

-- Privileges: the vocabulary changes only with a migration; sigsync_admin reads it. The foreign key
-- checks run as the tables' owner, so sigsync_definer (ingest) needs nothing here.
REVOKE ALL ON sigsync.error_codes, sigsync.action_types, sigsync.sync_request_statuses FROM PUBLIC;
GRANT SELECT ON sigsync.error_codes, sigsync.action_types, sigsync.sync_request_statuses TO sigsync_admin;
