-- 28_bar_walk_state: the Tier 2 walk continues from its stored state (sigsync.bar_walks)
-- and always equals a walk from scratch: bar by bar, after a late bar (which deletes the
-- state and marks the signal), after a stop change, and at an earlier p_now.
-- One Bullish trade: ENTRY 100, stop 90 (R = 10) confirmed at 15:00Z; bars at 15:00Z + n minutes.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(27);

CREATE FUNCTION pg_temp.bar(p_minute integer, h numeric, l numeric) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close)
    VALUES ('WALK', '2025-12-12 15:00:00+00'::timestamptz + make_interval(mins => p_minute), l, h, l, l)
$$;
CREATE FUNCTION pg_temp.m(p_minute integer) RETURNS timestamptz
LANGUAGE sql AS $$ SELECT '2025-12-12 15:00:00+00'::timestamptz + make_interval(mins => p_minute) $$;
-- the walk at p_now, continuing the stored state (as reconcile does)
CREATE FUNCTION pg_temp.walk(p_now timestamptz) RETURNS text
LANGUAGE sql AS $$
    SELECT w::text FROM sigsync._bar_walk(p_now, ARRAY['WALK'], ARRAY['20251212_095800000_BULLISH']) w
$$;
-- the same walk from scratch: without the stored state (which is put back afterwards)
CREATE FUNCTION pg_temp.fresh(p_now timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    saved sigsync.bar_walks;
    result text;
BEGIN
    DELETE FROM sigsync.bar_walks WHERE symbol = 'WALK' RETURNING * INTO saved;
    result := pg_temp.walk(p_now);
    DELETE FROM sigsync.bar_walks WHERE symbol = 'WALK';
    IF saved.symbol IS NOT NULL THEN
        INSERT INTO sigsync.bar_walks SELECT saved.*;
    END IF;
    RETURN result;
END
$$;
CREATE FUNCTION pg_temp.state() RETURNS sigsync.bar_walks
LANGUAGE sql AS $$ SELECT w FROM sigsync.bar_walks w WHERE w.symbol = 'WALK' $$;

SELECT is(sigsync.ingest('{"event_type":"ENTRY","symbol":"WALK","trade_id":"20251212_095800000_BULLISH",
    "direction":"Bullish","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:00:00Z"}') ->> 'status',
    'accepted', 'the trade is confirmed');

-- 1. the first walk stores its state
SELECT pg_temp.bar(1, 104, 99);      -- fav 0.4
SELECT pg_temp.bar(2, 106, 101);     -- fav 0.6
SELECT is(pg_temp.walk(pg_temp.m(2)), pg_temp.fresh(pg_temp.m(2)), 'two bars: the walk equals a walk from scratch');
SELECT is((pg_temp.state()).walked_to, pg_temp.m(2), 'the state is stored up to the last bar walked');
SELECT is((pg_temp.state()).bars, 2, '... with its bar count');
SELECT is(pg_temp.walk(pg_temp.m(2)), pg_temp.fresh(pg_temp.m(2)), 'nothing new: the stored walk is the answer');

-- 2. bar by bar: trigger (fav >= 1R), then BE exit (adverse <= 0), then more bars, then the stop
SELECT pg_temp.bar(3, 111, 102);     -- fav 1.1: BE trigger
SELECT is(pg_temp.walk(pg_temp.m(3)), pg_temp.fresh(pg_temp.m(3)), 'the trigger bar: continued = from scratch');
SELECT is((pg_temp.state()).trigger_ts, pg_temp.m(3), 'the trigger is in the state');
SELECT is((pg_temp.state()).bars, 3, 'the continued walk walked one more bar');
SELECT pg_temp.bar(4, 112, 99.5);    -- adverse -0.05: EXIT_BE
SELECT is(pg_temp.walk(pg_temp.m(4)), pg_temp.fresh(pg_temp.m(4)), 'the BE exit bar: continued = from scratch');
SELECT pg_temp.bar(5, 115, 95);      -- no_be_mfe still moves (1.5); be_mfe ended before the exit bar (1.1)
SELECT is(pg_temp.walk(pg_temp.m(5)), pg_temp.fresh(pg_temp.m(5)), 'after the BE exit: continued = from scratch');
SELECT is(ARRAY[(w).be_mfe, (w).no_be_mfe], ARRAY[1.1, 1.5], 'be_mfe ends before the BE exit bar, no_be_mfe goes on')
  FROM (SELECT w FROM sigsync._bar_walk(pg_temp.m(5), ARRAY['WALK'], ARRAY['20251212_095800000_BULLISH']) w) x;
SELECT pg_temp.bar(6, 101, 89);      -- the stop
SELECT is(pg_temp.walk(pg_temp.m(9)), pg_temp.fresh(pg_temp.m(9)), 'the stop bar: continued = from scratch');
SELECT is((pg_temp.state()).stop_ts, pg_temp.m(6), 'the stop is in the state: the walk is complete');
SELECT pg_temp.bar(7, 130, 120);     -- after the stop: changes nothing
SELECT is(pg_temp.walk(pg_temp.m(9)), pg_temp.fresh(pg_temp.m(9)), 'a bar after the stop: continued = from scratch');

-- 3. a late bar before walked_to deletes the state and marks the signal for the next cycle
UPDATE sigsync.signals SET dirty = false WHERE symbol = 'WALK';
SELECT pg_temp.bar(0, 125, 100);     -- 15:00 itself is not after the confirmation: no effect on the walk,
SELECT ok(pg_temp.state() IS NULL, 'a bar inserted at or before walked_to deletes the stored walk');
SELECT ok((SELECT dirty FROM sigsync.signals WHERE symbol = 'WALK'), '... and marks the signal');
SELECT is(pg_temp.walk(pg_temp.m(9)), pg_temp.fresh(pg_temp.m(9)), 'the walk after it: from scratch, equal');
UPDATE sigsync.price_bars SET open = 100.5, low = 100.5, close = 100.5 WHERE symbol = 'WALK' AND ts = pg_temp.m(6);   -- corrected: no stop after all
SELECT is(pg_temp.walk(pg_temp.m(9)), pg_temp.fresh(pg_temp.m(9)), 'a corrected bar: the walk is redone, equal');
SELECT ok((pg_temp.state()).stop_ts IS DISTINCT FROM pg_temp.m(6), 'the corrected bar is no longer the stop');

-- 4. a different stop is a different basis: the walk starts over
UPDATE sigsync.signals SET stop_loss = 96 WHERE symbol = 'WALK';   -- R = 4
SELECT is(pg_temp.walk(pg_temp.m(9)), pg_temp.fresh(pg_temp.m(9)), 'a new stop: the walk starts over, equal');

-- 5. an earlier p_now than the stored walk: from scratch, up to p_now
SELECT is(pg_temp.walk(pg_temp.m(2)), pg_temp.fresh(pg_temp.m(2)), 'an earlier p_now: equal to a walk from scratch');

-- 6. the missed_exit gap reads only the bars after a stored stop-free walk, with the same answer
SELECT is(sigsync.ingest('{"event_type":"ENTRY","symbol":"MISS","trade_id":"20251212_095800000_BULLISH",
    "direction":"Bullish","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:00:00Z"}') ->> 'status',
    'accepted', 'a second trade');
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close)
VALUES ('MISS', pg_temp.m(1), 100, 104, 99, 100), ('MISS', pg_temp.m(2), 100, 103, 95, 100);
SELECT count(*) FROM sigsync._bar_walk(pg_temp.m(2), ARRAY['MISS'], ARRAY['20251212_095800000_BULLISH']);  -- stores the walk
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close) VALUES ('MISS', pg_temp.m(3), 95, 96, 89, 90);
SELECT ok((SELECT g.gaps ? 'missed_exit' FROM sigsync._open_gaps(pg_temp.m(5), ARRAY['MISS'],
                                                               ARRAY['20251212_095800000_BULLISH']) g),
          'a stop bar after the stored walk opens missed_exit');
DELETE FROM sigsync.bar_walks WHERE symbol = 'MISS';
SELECT ok((SELECT g.gaps ? 'missed_exit' FROM sigsync._open_gaps(pg_temp.m(5), ARRAY['MISS'],
                                                               ARRAY['20251212_095800000_BULLISH']) g),
          '... as it does without the stored walk');

-- 7. prices of more than 16 significant digits: each bar's excursion is its own quotient, rounded
-- at the scale PostgreSQL gives that division, and the walk's maximum is the largest of these, so
-- walking the bars in two cycles or in one gives the same (R = 3; the first bar's quotient rounds
-- up to 2.00005, the second's, of a higher high, stays 2.0000499...)
SELECT is(sigsync.ingest('{"event_type":"ENTRY","symbol":"WALK2","trade_id":"20251212_095800000_BULLISH",
    "direction":"Bullish","entry_price":4,"stop_loss":1,"timestamp":"2025-12-12T15:00:00Z"}') ->> 'status',
    'accepted', 'a second trade: entry 4, stop 1');
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close)
VALUES ('WALK2', pg_temp.m(1), 5, 10.0001499999999999, 5, 5);
SELECT count(*) FROM sigsync._bar_walk(pg_temp.m(1), ARRAY['WALK2'], ARRAY['20251212_095800000_BULLISH']);
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close)
VALUES ('WALK2', pg_temp.m(2), 5, 10.00014999999999990001, 5, 5);
CREATE TEMP TABLE walk2 AS
SELECT 'continued' AS how, w.* FROM sigsync._bar_walk(pg_temp.m(2), ARRAY['WALK2'], ARRAY['20251212_095800000_BULLISH']) w;
DELETE FROM sigsync.bar_walks WHERE symbol = 'WALK2';
INSERT INTO walk2
SELECT 'fresh', w.* FROM sigsync._bar_walk(pg_temp.m(2), ARRAY['WALK2'], ARRAY['20251212_095800000_BULLISH']) w;
SELECT is((SELECT w.bars FROM walk2 w WHERE w.how = 'continued'), 2, 'the continued walk walked the second bar');
SELECT is((SELECT ROW(w.be_mfe, w.no_be_mfe, w.mae_global_r, w.trigger_ts) FROM walk2 w WHERE w.how = 'continued')::text,
          (SELECT ROW(w.be_mfe, w.no_be_mfe, w.mae_global_r, w.trigger_ts) FROM walk2 w WHERE w.how = 'fresh')::text,
          'high-precision prices: the walk over two cycles equals the walk from scratch (the largest quotient, 2.0001)');
SELECT * FROM finish();
ROLLBACK;
