-- 10_ingest_rejections: every rejection code of sigsync.ingest (DESIGN §3, §10).
-- Each case is its own payload, ingested on its own; the result must say 'rejected' with
-- the expected error code, and the payload must be in sigsync.rejected_events exactly as
-- received (byte-identical text) with that code. Nothing is lost, nothing raises.
BEGIN;
SELECT plan(206);

CREATE TEMP TABLE rej_case (n integer PRIMARY KEY, name text NOT NULL, payload text NOT NULL, code text NOT NULL)
    ON COMMIT DROP;
INSERT INTO rej_case (n, name, payload, code) VALUES
    -- not JSON / not an object
    ( 1, 'garbage text',                    'not json at all',                                          'invalid_json'),
    ( 2, 'truncated object',                '{"event_type":"ENTRY",',                                     'invalid_json'),
    ( 3, 'single-quoted keys',              E'{''event_type'':''HEARTBEAT''}',                            'invalid_json'),
    ( 4, 'array of events',                 '[{"event_type":"HEARTBEAT"}]',                               'not_object'),
    ( 5, 'JSON string',                     '"HEARTBEAT"',                                                'not_object'),
    ( 6, 'JSON number',                     '42',                                                         'not_object'),
    ( 7, 'JSON null',                       'null',                                                       'not_object'),
    -- event type
    ( 8, 'no event_type',                   '{"trade_id":"20251212_104200000_BULLISH","entry_price":100}', 'missing_event_type'),
    ( 9, 'unknown event_type',              '{"event_type":"ENTRY_FILLED","trade_id":"20251212_104200000_BULLISH"}', 'unknown_event_type'),
    (10, 'unknown type (type spelling)',    '{"type":"exit_tp","trade_id":"20251212_104200000_BULLISH"}', 'unknown_event_type'),
    -- trade_id
    (11, 'ENTRY without trade_id',          '{"event_type":"ENTRY","entry_price":100,"stop_loss":99}',    'missing_trade_id'),
    (12, 'MFE_UPDATE without trade_id',     '{"type":"MFE_UPDATE","be_mfe":0.5}',                         'missing_trade_id'),
    (13, 'trade_id wrong shape',            '{"event_type":"ENTRY","trade_id":"20251212-104200_BULLISH"}', 'malformed_trade_id'),
    (14, 'trade_id wrong suffix',           '{"event_type":"ENTRY","trade_id":"20251212_104200000_LONG"}', 'malformed_trade_id'),
    (15, 'trade_id impossible date',        '{"event_type":"ENTRY","trade_id":"20250230_104200000_BULLISH"}', 'malformed_trade_id'),
    (16, 'trade_id impossible time',        '{"event_type":"ENTRY","trade_id":"20251212_254200000_BULLISH"}', 'malformed_trade_id'),
    (17, 'trade_id not a string',           '{"event_type":"ENTRY","trade_id":20251212104200000}',        'malformed_trade_id'),
    (18, 'bad cancelled_by',                '{"event_type":"CANCELLED","trade_id":"20251212_104200000_BULLISH","cancelled_by":"the next one"}', 'malformed_trade_id'),
    (19, 'bad element in SYNC_STATUS tracking',
                                            '{"event_type":"SYNC_STATUS","tracking":["20251212_104200000_BULLISH","not-an-id"]}', 'malformed_trade_id'),
    (20, 'bad element in SYNC_STATUS not_tracking',
                                            '{"event_type":"SYNC_STATUS","tracking":[],"not_tracking":[20251212]}', 'malformed_trade_id'),
    -- direction
    (21, 'direction UP',                    '{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH","direction":"UP"}', 'invalid_direction'),
    (22, 'direction not a string',          '{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH","direction":1}', 'invalid_direction'),
    (23, 'Bearish on a BULLISH trade_id',   '{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH","direction":"Bearish"}', 'direction_mismatch'),
    (24, 'LONG on a BEARISH trade_id',      '{"event_type":"ENTRY","trade_id":"20251212_104200000_BEARISH","direction":"LONG"}', 'direction_mismatch'),
    -- numbers
    (25, 'entry_price not numeric',         '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":"abc"}', 'non_numeric'),
    (26, 'be_mfe boolean',                  '{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":true}', 'non_numeric'),
    (27, 'stop_loss object',                '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","stop_loss":{"v":1}}', 'non_numeric'),
    (28, 'entry_price "NaN"',               '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":"NaN"}', 'non_finite'),
    (29, 'be_mfe "Infinity"',               '{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":"Infinity"}', 'non_finite'),
    (30, 'mae_global_r "-Infinity"',        '{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","mae_global_r":"-Infinity"}', 'non_finite'),
    -- non-positive prices: 0 and negative, for each price field
    (31, 'signal_price 0',                  '{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH","signal_price":0}', 'non_positive_price'),
    (32, 'signal_price negative',           '{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH","signal_price":"-0.5"}', 'non_positive_price'),
    (33, 'entry_price 0',                   '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":0}', 'non_positive_price'),
    (34, 'entry_price negative',            '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":-21000.25}', 'non_positive_price'),
    (35, 'stop_loss 0',                     '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","stop_loss":"0"}', 'non_positive_price'),
    (36, 'stop_loss negative',              '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":100,"stop_loss":-1}', 'non_positive_price'),
    (37, 'current_price 0',                 '{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","current_price":0.0}', 'non_positive_price'),
    (38, 'current_price negative',          '{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","current_price":-3}', 'non_positive_price'),
    (39, 'exit_price 0',                    '{"event_type":"EXIT_SL","trade_id":"20251212_104200000_BULLISH","exit_price":0}', 'non_positive_price'),
    (40, 'exit_price negative',             '{"event_type":"EXIT_BE","trade_id":"20251212_104200000_BULLISH","exit_price":"-100"}', 'non_positive_price'),
    -- stop side
    (41, 'Bullish stop above entry',        '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":100,"stop_loss":101}', 'stop_wrong_side'),
    (42, 'Bearish stop below entry',        '{"event_type":"ENTRY","trade_id":"20251212_104200000_BEARISH","entry_price":100,"stop_loss":99}', 'stop_wrong_side'),
    (43, 'stop equals entry',               '{"event_type":"ENTRY","trade_id":"20251212_104200000_BEARISH","entry_price":100,"stop_loss":"100.0"}', 'stop_equals_entry'),
    -- timestamps
    (44, 'timestamp garbage',               '{"event_type":"BE_TRIGGERED","trade_id":"20251212_104200000_BULLISH","timestamp":"yesterday"}', 'bad_timestamp'),
    (45, 'timestamp month 13',              '{"event_type":"BE_TRIGGERED","trade_id":"20251212_104200000_BULLISH","timestamp":"2025-13-01T10:00:00Z"}', 'bad_timestamp'),
    (46, 'timestamp in epoch seconds',      '{"event_type":"BE_TRIGGERED","trade_id":"20251212_104200000_BULLISH","timestamp":1765554300}', 'bad_timestamp'),
    (47, 'timestamp Feb 29 of 2025',        '{"event_type":"BE_TRIGGERED","trade_id":"20251212_104200000_BULLISH","timestamp":"2025-02-29T10:00:00"}', 'bad_timestamp'),
    (48, 'signal_time garbage',             '{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH","signal_time":"10:42"}', 'bad_timestamp'),
    (49, 'cancelled_time garbage',          '{"event_type":"CANCELLED","trade_id":"20251212_104200000_BULLISH","cancelled_time":"soon"}', 'bad_timestamp'),
    -- other fields
    (50, 'htf_alignment a string',          '{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH","htf_alignment":"bullish"}', 'invalid_field'),
    (51, 'htf_alignment an array',          '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","htf_alignment":["1h","4h"]}', 'invalid_field'),
    (52, 'MFE_UPDATE_BATCH without updates','{"event_type":"MFE_UPDATE_BATCH","trade_id":"20251212_104200000_BULLISH","timestamp":1765554300000}', 'invalid_field'),
    (53, 'MFE_UPDATE_BATCH empty updates',  '{"event_type":"MFE_UPDATE_BATCH","trade_id":"20251212_104200000_BULLISH","updates":[]}', 'invalid_field'),
    (54, 'bars_pending negative',           '{"event_type":"CANCELLED","trade_id":"20251212_104200000_BULLISH","bars_pending":-1}', 'invalid_field'),
    (55, 'bars_pending fractional',         '{"event_type":"CANCELLED","trade_id":"20251212_104200000_BULLISH","bars_pending":2.5}', 'invalid_field'),
    -- whitespace and non-ASCII must survive byte for byte
    (56, 'odd whitespace, non-ASCII',       E'{\n\t"event_type" :  "ENTRY",\r\n  "trade_id":"20251212_104200000_BULLISH" , "note":"caf\u00e9 \u2192 x",\n "entry_price": "n/a"  }\n', 'non_numeric'),
    (57, 'payload over 64 KiB',             '{"event_type":"HEARTBEAT","timestamp":1765554300000,"pad":"' || repeat('x', 70000) || '"}', 'payload_too_large'),
    (58, 'empty object',                    '{}',                                                         'missing_event_type'),
    (59, 'event_type null',                 '{"event_type":null,"trade_id":"20251212_104200000_BULLISH"}', 'missing_event_type');

-- each payload on its own (one ingest call per case)
CREATE TEMP TABLE rej_result ON COMMIT DROP AS
    SELECT c.n, sigsync.ingest(c.payload) AS r
      FROM rej_case c;

-- 59 x 3 assertions: status, code, stored as received (a body over max_payload_bytes: its first
-- 4096 characters, marked truncated); always with the size and sha256 of the whole body
SELECT is(r.r ->> 'status', 'rejected', format('case %s (%s): status rejected', c.n, c.name))
  FROM rej_case c LEFT JOIN rej_result r ON r.n = c.n
 ORDER BY c.n;
SELECT is(r.r -> 'error' ->> 'code', c.code, format('case %s (%s): error code %s', c.n, c.name, c.code))
  FROM rej_case c LEFT JOIN rej_result r ON r.n = c.n
 ORDER BY c.n;
SELECT ok(EXISTS (SELECT 1 FROM sigsync.rejected_events e
                   WHERE CASE WHEN octet_length(c.payload) <= 65536
                              THEN convert_to(e.payload, 'UTF8') = convert_to(c.payload, 'UTF8') AND NOT e.payload_truncated
                              ELSE e.payload = left(c.payload, 4096) AND e.payload_truncated END
                     AND e.payload_bytes = octet_length(c.payload)
                     AND e.payload_sha256 = encode(sha256(convert_to(c.payload, 'UTF8')), 'hex')
                     AND e.error_code = c.code
                     AND e.message <> ''),
          format('case %s (%s): stored as received in rejected_events with code %s', c.n, c.name, c.code))
  FROM rej_case c
 ORDER BY c.n;

SELECT is((SELECT count(*)::integer FROM sigsync.automated_signals), 0,
          'no rejected payload created an event');
SELECT is((SELECT count(*)::integer FROM sigsync.signals), 0,
          'no rejected payload created a registry row');

-- payload size limit: exactly max_payload_bytes is fine, one byte more is not ----------
SELECT is(sigsync.ingest(p.prefix || repeat('y', 65536 - octet_length(p.prefix) - 2) || '"}') ->> 'status',
          'accepted', 'a payload of exactly 65536 bytes is accepted')
  FROM (SELECT '{"event_type":"HEARTBEAT","timestamp":1765554300000,"pad":"'::text AS prefix) p;
SELECT is(sigsync.ingest(p.prefix || repeat('z', 65536 - octet_length(p.prefix) - 1) || '"}') -> 'error' ->> 'code',
          'payload_too_large', 'a payload of 65537 bytes is payload_too_large')
  FROM (SELECT '{"event_type":"HEARTBEAT","timestamp":1765554300000,"pad":"'::text AS prefix) p;
-- the limit counts bytes, not characters: 33000 two-byte characters are 66000 bytes
SELECT is(sigsync.ingest('{"event_type":"HEARTBEAT","timestamp":1765554300001,"pad":"'
                         || repeat(U&'\00e9', 33000) || '"}') -> 'error' ->> 'code',
          'payload_too_large', 'the size limit counts bytes (33000 two-byte characters are too large)');

-- ingest never raises for bad input; NULL is rejected --------------------------------
SELECT lives_ok($$SELECT sigsync.ingest(NULL::text)$$, 'ingest(NULL::text) does not raise');
SELECT lives_ok($$SELECT sigsync.ingest(NULL::jsonb)$$, 'ingest(NULL::jsonb) does not raise');
SELECT lives_ok($$SELECT * FROM sigsync.ingest_many(ARRAY[NULL, '', ' ', '{', '}', '{"event_type":null}',
                    '{"event_type":["ENTRY"]}', '{"event_type":"ENTRY","trade_id":{}}',
                    '{"event_type":"MFE_UPDATE_BATCH","trade_id":"20251212_104200000_BULLISH","updates":[1,"x",null]}',
                    '{"event_type":"HEARTBEAT","tracked_signals":1e999}',
                    '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","timestamp":1e300}',
                    '{"event_type":"ENTRY","trade_id":"99991231_235959999_BULLISH","entry_price":1e-300,"stop_loss":1e-301}',
                    '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":"1e99999"}',
                    '{"event_type":"SYNC_STATUS","tracking":[{"a":1}]}',
                    '{"symbol":"","event_type":"HEARTBEAT"}',
                    '{"event_type":"\u0000"}'])$$,
          'ingest_many does not raise for a batch of hostile payloads');
SELECT is(sigsync.ingest(NULL::text) ->> 'status', 'rejected', 'a NULL payload is rejected');
SELECT ok(sigsync.ingest(NULL::text) -> 'error' ->> 'code' IS NOT NULL, 'a NULL payload gets an error code');
SELECT is(sigsync.ingest(NULL::jsonb) ->> 'status', 'rejected', 'a NULL jsonb payload is rejected');
SELECT is(sigsync.ingest('{"event_type":"NOPE"}'::jsonb) -> 'error' ->> 'code', 'unknown_event_type',
          'the jsonb overload rejects with the same codes');
SELECT is(sigsync.ingest('{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":"abc"}')
              -> 'event_ids', '[]'::jsonb,
          'a rejected payload reports no event ids');

-- ingest_many: one row per element, in order, idx 1..n; elements are independent -------
CREATE TEMP TABLE many_result ON COMMIT DROP AS
    SELECT * FROM sigsync.ingest_many(ARRAY[
        '{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH","timestamp":1765554120000}',
        'this is not json',
        '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":100,"stop_loss":101,"timestamp":1765554180000}',
        NULL,
        '{"event_type":"ENTRY","trade_id":"20251212_104500000_BEARISH","entry_price":100,"stop_loss":101,"timestamp":1765554300000}',
        '{"trade_id":"20251212_104500000_BEARISH"}',
        '{"event_type":"HEARTBEAT","tracked_signals":2,"timestamp":1765554300000}'
    ]);
SELECT results_eq(
    $$SELECT idx, status, error ->> 'code' FROM many_result ORDER BY idx$$,
    $$VALUES (1, 'accepted', NULL::text), (2, 'rejected', 'invalid_json'), (3, 'rejected', 'stop_wrong_side'),
             (4, 'rejected', 'invalid_json'), (5, 'accepted', NULL), (6, 'rejected', 'missing_event_type'),
             (7, 'accepted', NULL)$$,
    'ingest_many: one result per element, idx 1..n, each element judged on its own');
SELECT is(ARRAY(SELECT idx FROM sigsync.ingest_many(ARRAY['{"event_type":"HEARTBEAT","timestamp":1765554360000}',
                                                         'bad', 'bad', '{"event_type":"HEARTBEAT","timestamp":1765554420000}'])),
          ARRAY[1, 2, 3, 4], 'ingest_many returns its rows in input order');
SELECT is((SELECT count(*)::integer FROM sigsync.automated_signals a
            WHERE a.id = ANY (SELECT unnest(m.event_ids) FROM many_result m WHERE m.status = 'accepted')),
          3, 'the good elements of a mixed call are stored');
SELECT is((SELECT array_agg(a.event_type ORDER BY a.id) FROM sigsync.automated_signals a
            WHERE a.trade_id IN ('20251212_104200000_BULLISH', '20251212_104500000_BEARISH')),
          ARRAY['SIGNAL_CREATED', 'ENTRY'], 'a bad element does not block or alter the good ones of its call');
SELECT is_empty($$SELECT * FROM sigsync.ingest_many('{}'::text[])$$, 'ingest_many of an empty array returns no rows');

-- the size limit is the setting max_payload_bytes --------------------------------------
UPDATE sigsync.settings SET value = '200' WHERE key = 'max_payload_bytes';
SELECT is(sigsync.ingest('{"event_type":"HEARTBEAT","timestamp":1765554480000,"pad":"' || repeat('p', 200) || '"}')
              -> 'error' ->> 'code',
          'payload_too_large', 'max_payload_bytes = 200: a ~260-byte payload is payload_too_large');
SELECT is(sigsync.ingest('{"event_type":"HEARTBEAT","timestamp":1765554480000,"pad":"' || repeat('p', 100) || '"}')
              ->> 'status',
          'accepted', 'max_payload_bytes = 200: a ~160-byte payload is accepted');
SELECT ok(EXISTS (SELECT 1 FROM sigsync.rejected_events
                   WHERE error_code = 'payload_too_large' AND payload LIKE '%' || repeat('p', 200) || '"}'),
          'the too-large payload is kept in rejected_events');

-- the messages name the field and the value -----------------------------------------------
SELECT is(sigsync.ingest('{"event_type":"SYNC_STATUS","tracking":"x"}') -> 'error' ->> 'message',
          '"tracking" must be an array of trade_ids', 'message: a list that is not an array');
SELECT is(sigsync.ingest('{"event_type":"SYNC_STATUS","tracking":["20251212_104200000_BULLISH",5,"bad"]}')
              -> 'error' ->> 'message',
          '"tracking" holds 5, which is not a trade_id', 'message: the first bad element of a list');
SELECT is(sigsync.ingest('{"event_type":"SYNC_STATUS","tracking":[],"not_tracking":[null]}') -> 'error' ->> 'message',
          '"not_tracking" holds null, which is not a trade_id', 'message: the second list is checked too');
SELECT is(sigsync.ingest('{"event_type":"SYNC_STATUS","not_tracking":"y","tracking":[5]}') -> 'error' ->> 'message',
          '"tracking" holds 5, which is not a trade_id', 'message: of two bad lists, "tracking" is reported');
SELECT is(sigsync.ingest('{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","signal_time":"x",'
                         '"confirmation_time":"y"}') -> 'error' ->> 'message',
          '"signal_time" "x" is neither epoch milliseconds nor an ISO-8601 date-time (years 2000-2099)',
          'message: the first unreadable timestamp, by name and value');
SELECT is(sigsync.ingest('{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":"abc"}')
              -> 'error' ->> 'message',
          '"be_mfe" "abc" is not a number', 'message: a non-numeric number');

UPDATE sigsync.settings SET value = '65536' WHERE key = 'max_payload_bytes';
SELECT is(sigsync.ingest('{"event_type":"HEARTBEAT", tracked_signals: 3}') -> 'error' ->> 'message',
          'not JSON: Token "tracked_signals" is invalid.', 'message: not JSON, in the parser''s words (what is wrong with the body)');
SELECT is(sigsync.ingest(repeat('[', 60000)) -> 'error',
          '{"code": "invalid_json", "message": "not JSON: nested too deep to read"}',
          'a body too deep for the parser: invalid_json, and the answer names no server limit');

SELECT * FROM finish();
ROLLBACK;
