-- 19_cycle_isolation: no stored value can make a reconcile cycle fail (issue "trust under
-- hostile input", item 2). A trade_id in year 9999 used to be accepted, then overflow integer
-- bars_pending in the alternation rule, failing every cycle (and rebuild() + full cycle) for
-- all symbols, forever. Now bar counts that an integer cannot hold are left empty, and a signal
-- that still makes the cycle's steps fail is isolated: its work is undone, it is reported
-- (summary "failed", audit action 'error'), it is left alone until it changes again, and every
-- other signal is reconciled.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(24);

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
SELECT ok((SELECT signals_failed_last_cycle = 1 AND alert_level <> 'ok'
                  AND 'the last cycle could not process 1 signals (audit action ''error'')' = ANY (alert_reasons)
             FROM sigsync.system_health), 'system_health: the isolated signal raises the alert level, and says why');
INSERT INTO run VALUES ('r4', sigsync.reconcile('2025-12-12 16:00:00+00'));
SELECT is((SELECT (res ->> 'signals_processed')::integer + (res ->> 'signals_failed')::integer FROM run WHERE name = 'r4'),
          0, 'the next cycle has nothing to do');
SELECT is((SELECT signals_failed_last_cycle FROM sigsync.system_health), 0,
          'system_health: the last cycle isolated nothing');

-- it changes: the next cycle tries it again (and, the poison gone, reconciles it)
DROP TRIGGER t19_poison ON sigsync.signals;
SELECT is(sigsync.ingest('{"event_type":"MFE_UPDATE","symbol":"ISO","trade_id":"20251212_100100000_BULLISH","be_mfe":0.3,"timestamp":"2025-12-12T15:10:00Z"}')
              ->> 'status', 'accepted', 'a new event for it');
INSERT INTO run VALUES ('r5', sigsync.reconcile('2025-12-12 16:00:00+00'));
SELECT is((SELECT (res ->> 'signals_processed')::integer FROM run WHERE name = 'r5'), 1, 'the next cycle processes it');
SELECT ok((SELECT targets_extended IS NOT NULL FROM sigsync.signals WHERE symbol = 'ISO' AND trade_id = '20251212_100100000_BULLISH'),
          '... and reconciles it');

-- a failure that is not one signal's: a broken setting is refused when written, and a fault
-- that makes every signal fail fails the cycle as a whole (no signal is set aside for it)
SELECT throws_ok($$UPDATE sigsync.settings SET value = '"not an interval"' WHERE key = 'mfe_stale_after'$$,
                 '23514', 'sigsync: setting mfe_stale_after: "not an interval" is not an interval (such as "5 minutes")',
                 'a setting that would fail every cycle is refused when it is written');
-- (a bug: the session rule fails for every signal; restored by the ROLLBACK at the end)
CREATE OR REPLACE FUNCTION sigsync._session_at(p_at timestamptz, p_tz text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$ BEGIN RAISE EXCEPTION 'every signal fails'; END $$;
SELECT is(sigsync.ingest('{"event_type":"MFE_UPDATE","symbol":"ISP","trade_id":"20251212_100300000_BULLISH","be_mfe":0.2,"timestamp":"2025-12-12T15:10:00Z"}')
              ->> 'status', 'accepted', 'a new event marks a signal');
INSERT INTO run VALUES ('r6', sigsync.reconcile('2025-12-12 16:00:00+00', true));
SELECT is((SELECT (res ->> 'status') || ': ' || (res ->> 'error') FROM run WHERE name = 'r6'),
          'error: every signal of the working set failed: every signal fails',
          'every signal failing: the cycle reports an error');
SELECT is((SELECT array_agg(symbol || ' ' || trade_id) FROM sigsync.signals WHERE dirty),
          ARRAY['ISP 20251212_100300000_BULLISH'], '... and sets no signal aside: the marked one is still marked');

SELECT * FROM finish();
ROLLBACK;
