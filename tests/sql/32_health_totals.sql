-- 32_health_totals: the registry-wide figures each cycle records (sync_runs.summary, and
-- cycle_history.registry_mean_health / registry_open_gaps: the overview's health and gaps over
-- time, DESIGN §15) equal a count of the whole registry after every kind of write to
-- signal_health_metrics (a cycle's upsert, a hand update, a delete, a truncate), although no
-- cycle counts the registry: each write appends its delta to health_totals, a cycle folds them.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(10);

CREATE TEMP TABLE run (name text PRIMARY KEY, res jsonb) ON COMMIT DROP;
-- what a count of the whole registry says
CREATE FUNCTION pg_temp.counted() RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('signals', count(*), 'mean_health', round(avg(h.health_score), 1),
                              'open_gaps', coalesce(sum(h.gap_count), 0))
      FROM sigsync.signal_health_metrics h $$;
CREATE FUNCTION pg_temp.recorded(p_name text) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('signals', res -> 'registry_signals', 'mean_health', res -> 'registry_mean_health',
                              'open_gaps', res -> 'registry_open_gaps')
      FROM run WHERE name = p_name $$;

SELECT count(*) FROM sigsync.ingest_many(ARRAY(
    SELECT format('{"event_type":"ENTRY","symbol":"HT%s","trade_id":"20251212_100000000_BULLISH","entry_price":100,'
                  '"stop_loss":90,"timestamp":"2025-12-12T15:01:00Z"}', i)
      FROM generate_series(1, 12) i));
INSERT INTO run VALUES ('first', sigsync.reconcile('2025-12-12 15:30:00+00'));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'first'), 'ok', 'a first cycle over 12 new signals');
SELECT is(pg_temp.recorded('first'), pg_temp.counted(), 'its summary holds the registry''s figures (rows inserted)');
SELECT ok((pg_temp.recorded('first') ->> 'open_gaps')::int > 0, '... with open gaps to count (no bars: MFE and exit unknown)');

-- a later cycle that processes a few signals only: the registry figures still cover all 12
SELECT count(*) FROM sigsync.ingest_many(ARRAY[
    '{"event_type":"MFE_UPDATE","symbol":"HT1","trade_id":"20251212_100000000_BULLISH","be_mfe":0.5,"no_be_mfe":0.5,"mae_global_r":-0.2,"timestamp":"2025-12-12T15:31:00Z"}',
    '{"event_type":"EXIT_SL","symbol":"HT2","trade_id":"20251212_100000000_BULLISH","exit_price":90,"final_mfe":0,"timestamp":"2025-12-12T15:31:00Z"}']);
INSERT INTO run VALUES ('second', sigsync.reconcile('2025-12-12 15:32:00+00'));
SELECT ok((SELECT (res ->> 'signals_processed')::int FROM run WHERE name = 'second') < 12,
          'a second cycle processes only what changed');
SELECT is(pg_temp.recorded('second'), pg_temp.counted(), '... and records the whole registry''s figures (rows updated)');
SELECT is((SELECT (registry_mean_health, registry_open_gaps)::text FROM sigsync.cycle_history
            WHERE run_id = (SELECT (res ->> 'run_id')::bigint FROM run WHERE name = 'second')),
          (SELECT (pg_temp.counted() ->> 'mean_health', pg_temp.counted() ->> 'open_gaps')::text),
          'cycle_history shows them (registry_mean_health, registry_open_gaps)');

-- writes outside a cycle: a hand edit, a delete
UPDATE sigsync.signal_health_metrics SET health_score = 3, gap_count = gap_count + 5 WHERE symbol IN ('HT3', 'HT4');
DELETE FROM sigsync.signal_health_metrics WHERE symbol = 'HT5';
INSERT INTO run VALUES ('third', sigsync.reconcile('2025-12-12 15:33:00+00'));
SELECT is(pg_temp.recorded('third'), pg_temp.counted(), 'hand updates and a delete are counted too');
SELECT ok((SELECT count(*) FROM sigsync.health_totals) = 1, 'a cycle folds the deltas into one row');
-- a truncate, and one undone
SAVEPOINT s;
TRUNCATE sigsync.signal_health_metrics;
INSERT INTO run VALUES ('truncated', sigsync.reconcile('2025-12-12 15:34:00+00'));
SELECT is(pg_temp.recorded('truncated'), pg_temp.counted(), 'after a truncate and a cycle: the figures again');
ROLLBACK TO SAVEPOINT s;
INSERT INTO run VALUES ('fourth', sigsync.reconcile('2025-12-12 15:35:00+00'));
SELECT is(pg_temp.recorded('fourth'), pg_temp.counted(), 'a truncate undone is undone in the figures too');

SELECT * FROM finish();
ROLLBACK;
