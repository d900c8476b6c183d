-- 11_ingest_accept: accepted events of every type land in sigsync.automated_signals with
-- their typed columns normalised (DESIGN §3): timestamps (epoch ms, ISO Z / offset / naive in
-- the timezone setting, missing -> received_at), direction spellings, trade_id case,
-- numeric strings, symbol/source defaults, and MFE_UPDATE_BATCH splitting.
BEGIN;
SELECT plan(80);

CREATE TEMP TABLE r (name text PRIMARY KEY, res jsonb) ON COMMIT DROP;
-- the (first) stored event of a named ingest
CREATE FUNCTION pg_temp.ev(p_name text) RETURNS sigsync.automated_signals
LANGUAGE sql AS $$
    SELECT a.* FROM sigsync.automated_signals a JOIN r ON r.name = p_name
     WHERE a.id = (r.res -> 'event_ids' ->> 0)::bigint
$$;

-- SIGNAL_CREATED: epoch ms, lower-case direction, numeric string price ----------------
INSERT INTO r VALUES ('sc', sigsync.ingest(
    '{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH","signal_time":1765554120000,'
    '"direction":"bullish","session":"NY AM","htf_alignment":{"1h":"Bullish","4h":"Bearish"},'
    '"signal_price":"21000.25","timestamp":1765554120000}'));
SELECT is(res ->> 'status', 'accepted', 'SIGNAL_CREATED accepted') FROM r WHERE name = 'sc';
SELECT is(jsonb_array_length(res -> 'event_ids'), 1, 'SIGNAL_CREATED: one event id') FROM r WHERE name = 'sc';
SELECT ok(res -> 'error' = 'null'::jsonb OR res -> 'error' IS NULL, 'SIGNAL_CREATED: no error') FROM r WHERE name = 'sc';
SELECT is((pg_temp.ev('sc')).event_type, 'SIGNAL_CREATED', 'SIGNAL_CREATED: event_type column');
SELECT is((pg_temp.ev('sc')).trade_id, '20251212_104200000_BULLISH', 'SIGNAL_CREATED: trade_id column');
SELECT is((pg_temp.ev('sc'))."timestamp", '2025-12-12 15:42:00+00'::timestamptz, 'timestamp from epoch ms');
SELECT is((pg_temp.ev('sc')).timestamp_from_received, false, 'a payload timestamp is not from received_at');
SELECT is((pg_temp.ev('sc')).signal_time, '2025-12-12 15:42:00+00'::timestamptz, 'signal_time from epoch ms');
SELECT is((pg_temp.ev('sc')).direction, 'Bullish', 'direction "bullish" -> Bullish');
SELECT is((pg_temp.ev('sc')).session, 'NY AM', 'session column');
SELECT is((pg_temp.ev('sc')).htf_alignment, '{"1h":"Bullish","4h":"Bearish"}'::jsonb, 'htf_alignment column (object)');
SELECT is((pg_temp.ev('sc')).signal_price, 21000.25, 'numeric string "21000.25" accepted as a number');
SELECT is((pg_temp.ev('sc')).symbol, 'NQ1!', 'symbol defaults to the default_symbol setting (NQ1!)');
SELECT is((pg_temp.ev('sc')).source, 'indicator', 'source defaults to indicator');
SELECT is((pg_temp.ev('sc')).payload ->> 'signal_price', '21000.25', 'the payload is kept with the event');
SELECT ok((pg_temp.ev('sc')).payload_checksum ~ '^[0-9a-f]{64}$', 'payload_checksum is a sha256 hex');

-- ENTRY: ISO with Z; confirmation_time from its field ----------------------------------
INSERT INTO r VALUES ('entry', sigsync.ingest(
    '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","direction":"LONG","entry_price":21001.5,'
    '"stop_loss":"20990","session":"NY AM","confirmation_time":"2025-12-12T15:44:00Z","bars_to_confirmation":2,'
    '"timestamp":"2025-12-12T15:44:30Z"}'));
SELECT is(res ->> 'status', 'accepted', 'ENTRY accepted') FROM r WHERE name = 'entry';
SELECT is((pg_temp.ev('entry'))."timestamp", '2025-12-12 15:44:30+00'::timestamptz, 'timestamp from ISO with Z');
SELECT is((pg_temp.ev('entry')).direction, 'Bullish', 'direction LONG -> Bullish');
SELECT is((pg_temp.ev('entry')).entry_price, 21001.5, 'entry_price column');
SELECT is((pg_temp.ev('entry')).stop_loss, 20990::numeric, 'stop_loss from a numeric string');
SELECT is((pg_temp.ev('entry')).confirmation_time, '2025-12-12 15:44:00+00'::timestamptz,
          'ENTRY confirmation_time is its confirmation_time field');
SELECT is((pg_temp.ev('entry')).bars_to_confirmation, 2, 'bars_to_confirmation column');

-- ENTRY without confirmation_time: its timestamp (ISO with offset) ---------------------
INSERT INTO r VALUES ('entry2', sigsync.ingest(
    '{"event_type":"ENTRY","trade_id":"20251212_110000000_BEARISH","direction":"short","entry_price":21050,'
    '"stop_loss":21060,"timestamp":"2025-12-12T11:03:00-05:00"}'));
SELECT is((pg_temp.ev('entry2'))."timestamp", '2025-12-12 16:03:00+00'::timestamptz, 'timestamp from ISO with offset -05:00');
SELECT is((pg_temp.ev('entry2')).confirmation_time, '2025-12-12 16:03:00+00'::timestamptz,
          'ENTRY without confirmation_time: confirmation_time = its timestamp');
SELECT is((pg_temp.ev('entry2')).direction, 'Bearish', 'direction "short" -> Bearish');

-- naive timestamps are in America/New_York (winter and summer) -------------------------
INSERT INTO r VALUES ('naive_w', sigsync.ingest(
    '{"event_type":"BE_TRIGGERED","trade_id":"20251212_104200000_BULLISH","timestamp":"2025-12-12T10:50:00"}'));
INSERT INTO r VALUES ('naive_s', sigsync.ingest(
    '{"event_type":"SIGNAL_CREATED","trade_id":"20250701_100000000_BEARISH","timestamp":"2025-07-01 10:00:00.250"}'));
INSERT INTO r VALUES ('offset530', sigsync.ingest(
    '{"event_type":"SIGNAL_CREATED","trade_id":"20250701_100100000_BEARISH","timestamp":"2025-07-01T19:31:00+05:30"}'));
SELECT is((pg_temp.ev('naive_w'))."timestamp", '2025-12-12 15:50:00+00'::timestamptz, 'naive ISO in winter = EST (UTC-5)');
SELECT is((pg_temp.ev('naive_s'))."timestamp", '2025-07-01 14:00:00.25+00'::timestamptz, 'naive ISO in summer = EDT (UTC-4), fractions kept');
SELECT is((pg_temp.ev('offset530'))."timestamp", '2025-07-01 14:01:00+00'::timestamptz, 'ISO with +05:30 offset');
SELECT is((pg_temp.ev('naive_s')).trade_id, '20250701_100000000_BEARISH', 'BEARISH trade_id kept');

-- the timezone setting drives naive times
UPDATE sigsync.settings SET value = '"UTC"' WHERE key = 'timezone';
INSERT INTO r VALUES ('naive_utc', sigsync.ingest(
    '{"event_type":"BE_TRIGGERED","trade_id":"20251212_110000000_BEARISH","timestamp":"2025-12-12T16:10:00"}'));
SELECT is((pg_temp.ev('naive_utc'))."timestamp", '2025-12-12 16:10:00+00'::timestamptz,
          'with setting timezone = UTC a naive time is UTC');
UPDATE sigsync.settings SET value = '"America/New_York"' WHERE key = 'timezone';

-- missing timestamp: received_at stands in and the event says so ----------------------
INSERT INTO r VALUES ('nots', sigsync.ingest(
    '{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":0.5,"no_be_mfe":0.5,"mae_global_r":-0.1}'));
SELECT is(res ->> 'status', 'accepted', 'an event without timestamp is accepted') FROM r WHERE name = 'nots';
SELECT is((pg_temp.ev('nots')).timestamp_from_received, true, 'missing timestamp: timestamp_from_received = true');
SELECT is((pg_temp.ev('nots'))."timestamp", (pg_temp.ev('nots')).received_at, 'missing timestamp: timestamp = received_at');

-- CANCELLED without timestamp uses cancelled_time --------------------------------------
INSERT INTO r VALUES ('cancel', sigsync.ingest(
    '{"event_type":"CANCELLED","trade_id":"20251212_111500000_bearish","cancelled_time":1765556400000,'
    '"cancel_reason":"opposite signal","bars_pending":7,"cancelled_by":"20251212_112000000_bullish"}'));
SELECT is(res ->> 'status', 'accepted', 'CANCELLED accepted') FROM r WHERE name = 'cancel';
SELECT is((pg_temp.ev('cancel'))."timestamp", to_timestamp(1765556400), 'CANCELLED without timestamp: timestamp = cancelled_time');
SELECT is((pg_temp.ev('cancel')).timestamp_from_received, false, 'CANCELLED with cancelled_time: not from received_at');
SELECT is((pg_temp.ev('cancel')).cancelled_time, to_timestamp(1765556400), 'cancelled_time column');
SELECT is((pg_temp.ev('cancel')).trade_id, '20251212_111500000_BEARISH', 'trade_id suffix canonicalised to upper case');
SELECT is((pg_temp.ev('cancel')).cancelled_by, '20251212_112000000_BULLISH', 'cancelled_by canonicalised to upper case');
SELECT is((pg_temp.ev('cancel')).cancel_reason, 'opposite signal', 'cancel_reason column');
SELECT is((pg_temp.ev('cancel')).bars_pending, 7, 'bars_pending column');

-- MFE_UPDATE, BE_TRIGGERED, EXIT_BE, EXIT_SL -------------------------------------------
INSERT INTO r VALUES ('mfe', sigsync.ingest(
    '{"type":"mfe_update","trade_id":"20251212_104200000_Bullish","be_mfe":"1.25","no_be_mfe":1.5,'
    '"mae_global_r":-0.25,"current_price":21020.75,"timestamp":1765554600000}'));
SELECT is(res ->> 'status', 'accepted', 'MFE_UPDATE ("type", lower case) accepted') FROM r WHERE name = 'mfe';
SELECT is((pg_temp.ev('mfe')).event_type, 'MFE_UPDATE', 'event type upper-cased');
SELECT is((pg_temp.ev('mfe')).trade_id, '20251212_104200000_BULLISH', 'mixed-case suffix canonicalised');
SELECT is((pg_temp.ev('mfe')).be_mfe, 1.25, 'be_mfe column');
SELECT is((pg_temp.ev('mfe')).no_be_mfe, 1.5, 'no_be_mfe column');
SELECT is((pg_temp.ev('mfe')).mae_global_r, -0.25, 'mae_global_r column (negative allowed)');
SELECT is((pg_temp.ev('mfe')).current_price, 21020.75, 'current_price column');

INSERT INTO r VALUES ('be', sigsync.ingest(
    '{"event_type":"BE_TRIGGERED","trade_id":"20251212_104200000_BULLISH","timestamp":"1765554660000"}'));
SELECT is((pg_temp.ev('be'))."timestamp", to_timestamp(1765554660), 'epoch ms as a digit string');
INSERT INTO r VALUES ('exit_be', sigsync.ingest(
    '{"event_type":"EXIT_BE","trade_id":"20251212_104200000_BULLISH","exit_price":21001.5,"final_mfe":1.6,"timestamp":1765555200000}'));
SELECT is((pg_temp.ev('exit_be')).event_type, 'EXIT_BE', 'EXIT_BE stored');
SELECT is((pg_temp.ev('exit_be')).exit_price, 21001.5, 'EXIT_BE exit_price column');
SELECT is((pg_temp.ev('exit_be')).final_mfe, 1.6, 'EXIT_BE final_mfe column');
INSERT INTO r VALUES ('exit_sl', sigsync.ingest(
    '{"event_type":"EXIT_SL","trade_id":"20251212_104200000_BULLISH","exit_price":"20990","final_mfe":2.1,"timestamp":1765557000000}'));
SELECT is((pg_temp.ev('exit_sl')).event_type, 'EXIT_SL', 'EXIT_SL stored');
SELECT is((pg_temp.ev('exit_sl')).exit_price, 20990::numeric, 'EXIT_SL exit_price column');
SELECT is((pg_temp.ev('exit_sl')).final_mfe, 2.1, 'EXIT_SL final_mfe column');

-- HEARTBEAT and SYNC_STATUS (no trade_id) ----------------------------------------------
INSERT INTO r VALUES ('hb', sigsync.ingest(
    '{"event_type":"HEARTBEAT","tracked_signals":3,"indicator_version":"v2.4","timestamp":1765554720000}'));
SELECT is((pg_temp.ev('hb')).trade_id, NULL, 'HEARTBEAT has no trade_id');
SELECT is((pg_temp.ev('hb')).tracked_signals, 3, 'tracked_signals column');
SELECT is((pg_temp.ev('hb')).indicator_version, 'v2.4', 'indicator_version column');
INSERT INTO r VALUES ('ss', sigsync.ingest(
    '{"event_type":"SYNC_STATUS","tracking":["20251212_104200000_bullish","20251212_110000000_BEARISH"],'
    '"not_tracking":["20251212_111500000_Bearish"],"timestamp":1765554780000}'));
SELECT is((pg_temp.ev('ss')).tracking, ARRAY['20251212_104200000_BULLISH', '20251212_110000000_BEARISH'],
          'SYNC_STATUS tracking: canonical trade_ids, in order');
SELECT is((pg_temp.ev('ss')).not_tracking, ARRAY['20251212_111500000_BEARISH'], 'SYNC_STATUS not_tracking');

-- explicit symbol and source; default_symbol setting -----------------------------------
INSERT INTO r VALUES ('sym', sigsync.ingest(
    '{"event_type":"SIGNAL_CREATED","trade_id":"20251212_120000000_BULLISH","symbol":"MNQ1!","source":"tv-alt","timestamp":1765558800000}'));
SELECT is((pg_temp.ev('sym')).symbol, 'MNQ1!', 'explicit symbol kept');
SELECT is((pg_temp.ev('sym')).source, 'tv-alt', 'explicit source kept');
UPDATE sigsync.settings SET value = '"ES1!"' WHERE key = 'default_symbol';
INSERT INTO r VALUES ('sym_default', sigsync.ingest(
    '{"event_type":"SIGNAL_CREATED","trade_id":"20251212_120100000_BULLISH","timestamp":1765558860000}'));
SELECT is((pg_temp.ev('sym_default')).symbol, 'ES1!', 'symbol default follows the default_symbol setting');
UPDATE sigsync.settings SET value = '"NQ1!"' WHERE key = 'default_symbol';

-- MFE_UPDATE_BATCH: one event per item ---------------------------------------------------
INSERT INTO r VALUES ('batch', sigsync.ingest(
    '{"event_type":"MFE_UPDATE_BATCH","timestamp":1765555800000,"updates":['
    '{"trade_id":"20251212_110000000_BEARISH","be_mfe":0.4,"no_be_mfe":0.4,"mae_global_r":-0.2,"current_price":21045},'
    '{"trade_id":"20251212_104200000_BULLISH","be_mfe":1.8,"no_be_mfe":1.9,"timestamp":1765555740000},'
    '{"trade_id":"20251212_130000000_BULLISH","be_mfe":0.1,"no_be_mfe":0.1}]}'));
SELECT is(res ->> 'status', 'accepted', 'MFE_UPDATE_BATCH accepted') FROM r WHERE name = 'batch';
SELECT is(jsonb_array_length(res -> 'event_ids'), 3, 'MFE_UPDATE_BATCH: one event id per item') FROM r WHERE name = 'batch';
SELECT results_eq(
    $$SELECT a.event_type, a.trade_id, a."timestamp", a.be_mfe, a.batch_item
        FROM sigsync.automated_signals a JOIN r ON r.name = 'batch'
       WHERE a.id IN (SELECT jsonb_array_elements_text(r.res -> 'event_ids')::bigint)
       ORDER BY a.id$$,
    $$VALUES ('MFE_UPDATE', '20251212_110000000_BEARISH', to_timestamp(1765555800), 0.4, 1),
             ('MFE_UPDATE', '20251212_104200000_BULLISH', to_timestamp(1765555740), 1.8, 2),
             ('MFE_UPDATE', '20251212_130000000_BULLISH', to_timestamp(1765555800), 0.1, 3)$$,
    'batch items become MFE_UPDATE events in order; batch timestamp fills in, an item timestamp wins');
SELECT is((SELECT count(DISTINCT a.batch_checksum)::integer FROM sigsync.automated_signals a JOIN r ON r.name = 'batch'
            WHERE a.id IN (SELECT jsonb_array_elements_text(r.res -> 'event_ids')::bigint)
              AND a.batch_checksum IS NOT NULL),
          1, 'the items of one batch share one batch_checksum');
SELECT is((SELECT count(*)::integer FROM sigsync.automated_signals WHERE event_type = 'MFE_UPDATE_BATCH'), 0,
          'no MFE_UPDATE_BATCH row is stored');
SELECT is((SELECT a.current_price FROM sigsync.automated_signals a
            WHERE a.trade_id = '20251212_110000000_BEARISH' AND a.event_type = 'MFE_UPDATE'),
          21045::numeric, 'item fields are typed like a MFE_UPDATE');

-- batch-level trade_id and symbol apply to the items
INSERT INTO r VALUES ('batch_tid', sigsync.ingest(
    '{"event_type":"MFE_UPDATE_BATCH","trade_id":"20251212_140000000_BEARISH","symbol":"MES1!",'
    '"updates":[{"be_mfe":0.2,"timestamp":1765566060000},{"be_mfe":0.3,"timestamp":1765566120000}]}'));
SELECT results_eq(
    $$SELECT symbol, trade_id, be_mfe FROM sigsync.automated_signals
       WHERE trade_id = '20251212_140000000_BEARISH' ORDER BY id$$,
    $$VALUES ('MES1!', '20251212_140000000_BEARISH', 0.2), ('MES1!', '20251212_140000000_BEARISH', 0.3)$$,
    'batch-level trade_id and symbol apply to items without their own');

-- a batch with one bad item is rejected whole ------------------------------------------
INSERT INTO r VALUES ('batch_bad', sigsync.ingest(
    '{"event_type":"MFE_UPDATE_BATCH","timestamp":1765555800000,"updates":['
    '{"trade_id":"20251212_150000000_BULLISH","be_mfe":0.4},'
    '{"trade_id":"20251212_150100000_BULLISH","be_mfe":"lots"},'
    '{"trade_id":"20251212_150200000_BULLISH","be_mfe":0.2}]}'));
SELECT is(res ->> 'status', 'rejected', 'a batch with one bad item is rejected') FROM r WHERE name = 'batch_bad';
SELECT is(res -> 'error' ->> 'code', 'non_numeric', 'the batch carries the bad item''s code') FROM r WHERE name = 'batch_bad';
SELECT matches(res -> 'error' ->> 'message', 'updates\[1\]', 'the message names the bad item (updates[1])')
  FROM r WHERE name = 'batch_bad';
SELECT is((SELECT count(*)::integer FROM sigsync.automated_signals WHERE trade_id LIKE '20251212_150%'), 0,
          'none of the rejected batch''s items is stored (not even the good ones)');
INSERT INTO r VALUES ('batch_bad2', sigsync.ingest(
    '{"event_type":"MFE_UPDATE_BATCH","trade_id":"20251212_150300000_BULLISH","updates":[{"be_mfe":0.4},{"event_type":"ENTRY"}]}'));
SELECT is(res -> 'error' ->> 'code', 'invalid_field', 'a batch item of another type is invalid_field') FROM r WHERE name = 'batch_bad2';
SELECT matches(res -> 'error' ->> 'message', 'updates\[1\]', 'and its message names the item')
  FROM r WHERE name = 'batch_bad2';
SELECT ok(EXISTS (SELECT 1 FROM sigsync.rejected_events WHERE payload LIKE '%"be_mfe":"lots"%'),
          'the rejected batch is stored in rejected_events');

-- every accepted event is in the log once ---------------------------------------------
SELECT is((SELECT count(*)::integer FROM r WHERE res ->> 'status' = 'accepted'), 19, 'all 19 valid payloads accepted');
SELECT is((SELECT count(*)::integer FROM sigsync.automated_signals), 22,
          '22 events stored (17 single events, a batch of 3 and a batch of 2)');

SELECT * FROM finish();
ROLLBACK;
