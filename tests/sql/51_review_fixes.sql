-- Regressions from the design review: reader-callable functions work for sigsync_reader;
-- rebuild() does not re-open reviewed conflicts; an explicit CANCELLED is not mixed with
-- inferred cancellation fields.
BEGIN;
SELECT plan(9);

-- 1. the functions granted to sigsync_reader run for it
SET LOCAL ROLE sigsync_reader;
SELECT is(sigsync.session_at('2025-12-12 10:42 America/New_York'), 'NY AM', 'reader: session_at');
SELECT is((sigsync.parse_trade_id('20251212_104200000_bullish')).direction, 'Bullish', 'reader: parse_trade_id');
SELECT is(sigsync.calculate_signal_health_score('["no_htf_alignment"]'), 90, 'reader: calculate_signal_health_score');
RESET ROLE;

-- 2. rebuild keeps reviewed conflicts reviewed (conflicts are noticed once)
SELECT sigsync.ingest('{"event_type":"ENTRY","symbol":"RV1","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T10:01:00-05:00"}');
SELECT sigsync.ingest('{"event_type":"ENTRY","symbol":"RV1","trade_id":"20251212_100000000_BULLISH","entry_price":101,"stop_loss":90,"timestamp":"2025-12-12T10:02:00-05:00"}');
SELECT is((SELECT array_agg(field ORDER BY field) FROM sigsync.sync_audit_log WHERE symbol = 'RV1' AND action_type = 'conflict'),
          '{confirmation_time,entry_price}'::text[], 'two ENTRY events disagreeing: one conflict per field');
UPDATE sigsync.sync_audit_log SET reviewed_at = now() WHERE symbol = 'RV1' AND action_type = 'conflict';
SELECT is(sigsync.reconcile('2025-12-12 10:05 America/New_York') ->> 'status', 'ok', 'cycle');
SELECT sigsync.rebuild();
SELECT is(sigsync.reconcile('2025-12-12 10:05 America/New_York', true) ->> 'status', 'ok', 'full cycle after rebuild');
SELECT is((SELECT count(*) FROM sigsync.sync_audit_log
            WHERE symbol = 'RV1' AND action_type = 'conflict' AND reviewed_at IS NULL), 0::bigint,
          'rebuild did not re-open the reviewed conflict');

-- 3. an explicit CANCELLED without cancelled_by stays explicit and whole
SELECT sigsync.ingest_many(ARRAY[
  '{"event_type":"SIGNAL_CREATED","symbol":"RV2","trade_id":"20251212_100000000_BULLISH","timestamp":"2025-12-12T10:00:00-05:00"}',
  '{"event_type":"SIGNAL_CREATED","symbol":"RV2","trade_id":"20251212_100500000_BEARISH","timestamp":"2025-12-12T10:05:00-05:00"}',
  '{"event_type":"CANCELLED","symbol":"RV2","trade_id":"20251212_100000000_BULLISH","cancelled_time":"2025-12-12T10:03:00-05:00","cancel_reason":"manual"}']);
SELECT is(sigsync.reconcile('2025-12-12 10:10 America/New_York') ->> 'status', 'ok', 'cycle');
SELECT is((SELECT ARRAY[cancel_detection, cancelled_by, bars_pending::text, cancel_reason]
             FROM sigsync.signals WHERE symbol = 'RV2' AND trade_id = '20251212_100000000_BULLISH'),
          ARRAY['explicit', NULL, NULL, 'manual'],
          'no inferred cancelled_by / bars_pending next to an explicit cancellation');

SELECT * FROM finish();
ROLLBACK;
