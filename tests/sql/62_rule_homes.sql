-- 62_rule_homes: a rule that several objects apply has one home, and they agree with it.
--   * "online" (a HEARTBEAT within heartbeat_timeout: sigsync._indicator_online) for
--     reconcile, the view indicator_link and, through it, system_health;
--   * "open gap" for the health score: an open gap is not also counted as a low-confidence fill;
--   * the health score itself: what a cycle stores for each signal (scored set-based, in one
--     statement) is what calculate_signal_health_score says for its gaps and fill confidences;
--   * "a bar reaches the stop" (sigsync._stop_bar) for the bar walk and the missed_exit gap.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(16);

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

-- a bar reaches the stop: low <= stop for a long, high >= stop for a short (equality reaches it);
-- after p_after, up to and including p_upto; the first such bar
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

SELECT * FROM finish();
ROLLBACK;
