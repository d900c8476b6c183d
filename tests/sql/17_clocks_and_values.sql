-- 17_clocks_and_values: wrong clocks and values the contract refuses (issue "trust under
-- hostile input", items 2, 4, 7 and 9).
--   * trade_id dates are bounded like timestamps (years 2000-2099);
--   * events, trade_ids and cancelled_by dated later than received_at + max_clock_skew are
--     rejected (future_timestamp) and kept, so a wrong clock cannot pin the indicator link or
--     a trade's MFE, nor cancel today's signals;
--   * a cycle at a p_now later than now() + max_clock_skew is refused; retention never
--     deletes what is younger than its retention by the wall clock;
--   * rejected_events has a retention of its own;
--   * numbers beyond +-1e15, bodies nested deeper than 16 levels, look-alike letters and a
--     signal cancelled by itself are refused;
--   * a body's times do not depend on the other bodies of its call (ingest parses each time
--     text of a call once).
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(83);

CREATE FUNCTION pg_temp.code(p text) RETURNS text
LANGUAGE sql AS $$ SELECT coalesce(r -> 'error' ->> 'code', r ->> 'status') FROM (SELECT sigsync.ingest(p) AS r) x $$;
-- epoch milliseconds of now() + an interval, and a trade_id at that time (New York)
CREATE FUNCTION pg_temp.ms(p interval) RETURNS bigint
LANGUAGE sql AS $$ SELECT (extract(epoch FROM now() + p) * 1000)::bigint $$;
CREATE FUNCTION pg_temp.tid(p interval, p_dir text) RETURNS text
LANGUAGE sql AS $$ SELECT to_char((now() + p) AT TIME ZONE 'America/New_York', 'YYYYMMDD_HH24MISS"000_"') || p_dir $$;

-- 2. trade_id years ----------------------------------------------------------------------------
SELECT is(pg_temp.code('{"event_type":"SIGNAL_CREATED","trade_id":"99991231_235959999_BEARISH"}'),
          'malformed_trade_id', 'a trade_id in year 9999 is malformed (years 2000-2099, as for timestamps)');
SELECT is(pg_temp.code('{"event_type":"SIGNAL_CREATED","trade_id":"19991231_235959999_BEARISH"}'),
          'malformed_trade_id', 'a trade_id in 1999 is malformed');
SELECT is(pg_temp.code('{"event_type":"BE_TRIGGERED","trade_id":"20251212_104200000_BULLISH","timestamp":"1999-12-31T10:00:00Z"}'),
          'bad_timestamp', 'an ISO timestamp in 1999 is a bad_timestamp, like epoch milliseconds outside 2000-2099');

-- 4. events dated in the future ------------------------------------------------------------------
SELECT is(pg_temp.code(format('{"type":"HEARTBEAT","tracked_signals":1,"timestamp":%s}', pg_temp.ms('-1 minute'))),
          'accepted', 'a real heartbeat is accepted');
SELECT is(pg_temp.code('{"type":"HEARTBEAT","tracked_signals":9,"timestamp":"2099-01-01T00:00:00Z"}'),
          'future_timestamp', 'a HEARTBEAT dated 2099: future_timestamp');
SELECT ok(EXISTS (SELECT 1 FROM sigsync.rejected_events WHERE error_code = 'future_timestamp' AND payload LIKE '%2099-01-01%'),
          '... kept in rejected_events');
SELECT is(pg_temp.code(format('{"type":"HEARTBEAT","tracked_signals":2,"timestamp":%s}', pg_temp.ms('-30 seconds'))),
          'accepted', 'a later real heartbeat is accepted');
SELECT is((SELECT tracked_signals FROM sigsync.indicator_status WHERE source = 'indicator'), 2,
          '... and it is the indicator''s latest (the 2099 one pinned nothing)');
SELECT is(pg_temp.code(format('{"event_type":"ENTRY","trade_id":"%s","entry_price":100,"stop_loss":90,"timestamp":%s}',
                              pg_temp.tid('-10 minutes', 'BULLISH'), pg_temp.ms('-9 minutes'))),
          'accepted', 'an ENTRY of ten minutes ago');
SELECT is(pg_temp.code(format('{"event_type":"MFE_UPDATE","trade_id":"%s","be_mfe":0.5,"current_price":105,"timestamp":%s}',
                              pg_temp.tid('-10 minutes', 'BULLISH'), 4070908800000)),
          'future_timestamp', 'a MFE_UPDATE dated 2099: future_timestamp');
SELECT ok((SELECT current_price IS NULL AND last_mfe_update_at IS NULL FROM sigsync.signals
            WHERE trade_id = pg_temp.tid('-10 minutes', 'BULLISH')),
          '... it pins neither current_price nor last_mfe_update_at');
SELECT is(pg_temp.code(format('{"event_type":"SIGNAL_CREATED","trade_id":"%s"}', pg_temp.tid('1 day', 'BEARISH'))),
          'future_timestamp', 'a SIGNAL_CREATED whose trade_id is tomorrow: future_timestamp (it would cancel today''s signals)');
SELECT is(sigsync.ingest('{"event_type":"SIGNAL_CREATED","trade_id":"20991231_100000000_BEARISH"}') -> 'error' ->> 'message',
          'the time of trade_id 2099-12-31T15:00:00.000Z is later than its receipt + max_clock_skew (00:05:00): '
          'check the sender''s clock and the timezone setting', 'the message says which time and why');
SELECT is(pg_temp.code(format('{"event_type":"CANCELLED","trade_id":"%s","cancelled_by":"%s"}',
                              pg_temp.tid('-20 minutes', 'BULLISH'), pg_temp.tid('2 days', 'BEARISH'))),
          'future_timestamp', 'a cancelled_by in the future: future_timestamp');
SELECT is(pg_temp.code(format('{"event_type":"SIGNAL_CREATED","trade_id":"%s","timestamp":%s}',
                              pg_temp.tid('2 minutes', 'BEARISH'), pg_temp.ms('2 minutes'))),
          'accepted', 'two minutes ahead is within max_clock_skew (5 minutes)');
UPDATE sigsync.settings SET value = '"2 days"' WHERE key = 'max_clock_skew';
SELECT is(pg_temp.code(format('{"event_type":"SIGNAL_CREATED","trade_id":"%s"}', pg_temp.tid('1 day', 'BEARISH'))),
          'accepted', 'max_clock_skew is a setting: with 2 days, tomorrow is accepted');
UPDATE sigsync.settings SET value = '"5 minutes"' WHERE key = 'max_clock_skew';

-- 4. cycles at a wrong time, retention by the wall clock ---------------------------------------------
INSERT INTO sigsync.sync_audit_log (symbol, trade_id, action_type, reason, action_timestamp)
VALUES ('NQ1!', 'x', 'revert', 'ten days old', now() - interval '10 days'),
       ('NQ1!', 'x', 'revert', 'two years old', now() - interval '730 days');
INSERT INTO sigsync.sync_runs (trigger, p_now, started_at, status) VALUES ('manual', now(), now() - interval '10 days', 'ok');
SELECT throws_ok($$SELECT sigsync.reconcile('2100-01-01')$$, '22023', NULL,
                 'reconcile at a p_now in 2100 is refused (invalid_parameter_value)');
SELECT throws_like($$SELECT sigsync.reconcile(now() + interval '1 hour')$$, '%later than now() + max_clock_skew%',
                   '... with a clear error, for any p_now past now() + max_clock_skew');
SELECT throws_ok($$SELECT sigsync.reconcile('-infinity')$$, '22023',
                 'sigsync: p_now -infinity is not a time a cycle can run at (one from 2000 on)',
                 'reconcile at p_now -infinity is refused, saying so');
SELECT throws_like($$SELECT sigsync.reconcile('4713-01-01 BC')$$, '%is not a time a cycle can run at%',
                   '... and so is one before 2000 (before any event time)');
SELECT is((SELECT count(*)::integer FROM sigsync.sync_audit_log WHERE reason = 'ten days old'), 1,
          'the refused cycle deleted no audit row');
SELECT is(sigsync.reconcile(now() + interval '1 minute') ->> 'status', 'ok', 'a p_now within max_clock_skew runs');
SELECT is((SELECT array_agg(reason) FROM sigsync.sync_audit_log WHERE action_type = 'revert' AND trade_id = 'x'), ARRAY['ten days old'],
          'retention by the wall clock: the row past audit_retention went, the ten-day one stayed');
SELECT is((SELECT count(*)::integer FROM sigsync.sync_runs WHERE started_at < now() - interval '9 days'), 1,
          'the ten-day-old run is kept (run_retention 30 days)');
INSERT INTO sigsync.sync_audit_log (symbol, trade_id, action_type, reason, action_timestamp)
VALUES ('NQ1!', 'x', 'revert', 'four hundred days old', now() - interval '400 days');
SELECT is(sigsync.reconcile(now() - interval '100 days') ->> 'status', 'ok', 'a cycle evaluated 100 days ago');
SELECT is((SELECT count(*)::integer FROM sigsync.sync_audit_log WHERE reason = 'four hundred days old'), 1,
          '... deletes less, never more: the 400-day-old row is 300 days old by its p_now');

-- 7. rejected payloads have a retention, counted by sigsync's clock ---------------------------------
INSERT INTO sigsync.rejected_events (payload, payload_bytes, payload_sha256, error_code, message, received_at, stored_at)
VALUES ('old', 3, 'x', 'invalid_json', 'm', now() - interval '100 days', now() - interval '100 days'),
       ('recent', 6, 'y', 'invalid_json', 'm', now() - interval '80 days', now() - interval '80 days'),
       ('dated ahead', 11, 'z', 'invalid_json', 'm', now() - interval '1 minute', now() - interval '100 days');
-- a receiver replaying a body it kept gives the time it received it: 200 days ago
SELECT is((SELECT array_agg(r.status) FROM sigsync.ingest_many(ARRAY['{replayed'], NULL, now() - interval '200 days') r),
          ARRAY['rejected'], 'a replayed body received 200 days ago is rejected ...');
SELECT is(sigsync.reconcile() ->> 'status', 'ok', 'a cycle');
SELECT is((SELECT array_agg(payload ORDER BY id) FROM sigsync.rejected_events
            WHERE payload IN ('old', 'recent', 'dated ahead', '{replayed')),
          ARRAY['recent', '{replayed'],
          'rejected payloads stored longer ago than rejected_retention (90 days) are pruned, whatever their received_at; '
          'the replayed one, stored now, is kept');
SELECT is((SELECT received_at FROM sigsync.rejected_events WHERE payload = '{replayed'), now() - interval '200 days',
          '... with the time it was received');
SELECT is((SELECT (received_at, stored_at > now() - interval '1 minute')::text FROM sigsync.rejected_payloads
            WHERE payload_prefix = '{replayed'),
          (now() - interval '200 days', true)::text,
          'rejected_payloads shows a reader both: when the body was received and when it was stored');
SELECT throws_ok($$SELECT * FROM sigsync.ingest_many(ARRAY['{"type":"HEARTBEAT"}'], NULL, '-infinity')$$, '22023',
                 'sigsync: p_received_at -infinity is not a receipt time (one from 2000 on; leave it out for now)',
                 'ingest_many with p_received_at -infinity is refused, saying so (it would bound and stand in for times)');
SELECT throws_ok($$SELECT * FROM sigsync.ingest_many(ARRAY['\xff'::bytea], NULL, 'infinity')$$, '22023',
                 'sigsync: p_received_at infinity is not a receipt time (one from 2000 on; leave it out for now)',
                 '... and so is infinity, in the bytes form too (a body that does not decode included)');
SELECT throws_ok($$SELECT * FROM sigsync.ingest_many('{}'::bytea[], NULL, 'infinity')$$, '22023', NULL,
                 '... also for no bodies at all, as the text form');
SELECT throws_like($$SELECT * FROM sigsync.ingest_many(ARRAY['{"type":"HEARTBEAT"}'], NULL, '1999-12-31 23:59:59+00')$$,
                   '%is not a receipt time (one from 2000 on%',
                   'a receipt time before 2000 is refused: it would stand in for an event time no body may carry');
SELECT is((SELECT array_agg(r.status) FROM sigsync.ingest_many(ARRAY['{"type":"HEARTBEAT","source":"at2000"}'], NULL,
                                                            '2000-01-01 00:00:00+00') r),
          ARRAY['accepted'], '2000-01-01 00:00 UTC is the earliest receipt time taken ...');
SELECT is((SELECT ("timestamp", timestamp_from_received)::text FROM sigsync.automated_signals WHERE source = 'at2000'),
          ('2000-01-01 00:00:00+00'::timestamptz, true)::text, '... and stands in for the missing timestamp');

-- 9. values the contract refuses --------------------------------------------------------------------
SELECT is(pg_temp.code(format('{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":%s}', v)),
          'number_out_of_range', format('be_mfe %s: number_out_of_range', v))
  FROM unnest(ARRAY['1e400', '1e309', '"1e309"', '-1e16', '1e-16']) v;
SELECT is(pg_temp.code('{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":1e400,"stop_loss":90}'),
          'number_out_of_range', 'a price of 1e400: number_out_of_range');
SELECT is(pg_temp.code('{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":1e15,"no_be_mfe":0,"mae_global_r":-1e-15,"timestamp":1765554300000}'),
          'accepted', '1e15, 0 and -1e-15 are in range');
SELECT is(pg_temp.code('{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104300000_BULLISH","htf_alignment":{"x":'
                       || repeat('[', 10000) || repeat(']', 10000) || '}}'),
          'too_deep', 'htf_alignment nested 10,000 deep: too_deep');
SELECT is(pg_temp.code('{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104400000_BULLISH","htf_alignment":{"x":'
                       || repeat('[', 14) || repeat(']', 14) || '}}'),
          'accepted', 'a body 16 levels deep is accepted');
SELECT is(pg_temp.code('{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104500000_BULLISH","htf_alignment":{"x":'
                       || repeat('[', 15) || repeat(']', 15) || '}}'),
          'too_deep', '17 levels is too deep');
SELECT is(pg_temp.code('{"event_type":"ENTRY","trade_id":"20251212_104200000_bullısh"}'), 'malformed_trade_id',
          'a dotless i in the trade_id suffix is malformed (never folded to BULLISH)');
SELECT is(pg_temp.code('{"event_type":"ENTRY","trade_id":"20251212_104200000_bulliſh"}'), 'malformed_trade_id',
          'a long s in the trade_id suffix is malformed');
SELECT is(pg_temp.code('{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104600000_BULLISH","direction":"bullısh"}'),
          'invalid_direction', 'a dotless i in direction is not Bullish');
SELECT is(pg_temp.code('{"event_type":"SIGNAL_CREATED","symbol":"es1ſ","trade_id":"20251212_104700000_BULLISH"}'),
          'accepted', 'a symbol with a long s ...');
SELECT is((SELECT array_agg(symbol) FROM sigsync.signals WHERE trade_id = '20251212_104700000_BULLISH'), ARRAY['ES1ſ'],
          '... is upper-cased in ASCII only (not folded into ES1S)');
SELECT is(pg_temp.code('{"event_type":"CANCELLED","trade_id":"20251212_104800000_BULLISH","cancelled_by":"20251212_104800000_bullish"}'),
          'invalid_field', 'a signal cancelled by itself: invalid_field');

-- numbers with more than 20 decimals, and numbers out of range anywhere in the body
SELECT is(pg_temp.code('{"event_type":"ENTRY","trade_id":"20251212_104900000_BULLISH",'
                       '"entry_price":100.000000000000000000000000000000000000000001,"stop_loss":100}'),
          'number_out_of_range', 'an entry 1e-42 above its stop (42 decimals, near-zero risk): number_out_of_range');
SELECT is(pg_temp.code('{"event_type":"ENTRY","trade_id":"20251212_104900000_BULLISH","entry_price":0.00001234,'
                       '"stop_loss":0.00001200,"timestamp":1765554300000}'),
          'accepted', 'a price of a token worth 0.00001234 is fine');
SELECT is(pg_temp.code('{"event_type":"SIGNAL_CREATED","trade_id":"20251212_105000000_BULLISH","htf_alignment":{"daily":1e400}}'),
          'number_out_of_range', 'a number out of range inside htf_alignment: number_out_of_range');
SELECT is(pg_temp.code('{"event_type":"SIGNAL_CREATED","trade_id":"20251212_105000000_BULLISH","extra":-1e-400}'),
          'number_out_of_range', '... or in a field sigsync does not read');

-- settings a cycle could not compute with are refused when written
SELECT throws_ok(format($$UPDATE sigsync.settings SET value = '"%s"' WHERE key = '%s'$$, v.value, v.key), '23514', NULL,
                 format('setting %s = %s is refused', v.key, v.value))
  FROM (VALUES ('audit_retention', '10000 years'), ('max_clock_skew', '300000 years'), ('heartbeat_timeout', '10000 years'),
               ('sync_request_timeout', '1000 years'), ('mfe_stale_after', '300000 years'),
               ('cycle_stall_after', '10000 years'), ('run_retention', '1 mon -30 days 1 second'),
               ('bar_interval', '0 seconds')) v(key, value);
SELECT throws_ok($$UPDATE sigsync.settings SET value = '1e400' WHERE key = 'be_trigger_r'$$, '23514', NULL,
                 'be_trigger_r = 1e400 is refused');
SELECT throws_ok($$UPDATE sigsync.settings SET value = '[1, 1e400]' WHERE key = 'target_multiples'$$, '23514', NULL,
                 'a target multiple of 1e400 is refused');
SELECT lives_ok($$UPDATE sigsync.settings SET value = '"100 years"' WHERE key = 'audit_retention'$$,
                'a retention of 100 years is fine');
SELECT is(sigsync.reconcile() ->> 'status', 'ok', '... and cycles run with it');

-- the source a caller vouches for, and arrays of any shape
SELECT throws_ok($$SELECT * FROM sigsync.ingest_many(ARRAY['{"type":"HEARTBEAT"}'], repeat('s', 65))$$, '22023', NULL,
                 'a source of 65 characters from the caller raises invalid_parameter_value');
SELECT is((SELECT array_agg(idx::text || ':' || status ORDER BY idx)
             FROM sigsync.ingest_many('[5:6]={"{\"type\":\"HEARTBEAT\",\"tracked_signals\":2}","nope"}'::text[])),
          ARRAY['1:accepted', '2:rejected'], 'an array numbered from 5: one result per element, idx from 1');
SELECT is((SELECT array_agg(idx::text || ':' || status ORDER BY idx)
             FROM sigsync.ingest_many(ARRAY[['{"type":"HEARTBEAT","tracked_signals":3}', 'nope'],
                                            ['{"type":"HEARTBEAT","tracked_signals":4}', '{"type":"HEARTBEAT","source":"'
                                                 || repeat('s', 3000) || '"}']])),
          ARRAY['1:accepted', '2:rejected', '3:accepted', '4:rejected'], 'a 2-D array: one result per element');

-- a body kept by a receiver whose clock lags (serve's spool) is judged by the database's clock too
SELECT is((SELECT status FROM sigsync.ingest_many(
              ARRAY[convert_to(format('{"type":"HEARTBEAT","tracked_signals":5,"timestamp":%s}', pg_temp.ms('0')), 'UTF8')],
              'indicator', now() - interval '10 minutes')),
          'accepted', 'a body timed now, kept by a receiver whose clock is 10 minutes behind: accepted');
SELECT is((SELECT error ->> 'code' FROM sigsync.ingest_many(
              ARRAY[convert_to(format('{"type":"HEARTBEAT","tracked_signals":5,"timestamp":%s}', pg_temp.ms('10 minutes')), 'UTF8')],
              'indicator', now() - interval '10 minutes')),
          'future_timestamp', '... one timed 10 minutes after the database''s clock still is future_timestamp');

-- cycle rows dated ahead, or without end
INSERT INTO sigsync.sync_runs (trigger, p_now, started_at, finished_at, status)
VALUES ('manual', now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour' + interval '1 second', 'ok'),
       ('manual', now() + interval '1 day', now() + interval '1 day', now() + interval '1 day', 'ok');
SELECT is((SELECT (last_ok_cycle_at, last_cycle_at)::text FROM sigsync.system_health),
          (SELECT (max(finished_at), max(finished_at))::text FROM sigsync.sync_runs
            WHERE status = 'ok' AND started_at < now() + interval '1 hour'),
          'a cycle row dated tomorrow (a clock that jumped, a hand edit) does not stand for the latest cycle');
SELECT throws_ok($$INSERT INTO sigsync.sync_runs (p_now, started_at, finished_at, status)
                   VALUES (now(), now(), 'infinity', 'ok')$$,
                 '23514', NULL, 'a cycle row that never finishes (finished_at infinity) is refused');

-- a body's times are its own, whatever else its call holds: the same value written with and
-- without trailing zeros (equal as JSON numbers) is parsed from each body's own text
CREATE FUNCTION pg_temp.signal_times(VARIADIC p_times text[]) RETURNS timestamptz[]
LANGUAGE sql AS $$
    SELECT array_agg(n.signal_time ORDER BY n.ord)
      FROM sigsync._normalize_events(
               ARRAY(SELECT format('{"event_type": "SIGNAL_CREATED", "trade_id": "20230923_15%s00000_BULLISH", '
                                   '"signal_time": %s}', 40 + t.i, t.v)::jsonb
                       FROM unnest(p_times) WITH ORDINALITY t(v, i) ORDER BY t.i),
               now(), 'UTC', 'NQ1!', NULL, '5 minutes') n
$$;
SELECT is(pg_temp.signal_times('1695498294975.0005010000', '1695498294975.000501'),
          array_fill('2023-09-23 19:44:54.975001+00'::timestamptz, ARRAY[2]),
          'two bodies of one call with equal but differently written times: one time for both');
SELECT is(pg_temp.signal_times('1695498294975.000501', '1695498294975.0005010000'),
          array_fill('2023-09-23 19:44:54.975001+00'::timestamptz, ARRAY[2]),
          '... in either order');
SELECT is(ARRAY[sigsync._parse_ts('1005946686639.7524471', 'UTC'), sigsync._parse_ts('1005946686639.75244710000', 'UTC'),
                sigsync._parse_ts('"1005946686639.752447100"', 'UTC')],
          array_fill('2001-11-16 21:38:06.639752+00'::timestamptz, ARRAY[3]),
          'epoch milliseconds are one time however many trailing zeros they are written with (whole microseconds)');
SELECT is(sigsync._parse_ts('4102444799999.9996', 'UTC'), NULL,
          'a time that rounds to 2100-01-01 00:00 is outside 2000..2099');
SELECT is(ARRAY[sigsync._parse_ts('946684799999.9995', 'UTC'), sigsync._parse_ts('946684799999.9994', 'UTC')],
          ARRAY['2000-01-01 00:00:00+00'::timestamptz, NULL],
          '... and one that rounds to 2000-01-01 00:00 is inside: the bound is checked on the rounded time');
SELECT is(ARRAY[sigsync._parse_ts('"2099-12-31T23:59:59.9999995Z"', 'UTC'), sigsync._parse_ts('"2099-12-31T23:59:59.9999994Z"', 'UTC')],
          ARRAY[NULL, '2099-12-31 23:59:59.999999+00'::timestamptz],
          '... as for ISO times: one that rounds into 2100 is outside');
SELECT is(ARRAY[sigsync._parse_ts('1765554120000.0025', 'UTC'), sigsync._parse_ts('"2025-12-12T15:42:00.0000025Z"', 'UTC'),
                sigsync._parse_ts('"2025-12-12T10:42:00.0000025"', 'America/New_York'),
                sigsync._parse_ts('"2025-12-12T10:42:00.000002500-05:00"', 'UTC')],
          array_fill('2025-12-12 15:42:00.000003+00'::timestamptz, ARRAY[4]),
          'one instant half a microsecond past a whole one is one time in every form: epoch ms, ISO with Z, '
          'naive, with an offset (half away from zero)');

SELECT * FROM finish();
ROLLBACK;
