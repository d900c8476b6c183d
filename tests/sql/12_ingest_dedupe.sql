-- 12_ingest_dedupe: duplicates (same canonical payload) are accepted once; a repeat returns
-- 'duplicate' with the stored event's id (DESIGN §3). Canonical = same JSON value with the
-- effective event_type, symbol, source and canonical trade_id, so formatting, key order and
-- the "type"/"event_type" spelling do not matter; the symbol does.
BEGIN;
SELECT plan(46);

CREATE TEMP TABLE r (name text PRIMARY KEY, res jsonb) ON COMMIT DROP;
CREATE FUNCTION pg_temp.n_events() RETURNS integer LANGUAGE sql AS
    $$ SELECT count(*)::integer FROM sigsync.automated_signals $$;

-- the same payload twice --------------------------------------------------------------
INSERT INTO r VALUES ('a1', sigsync.ingest(
    '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":21001.5,"stop_loss":20990,"timestamp":1765554240000}'));
INSERT INTO r VALUES ('a2', sigsync.ingest(
    '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":21001.5,"stop_loss":20990,"timestamp":1765554240000}'));
SELECT is((SELECT res ->> 'status' FROM r WHERE name = 'a1'), 'accepted', 'first copy accepted');
SELECT is((SELECT res ->> 'status' FROM r WHERE name = 'a2'), 'duplicate', 'second identical copy is a duplicate');
SELECT is((SELECT res -> 'event_ids' FROM r WHERE name = 'a2'), (SELECT res -> 'event_ids' FROM r WHERE name = 'a1'),
          'the duplicate reports the stored event''s id');
SELECT ok((SELECT res -> 'error' IS NULL OR res -> 'error' = 'null'::jsonb FROM r WHERE name = 'a2'),
          'a duplicate is not an error');
SELECT is(pg_temp.n_events(), 1, 'only one event stored');
SELECT is((SELECT count(*)::integer FROM sigsync.rejected_events), 0, 'a duplicate is not a rejection');

-- formatting and key order do not matter ------------------------------------------------
INSERT INTO r VALUES ('a3', sigsync.ingest(
    E'{\n  "timestamp" : 1765554240000,\n  "stop_loss" : 20990,\t"entry_price":21001.5,\n'
    || E'  "trade_id" : "20251212_104200000_BULLISH", "event_type" : "ENTRY"\n}\n'));
SELECT is((SELECT res ->> 'status' FROM r WHERE name = 'a3'), 'duplicate', 'whitespace and key order differences: duplicate');
SELECT is((SELECT res -> 'event_ids' FROM r WHERE name = 'a3'), (SELECT res -> 'event_ids' FROM r WHERE name = 'a1'),
          'reformatted duplicate reports the stored id');

-- "type" instead of "event_type", event type and trade_id suffix in other case ----------
INSERT INTO r VALUES ('a4', sigsync.ingest(
    '{"type":"entry","trade_id":"20251212_104200000_bullish","entry_price":21001.5,"stop_loss":20990,"timestamp":1765554240000}'));
SELECT is((SELECT res ->> 'status' FROM r WHERE name = 'a4'), 'duplicate',
          '"type" vs "event_type" (and case of type / suffix): duplicate');
SELECT is((SELECT res -> 'event_ids' FROM r WHERE name = 'a4'), (SELECT res -> 'event_ids' FROM r WHERE name = 'a1'),
          '"type" spelling duplicate reports the stored id');

-- explicit default symbol / default source are the same canonical payload ----------------
INSERT INTO r VALUES ('a5', sigsync.ingest(
    '{"event_type":"ENTRY","symbol":"NQ1!","source":"indicator","trade_id":"20251212_104200000_BULLISH",'
    '"entry_price":21001.5,"stop_loss":20990,"timestamp":1765554240000}'));
SELECT is((SELECT res ->> 'status' FROM r WHERE name = 'a5'), 'duplicate',
          'spelling out the default symbol and source: duplicate');

-- the jsonb overload dedupes against the text one
SELECT is(sigsync.ingest('{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":21001.5,"stop_loss":20990,"timestamp":1765554240000}'::jsonb) ->> 'status',
          'duplicate', 'the same payload through ingest(jsonb): duplicate');
SELECT is(pg_temp.n_events(), 1, 'still one event stored after five copies');

-- not duplicates ------------------------------------------------------------------------
INSERT INTO r VALUES ('b1', sigsync.ingest(
    '{"event_type":"ENTRY","symbol":"ES1!","trade_id":"20251212_104200000_BULLISH","entry_price":21001.5,"stop_loss":20990,"timestamp":1765554240000}'));
SELECT is((SELECT res ->> 'status' FROM r WHERE name = 'b1'), 'accepted', 'same payload, different symbol: not a duplicate');
SELECT isnt((SELECT res -> 'event_ids' FROM r WHERE name = 'b1'), (SELECT res -> 'event_ids' FROM r WHERE name = 'a1'),
            'the other symbol''s event gets its own id');
INSERT INTO r VALUES ('b2', sigsync.ingest(
    '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":21001.75,"stop_loss":20990,"timestamp":1765554240000}'));
SELECT is((SELECT res ->> 'status' FROM r WHERE name = 'b2'), 'accepted', 'a different value: not a duplicate');
INSERT INTO r VALUES ('b3', sigsync.ingest(
    '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":21001.5,"stop_loss":20990,"timestamp":1765554240001}'));
SELECT is((SELECT res ->> 'status' FROM r WHERE name = 'b3'), 'accepted', 'a different timestamp: not a duplicate');
SELECT is(pg_temp.n_events(), 4, 'three more events stored');

-- duplicates within one ingest_many call ------------------------------------------------
CREATE TEMP TABLE m ON COMMIT DROP AS
    SELECT * FROM sigsync.ingest_many(ARRAY[
        '{"event_type":"MFE_UPDATE","trade_id":"20251212_110000000_BEARISH","be_mfe":0.5,"no_be_mfe":0.5,"timestamp":1765555320000}',
        '{"event_type":"MFE_UPDATE","trade_id":"20251212_110000000_BEARISH","be_mfe":0.5,"no_be_mfe":0.5,"timestamp":1765555320000}',
        '{"event_type":"MFE_UPDATE","trade_id":"20251212_110000000_BEARISH","be_mfe":0.6,"no_be_mfe":0.6,"timestamp":1765555380000}',
        '{ "no_be_mfe":0.5, "be_mfe":0.5, "type":"MFE_UPDATE", "trade_id":"20251212_110000000_BEARISH", "timestamp":1765555320000 }',
        '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":21001.5,"stop_loss":20990,"timestamp":1765554240000}'
    ]);
SELECT results_eq($$SELECT idx, status FROM m ORDER BY idx$$,
                  $$VALUES (1, 'accepted'), (2, 'duplicate'), (3, 'accepted'), (4, 'duplicate'), (5, 'duplicate')$$,
                  'ingest_many: a repeat within the call (and of an earlier call) is a duplicate');
SELECT is((SELECT event_ids FROM m WHERE idx = 2), (SELECT event_ids FROM m WHERE idx = 1),
          'in-call duplicate reports the id stored by the first copy');
SELECT is((SELECT event_ids FROM m WHERE idx = 4), (SELECT event_ids FROM m WHERE idx = 1),
          'reformatted in-call duplicate reports the id stored by the first copy');
SELECT is((SELECT event_ids FROM m WHERE idx = 5), ARRAY(SELECT jsonb_array_elements_text(res -> 'event_ids')::bigint FROM r WHERE name = 'a1'),
          'a duplicate of an earlier call reports that call''s id');
SELECT ok((SELECT cardinality(event_ids) = 1 AND event_ids[1] IS NOT NULL FROM m WHERE idx = 2),
          'in-call duplicate has exactly one (non-null) id');
SELECT is((SELECT count(*)::integer FROM sigsync.automated_signals WHERE trade_id = '20251212_110000000_BEARISH'), 2,
          'two distinct MFE updates stored from five elements');

-- MFE_UPDATE_BATCH re-sent ---------------------------------------------------------------
INSERT INTO r VALUES ('batch1', sigsync.ingest(
    '{"event_type":"MFE_UPDATE_BATCH","timestamp":1765555800000,"updates":['
    '{"trade_id":"20251212_110000000_BEARISH","be_mfe":0.7,"no_be_mfe":0.7},'
    '{"trade_id":"20251212_104200000_BULLISH","be_mfe":1.2,"no_be_mfe":1.2}]}'));
INSERT INTO r VALUES ('batch2', sigsync.ingest(
    '{"event_type":"MFE_UPDATE_BATCH","timestamp":1765555800000,"updates":['
    '{"trade_id":"20251212_110000000_BEARISH","be_mfe":0.7,"no_be_mfe":0.7},'
    '{"trade_id":"20251212_104200000_BULLISH","be_mfe":1.2,"no_be_mfe":1.2}]}'));
INSERT INTO r VALUES ('batch3', sigsync.ingest(
    '{"type":"mfe_update_batch", "updates":[ {"no_be_mfe":0.7,"be_mfe":0.7,"trade_id":"20251212_110000000_BEARISH"},'
    ' {"trade_id":"20251212_104200000_BULLISH","no_be_mfe":1.2,"be_mfe":1.2} ], "timestamp":1765555800000}'));
SELECT is((SELECT res ->> 'status' FROM r WHERE name = 'batch1'), 'accepted', 'first batch accepted');
SELECT is((SELECT res ->> 'status' FROM r WHERE name = 'batch2'), 'duplicate', 're-sent MFE_UPDATE_BATCH is a duplicate');
SELECT is((SELECT res -> 'event_ids' FROM r WHERE name = 'batch2'), (SELECT res -> 'event_ids' FROM r WHERE name = 'batch1'),
          're-sent batch reports the stored items'' ids, in item order');
SELECT is((SELECT res ->> 'status' FROM r WHERE name = 'batch3'), 'duplicate', 'reformatted re-sent batch is a duplicate');
SELECT is((SELECT res -> 'event_ids' FROM r WHERE name = 'batch3'), (SELECT res -> 'event_ids' FROM r WHERE name = 'batch1'),
          'reformatted re-sent batch reports the same ids');
SELECT is(pg_temp.n_events(), 8, 'the batch items are stored once (6 + 2)');

-- a batch item equal to an event already stored: that item is a duplicate, the rest new --
INSERT INTO r VALUES ('single', sigsync.ingest(
    '{"event_type":"MFE_UPDATE","trade_id":"20251212_130000000_BULLISH","be_mfe":0.3,"no_be_mfe":0.3,"timestamp":1765566000000}'));
INSERT INTO r VALUES ('batch4', sigsync.ingest(
    '{"event_type":"MFE_UPDATE_BATCH","timestamp":1765566000000,"updates":['
    '{"trade_id":"20251212_130000000_BULLISH","be_mfe":0.3,"no_be_mfe":0.3},'
    '{"trade_id":"20251212_130000000_BULLISH","be_mfe":0.4,"no_be_mfe":0.4,"timestamp":1765566060000}]}'));
SELECT is((SELECT res ->> 'status' FROM r WHERE name = 'batch4'), 'accepted', 'a batch with one new item is accepted');
SELECT is((SELECT res -> 'event_ids' -> 0 FROM r WHERE name = 'batch4'), (SELECT res -> 'event_ids' -> 0 FROM r WHERE name = 'single'),
          'its already-stored item reports the stored id');
SELECT is((SELECT jsonb_array_length(res -> 'event_ids') FROM r WHERE name = 'batch4'), 2, 'one id per item');
SELECT is((SELECT count(*)::integer FROM sigsync.automated_signals WHERE trade_id = '20251212_130000000_BULLISH'), 2,
          'only the new item was stored');

-- a duplicate changes nothing in the registry --------------------------------------------
UPDATE sigsync.signals SET dirty = false WHERE trade_id = '20251212_104200000_BULLISH' AND symbol = 'NQ1!';
SELECT is(sigsync.ingest('{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":21001.5,"stop_loss":20990,"timestamp":1765554240000}') ->> 'status',
          'duplicate', 'yet another copy is a duplicate');
SELECT is((SELECT dirty FROM sigsync.signals WHERE trade_id = '20251212_104200000_BULLISH' AND symbol = 'NQ1!'),
          false, 'a duplicate does not mark the signal for reconcile');
SELECT is((SELECT count(*)::integer FROM sigsync.rejected_events), 0, 'no duplicate was rejected');

-- (last, so the counts above do not depend on it) a number written with a trailing zero is the same JSON value (jsonb: 21001.50 = 21001.5)
SELECT is(sigsync.ingest('{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":21001.50,"stop_loss":20990.0,"timestamp":1765554240000}') ->> 'status',
          'duplicate', 'numerically equal numbers (21001.50 vs 21001.5): duplicate');

-- a report without a timestamp (liveness, tracking, excursion) is as of its receipt: the same
-- body received later is a new report; an event of a signal's life stays a duplicate ---------
SELECT is(sigsync.ingest('{"type":"HEARTBEAT","tracked_signals":3,"source":"nots"}') ->> 'status', 'accepted',
          'a HEARTBEAT without a timestamp: accepted');
SELECT pg_sleep(0.01);
SELECT is(sigsync.ingest('{"type":"HEARTBEAT","tracked_signals":3,"source":"nots"}') ->> 'status', 'accepted',
          'the same HEARTBEAT without a timestamp received later: a new report, not a duplicate');
SELECT is((SELECT last_heartbeat_at FROM sigsync.indicator_status WHERE source = 'nots'),
          (SELECT max(received_at) FROM sigsync.automated_signals WHERE source = 'nots'),
          '... so the indicator was last heard from at the second one');
SELECT is((SELECT array_agg(status ORDER BY idx) FROM sigsync.ingest_many(ARRAY[
              '{"type":"HEARTBEAT","tracked_signals":3,"source":"nots"}',
              '{"type":"HEARTBEAT","tracked_signals":3,"source":"nots"}'])),
          ARRAY['accepted', 'duplicate'], 'the same one twice in one call (one receipt): a duplicate');
SELECT is((SELECT array_agg(r ->> 'status') FROM (
              SELECT sigsync.ingest('{"type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":0.4,"no_be_mfe":0.4}') AS r
              UNION ALL SELECT sigsync.ingest('{"type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":0.4,"no_be_mfe":0.4}')) x),
          ARRAY['accepted', 'accepted'], 'an MFE_UPDATE without a timestamp sent again later: a new as-of, not a duplicate');
SELECT is(sigsync.ingest('{"event_type":"BE_TRIGGERED","trade_id":"20251212_104200000_BULLISH","source":"nots2"}') ->> 'status',
          'accepted', 'a BE_TRIGGERED without a timestamp: accepted');
SELECT pg_sleep(0.01);
SELECT is(sigsync.ingest('{"event_type":"BE_TRIGGERED","trade_id":"20251212_104200000_BULLISH","source":"nots2"}') ->> 'status',
          'duplicate', '... sent again later: still a duplicate (a signal''s event happens once)');
SELECT is((SELECT array_agg(r ->> 'status') FROM (
              SELECT sigsync.ingest('{"type":"HEARTBEAT","tracked_signals":5,"timestamp":1765554240000,"source":"ts"}') AS r
              UNION ALL SELECT sigsync.ingest('{"type":"HEARTBEAT","tracked_signals":5,"timestamp":1765554240000,"source":"ts"}')) x),
          ARRAY['accepted', 'duplicate'], 'a HEARTBEAT with its timestamp sent twice: a duplicate');

SELECT * FROM finish();
ROLLBACK;
