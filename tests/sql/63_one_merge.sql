-- 63_one_merge: a reconcile cycle merges the fills of Tier 0/3, the alternation rule and Tier 2
-- once, so each signal row of the working set is written once by them (plus the cycle's own
-- work marks), and each rule still computes from the values the earlier rules write: a
-- signal_time or direction known only from the trade_id (Tier 3) is what the alternation rule
-- and the bar walk read in the same cycle (_split_rule_inputs: those fills are merged first,
-- and only those).
-- No HEARTBEAT: the indicator is offline, so Tier 2 writes the running metrics.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(13);

CREATE FUNCTION pg_temp.ing(p text) RETURNS text
LANGUAGE sql AS $$ SELECT sigsync.ingest(p) ->> 'status' $$;
CREATE FUNCTION pg_temp.sig(p_symbol text, p_trade_id text) RETURNS sigsync.signals
LANGUAGE sql AS $$ SELECT s.* FROM sigsync.signals s WHERE s.symbol = p_symbol AND s.trade_id = p_trade_id $$;
-- row updates of sigsync.signals in this transaction so far
CREATE FUNCTION pg_temp.signal_updates() RETURNS bigint
LANGUAGE sql AS $$ SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relid = 'sigsync.signals'::regclass $$;
CREATE TEMP TABLE run (name text PRIMARY KEY, res jsonb, updates bigint) ON COMMIT DROP;

-- ---------------------------------------------------------------------------------------------
-- the rules read what the earlier ones write, in the same cycle (one cycle per scenario: the
-- first rule's fills are written first when any of the cycle's fills changes what they read)
-- ---------------------------------------------------------------------------------------------
-- OMC: two signals whose signal_time only the trade_ids give (no event has one)
SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"OMC","trade_id":"20251212_100000000_BULLISH","direction":"Bullish","timestamp":"2025-12-12T15:00:00Z"}'),
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"OMC","trade_id":"20251212_100300000_BEARISH","direction":"Bearish","timestamp":"2025-12-12T15:03:00Z"}')
    ], array_fill('accepted'::text, ARRAY[2]), 'OMC: two events accepted');
INSERT INTO run SELECT 'c1', sigsync.reconcile('2025-12-12 15:10:00+00'), NULL;
SELECT is((SELECT s.signal_time FROM pg_temp.sig('OMC', '20251212_100000000_BULLISH') s),
          '2025-12-12 15:00:00+00'::timestamptz, 'OMC: signal_time from the trade_id (Tier 3)');
SELECT is((SELECT ARRAY[s.status, s.cancelled_by, s.cancel_detection, s.cancelled_at::text]
             FROM pg_temp.sig('OMC', '20251212_100000000_BULLISH') s),
          ARRAY['cancelled', '20251212_100300000_BEARISH', 'inferred', '2025-12-12 15:03:00+00'],
          'OMC: the first cycle cancels it by the later opposite signal, at the times the trade_ids give');
SELECT is((SELECT (res ->> 'cancellations_inferred')::integer FROM run WHERE name = 'c1'), 1,
          'the summary counts that inference');

-- OMW: a trade whose direction only the trade_id gives, and one bar after its ENTRY (R = 10):
-- favourable 0.5, adverse -0.1
SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"OMW","trade_id":"20251212_095800000_BULLISH","signal_time":"2025-12-12T14:58:00Z","timestamp":"2025-12-12T14:58:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","symbol":"OMW","trade_id":"20251212_095800000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:00:00Z"}')
    ], array_fill('accepted'::text, ARRAY[2]), 'OMW: two events accepted');
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close)
VALUES ('OMW', '2025-12-12 15:01:00+00', 100, 105, 99, 104), ('OMO', '2025-12-12 15:06:00+00', 100, 105, 99, 104);
INSERT INTO run SELECT 'c1w', sigsync.reconcile('2025-12-12 15:10:00+00'), NULL;
SELECT is((SELECT ARRAY[s.direction, (s.be_mfe = 0.5)::text, (s.no_be_mfe = 0.5)::text, (s.mae_global_r = -0.1)::text]
             FROM pg_temp.sig('OMW', '20251212_095800000_BULLISH') s),
          ARRAY['Bullish', 'true', 'true', 'true'],
          'OMW: the first cycle walks the bars in the direction the trade_id gives (Tier 3)');

-- ---------------------------------------------------------------------------------------------
-- one write of each row by the fills
-- ---------------------------------------------------------------------------------------------
-- OMO: direction and times from its events; the cycle fills targets and bars_to_confirmation
-- (Tier 0/2 from its own fields) and the running metrics (Tier 2, from the bar)
SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"OMO","trade_id":"20251212_100400000_BULLISH","signal_time":"2025-12-12T15:04:00Z","direction":"Bullish","session":"NY AM","htf_alignment":{"daily":"Bullish"},"timestamp":"2025-12-12T15:04:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","symbol":"OMO","trade_id":"20251212_100400000_BULLISH","direction":"Bullish","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:05:00Z"}')
    ], array_fill('accepted'::text, ARRAY[2]), 'OMO: two events accepted');
INSERT INTO run SELECT 'before c2', NULL, pg_temp.signal_updates();
INSERT INTO run SELECT 'c2', sigsync.reconcile('2025-12-12 15:10:00+00'), pg_temp.signal_updates();

SELECT is((SELECT ARRAY[s.bars_to_confirmation::text, s.targets_extended ->> '1R', (s.be_mfe = 0.5)::text]
             FROM pg_temp.sig('OMO', '20251212_100400000_BULLISH') s),
          ARRAY['1', '110', 'true'], 'OMO: the cycle filled its own fields and the running metrics');
SELECT is((SELECT (res ->> 'signals_processed')::integer FROM run WHERE name = 'c2'), 1,
          'the second cycle processes OMO alone');
SELECT is((SELECT updates FROM run WHERE name = 'c2') - (SELECT updates FROM run WHERE name = 'before c2'), 2::bigint,
          'and writes its row twice: once for every fill of the cycle, once to clear its work mark');

-- OMP (as OMO) beside OMX, whose signal_time and direction only its trade_id gives: OMX's Tier 3
-- values are written first, on OMX's row alone; OMP's row is still written twice
SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"OMP","trade_id":"20251212_100400000_BULLISH","signal_time":"2025-12-12T15:04:00Z","direction":"Bullish","session":"NY AM","htf_alignment":{"daily":"Bullish"},"timestamp":"2025-12-12T15:04:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","symbol":"OMP","trade_id":"20251212_100400000_BULLISH","direction":"Bullish","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:05:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","symbol":"OMX","trade_id":"20251212_100400000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:05:00Z"}')
    ], array_fill('accepted'::text, ARRAY[3]), 'OMP and OMX: three events accepted');
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close)
VALUES ('OMP', '2025-12-12 15:06:00+00', 100, 105, 99, 104), ('OMX', '2025-12-12 15:06:00+00', 100, 105, 99, 104);
INSERT INTO run SELECT 'before c3', NULL, pg_temp.signal_updates();
INSERT INTO run SELECT 'c3', sigsync.reconcile('2025-12-12 15:10:00+00'), pg_temp.signal_updates();
SELECT is((SELECT ARRAY[s.direction, s.signal_time::text, (s.be_mfe = 0.5)::text]
             FROM pg_temp.sig('OMX', '20251212_100400000_BULLISH') s),
          ARRAY['Bullish', '2025-12-12 15:04:00+00', 'true'], 'OMX: its trade_id''s values, and walked in that direction');
SELECT is((SELECT updates FROM run WHERE name = 'c3') - (SELECT updates FROM run WHERE name = 'before c3'), 5::bigint,
          'the cycle writes OMP''s row twice and OMX''s three times (its trade_id''s values first), not each three times');

SELECT * FROM finish();
ROLLBACK;
