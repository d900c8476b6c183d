-- 23_bar_walk: the Tier 2 walk over price bars, DESIGN §6 to the letter.
-- R = |entry - stop|; only bars with ts > confirmation_time (and <= p_now); Bullish favourable
-- (high - entry)/R, adverse (low - entry)/R; Bearish mirrored. The stop is checked before the
-- favourable side (a bar touching both is the stop bar, its favourable excluded). no_be_mfe =
-- max favourable before the stop bar; mae = min adverse up to and including it, floored at -1;
-- be_mfe: the stop moves to entry on the bar AFTER the first bar with favourable >= 1R; the
-- first later bar with adverse <= 0 is the EXIT_BE and ends be_mfe. round(x, 4), halves away
-- from zero; comparisons inclusive; no bar: 0/0/0.
-- Each case is checked on sigsync._bar_walk directly and on the registry after reconcile.
-- No HEARTBEAT anywhere: the indicator is offline, so Tier 2 writes the running metrics.
-- All trades: ENTRY (with direction) confirmed at 15:00Z; bars at 15:00Z + n minutes; p_now 15:30Z.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(60);

CREATE FUNCTION pg_temp.ing(p text) RETURNS text
LANGUAGE sql AS $$ SELECT sigsync.ingest(p) ->> 'status' $$;
CREATE FUNCTION pg_temp.sig(p_symbol text) RETURNS sigsync.signals
LANGUAGE sql AS $$ SELECT s.* FROM sigsync.signals s WHERE s.symbol = p_symbol $$;
-- a field's provenance row (sigsync.signal_provenance) of a signal
CREATE FUNCTION pg_temp.field_prov(p_sig sigsync.signals, p_field text) RETURNS sigsync.signal_provenance
LANGUAGE sql AS $$ SELECT p.* FROM sigsync.signal_provenance p
                    WHERE p.symbol = p_sig.symbol AND p.trade_id = p_sig.trade_id AND p.field = p_field $$;
CREATE FUNCTION pg_temp.entry(p_symbol text, p_dir text, p_entry numeric, p_stop numeric) RETURNS text
LANGUAGE sql AS $$
    SELECT sigsync.ingest(jsonb_build_object(
        'event_type', 'ENTRY', 'symbol', p_symbol, 'trade_id', '20251212_095800000_' || upper(p_dir),
        'direction', p_dir, 'entry_price', p_entry, 'stop_loss', p_stop, 'session', 'NY AM',
        'htf_alignment', jsonb_build_object('daily', p_dir), 'timestamp', '2025-12-12T15:00:00Z')) ->> 'status'
$$;
CREATE FUNCTION pg_temp.bar(p_symbol text, p_minute integer, o numeric, h numeric, l numeric, c numeric) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close)
    VALUES (p_symbol, '2025-12-12 15:00:00+00'::timestamptz + make_interval(mins => p_minute), o, h, l, c)
$$;
CREATE FUNCTION pg_temp.m(p_minute integer) RETURNS timestamptz
LANGUAGE sql AS $$ SELECT '2025-12-12 15:00:00+00'::timestamptz + make_interval(mins => p_minute) $$;
-- the walk of the one signal of a symbol, at 15:30Z
CREATE FUNCTION pg_temp.walk(p_symbol text)
RETURNS TABLE (be_mfe numeric, no_be_mfe numeric, mae_global_r numeric, as_of timestamptz,
               trigger_ts timestamptz, be_exit_ts timestamptz, stop_ts timestamptz, stop_price numeric)
LANGUAGE sql AS $$
    SELECT w.be_mfe, w.no_be_mfe, w.mae_global_r, w.as_of, w.trigger_ts, w.be_exit_ts, w.stop_ts, w.stop_price
      FROM sigsync.signals s, sigsync._bar_walk('2025-12-12 15:30:00+00', ARRAY[s.symbol], ARRAY[s.trade_id]) w
     WHERE s.symbol = p_symbol
$$;
CREATE FUNCTION pg_temp.metrics(p_symbol text) RETURNS numeric[]
LANGUAGE sql AS $$ SELECT ARRAY[w.be_mfe, w.no_be_mfe, w.mae_global_r] FROM pg_temp.walk(p_symbol) w $$;
CREATE FUNCTION pg_temp.reg_metrics(p_symbol text) RETURNS numeric[]
LANGUAGE sql AS $$ SELECT ARRAY[s.be_mfe, s.no_be_mfe, s.mae_global_r] FROM sigsync.signals s WHERE s.symbol = p_symbol $$;

SELECT is(ARRAY[
    pg_temp.entry('BOTH', 'Bullish', 100, 90),  -- a bar touching stop and target
    pg_temp.entry('GAP',  'Bullish', 100, 90),  -- a gap through the stop
    pg_temp.entry('TRIG', 'Bullish', 100, 90),  -- the trigger bar and the moved stop
    pg_temp.entry('SAME', 'Bullish', 100, 90),  -- BE exit and original stop in one bar
    pg_temp.entry('BEAR', 'Bearish', 100, 110), -- mirrored
    pg_temp.entry('NONE', 'Bullish', 100, 90),  -- no bars yet
    pg_temp.entry('WIN',  'Bullish', 100, 90),  -- which bars count
    pg_temp.entry('RND',  'Bullish', 100, 68),  -- R = 32: halves at the 5th decimal
    pg_temp.entry('RND3', 'Bullish', 100, 97),  -- R = 3: repeating decimals
    pg_temp.entry('TRG2', 'Bullish', 100, 90)   -- trigger bar dipping below entry; exit on the very next bar
    ], array_fill('accepted'::text, ARRAY[10]), 'ten ENTRY events accepted');

-- BOTH: m1 fav 0.5 adv -0.2; m2 low exactly the stop (adv -1, inclusive) and high +2.5R: stopped,
-- its favourable excluded, and it is no BE trigger either; m3 after the stop is ignored
SELECT pg_temp.bar('BOTH', 1, 100, 105, 98, 104);
SELECT pg_temp.bar('BOTH', 2, 104, 125, 90, 95);
SELECT pg_temp.bar('BOTH', 3, 95, 130, 95, 129);
-- GAP: m1 fav 0.3 adv -0.1; m2 opens below the stop (adv -2): MAE floored at -1, exit at the stop price
SELECT pg_temp.bar('GAP', 1, 100, 103, 99, 102);
SELECT pg_temp.bar('GAP', 2, 85, 88, 80, 82);
-- TRIG: m1 fav exactly 1.0 (trigger, inclusive) and low exactly the entry: no BE exit on the
-- trigger bar itself; m2 fav 1.2 adv +0.1; m3 low exactly the entry (adv 0): EXIT_BE, its fav 1.3
-- excluded from be_mfe; m4 fav 3.0 adv -0.5 (no_be_mfe goes on)
SELECT pg_temp.bar('TRIG', 1, 100, 110, 100, 108);
SELECT pg_temp.bar('TRIG', 2, 108, 112, 101, 111);
SELECT pg_temp.bar('TRIG', 3, 111, 113, 100, 101);
SELECT pg_temp.bar('TRIG', 4, 101, 130, 95, 128);
-- TRG2: m1 fav 1.2 (trigger) with low 95 (adv -0.5, below the entry): no EXIT_BE on the trigger
-- bar; m2 low exactly the entry: the stop moved to entry on this bar -> EXIT_BE at m2
SELECT pg_temp.bar('TRG2', 1, 100, 112, 95, 110);
SELECT pg_temp.bar('TRG2', 2, 110, 111, 100, 101);
-- SAME: m1 fav 1.5 (trigger); m2 low 88: adverse -1.2 hits the moved stop and the original stop
SELECT pg_temp.bar('SAME', 1, 101, 115, 101, 114);
SELECT pg_temp.bar('SAME', 2, 114, 114, 88, 89);
-- BEAR (entry 100, stop 110): m1 fav 0.5 adv -0.3; m2 fav 1.1 (trigger) adv -0.1; m3 high exactly
-- the entry (adv 0): EXIT_BE, its fav 1.3 excluded from be_mfe; m4 high exactly the stop: EXIT_SL
SELECT pg_temp.bar('BEAR', 1, 100, 103, 95, 96);
SELECT pg_temp.bar('BEAR', 2, 96, 101, 89, 90);
SELECT pg_temp.bar('BEAR', 3, 90, 100, 87, 99);
SELECT pg_temp.bar('BEAR', 4, 99, 110, 96, 109);
-- WIN: a bar before the confirmation, one AT the confirmation time (not after it), and one after
-- p_now would all stop the trade; only m1 (fav 0.4, adv -0.3) counts
SELECT pg_temp.bar('WIN', -1, 100, 200, 50, 100);
SELECT pg_temp.bar('WIN', 0, 100, 200, 50, 100);
SELECT pg_temp.bar('WIN', 1, 100, 104, 97, 103);
SELECT pg_temp.bar('WIN', 31, 100, 200, 50, 100);
-- RND: 1/32 = 0.03125 -> 0.0313, -0.03125 -> -0.0313 (half away from zero, not to even)
SELECT pg_temp.bar('RND', 1, 100, 101, 99, 100.5);
-- RND3: 2/3 -> 0.6667, -0.5/3 -> -0.1667
SELECT pg_temp.bar('RND3', 1, 100, 102, 99.5, 101);

-- ---------------------------------------------------------------------------------------------
-- sigsync._bar_walk directly (direction comes with the ENTRY, so no cycle is needed first)
-- ---------------------------------------------------------------------------------------------
SELECT is(pg_temp.metrics('BOTH'), ARRAY[0.5, 0.5, -1]::numeric[], 'BOTH: be 0.5, no_be 0.5 (stop bar''s +2.5 excluded), mae -1');
SELECT is((SELECT stop_ts FROM pg_temp.walk('BOTH')), pg_temp.m(2), 'BOTH: a bar touching exactly the stop is the stop bar');
SELECT ok((SELECT trigger_ts IS NULL AND be_exit_ts IS NULL FROM pg_temp.walk('BOTH')),
          'BOTH: the stop bar''s favourable does not trigger break-even');
SELECT is((SELECT as_of FROM pg_temp.walk('BOTH')), pg_temp.m(2), 'BOTH: as of the stop bar (later bars unused)');

SELECT is(pg_temp.metrics('GAP'), ARRAY[0.3, 0.3, -1]::numeric[], 'GAP: MAE of a gap through the stop floored at -1');
SELECT is((SELECT ARRAY[stop_ts::text, stop_price::text] FROM pg_temp.walk('GAP')), ARRAY[pg_temp.m(2)::text, '90'],
          'GAP: the EXIT_SL is at the stop price, not the bar''s low');

SELECT is(pg_temp.metrics('TRIG'), ARRAY[1.2, 3.0, -0.5]::numeric[],
          'TRIG: be_mfe 1.2 (ends before the EXIT_BE bar), no_be_mfe 3.0, mae -0.5');
SELECT is((SELECT trigger_ts FROM pg_temp.walk('TRIG')), pg_temp.m(1), 'TRIG: favourable exactly 1R triggers BE (inclusive)');
SELECT is((SELECT be_exit_ts FROM pg_temp.walk('TRIG')), pg_temp.m(3),
          'TRIG: the trigger bar touching entry is no EXIT_BE; the first later bar touching entry is');
SELECT ok((SELECT stop_ts IS NULL FROM pg_temp.walk('TRIG')), 'TRIG: not stopped');
SELECT is((SELECT as_of FROM pg_temp.walk('TRIG')), pg_temp.m(4), 'TRIG: as of the last bar');

SELECT is((SELECT ARRAY[trigger_ts, be_exit_ts] FROM pg_temp.walk('TRG2')), ARRAY[pg_temp.m(1), pg_temp.m(2)],
          'TRG2: the trigger bar''s dip below entry is no EXIT_BE; the next bar touching entry is');
SELECT is(pg_temp.metrics('TRG2'), ARRAY[1.2, 1.2, -0.5]::numeric[], 'TRG2: be 1.2, no_be 1.2 (m2 fav 1.1), mae -0.5');

SELECT is(pg_temp.metrics('SAME'), ARRAY[1.5, 1.5, -1]::numeric[], 'SAME: be 1.5, no_be 1.5, mae -1 (floored from -1.2)');
SELECT is((SELECT ARRAY[trigger_ts, be_exit_ts, stop_ts] FROM pg_temp.walk('SAME')), ARRAY[pg_temp.m(1), pg_temp.m(2), pg_temp.m(2)],
          'SAME: trigger m1; EXIT_BE and EXIT_SL both on m2');

SELECT is(pg_temp.metrics('BEAR'), ARRAY[1.1, 1.3, -1]::numeric[], 'BEAR: be 1.1, no_be 1.3, mae -1 (mirrored)');
SELECT is((SELECT ARRAY[trigger_ts, be_exit_ts, stop_ts] FROM pg_temp.walk('BEAR')), ARRAY[pg_temp.m(2), pg_temp.m(3), pg_temp.m(4)],
          'BEAR: trigger m2, EXIT_BE m3 (high exactly the entry), EXIT_SL m4 (high exactly the stop)');
SELECT is((SELECT stop_price FROM pg_temp.walk('BEAR')), 110::numeric, 'BEAR: exit at the stop 110');

SELECT is(pg_temp.metrics('NONE'), ARRAY[0, 0, 0]::numeric[], 'NONE: no bar yet: 0 / 0 / 0');
SELECT is((SELECT as_of FROM pg_temp.walk('NONE')), pg_temp.m(0), 'NONE: as of the confirmation');
SELECT ok((SELECT trigger_ts IS NULL AND be_exit_ts IS NULL AND stop_ts IS NULL FROM pg_temp.walk('NONE')), 'NONE: no inference');

SELECT is(pg_temp.metrics('WIN'), ARRAY[0.4, 0.4, -0.3]::numeric[],
          'WIN: only bars with confirmation_time < ts <= p_now are used');
SELECT ok((SELECT stop_ts IS NULL FROM pg_temp.walk('WIN')), 'WIN: the stopping bars outside the window are ignored');
SELECT is((SELECT w.stop_ts FROM sigsync.signals s,
                  sigsync._bar_walk('2025-12-12 15:31:00+00', ARRAY[s.symbol], ARRAY[s.trade_id]) w WHERE s.symbol = 'WIN'),
          pg_temp.m(31), 'WIN: a bar opening exactly at p_now counts (ts <= p_now)');

SELECT is(pg_temp.metrics('RND'), ARRAY[0.0313, 0.0313, -0.0313]::numeric[], 'RND: 0.03125 rounds to 0.0313, -0.03125 to -0.0313');
SELECT is(pg_temp.metrics('RND3'), ARRAY[0.6667, 0.6667, -0.1667]::numeric[], 'RND3: 2/3 -> 0.6667, -1/6 -> -0.1667');
SELECT is((SELECT scale(w.no_be_mfe) FROM pg_temp.walk('RND3') w), 4, 'computed MFE has exactly 4 decimal places (numeric)');

-- ---------------------------------------------------------------------------------------------
-- the registry after reconcile
-- ---------------------------------------------------------------------------------------------
SELECT is(sigsync.reconcile(p_now => '2025-12-12 15:30:00+00') ->> 'status', 'ok', 'reconcile at 15:30 ok');

SELECT is(pg_temp.reg_metrics('BOTH'), ARRAY[0.5, 0.5, -1]::numeric[], 'registry BOTH metrics');
SELECT is(ARRAY[(pg_temp.sig('BOTH')).status, (pg_temp.sig('BOTH')).exit_type, (pg_temp.sig('BOTH')).exit_time::text,
                (pg_temp.sig('BOTH')).exit_price::text, (pg_temp.sig('BOTH')).final_mfe::text],
          ARRAY['closed', 'EXIT_SL', pg_temp.m(2)::text, '90', '0.5000'], 'registry BOTH: inferred EXIT_SL at m2, price 90, final_mfe 0.5');
SELECT ok((pg_temp.sig('BOTH')).be_triggered_at IS NULL, 'registry BOTH: no BE trigger');

SELECT is(pg_temp.reg_metrics('GAP'), ARRAY[0.3, 0.3, -1]::numeric[], 'registry GAP metrics');
SELECT is(ARRAY[(pg_temp.sig('GAP')).exit_time::text, (pg_temp.sig('GAP')).exit_price::text],
          ARRAY[pg_temp.m(2)::text, '90'], 'registry GAP: exit at the stop price 90');

SELECT is(pg_temp.reg_metrics('TRIG'), ARRAY[1.2, 3.0, -0.5]::numeric[], 'registry TRIG metrics');
SELECT is(ARRAY[(pg_temp.sig('TRIG')).be_triggered_at, (pg_temp.sig('TRIG')).be_exit_time], ARRAY[pg_temp.m(1), pg_temp.m(3)],
          'registry TRIG: be_triggered_at m1, be_exit_time m3');
SELECT is((pg_temp.sig('TRIG')).status, 'active', 'registry TRIG: an EXIT_BE does not close the trade');
SELECT ok((pg_temp.sig('TRIG')).exit_type IS NULL AND (pg_temp.sig('TRIG')).exit_time IS NULL, 'registry TRIG: no final exit');
SELECT is(ARRAY[(pg_temp.field_prov(pg_temp.sig('TRIG'), 'be_exit_time')).tier, (pg_temp.field_prov(pg_temp.sig('TRIG'), 'be_triggered_at')).tier],
          ARRAY['2', '2'], 'registry TRIG: inferred BE trigger and EXIT_BE are tier 2');

SELECT is((pg_temp.sig('TRG2')).be_exit_time, pg_temp.m(2), 'registry TRG2: be_exit_time m2');
SELECT is(pg_temp.reg_metrics('TRG2'), ARRAY[1.2, 1.2, -0.5]::numeric[], 'registry TRG2 metrics');

SELECT is(pg_temp.reg_metrics('SAME'), ARRAY[1.5, 1.5, -1]::numeric[], 'registry SAME metrics');
SELECT is(ARRAY[(pg_temp.sig('SAME')).be_triggered_at, (pg_temp.sig('SAME')).be_exit_time, (pg_temp.sig('SAME')).exit_time],
          ARRAY[pg_temp.m(1), pg_temp.m(2), pg_temp.m(2)], 'registry SAME: EXIT_BE and EXIT_SL in the same bar');
SELECT is(ARRAY[(pg_temp.sig('SAME')).status, (pg_temp.sig('SAME')).final_mfe::text], ARRAY['closed', '1.5000'],
          'registry SAME: closed, final_mfe = no_be_mfe');

SELECT is(pg_temp.reg_metrics('BEAR'), ARRAY[1.1, 1.3, -1]::numeric[], 'registry BEAR metrics');
SELECT is(ARRAY[(pg_temp.sig('BEAR')).status, (pg_temp.sig('BEAR')).exit_time::text, (pg_temp.sig('BEAR')).exit_price::text,
                (pg_temp.sig('BEAR')).final_mfe::text, (pg_temp.sig('BEAR')).be_exit_time::text],
          ARRAY['closed', pg_temp.m(4)::text, '110', '1.3000', pg_temp.m(3)::text], 'registry BEAR: exits');
SELECT is((pg_temp.sig('BEAR')).targets_extended -> '1R', '90'::jsonb, 'registry BEAR: 1R target is entry - R');

SELECT is(pg_temp.reg_metrics('NONE'), ARRAY[0, 0, 0]::numeric[], 'registry NONE: 0 / 0 / 0');
SELECT is((pg_temp.field_prov(pg_temp.sig('NONE'), 'no_be_mfe')).tier, '2', 'registry NONE: the zeros are Tier 2 values');
SELECT is((pg_temp.sig('NONE')).status, 'active', 'registry NONE: active');

SELECT is(pg_temp.reg_metrics('WIN'), ARRAY[0.4, 0.4, -0.3]::numeric[], 'registry WIN metrics');
SELECT is((pg_temp.sig('WIN')).status, 'active', 'registry WIN: bars outside the window do not close it');
SELECT is(pg_temp.reg_metrics('RND'), ARRAY[0.0313, 0.0313, -0.0313]::numeric[], 'registry RND metrics');
SELECT is(pg_temp.reg_metrics('RND3'), ARRAY[0.6667, 0.6667, -0.1667]::numeric[], 'registry RND3 metrics');
SELECT is((pg_temp.sig('RND3')).targets_extended -> '1R', '103'::jsonb, 'registry RND3: targets not rounded (1R = 103)');

SELECT is((SELECT count(*)::integer FROM sigsync.signals s
            WHERE (pg_temp.field_prov(s, 'be_mfe')).at IS DISTINCT FROM (SELECT w.as_of FROM pg_temp.walk(s.symbol) w)), 0,
          'every registry MFE is as of its walk''s as_of');
SELECT is((SELECT count(*)::integer FROM sigsync.signal_provenance p WHERE p.field = 'exit_time' AND p.source = 'rule:bar_walk'), 4,
          'four inferred EXIT_SL (BOTH, GAP, SAME, BEAR), source rule:bar_walk');
SELECT is((SELECT count(*)::integer FROM sigsync.signal_health_metrics m WHERE m.gaps ? 'missed_exit'), 0,
          'no missed_exit left open after the fills');

-- the walk of a closed trade does not depend on when it runs --------------------------------------
SELECT pg_temp.bar('BOTH', 4, 129, 140, 120, 139);
SELECT is(sigsync.reconcile(p_now => '2025-12-12 15:40:00+00', p_full => true) ->> 'status', 'ok', 'full reconcile at 15:40 ok');
SELECT is(ARRAY[(pg_temp.sig('BOTH')).exit_time::text, (pg_temp.sig('BOTH')).no_be_mfe::text],
          ARRAY[pg_temp.m(2)::text, '0.5000'], 'BOTH: later bars change neither the inferred exit nor the MFE');
SELECT * FROM finish();
ROLLBACK;
