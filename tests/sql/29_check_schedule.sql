-- 29_check_schedule: an incremental cycle processes the signals that changed or are due, not
-- every active signal (DESIGN §12). signals.next_check_at is when a check that depends on time
-- alone can change a signal: its MFE going stale (mfe_stale_after, 2 min), a stored bar the walk
-- will read becoming visible, the hold after a timed-out sync request ending (10 x
-- sync_request_timeout). New bars bring it forward; a cycle also processes the signals of the
-- sync requests it closes and those whose indicator went offline (heartbeat_timeout, 5 min),
-- came back or changed its not-tracking list. A changed setting makes every active signal due,
-- a reviewed anomaly marks its signal, and a cycle back in time re-checks every active signal.
-- One story in time, on symbols CSA, CSB, CSC.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(33);

CREATE FUNCTION pg_temp.ing(p text) RETURNS text
LANGUAGE sql AS $$ SELECT sigsync.ingest(p) ->> 'status' $$;
-- a cycle at p_now: how many signals it processed
CREATE FUNCTION pg_temp.cycle(p_now text) RETURNS integer
LANGUAGE sql AS $$ SELECT (sigsync.reconcile(p_now::timestamptz) ->> 'signals_processed')::integer $$;
CREATE FUNCTION pg_temp.next(p_symbol text) RETURNS text
LANGUAGE sql AS $$ SELECT coalesce(s.next_check_at::text, 'none') FROM sigsync.signals s WHERE s.symbol = p_symbol $$;

-- CSA: online, one MFE update at 15:01
SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"HEARTBEAT","tracked_signals":1,"indicator_version":"1.0","timestamp":"2025-12-12T15:00:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","symbol":"CSA","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"htf_alignment":{"m1":"Bullish"},"timestamp":"2025-12-12T15:00:00Z"}'),
    pg_temp.ing('{"event_type":"MFE_UPDATE","symbol":"CSA","trade_id":"20251212_100000000_BULLISH","be_mfe":0.2,"no_be_mfe":0.2,"mae_global_r":-0.1,"timestamp":"2025-12-12T15:01:00Z"}')
    ], array_fill('accepted'::text, ARRAY[3]), 'setup: a heartbeat, CSA entered and updated');

-- the MFE goes stale ---------------------------------------------------------------------------
SELECT is(pg_temp.cycle('2025-12-12 15:01:30+00'), 1, 'the changed signal is processed');
SELECT is(pg_temp.next('CSA'), '2025-12-12 15:03:00.000001+00', '... and due when its 15:01 MFE goes stale (just after 15:03)');
SELECT is(pg_temp.cycle('2025-12-12 15:02:30+00'), 0, 'before that, a cycle processes nothing');

-- a new bar ------------------------------------------------------------------------------------
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close) VALUES ('CSA', '2025-12-12 15:02:00+00', 100, 101, 95, 100);
SELECT is(pg_temp.next('CSA'), '2025-12-12 15:02:00+00', 'a new bar makes the active signals of its symbol due at its time');
SELECT is(pg_temp.cycle('2025-12-12 15:02:30+00'), 1, '... so the next cycle walks it');
SELECT is(pg_temp.next('CSA'), '2025-12-12 15:03:00.000001+00', '... and schedules the stale check again');

SELECT is(pg_temp.cycle('2025-12-12 15:03:00+00') || ' ' || pg_temp.cycle('2025-12-12 15:03:00+00'), '0 0',
          'at exactly 15:03 the MFE is not stale yet, and nothing is due twice at the same time');
SELECT is(pg_temp.cycle('2025-12-12 15:03:30+00'), 1, 'at 15:03:30 the stale check is due');
SELECT ok((SELECT gaps ? 'no_mfe_update' FROM signal_health_metrics WHERE symbol = 'CSA'), '... and opens no_mfe_update');
SELECT is((SELECT count(*)::integer FROM sync_requests WHERE status = 'open' AND 'CSA' = ANY (symbols)), 1,
          '... and Tier 1 asks the (online) indicator');
SELECT is(pg_temp.next('CSA'), 'none', '... after which nothing is due until the request closes or the indicator changes');
SELECT is(pg_temp.cycle('2025-12-12 15:04:00+00'), 0, 'so a cycle at 15:04 processes nothing');

-- the request times out, the indicator goes offline ---------------------------------------------
SELECT is(pg_temp.cycle('2025-12-12 15:06:40+00'), 1, 'at 15:06:40 the request times out (and the indicator is offline): CSA is processed');
SELECT is((SELECT status FROM sync_requests WHERE 'CSA' = ANY (symbols)), 'timed_out', '... the request is timed out');
SELECT is(pg_temp.next('CSA'), '2025-12-12 15:36:40+00', '... and CSA is due when its hold ends (10 x 3 min)');
SELECT is(pg_temp.cycle('2025-12-12 15:07:00+00'), 0, 'a cycle at 15:07 processes nothing');

-- the indicator comes back, then stops tracking ----------------------------------------------------
SELECT is(pg_temp.ing('{"event_type":"HEARTBEAT","tracked_signals":1,"indicator_version":"1.0","timestamp":"2025-12-12T15:07:00Z"}'),
          'accepted', 'a heartbeat at 15:07');
SELECT is(pg_temp.cycle('2025-12-12 15:07:30+00'), 1, 'the indicator came back: its active signal is processed');
SELECT is(pg_temp.ing('{"event_type":"SYNC_STATUS","tracking":[],"not_tracking":["20251212_100000000_BULLISH"],"timestamp":"2025-12-12T15:08:00Z"}'),
          'accepted', 'SYNC_STATUS: not tracking CSA''s trade');
SELECT is(pg_temp.cycle('2025-12-12 15:08:30+00'), 1, 'the not-tracking list changed: that signal is processed');
SELECT is(pg_temp.cycle('2025-12-12 15:36:40+00'), 1, 'at 15:36:40 the hold ends: CSA is processed');

-- bars stored ahead of p_now; a bar that lags behind a closed trade ---------------------------------
SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"ENTRY","symbol":"CSB","trade_id":"20251212_104000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:40:00Z"}'),
    pg_temp.ing('{"event_type":"EXIT_SL","symbol":"CSB","trade_id":"20251212_104000000_BULLISH","exit_price":90,"final_mfe":0,"timestamp":"2025-12-12T15:50:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","symbol":"CSC","trade_id":"20251212_104000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:40:00Z"}')
    ], array_fill('accepted'::text, ARRAY[3]), 'CSB entered at 15:40 and exited at 15:50; CSC entered at 15:40');
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close)
SELECT 'CSC', '2025-12-12 15:40:00+00'::timestamptz + make_interval(mins => n), 100, 101, 99, 100 FROM generate_series(1, 20) n;
SELECT is(pg_temp.cycle('2025-12-12 15:45:00+00') || ' ' || pg_temp.next('CSC'), '2 2025-12-12 15:46:00+00',
          'CSB and CSC are processed; CSC (stale already) is due at the first stored bar after p_now');
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close) VALUES ('CSB', '2025-12-12 15:44:00+00', 100, 101, 99, 100);
SELECT is(pg_temp.next('CSB') || ' ' || pg_temp.cycle('2025-12-12 15:45:00+00'), '2025-12-12 15:44:00+00 1',
          'a bar before the exit of a closed trade makes it due (its walk reads the bar)');

-- a setting changes; an anomaly is reviewed; a cycle goes back in time --------------------------
UPDATE sigsync.settings SET value = '"10 minutes"' WHERE key = 'mfe_stale_after';
SELECT is((SELECT count(*)::integer FROM signals WHERE status = 'active' AND next_check_at = '-infinity'),
          (SELECT count(*)::integer FROM signals WHERE status = 'active'),
          'a changed setting makes every active signal due');
SELECT is(pg_temp.cycle('2025-12-12 15:45:00+00'), (SELECT count(*)::integer FROM signals WHERE status = 'active'),
          '... so the next cycle re-checks them all');
INSERT INTO sigsync.sync_audit_log (symbol, trade_id, action_type, reason)
VALUES ('CSC', '20251212_104000000_BULLISH', 'anomaly', 'an anomaly noticed by hand');
UPDATE sigsync.signals SET dirty = true WHERE symbol = 'CSC';
SELECT is(pg_temp.cycle('2025-12-12 15:45:00+00'), 1, 'CSC processed with an open anomaly');
SELECT ok((SELECT gaps ? 'anomaly' FROM signal_health_metrics WHERE symbol = 'CSC'), '... which is its anomaly gap');
UPDATE sigsync.sync_audit_log SET reviewed_at = '2025-12-12 15:46:00+00' WHERE symbol = 'CSC' AND action_type = 'anomaly';
SELECT is((SELECT dirty FROM signals WHERE symbol = 'CSC'), true, 'reviewing the anomaly marks the signal');
SELECT is(pg_temp.cycle('2025-12-12 15:45:00+00'), 1, '... the next cycle processes it');
SELECT ok(NOT (SELECT gaps ? 'anomaly' FROM signal_health_metrics WHERE symbol = 'CSC'), '... and closes the gap');
SELECT is(pg_temp.cycle('2025-12-12 15:30:00+00'), (SELECT count(*)::integer FROM signals WHERE status = 'active'),
          'a cycle at an earlier p_now than the last one re-checks every active signal');

SELECT * FROM finish();
ROLLBACK;
