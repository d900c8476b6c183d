-- Retention: the reconcile cycle prunes run history and audit rows past their retention
-- settings (audit kept longer than run history), and pg_cron's run history when present.
BEGIN;
SELECT plan(8);

-- the open request asks for an active signal (a request for no active signal counts as answered)
SELECT sigsync.ingest('{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":25680,"stop_loss":25645,"timestamp":"' || (now() - interval '1 minute') || '"}');
INSERT INTO sigsync.sync_runs (trigger, p_now, started_at, status)
VALUES ('manual', now(), now() - interval '40 days', 'ok'),
       ('manual', now(), now() - interval '10 days', 'ok');
INSERT INTO sigsync.sync_requests (trade_ids, symbols, reason, created_at, status)
VALUES ('{20251212_104200000_BULLISH}', '{NQ1!}', 'no_mfe_update', now() - interval '40 days', 'answered'),
       ('{20251212_104200000_BULLISH}', '{NQ1!}', 'no_mfe_update', now() - interval '1 minute', 'open');
INSERT INTO sigsync.sync_audit_log (symbol, trade_id, action_type, reason, action_timestamp)
VALUES ('NQ1!', '20251212_104200000_BULLISH', 'revert', 'old', now() - interval '400 days'),
       ('NQ1!', '20251212_104200000_BULLISH', 'revert', 'kept', now() - interval '40 days');

SELECT is(sigsync.reconcile() ->> 'status', 'ok', 'a cycle runs');
SELECT is((SELECT count(*) FROM sigsync.sync_runs WHERE started_at < now() - interval '30 days'), 0::bigint,
          'runs older than run_retention are pruned');
SELECT is((SELECT count(*) FROM sigsync.sync_runs WHERE started_at = now() - interval '10 days'), 1::bigint,
          'younger runs are kept');
SELECT is((SELECT array_agg(status) FROM sigsync.sync_requests), '{open}'::text[],
          'closed requests past run_retention are pruned; a fresh open one is kept');
SELECT is((SELECT array_agg(reason) FROM sigsync.sync_audit_log WHERE action_type = 'revert' AND reason IN ('old', 'kept')), '{kept}'::text[],
          'audit rows are kept for audit_retention (longer than run history), then pruned');

UPDATE sigsync.settings SET value = '"20 days"' WHERE key = 'audit_retention';
SELECT is(((sigsync.reconcile() ->> 'pruned')::int >= 1), true, 'the summary counts pruned rows');
SELECT is((SELECT count(*) FROM sigsync.sync_audit_log WHERE action_type = 'revert' AND reason IN ('old', 'kept')), 0::bigint,
          'the retention settings drive the pruning');
SELECT is((sigsync.reconcile() ->> 'pruned')::int, 0, 'nothing left to prune: nothing deleted');

SELECT * FROM finish();
ROLLBACK;
