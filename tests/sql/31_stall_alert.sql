-- 31_stall_alert: a stalled reconciler is an alert (issue "trust under hostile input", item 11).
-- A session left idle in transaction after reconcile() keeps the cycle lock: every later cycle
-- is 'skipped' and nothing is reconciled, while alert_level used to stay 'ok'. Now the alert
-- level is critical when the registry holds signals and no cycle succeeded for the
-- cycle_stall_after setting, and alert_reasons says why (the skipped cycles, who holds the
-- lock). Python's test_stall.py reproduces it with a real idle-in-transaction session.
BEGIN;
SELECT plan(10);

SELECT is((SELECT (alert_level, cardinality(alert_reasons))::text FROM sigsync.system_health), '(ok,0)',
          'an empty registry without any cycle is not stalled');
SELECT is(sigsync.ingest('{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH"}') ->> 'status', 'accepted',
          'a signal arrives');
SELECT is((SELECT (alert_level, alert_reasons)::text FROM sigsync.system_health),
          '(critical,"{""no reconcile cycle has succeeded yet""}")',
          'signals and no successful cycle ever: critical, and why');
SELECT is(sigsync.reconcile() ->> 'status', 'ok', 'a cycle');
SELECT is((SELECT alert_level FROM sigsync.system_health), 'ok', 'right after a successful cycle: ok');
SELECT is((SELECT last_ok_cycle_at FROM sigsync.system_health),
          (SELECT finished_at FROM sigsync.sync_runs WHERE status = 'ok' ORDER BY id DESC LIMIT 1),
          'last_ok_cycle_at: when the last successful cycle finished');

-- the last success was 25 minutes ago, and cycles have been skipped since
UPDATE sigsync.sync_runs SET started_at = now() - interval '25 minutes', finished_at = now() - interval '25 minutes';
INSERT INTO sigsync.sync_runs (trigger, p_now, started_at, finished_at, status, summary)
SELECT 'runner', now(), now() - i * interval '2 minutes', now() - i * interval '2 minutes', 'skipped',
       '{"status": "skipped", "reason": "another reconcile cycle is running"}'
  FROM generate_series(1, 12) i;
SELECT is((SELECT alert_level FROM sigsync.system_health), 'critical', 'no success for 25 minutes (> 10): critical');
SELECT alike((SELECT alert_reasons[1] FROM sigsync.system_health),
            'no reconcile cycle has succeeded for 00:25:% (since %); 12 cycles were skipped since; backend pid '
            || pg_backend_pid() || ' holds the reconcile lock (an open transaction that called reconcile()? %',
            'the reason: how long, how many cycles were skipped, and who holds the lock');
UPDATE sigsync.settings SET value = '"1 hour"' WHERE key = 'cycle_stall_after';
SELECT is((SELECT alert_level FROM sigsync.system_health), 'ok', 'cycle_stall_after is a setting: with 1 hour, not stalled');
UPDATE sigsync.settings SET value = '"10 minutes"' WHERE key = 'cycle_stall_after';
SELECT is((SELECT cycle_lock_holder FROM sigsync.system_health), pg_backend_pid(),
          'this session called reconcile() and its transaction is still open: it holds the lock, and system_health names it');

SELECT * FROM finish();
ROLLBACK;
