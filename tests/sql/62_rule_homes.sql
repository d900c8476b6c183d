-- 62_rule_homes: a rule that several objects apply has one home, and they agree with it.
--   * "online" (a HEARTBEAT within heartbeat_timeout: sigsync._indicator_online) for
--     reconcile, the view indicator_link and, through it, system_health;
--   * "open gap" for the health score: an open gap is not also counted as a low-confidence fill;
--   * the health score itself: what a cycle stores for each signal (scored set-based, in one
--     statement) is what calculate_signal_health_score says for its gaps and fill confidences;
--   * "a bar reaches the stop" (sigsync._stop_bar) for the bar walk and the missed_exit gap.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(22);

INSERT INTO sigsync.indicator_status (source, last_heartbeat_at)
VALUES ('h-recent', now() - interval '4 minutes'), ('h-old', now() - interval '6 minutes'), ('h-never', NULL);
UPDATE sigsync.settings SET value = '"5 minutes"' WHERE key = 'heartbeat_timeout';
SELECT results_eq($$SELECT source, online FROM sigsync.indicator_link ORDER BY source$$,
                  $$VALUES ('h-never', false), ('h-old', false), ('h-recent', true)$$,
                  'indicator_link: online within heartbeat_timeout (5 minutes), never heard of is offline');
SELECT is((SELECT count(*)::integer FROM sigsync.indicator_link l
            JOIN sigsync.indicator_status i USING (source)
           WHERE l.online IS DISTINCT FROM sigsync._indicator_online(i.last_heartbeat_at, now())), 0,
          'indicator_link.online is what sigsync._indicator_online says');
SELECT is((SELECT indicator_online FROM sigsync.system_health), true, 'system_health: some source is online');

UPDATE sigsync.settings SET value = '"3 minutes"' WHERE key = 'heartbeat_timeout';
SELECT is((SELECT count(*)::integer FROM sigsync.indicator_link WHERE online), 0,
          'a shorter heartbeat_timeout (3 minutes): every source offline, in the view too');
SELECT is((SELECT indicator_online FROM sigsync.system_health), false, 'system_health follows the same rule');
SELECT is((SELECT offline_since FROM sigsync.indicator_link WHERE source = 'h-recent'),
          (SELECT last_heartbeat_at + interval '3 minutes' FROM sigsync.indicator_status WHERE source = 'h-recent'),
          'offline since the last heartbeat + heartbeat_timeout');
SELECT ok(pg_get_viewdef('sigsync.system_health'::regclass) !~ 'heartbeat_timeout',
          'system_health does not spell the rule itself');

-- an open gap weighs its full weight once: a low confidence on its fields adds nothing
SELECT is(sigsync.calculate_signal_health_score('{"no_targets": true, "confidence": {"targets_extended": 0.5}}'),
          sigsync.calculate_signal_health_score('{"no_targets": true}'),
          'an open gap is not also counted as a low-confidence fill');

-- signals with different gaps and low-confidence fills (Tier 3: the session and date from
-- the trade_id; Tier 2: the targets), one cycle, then each stored score against the public rule
SELECT sigsync.ingest(b) FROM (VALUES
    ('{"event_type":"SIGNAL_CREATED","symbol":"HS","trade_id":"20251212_104200000_BULLISH","timestamp":1765554120000,"session":"NY AM","htf_alignment":{"1h":"Bullish"}}'),
    ('{"event_type":"ENTRY","symbol":"HS","trade_id":"20251212_104200000_BULLISH","timestamp":1765554360000,"entry_price":100,"stop_loss":90,"bars_to_confirmation":4}'),
    ('{"event_type":"ENTRY","symbol":"HS","trade_id":"20251212_113000000_BEARISH","timestamp":1765557000000,"entry_price":100}'),
    ('{"event_type":"MFE_UPDATE","symbol":"HS","trade_id":"20251212_120000000_BULLISH","timestamp":1765558800000,"be_mfe":0.5,"no_be_mfe":0.5}'),
    ('{"event_type":"SIGNAL_CREATED","symbol":"HS","trade_id":"20251212_130000000_BEARISH","timestamp":1765562400000}')) v(b);
SELECT is((sigsync.reconcile(timestamptz '2025-12-12 19:00+00', true)) ->> 'status', 'ok', 'a cycle over the HS signals');
SELECT results_eq(
    $$SELECT m.trade_id, m.health_score FROM sigsync.signal_health_metrics m WHERE m.symbol = 'HS' ORDER BY 1$$,
    $$SELECT o.trade_id, sigsync.calculate_signal_health_score(o.gaps || jsonb_build_object('confidence', o.confidence))
        FROM sigsync._open_gaps(timestamptz '2025-12-12 19:00+00',
                                ARRAY(SELECT symbol FROM sigsync.signals WHERE symbol = 'HS' ORDER BY trade_id),
                                ARRAY(SELECT trade_id FROM sigsync.signals WHERE symbol = 'HS' ORDER BY trade_id)) o
       ORDER BY 1$$,
    'each stored health score is calculate_signal_health_score of the signal''s gaps and fill confidences');

-- a bar reaches a stop price: low <= it for a long, high >= it for a short (equality reaches
-- it), compared exactly; after p_after, up to and including p_upto; the first such bar
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close) VALUES
    ('RH1', '2025-03-03 15:01+00', 100, 101, 96, 100),
    ('RH1', '2025-03-03 15:02+00', 100, 104, 95.5, 100),
    ('RH1', '2025-03-03 15:03+00', 100, 105, 95, 100),
    ('RH1', '2025-03-03 15:04+00', 100, 106, 94, 100);
SELECT is(sigsync._stop_bar('RH1', 1, 95, '2025-03-03 15:00+00', '2025-03-03 16:00+00'), '2025-03-03 15:03+00',
          'a long: the first bar whose low is at or below the stop');
SELECT is(sigsync._stop_bar('RH1', -1, 105, '2025-03-03 15:00+00', '2025-03-03 16:00+00'), '2025-03-03 15:03+00',
          'a short: the first bar whose high is at or above the stop');
SELECT is(sigsync._stop_bar('RH1', 1, 95, '2025-03-03 15:03+00', '2025-03-03 16:00+00'), '2025-03-03 15:04+00',
          'the bars after p_after only');
SELECT is(sigsync._stop_bar('RH1', 1, 95, '2025-03-03 15:00+00', '2025-03-03 15:02+00'), NULL,
          'the bars up to p_upto only (none there reaches the stop)');
SELECT is(sigsync._stop_bar('RH1', NULL, 95, '2025-03-03 15:00+00', '2025-03-03 16:00+00'), NULL,
          'no direction: no stop bar');
SELECT ok(pg_get_functiondef('sigsync._bar_walk(timestamptz, text[], text[])'::regprocedure) !~ '[.](low|high) [<>]='
          AND pg_get_functiondef('sigsync._open_gaps(timestamptz, text[], text[])'::regprocedure) !~ '[.](low|high) [<>]=',
          'the bar walk and the missed_exit gap do not spell the stop rule themselves');

-- ... and the walk, the missed_exit gap and the view signal_bars agree on it: a bar 1e-20 above
-- the stop, whose adverse a division rounds to -1, is not the stop bar; the next one is
SELECT sigsync.ingest(jsonb_build_object(
    'event_type', 'ENTRY', 'symbol', 'RX1', 'trade_id', '20251212_095800000_BULLISH', 'direction', 'Bullish',
    'entry_price', 100, 'stop_loss', 97, 'timestamp', '2025-12-12T15:00:00Z'));
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close) VALUES
    ('RX1', '2025-12-12 15:01+00', 100, 100.5, 97.00000000000000000001, 99),
    ('RX1', '2025-12-12 15:02+00', 99, 99.5, 96.5, 97);
CREATE FUNCTION pg_temp.rx1(p_now timestamptz, OUT stop_ts timestamptz, OUT missed_exit boolean)
LANGUAGE sql AS $$
    SELECT (SELECT w.stop_ts FROM sigsync._bar_walk(p_now, ARRAY[s.symbol], ARRAY[s.trade_id]) w),
           (SELECT o.gaps ? 'missed_exit' FROM sigsync._open_gaps(p_now, ARRAY[s.symbol], ARRAY[s.trade_id]) o)
      FROM sigsync.signals s WHERE s.symbol = 'RX1'
$$;
SELECT is(pg_temp.rx1('2025-12-12 15:01:30+00'), ROW(NULL::timestamptz, false)::record,
          'up to the bar 1e-20 above the stop: no stop bar for the walk, no missed_exit gap');
SELECT is(pg_temp.rx1('2025-12-12 15:30+00'), ROW('2025-12-12 15:02+00'::timestamptz, true)::record,
          'with the next bar: the walk''s stop bar and the missed_exit gap');
SELECT is((SELECT array_agg(b.ts) FROM sigsync.signal_bars b WHERE b.symbol = 'RX1' AND b.t2_stop),
          ARRAY['2025-12-12 15:02+00'::timestamptz], 'signal_bars: the same stop bar');

-- a stop assembled on the wrong side of its entry (SIGNAL_CREATED's stop 105, ENTRY's entry 100,
-- a long): the walk reads its stop at entry - R (95) and finds none, while the gap still opens
-- at the recorded stop, which every bar traded through: the trade is not left looking clean
SELECT sigsync.ingest(b) FROM (VALUES
    ('{"event_type": "SIGNAL_CREATED", "symbol": "RW1", "trade_id": "20251212_095800000_BULLISH",
       "direction": "Bullish", "stop_loss": 105, "signal_time": "2025-12-12T14:58:00Z", "timestamp": "2025-12-12T14:58:00Z"}'),
    ('{"event_type": "ENTRY", "symbol": "RW1", "trade_id": "20251212_095800000_BULLISH", "direction": "Bullish",
       "entry_price": 100, "timestamp": "2025-12-12T15:00:00Z"}')) v(b);
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close) VALUES
    ('RW1', '2025-12-12 15:01+00', 99, 101, 99, 101), ('RW1', '2025-12-12 15:02+00', 97, 102, 97, 102);
SELECT is((SELECT ROW((SELECT w.stop_ts FROM sigsync._bar_walk('2025-12-12 15:30+00', ARRAY[s.symbol], ARRAY[s.trade_id]) w),
                      (SELECT o.gaps ? 'missed_exit'
                         FROM sigsync._open_gaps('2025-12-12 15:30+00', ARRAY[s.symbol], ARRAY[s.trade_id]) o))::text
             FROM sigsync.signals s WHERE s.symbol = 'RW1'),
          ROW(NULL::timestamptz, true)::text,
          'a wrong-side stop: no stop bar for the walk (entry - R), the missed_exit gap at the recorded stop');
-- ... and when a bar reaches entry - R, the walk's EXIT_SL is there, at 95, not at the recorded
-- 105, a price above every bar of the stop's side
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close) VALUES ('RW1', '2025-12-12 15:03+00', 97, 97, 94, 96);
SELECT is((SELECT ROW(w.stop_ts, w.stop_price)::text
             FROM sigsync.signals s, sigsync._bar_walk('2025-12-12 15:30+00', ARRAY[s.symbol], ARRAY[s.trade_id]) w
            WHERE s.symbol = 'RW1'),
          ROW('2025-12-12 15:03+00'::timestamptz, 95::numeric)::text,
          '... the walk stops where it put the stop, and its exit price is that stop (95), not the recorded 105');
-- a stop on its side: the exit price is the recorded stop loss as written (97.5, where
-- entry - R would write 97.50)
SELECT sigsync.ingest(jsonb_build_object(
    'event_type', 'ENTRY', 'symbol', 'RY1', 'trade_id', '20251212_095800000_BULLISH', 'direction', 'Bullish',
    'entry_price', 100.00, 'stop_loss', 97.5, 'timestamp', '2025-12-12T15:00:00Z'));
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close) VALUES ('RY1', '2025-12-12 15:01+00', 99, 99, 97, 98);
SELECT is((SELECT w.stop_price::text FROM sigsync.signals s, sigsync._bar_walk('2025-12-12 15:30+00', ARRAY[s.symbol], ARRAY[s.trade_id]) w
            WHERE s.symbol = 'RY1'), '97.5',
          'a stop on its side: the exit price is the recorded stop loss, as written');

SELECT * FROM finish();
ROLLBACK;
