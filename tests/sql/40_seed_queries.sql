-- 40_seed_queries: the SQL the seeds give users runs unchanged against sigsync with
-- search_path = sigsync, public (DESIGN intro and §10): seed 002 "Weekly Audit" (two queries)
-- and "Database Queries" (three), seed 003 "Gap Detection Service" (four; they use NOW() and
-- the event-log columns of automated_signals). Each query text below is verbatim from the seed
-- (comments included); lives_ok runs it, and where the result means something it is checked
-- with the same text. Payload timestamps are fixed in December 2025, so they are all older
-- than NOW() - 15 minutes whenever this runs.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(23);

CREATE FUNCTION pg_temp.ing(p text) RETURNS text
LANGUAGE sql AS $$ SELECT sigsync.ingest(p) ->> 'status' $$;

-- A small registry: SC (SIGNAL_CREATED, ENTRY, MFE with MAE; active), XS (ENTRY, MFE, EXIT_SL;
-- closed), NS (ENTRY without session; active, no MFE), NM (ENTRY, MFE without MAE; active).
SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","trade_id":"20251212_100000000_BULLISH","signal_time":"2025-12-12T15:00:00Z","direction":"Bullish","session":"NY AM","htf_alignment":{"daily":"Bullish"},"timestamp":"2025-12-12T15:00:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"session":"NY AM","timestamp":"2025-12-12T15:02:00Z"}'),
    pg_temp.ing('{"event_type":"MFE_UPDATE","trade_id":"20251212_100000000_BULLISH","be_mfe":0.5,"no_be_mfe":0.5,"mae_global_r":-0.2,"timestamp":"2025-12-12T15:04:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","trade_id":"20251212_103000000_BEARISH","entry_price":100,"stop_loss":110,"session":"NY AM","timestamp":"2025-12-12T15:31:00Z"}'),
    pg_temp.ing('{"event_type":"MFE_UPDATE","trade_id":"20251212_103000000_BEARISH","be_mfe":0.3,"no_be_mfe":0.3,"mae_global_r":-0.4,"timestamp":"2025-12-12T15:33:00Z"}'),
    pg_temp.ing('{"event_type":"EXIT_SL","trade_id":"20251212_103000000_BEARISH","exit_price":110,"final_mfe":0.3,"timestamp":"2025-12-12T15:35:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","trade_id":"20251212_110000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T16:01:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","trade_id":"20251212_113000000_BEARISH","entry_price":100,"stop_loss":110,"session":"NY AM","timestamp":"2025-12-12T16:31:00Z"}'),
    pg_temp.ing('{"event_type":"MFE_UPDATE","trade_id":"20251212_113000000_BEARISH","be_mfe":0.1,"no_be_mfe":0.1,"timestamp":"2025-12-12T16:33:00Z"}')
    ], array_fill('accepted'::text, ARRAY[9]), 'events accepted');
SELECT is(sigsync.reconcile(p_now => '2025-12-12 16:34:00+00') ->> 'status', 'ok', 'reconcile ok');

-- ---------------------------------------------------------------------------------------------
-- seed 002, Phase 5 "Weekly Audit"
-- ---------------------------------------------------------------------------------------------
SELECT lives_ok($q$-- Check reconciliation activity
SELECT 
    action_type,
    COUNT(*) as count,
    AVG(confidence_score) as avg_confidence
FROM sync_audit_log
WHERE action_timestamp > NOW() - INTERVAL '7 days'
GROUP BY action_type
ORDER BY count DESC;$q$, 'seed 002 weekly audit: reconciliation activity runs');
SELECT bag_eq($q$-- Check reconciliation activity
SELECT 
    action_type,
    COUNT(*) as count,
    AVG(confidence_score) as avg_confidence
FROM sync_audit_log
WHERE action_timestamp > NOW() - INTERVAL '7 days'
GROUP BY action_type
ORDER BY count DESC;$q$,
    $$SELECT a.action_type, count(*), avg(a.confidence_score) FROM sigsync.sync_audit_log a GROUP BY a.action_type$$,
    'reconciliation activity: every action of this run, counted, with its mean confidence');
SELECT ok((SELECT count(*) FROM sync_audit_log WHERE action_type = 'fill') > 0, '... which includes the fills just made');

SELECT lives_ok($q$-- Check health scores
SELECT 
    AVG(health_score) as avg_health,
    MIN(health_score) as min_health,
    MAX(health_score) as max_health,
    COUNT(*) FILTER (WHERE health_score < 100) as signals_with_gaps
FROM signal_health_metrics;$q$, 'seed 002 weekly audit: health scores runs');
SELECT results_eq($q$-- Check health scores
SELECT 
    AVG(health_score) as avg_health,
    MIN(health_score) as min_health,
    MAX(health_score) as max_health,
    COUNT(*) FILTER (WHERE health_score < 100) as signals_with_gaps
FROM signal_health_metrics;$q$,
    $$SELECT avg(m.health_score), min(m.health_score), max(m.health_score), count(*) FILTER (WHERE m.health_score < 100)
        FROM sigsync.signal_health_metrics m WHERE m.symbol = 'NQ1!'$$,
    'health scores: one row over the four signals');
SELECT is((SELECT count(*)::integer FROM signal_health_metrics WHERE health_score < 100), 4,
          'every signal here has something below 100 (a Tier 2 targets fill at least)');

-- ---------------------------------------------------------------------------------------------
-- seed 002, Support "Database Queries"
-- ---------------------------------------------------------------------------------------------
SELECT lives_ok($q$-- Recent reconciliation actions
SELECT * FROM sync_audit_log ORDER BY action_timestamp DESC LIMIT 50;$q$, 'seed 002: recent reconciliation actions runs');
SELECT is((SELECT count(*)::integer FROM sync_audit_log) < 50, true, '(fewer than 50 audit rows here, so the query returns them all)');
SELECT bag_eq($q$-- Recent reconciliation actions
SELECT * FROM sync_audit_log ORDER BY action_timestamp DESC LIMIT 50;$q$,
    $$SELECT * FROM sigsync.sync_audit_log$$, 'recent reconciliation actions: the audit rows');

SELECT lives_ok($q$-- Signals with gaps
SELECT * FROM signal_health_metrics WHERE health_score < 100;$q$, 'seed 002: signals with gaps runs');
SELECT set_eq($q$-- Signals with gaps
SELECT * FROM signal_health_metrics WHERE health_score < 100;$q$,
    $$SELECT * FROM sigsync.signal_health_metrics m WHERE m.trade_id IN
        ('20251212_100000000_BULLISH', '20251212_103000000_BEARISH', '20251212_110000000_BULLISH', '20251212_113000000_BEARISH')$$,
    'signals with gaps: the four rows');

SELECT lives_ok($q$-- SIGNAL_CREATED events
SELECT COUNT(*) FROM automated_signals WHERE event_type = 'SIGNAL_CREATED';$q$, 'seed 002: SIGNAL_CREATED count runs');
SELECT results_eq($q$-- SIGNAL_CREATED events
SELECT COUNT(*) FROM automated_signals WHERE event_type = 'SIGNAL_CREATED';$q$, $$VALUES (1::bigint)$$, 'SIGNAL_CREATED events: 1');

-- ---------------------------------------------------------------------------------------------
-- seed 003, "Gap Detection Service"
-- ---------------------------------------------------------------------------------------------
SELECT lives_ok($q$SELECT trade_id FROM automated_signals
WHERE event_type = 'ENTRY'
AND trade_id NOT IN (
    SELECT trade_id FROM automated_signals
    WHERE event_type = 'MFE_UPDATE'
    AND timestamp > NOW() - INTERVAL '10 minutes'
)
AND trade_id NOT IN (
    SELECT trade_id FROM automated_signals
    WHERE event_type LIKE 'EXIT_%'
)$q$, 'seed 003: missing MFE updates runs');
SELECT bag_eq($q$SELECT trade_id FROM automated_signals
WHERE event_type = 'ENTRY'
AND trade_id NOT IN (
    SELECT trade_id FROM automated_signals
    WHERE event_type = 'MFE_UPDATE'
    AND timestamp > NOW() - INTERVAL '10 minutes'
)
AND trade_id NOT IN (
    SELECT trade_id FROM automated_signals
    WHERE event_type LIKE 'EXIT_%'
)$q$, $$VALUES ('20251212_100000000_BULLISH'), ('20251212_110000000_BULLISH'), ('20251212_113000000_BEARISH')$$,
    'missing MFE updates: the three open trades (none updated in the last 10 minutes), not the exited one');

SELECT lives_ok($q$SELECT trade_id FROM automated_signals
WHERE event_type = 'ENTRY'
AND (entry_price IS NULL OR stop_loss IS NULL OR session IS NULL)$q$, 'seed 003: missing ENTRY fields runs');
SELECT bag_eq($q$SELECT trade_id FROM automated_signals
WHERE event_type = 'ENTRY'
AND (entry_price IS NULL OR stop_loss IS NULL OR session IS NULL)$q$, $$VALUES ('20251212_110000000_BULLISH')$$,
    'missing ENTRY fields: the ENTRY without session');

SELECT lives_ok($q$SELECT trade_id FROM automated_signals
WHERE event_type = 'MFE_UPDATE'
AND mae_global_r IS NULL$q$, 'seed 003: missing MAE runs');
SELECT bag_eq($q$SELECT trade_id FROM automated_signals
WHERE event_type = 'MFE_UPDATE'
AND mae_global_r IS NULL$q$, $$VALUES ('20251212_113000000_BEARISH')$$, 'missing MAE: the MFE update without MAE');

SELECT lives_ok($q$SELECT trade_id, MAX(timestamp) as last_update
FROM automated_signals
WHERE event_type = 'MFE_UPDATE'
GROUP BY trade_id
HAVING MAX(timestamp) < NOW() - INTERVAL '15 minutes'$q$, 'seed 003: stale data runs');
SELECT bag_eq($q$SELECT trade_id, MAX(timestamp) as last_update
FROM automated_signals
WHERE event_type = 'MFE_UPDATE'
GROUP BY trade_id
HAVING MAX(timestamp) < NOW() - INTERVAL '15 minutes'$q$,
    $$VALUES ('20251212_100000000_BULLISH', '2025-12-12 15:04:00+00'::timestamptz),
             ('20251212_103000000_BEARISH', '2025-12-12 15:33:00+00'::timestamptz),
             ('20251212_113000000_BEARISH', '2025-12-12 16:33:00+00'::timestamptz)$$,
    'stale data: each trade''s last MFE update time');
SELECT * FROM finish();
ROLLBACK;
