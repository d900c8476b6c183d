-- 19_cycle_isolation: no stored value can make a reconcile cycle fail (issue "trust under
-- hostile input", item 2). A trade_id in year 9999 used to be accepted, then overflow integer
-- bars_pending in the alternation rule, failing every cycle (and rebuild() + full cycle) for
-- all symbols, forever. Now bar counts that an integer cannot hold are left empty, and a signal
-- that still makes the cycle's steps fail is isolated: its work is undone, it is reported
-- (summary "failed", audit action 'error'), it is left alone until it changes again, and every
-- other signal is reconciled.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(49);

CREATE TEMP TABLE run (name text PRIMARY KEY, res jsonb) ON COMMIT DROP;

-- 1. a stored id of an older version in year 9999 (appended as the log allows) ----------------------
INSERT INTO sigsync.automated_signals (symbol, trade_id, event_type, "timestamp", source, payload, payload_checksum)
VALUES ('OLD', '99991231_235959999_BEARISH', 'SIGNAL_CREATED', '2025-12-12 15:00:00+00', 'indicator', '{}', 'c19-1'),
       ('OLD', '20251212_100000000_BULLISH', 'SIGNAL_CREATED', '2025-12-12 15:00:00+00', 'indicator', '{}', 'c19-2');
SELECT is(sigsync.rebuild(), 2, 'rebuild() projects both stored signals');
INSERT INTO run VALUES ('r1', sigsync.reconcile('2025-12-12 16:00:00+00', true));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'r1'), 'ok', 'rebuild() + full cycle: ok');
SELECT is((SELECT signal_time FROM sigsync.signals WHERE trade_id = '99991231_235959999_BEARISH'), NULL,
          'the year-9999 id gives no signal time (trade_id dates are bounded like timestamps)');

-- 2. a bar count too large for an integer is left empty, not an error --------------------------------
SELECT sigsync.ingest_many(ARRAY[
    '{"event_type":"SIGNAL_CREATED","symbol":"FAR","trade_id":"20000103_100000000_BULLISH"}',
    '{"event_type":"SIGNAL_CREATED","symbol":"FAR","trade_id":"20251212_100000000_BEARISH"}']);
UPDATE sigsync.settings SET value = '"1 millisecond"' WHERE key = 'bar_interval';
INSERT INTO run VALUES ('r2', sigsync.reconcile('2025-12-12 16:00:00+00'));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'r2'), 'ok',
          'bars_pending of 26 years of 1 ms bars: the cycle still succeeds');
SELECT is((SELECT (cancelled_by, bars_pending)::text FROM sigsync.signals
            WHERE symbol = 'FAR' AND trade_id = '20000103_100000000_BULLISH'),
          '(20251212_100000000_BEARISH,)', '... the cancellation is inferred, bars_pending left empty');
UPDATE sigsync.settings SET value = '"1 minute"' WHERE key = 'bar_interval';

-- 3. a signal that makes the steps fail is isolated -------------------------------------------------
SELECT sigsync.ingest_many(ARRAY[
    '{"event_type":"ENTRY","symbol":"ISO","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:01:00Z"}',
    '{"event_type":"ENTRY","symbol":"ISO","trade_id":"20251212_100100000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:02:00Z"}',
    '{"event_type":"ENTRY","symbol":"ISO","trade_id":"20251212_100200000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:03:00Z"}',
    '{"event_type":"ENTRY","symbol":"ISP","trade_id":"20251212_100300000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:04:00Z"}']);
-- the poison: any cycle write to one of them fails (as a value no rule foresaw would)
CREATE FUNCTION public.t19_poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.trade_id = '20251212_100100000_BULLISH' AND NEW.symbol = 'ISO' AND NEW.targets_extended IS NOT NULL THEN
        RAISE EXCEPTION 'numeric field overflow (poison)';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER t19_poison BEFORE UPDATE ON sigsync.signals FOR EACH ROW EXECUTE FUNCTION public.t19_poison();

INSERT INTO run VALUES ('r3', sigsync.reconcile('2025-12-12 16:00:00+00'));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'r3'), 'ok', 'the cycle succeeds');
SELECT is((SELECT (res ->> 'signals_failed')::integer FROM run WHERE name = 'r3'), 1, 'one signal failed');
SELECT is((SELECT res -> 'failed' FROM run WHERE name = 'r3'),
          '[{"error": "numeric field overflow (poison)", "symbol": "ISO", "trade_id": "20251212_100100000_BULLISH"}]'::jsonb,
          'the summary names it, with the error');
SELECT is((SELECT (res ->> 'signals_processed')::integer FROM run WHERE name = 'r3'), 3, 'the other three were processed');
SELECT is((SELECT array_agg(trade_id ORDER BY symbol, trade_id) FROM sigsync.signals
            WHERE symbol IN ('ISO', 'ISP') AND targets_extended IS NOT NULL),
          ARRAY['20251212_100000000_BULLISH', '20251212_100200000_BULLISH', '20251212_100300000_BULLISH'],
          '... and reconciled (targets filled), the failing one not');
SELECT is((SELECT count(*)::integer FROM sigsync.signal_health_metrics WHERE symbol IN ('ISO', 'ISP')), 3,
          'the three have their health; the failing one''s work was undone');
SELECT is((SELECT count(*)::integer FROM sigsync.sync_audit_log
            WHERE run_id = (SELECT (res ->> 'run_id')::bigint FROM run WHERE name = 'r3')
              AND trade_id = '20251212_100100000_BULLISH'), 1, 'no audit row of its undone work, one error row');
SELECT is((SELECT reason FROM sigsync.sync_audit_log
            WHERE action_type = 'error' AND trade_id = '20251212_100100000_BULLISH'),
          'the cycle could not process this signal and left it alone until it changes again (or a full cycle): '
          'numeric field overflow (poison)', 'the audit row says what happened');
SELECT ok((SELECT NOT dirty AND next_check_at IS NULL FROM sigsync.signals
            WHERE symbol = 'ISO' AND trade_id = '20251212_100100000_BULLISH'),
          'the failing signal is left alone (no mark, nothing scheduled): cycles do not retry it forever');
SELECT ok((SELECT signals_set_aside = 1 AND alert_level <> 'ok'
                  AND '1 signals are set aside: a cycle could not process them (audit action ''error''); they are '
                      'tried again when they change, or by a full cycle' = ANY (alert_reasons)
             FROM sigsync.system_health), 'system_health: the signal set aside raises the alert level, and says why');
SELECT isnt((SELECT set_aside_at FROM sigsync.signals WHERE symbol = 'ISO' AND trade_id = '20251212_100100000_BULLISH'),
            NULL, 'signals.set_aside_at records it');
INSERT INTO run VALUES ('r4', sigsync.reconcile('2025-12-12 16:00:00+00'));
SELECT is((SELECT (res ->> 'signals_processed')::integer + (res ->> 'signals_failed')::integer FROM run WHERE name = 'r4'),
          0, 'the next cycle has nothing to do');
SELECT is((SELECT signals_set_aside FROM sigsync.system_health), 1::bigint,
          'system_health: a cycle with nothing to do leaves it set aside, and still says so');

-- it changes: the next cycle tries it again (and, the poison gone, reconciles it)
DROP TRIGGER t19_poison ON sigsync.signals;
SELECT is(sigsync.ingest('{"event_type":"MFE_UPDATE","symbol":"ISO","trade_id":"20251212_100100000_BULLISH","be_mfe":0.3,"timestamp":"2025-12-12T15:10:00Z"}')
              ->> 'status', 'accepted', 'a new event for it');
INSERT INTO run VALUES ('r5', sigsync.reconcile('2025-12-12 16:00:00+00'));
SELECT is((SELECT (res ->> 'signals_processed')::integer FROM run WHERE name = 'r5'), 1, 'the next cycle processes it');
SELECT ok((SELECT targets_extended IS NOT NULL AND set_aside_at IS NULL FROM sigsync.signals
            WHERE symbol = 'ISO' AND trade_id = '20251212_100100000_BULLISH'),
          '... and reconciles it: no longer set aside');
SELECT is((SELECT signals_set_aside FROM sigsync.system_health), 0::bigint, 'system_health: none set aside any more');

-- 4. values no cycle can compute with are refused when written -----------------------------------
SELECT throws_ok($$INSERT INTO sigsync.price_bars VALUES ('ISO', '2025-12-12 15:20:00+00', 'NaN', 'NaN', 'NaN', 'NaN')$$,
                 '23514', NULL, 'a NaN price bar is refused');
SELECT throws_ok(format('INSERT INTO sigsync.price_bars VALUES (''ISO'', %L, 1, 1, 1, 1)', ts),
                 '23514', 'new row for relation "price_bars" violates check constraint "price_bars_ts_in_range"',
                 format('a price bar at ts %s is refused (no walk would read it)', ts))
  FROM unnest(ARRAY['infinity', '-infinity', '2100-01-01 00:00:00+00', '1999-12-31 23:59:59+00']::timestamptz[]) ts;
SELECT lives_ok($$INSERT INTO sigsync.price_bars VALUES ('ISO', '2099-12-31 23:59:00+00', 1, 1, 1, 1),
                                                         ('ISO', '2000-01-01 00:00:00+00', 1, 1, 1, 1)$$,
                'bars from 2000-01-01 to the end of 2099 are taken');
SELECT throws_ok($$INSERT INTO sigsync.price_bars VALUES ('ISO', '2025-12-12 15:20:00+00', 100, 9e131071, 100, 100)$$,
                 '23514', NULL, 'a bar beyond 1e15 is refused');
SELECT throws_ok($$INSERT INTO sigsync.price_bars VALUES ('ISO', '2025-12-12 15:20:00+00', 100, 'Infinity', 100, 100)$$,
                 '23514', NULL, 'an infinite bar is refused');
SELECT throws_ok($$INSERT INTO sigsync.sync_requests (trade_ids, symbols, reason)
                   VALUES ('{20251212_100000000_BULLISH,20251212_100100000_BULLISH}', '{ISO}', 'manual')$$,
                 '23514', NULL, 'a sync request whose symbols and trade_ids do not pair up is refused');
-- ... and one stored before that check is passed over
ALTER TABLE sigsync.sync_requests DROP CONSTRAINT sync_requests_keys;
INSERT INTO sigsync.sync_requests (trade_ids, symbols, reason, created_at)
VALUES ('{20251212_100000000_BULLISH,20251212_100100000_BULLISH}', '{ISO}', 'manual', '2025-12-12 15:00:00+00');
SELECT is(sigsync.reconcile('2025-12-12 16:00:00+00') ->> 'status', 'ok',
          'an old sync request with unpaired arrays times out without failing the cycle');
-- a health row an operator edited by hand breaks no view
UPDATE sigsync.signal_health_metrics SET gaps = gaps || '{"no_session": "since the feed broke"}'
 WHERE symbol = 'ISP';
SELECT is((SELECT since FROM sigsync.signal_gaps WHERE symbol = 'ISP' AND gap_type = 'no_session'), NULL::timestamptz,
          'a gap whose since is not a time: since is NULL, signal_gaps still reads');
SELECT ok((SELECT count(*) FROM sigsync.all_signals) > 0 AND (SELECT count(*) FROM sigsync.system_health) = 1,
          '... and all_signals, system_health too');
UPDATE sigsync.signal_health_metrics SET gaps = gaps || '{"no_session": "2025-12-12T15:00:00", "no_mae": "2025-12-12T10:00:00-05:00"}'
 WHERE symbol = 'ISP';
SET LOCAL TimeZone = 'Asia/Tokyo';
SELECT is((SELECT array_agg(since ORDER BY gap_type) FROM sigsync.signal_gaps WHERE symbol = 'ISP' AND gap_type IN ('no_mae', 'no_session')),
          ARRAY['2025-12-12 15:00:00+00', NULL]::timestamptz[],
          'a since with an offset reads as that instant, one without is unknown (not a time in the session''s zone)');
RESET TimeZone;
SELECT throws_ok($$UPDATE sigsync.signal_health_metrics SET gaps = '["no_session"]' WHERE symbol = 'ISP'$$,
                 '23514', NULL, 'a gaps value that is not an object is refused');
SELECT throws_ok($$INSERT INTO sigsync.signal_provenance (symbol, trade_id, field, tier, confidence, source)
                   SELECT s.symbol, s.trade_id, 'cancelled_by', 'made-up', 1, 'rule:x' FROM sigsync.signals s WHERE s.symbol = 'ISP'$$,
                 '23503', NULL, 'a provenance of a tier sigsync does not know is refused (field_provenance and the merge read it)');
SELECT throws_ok($$UPDATE sigsync.signal_provenance SET confidence = 1.5 WHERE symbol = 'ISP'$$,
                 '23514', NULL, '... and one with a confidence above 1');
-- ... and one stored before that check reads as no open gap
ALTER TABLE sigsync.signal_health_metrics DROP CONSTRAINT signal_health_metrics_gaps_object;
UPDATE sigsync.signal_health_metrics SET gaps = '["no_session"]' WHERE symbol = 'ISP';
SELECT ok((SELECT count(*) FROM sigsync.signal_gaps WHERE symbol = 'ISP') = 0
          AND (SELECT gaps FROM sigsync.all_signals WHERE symbol = 'ISP' LIMIT 1) = '{}'
          AND (SELECT count(*) FROM sigsync.system_health) = 1 AND (SELECT count(*) FROM sigsync.gap_summary) > 0,
          'a gaps value that is not an object reads as no open gap: signal_gaps, all_signals, system_health still read');

-- 5. many failing signals: each set aside, the others reconciled; past 100 in one cycle the rest
--    waits for the next, so no number of them halts the cycles -----------------------------------
SELECT count(*) FROM sigsync.ingest_many(ARRAY(
    SELECT format('{"event_type":"ENTRY","symbol":"%s","trade_id":"20251212_100000000_BULLISH","entry_price":100,'
                  '"stop_loss":90,"timestamp":"2025-12-12T15:01:00Z"}', CASE WHEN i <= 105 THEN 'BAD' || i ELSE 'FINE' || i END)
      FROM generate_series(1, 110) i));
CREATE FUNCTION public.t19_many() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.symbol LIKE 'BAD%' AND NEW.targets_extended IS NOT NULL THEN RAISE EXCEPTION 'bad %', NEW.symbol; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER t19_many BEFORE UPDATE ON sigsync.signals FOR EACH ROW EXECUTE FUNCTION public.t19_many();
INSERT INTO run VALUES ('m1', sigsync.reconcile('2025-12-12 16:00:00+00'));
SELECT is((SELECT (res ->> 'status', (res ->> 'signals_failed')::int, (res ->> 'signals_deferred')::int)::text
             FROM run WHERE name = 'm1'), '(ok,100,10)',
          '105 failing among 110: the cycle succeeds, sets 100 aside and leaves the other 10 for the next one');
INSERT INTO run VALUES ('m2', sigsync.reconcile('2025-12-12 16:00:00+00'));
SELECT is((SELECT (res ->> 'status', (res ->> 'signals_failed')::int, (res ->> 'signals_processed')::int)::text
             FROM run WHERE name = 'm2'), '(ok,5,5)', 'the next cycle sets the last 5 aside and reconciles the 5 good ones');
SELECT is((SELECT count(*)::integer FROM sigsync.signals WHERE symbol LIKE 'FINE%' AND targets_extended IS NOT NULL), 5,
          '... which are reconciled');
SELECT is((SELECT signals_set_aside FROM sigsync.system_health), 105::bigint, 'system_health counts the 105 set aside');
DROP TRIGGER t19_many ON sigsync.signals;

-- 6. the cycle lock: only a role that may run cycles can hold it ---------------------------------
SET LOCAL ROLE sigsync_reader;
SELECT throws_ok($$SELECT 1 FROM sigsync.cycle_lock FOR UPDATE$$, '42501', NULL,
                 'sigsync_reader cannot take the cycle lock (an advisory key any role could take was the lock before)');
RESET ROLE;
SET LOCAL ROLE sigsync_ingest;
SELECT throws_ok($$SELECT 1 FROM sigsync.cycle_lock FOR UPDATE$$, '42501', NULL, '... nor can sigsync_ingest');
RESET ROLE;

-- a failure that is not one signal's: a broken setting is refused when written, and a fault
-- that makes every signal fail fails the cycle as a whole (no signal is set aside for it)
SELECT throws_ok($$UPDATE sigsync.settings SET value = '"not an interval"' WHERE key = 'mfe_stale_after'$$,
                 '23514', 'sigsync: setting mfe_stale_after: "not an interval" is not an interval (such as "5 minutes")',
                 'a setting that would fail every cycle is refused when it is written');
-- (a bug: the session rule fails for every signal; restored by the ROLLBACK at the end)
CREATE OR REPLACE FUNCTION sigsync._session_at(p_at timestamptz, p_tz text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$ BEGIN RAISE EXCEPTION 'every signal fails'; END $$;
SELECT is((SELECT array_agg(status) FROM sigsync.ingest_many(ARRAY[
              '{"event_type":"MFE_UPDATE","symbol":"ISP","trade_id":"20251212_100300000_BULLISH","be_mfe":0.2,"timestamp":"2025-12-12T15:10:00Z"}',
              '{"event_type":"MFE_UPDATE","symbol":"ISO","trade_id":"20251212_100000000_BULLISH","be_mfe":0.2,"timestamp":"2025-12-12T15:10:00Z"}'])),
          ARRAY['accepted', 'accepted'], 'new events mark two signals');
INSERT INTO run VALUES ('r6', sigsync.reconcile('2025-12-12 16:00:00+00'));
SELECT is((SELECT (res ->> 'status') || ': ' || (res ->> 'error') FROM run WHERE name = 'r6'),
          'error: every signal of the working set failed: every signal fails',
          'every signal failing: the cycle reports an error');
SELECT is((SELECT array_agg(symbol || ' ' || trade_id ORDER BY symbol) FROM sigsync.signals WHERE dirty),
          ARRAY['ISO 20251212_100000000_BULLISH', 'ISP 20251212_100300000_BULLISH'],
          '... and sets no signal aside: the marked ones are still marked');

SELECT * FROM finish();
ROLLBACK;
