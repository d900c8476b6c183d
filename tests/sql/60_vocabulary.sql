-- 60_vocabulary: the words sigsync writes are declared once, as data (0008_vocabulary):
-- sigsync.error_codes, sigsync.action_types and sigsync.sync_request_statuses, each referenced by
-- the column that stores the words. Every declared error code is the answer to some body and every
-- answer is declared; an undeclared word is refused by the catalog, whoever writes it; and
-- system_health.gaps_filled_last_hour counts the fills as the cycles write them (a Tier 2 refresh
-- of a stale MFE is one, an event's value over a lower tier is not).
BEGIN;
SELECT plan(20);

-- ---------------------------------------------------------------------------------------------
-- Error codes: one body per code, through every door (ingest, ingest_many with a source, the
-- bytes form, a call past max_payloads_per_call, an element whose storage fails)
-- ---------------------------------------------------------------------------------------------
CREATE TEMP TABLE answer (what text, code text) ON COMMIT DROP;
INSERT INTO answer
SELECT b.what, sigsync.ingest(b.body) -> 'error' ->> 'code'
  FROM (VALUES
    ('NULL',                NULL::text),
    ('not JSON',            'not json'),
    ('an array',            '[{"event_type":"HEARTBEAT"}]'),
    ('over 64 KiB',         '{"event_type":"HEARTBEAT","pad":"' || repeat('x', 70000) || '"}'),
    ('no type',             '{"trade_id":"20251212_104200000_BULLISH"}'),
    ('unknown type',        '{"event_type":"ENTRY_FILLED","trade_id":"20251212_104200000_BULLISH"}'),
    ('no trade_id',         '{"event_type":"ENTRY","entry_price":100,"stop_loss":99}'),
    ('bad trade_id',        '{"event_type":"ENTRY","trade_id":"20251212-104200_BULLISH"}'),
    ('direction UP',        '{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH","direction":"UP"}'),
    ('direction mismatch',  '{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH","direction":"Bearish"}'),
    ('price "abc"',         '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":"abc"}'),
    ('price "NaN"',         '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":"NaN"}'),
    ('price 0',             '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":0}'),
    ('stop above entry',    '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":100,"stop_loss":101}'),
    ('stop at entry',       '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":100,"stop_loss":100}'),
    ('bad timestamp',       '{"event_type":"BE_TRIGGERED","trade_id":"20251212_104200000_BULLISH","timestamp":"yesterday"}'),
    ('htf a string',        '{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH","htf_alignment":"up"}'),
    ('17 levels deep',      '{"event_type":"HEARTBEAT","x":' || repeat('[', 17) || repeat(']', 17) || '}'),
    ('1e16',                '{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":1e16}'),
    ('symbol of 41',        '{"event_type":"HEARTBEAT","symbol":"' || repeat('S', 41) || '"}'),
    ('a trade_id in 2099',  '{"event_type":"SIGNAL_CREATED","trade_id":"20990101_104200000_BULLISH"}'),
    ('1001 batch items',    '{"event_type":"MFE_UPDATE_BATCH","trade_id":"20251212_104200000_BULLISH","updates":['
                            || repeat('{"be_mfe":1},', 1000) || '{"be_mfe":1}]}')
  ) b(what, body);
INSERT INTO answer
SELECT 'another source', r.error ->> 'code'
  FROM sigsync.ingest_many(ARRAY['{"event_type":"HEARTBEAT","source":"other"}'], 'indicator') r;
INSERT INTO answer
SELECT 'not UTF-8', r.error ->> 'code'
  FROM sigsync.ingest_many(ARRAY['\xff7b7d'::bytea], NULL) r;
UPDATE sigsync.settings SET value = '1' WHERE key = 'max_payloads_per_call';
INSERT INTO answer
SELECT 'past max_payloads_per_call', r.error ->> 'code'
  FROM sigsync.ingest_many(ARRAY['{"event_type":"HEARTBEAT"}', '{"event_type":"HEARTBEAT"}']) r WHERE r.idx = 2;
UPDATE sigsync.settings SET value = '10000' WHERE key = 'max_payloads_per_call';
CREATE FUNCTION public.t60_boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.symbol = 'BOOM' THEN RAISE EXCEPTION 'event insert failed'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER t60_boom BEFORE INSERT ON sigsync.automated_signals FOR EACH ROW EXECUTE FUNCTION public.t60_boom();
INSERT INTO answer
SELECT 'storage fails', sigsync.ingest('{"event_type":"HEARTBEAT","symbol":"BOOM"}') -> 'error' ->> 'code';
DROP TRIGGER t60_boom ON sigsync.automated_signals;

SELECT is_empty($$SELECT what FROM answer WHERE code IS NULL$$, 'every body of the list is rejected');
SELECT set_eq($$SELECT code FROM answer$$, $$SELECT code FROM sigsync.error_codes$$,
              'the codes answered are exactly the declared codes: none undeclared, none that nothing writes');
SELECT set_eq($$SELECT error_code FROM sigsync.rejected_events$$, $$SELECT code FROM sigsync.error_codes$$,
              '... and each is stored with its payload in rejected_events');
SELECT throws_ok($$INSERT INTO sigsync.rejected_events (payload, payload_bytes, payload_sha256, error_code, message)
                   VALUES ('x', 1, 'sha', 'no_such_code', 'm')$$, '23503', NULL,
                 'rejected_events refuses a code sigsync.error_codes does not declare');
SELECT is((SELECT count(*)::integer FROM sigsync.error_codes WHERE meaning = ''), 0, 'every error code has a meaning');

-- ---------------------------------------------------------------------------------------------
-- Audit action types and sync request statuses
-- ---------------------------------------------------------------------------------------------
SELECT set_eq($$SELECT action_type FROM sigsync.action_types$$,
              ARRAY['fill', 'upgrade', 'refresh', 'revert', 'cancel_reverted', 'conflict', 'anomaly', 'sync_request',
                    'sync_timeout', 'error'],
              'the audit action types (cancel_inferred, info and exit_inferred, which nothing writes, are gone)');
SELECT throws_ok($$INSERT INTO sigsync.sync_audit_log (symbol, trade_id, action_type, reason)
                   VALUES ('NQ1!', 'x', 'cancel_inferred', 'r')$$, '23503', NULL,
                 'sync_audit_log refuses an action type sigsync.action_types does not declare');
SELECT set_eq($$SELECT status FROM sigsync.sync_request_statuses$$, ARRAY['open', 'answered', 'timed_out'],
              'the sync request statuses (cancelled, which nothing writes, is gone)');
SELECT throws_ok($$INSERT INTO sigsync.sync_requests (trade_ids, symbols, reason, status)
                   VALUES ('{a}', '{NQ1!}', 'no_mfe_update', 'cancelled')$$, '23503', NULL,
                 'sync_requests refuses a status sigsync.sync_request_statuses does not declare');
SELECT is((SELECT count(*)::integer FROM sigsync.action_types WHERE meaning = '')
          + (SELECT count(*)::integer FROM sigsync.sync_request_statuses WHERE meaning = ''), 0,
          'every action type and status has a meaning');
SELECT is_empty($$SELECT c.relname FROM pg_class c
                   WHERE c.oid IN ('sigsync.error_codes'::regclass, 'sigsync.action_types'::regclass,
                                   'sigsync.sync_request_statuses'::regclass)
                     AND (has_table_privilege('sigsync_admin', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
                          OR has_table_privilege('sigsync_reader', c.oid, 'SELECT, INSERT, UPDATE, DELETE')
                          OR has_table_privilege('sigsync_ingest', c.oid, 'SELECT, INSERT, UPDATE, DELETE')
                          OR NOT has_table_privilege('sigsync_admin', c.oid, 'SELECT'))$$,
                'the vocabulary changes only with a migration: sigsync_admin reads it, no other role touches it');

-- ---------------------------------------------------------------------------------------------
-- system_health.gaps_filled_last_hour: the fills of the last hour, as the cycles write them
-- ---------------------------------------------------------------------------------------------
-- GF (source feed2 sends no HEARTBEAT: offline, so Tier 2 fills at once): an ENTRY without
-- session, a real MFE at 15:01, bars until 15:04; the cycle at 15:06 fills by tier 3 (session,
-- signal date and time, ...) and tier 2 (targets), and Tier 2 refreshes the stale real MFE
DELETE FROM sigsync.sync_audit_log;
SELECT is(ARRAY[
    sigsync.ingest('{"event_type":"ENTRY","symbol":"GF","source":"feed2","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:00:00Z"}') ->> 'status',
    sigsync.ingest('{"event_type":"MFE_UPDATE","symbol":"GF","source":"feed2","trade_id":"20251212_100000000_BULLISH","be_mfe":0.2,"no_be_mfe":0.2,"mae_global_r":-0.1,"timestamp":"2025-12-12T15:01:00Z"}') ->> 'status'],
    ARRAY['accepted', 'accepted'], 'GF: ENTRY and a real MFE update accepted');
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close) VALUES
    ('GF', '2025-12-12 15:01:00+00', 100, 104, 99, 103),
    ('GF', '2025-12-12 15:02:00+00', 103, 106, 98, 105),
    ('GF', '2025-12-12 15:03:00+00', 105, 105, 99, 100),
    ('GF', '2025-12-12 15:04:00+00', 100, 101, 99, 100);
CREATE TEMP TABLE run ON COMMIT DROP AS SELECT sigsync.reconcile(p_now => '2025-12-12 15:06:00+00') AS res;
SELECT is((SELECT res ->> 'status' FROM run), 'ok', 'GF: the cycle ran');
SELECT cmp_ok((SELECT count(*)::integer FROM sigsync.sync_audit_log
                WHERE symbol = 'GF' AND action_type = 'refresh' AND tier = '2'
                  AND run_id = (SELECT (res ->> 'run_id')::bigint FROM run)), '>=', 1,
              'GF: the cycle refreshed the stale real MFE by tier 2 (audited refresh)');
SELECT is((SELECT gaps_filled_last_hour FROM sigsync.system_health),
          (SELECT count(*) FROM sigsync.sync_audit_log
            WHERE run_id = (SELECT (res ->> 'run_id')::bigint FROM run)
              AND action_type IN ('fill', 'upgrade', 'refresh') AND tier <> 'event'),
          'gaps_filled_last_hour: every fill, upgrade and refresh the cycle wrote by a fill tier, refreshes included');
SELECT cmp_ok((SELECT gaps_filled_last_hour FROM sigsync.system_health), '>',
              (SELECT count(*) FROM sigsync.sync_audit_log WHERE action_type IN ('fill', 'upgrade', 'exit_inferred')),
              '... more than the fill / upgrade / exit_inferred rows the view used to count');
SELECT is((SELECT gaps_filled_last_hour FROM sigsync.system_health),
          (SELECT sum(v::integer) FROM run, jsonb_each_text(res -> 'fills_by_tier') t(k, v) WHERE k <> 'event'),
          '... the same fills the cycle counts by tier in its summary');

-- a second ENTRY that brings the session: the event's value replaces the tier 3 one (audited
-- upgrade, tier event); the event arrived, no gap was filled
CREATE TEMP TABLE gf_before ON COMMIT DROP AS SELECT gaps_filled_last_hour AS n FROM sigsync.system_health;
SELECT is(sigsync.ingest('{"event_type":"ENTRY","symbol":"GF","source":"feed2","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"session":"London","timestamp":"2025-12-12T15:00:00Z"}') ->> 'status',
          'accepted', 'GF: a second ENTRY with a session accepted');
SELECT is((SELECT count(*)::integer FROM sigsync.sync_audit_log
            WHERE symbol = 'GF' AND action_type = 'upgrade' AND field = 'session' AND tier = 'event'), 1,
          'GF: the event''s session replaced the tier 3 one (audited upgrade, tier event)');
SELECT is((SELECT gaps_filled_last_hour FROM sigsync.system_health), (SELECT n FROM gf_before),
          'gaps_filled_last_hour: an event''s value over a lower tier is not a fill (the old count took it)');

SELECT * FROM finish();
ROLLBACK;
