-- 25_cycle: the reconcile cycle as a whole (DESIGN §2, §9, §10): the summary and its
-- sync_runs row; a second cycle at the same p_now is a no-op (no audit row, no change);
-- incremental cycles process the changed and the due signals only; rebuild() followed by
-- reconcile(p_full => true) restores the registry; update_signal_health(trade_id) refreshes
-- one signal's row. (Single-flight needs two sessions -- an advisory lock is re-entrant within
-- one -- so it is not tested here.)
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(41);

CREATE FUNCTION pg_temp.ing(p text) RETURNS text
LANGUAGE sql AS $$ SELECT sigsync.ingest(p) ->> 'status' $$;
CREATE TEMP TABLE run (name text PRIMARY KEY, res jsonb) ON COMMIT DROP;
CREATE FUNCTION pg_temp.run_id(p_name text) RETURNS bigint
LANGUAGE sql AS $$ SELECT (res ->> 'run_id')::bigint FROM run WHERE name = p_name $$;
-- the key registry columns plus each field's provenance (without the wall-clock filled_at)
CREATE VIEW pg_temp.reg AS
SELECT s.symbol, s.trade_id, s.status, s.direction, s.signal_time, s.signal_date, s.session, s.htf_alignment,
       s.confirmation_time, s.bars_to_confirmation, s.entry_price, s.stop_loss, s.targets_extended,
       s.be_mfe, s.no_be_mfe, s.mae_global_r, s.be_triggered_at, s.be_exit_time, s.exit_type, s.exit_time,
       s.exit_price, s.final_mfe, s.cancelled_at, s.cancelled_by, s.cancel_reason, s.bars_pending, s.cancel_detection,
       (SELECT jsonb_object_agg(p.field, to_jsonb(p) - 'filled_at') FROM sigsync.signal_provenance p
         WHERE p.symbol = s.symbol AND p.trade_id = s.trade_id) AS provenance
  FROM sigsync.signals s;

SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"HEARTBEAT","tracked_signals":1,"indicator_version":"1.0.0","timestamp":"2025-12-12T15:09:00Z"}'),
    -- CYA: complete lifecycle, closed by a real EXIT_SL
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"CYA","trade_id":"20251212_094500000_BULLISH","signal_time":"2025-12-12T14:45:00Z","direction":"Bullish","session":"NY AM","htf_alignment":{"daily":"Bullish"},"timestamp":"2025-12-12T14:45:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","symbol":"CYA","trade_id":"20251212_094500000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T14:46:00Z"}'),
    pg_temp.ing('{"event_type":"MFE_UPDATE","symbol":"CYA","trade_id":"20251212_094500000_BULLISH","be_mfe":0.4,"no_be_mfe":0.4,"mae_global_r":-0.3,"timestamp":"2025-12-12T14:47:00Z"}'),
    pg_temp.ing('{"event_type":"EXIT_SL","symbol":"CYA","trade_id":"20251212_094500000_BULLISH","exit_price":90,"final_mfe":0.4,"timestamp":"2025-12-12T14:49:00Z"}'),
    -- CYB: offline, active, Tier 2 MFE and an inferred BE trigger
    pg_temp.ing('{"event_type":"ENTRY","symbol":"CYB","source":"feed2","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:00:00Z"}'),
    -- CYC: offline, the bars show the stop: inferred EXIT_SL
    pg_temp.ing('{"event_type":"ENTRY","symbol":"CYC","source":"feed2","trade_id":"20251212_100000000_BEARISH","entry_price":100,"stop_loss":110,"timestamp":"2025-12-12T15:00:00Z"}'),
    -- CYD: inferred cancellation
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"CYD","trade_id":"20251212_100000000_BULLISH","timestamp":"2025-12-12T15:00:00Z"}'),
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"CYD","trade_id":"20251212_100300000_BEARISH","timestamp":"2025-12-12T15:03:00Z"}'),
    -- CYE: explicit CANCELLED plus ENTRY (conflict)
    pg_temp.ing('{"event_type":"ENTRY","symbol":"CYE","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:01:00Z"}'),
    pg_temp.ing('{"event_type":"CANCELLED","symbol":"CYE","trade_id":"20251212_100000000_BULLISH","cancelled_time":"2025-12-12T15:02:00Z","bars_pending":2}'),
    -- CYF: an MFE anomaly
    pg_temp.ing('{"event_type":"ENTRY","symbol":"CYF","trade_id":"20251212_100000000_BEARISH","entry_price":100,"stop_loss":110,"timestamp":"2025-12-12T15:00:00Z"}'),
    pg_temp.ing('{"event_type":"MFE_UPDATE","symbol":"CYF","trade_id":"20251212_100000000_BEARISH","be_mfe":0.9,"no_be_mfe":0.9,"mae_global_r":-0.1,"timestamp":"2025-12-12T15:08:00Z"}'),
    pg_temp.ing('{"event_type":"MFE_UPDATE","symbol":"CYF","trade_id":"20251212_100000000_BEARISH","be_mfe":0.5,"no_be_mfe":0.5,"mae_global_r":-0.1,"timestamp":"2025-12-12T15:09:00Z"}'),
    -- CYG: online, stale MFE: a sync request
    pg_temp.ing('{"event_type":"ENTRY","symbol":"CYG","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:00:00Z"}'),
    -- CYH: pending
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"CYH","trade_id":"20251212_100000000_BULLISH","timestamp":"2025-12-12T15:00:00Z"}')
    ], array_fill('accepted'::text, ARRAY[16]), 'setup events accepted');
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close) VALUES
    ('CYB', '2025-12-12 15:01:00+00', 100, 111, 99, 110),
    ('CYB', '2025-12-12 15:02:00+00', 110, 112, 104, 111),
    ('CYB', '2025-12-12 15:09:00+00', 111, 112, 105, 106),
    ('CYC', '2025-12-12 15:01:00+00', 100, 103, 96, 102),
    ('CYC', '2025-12-12 15:02:00+00', 102, 111, 101, 110);

-- ---------------------------------------------------------------------------------------------
-- cycle 1: the summary and its sync_runs row
-- ---------------------------------------------------------------------------------------------
INSERT INTO run VALUES ('c1', sigsync.reconcile(p_now => '2025-12-12 15:10:00+00'));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'c1'), 'ok', 'cycle 1: status ok');
SELECT ok((SELECT res ?& ARRAY['gaps_before', 'gaps_after', 'fills_by_tier', 'cancellations_inferred', 'anomalies', 'duration_ms', 'run_id']
             FROM run WHERE name = 'c1'), 'cycle 1: the summary has its keys');
SELECT is((SELECT jsonb_typeof(res -> 'gaps_before') || jsonb_typeof(res -> 'gaps_after') || jsonb_typeof(res -> 'fills_by_tier')
             FROM run WHERE name = 'c1'), 'objectobjectobject', 'gaps_before, gaps_after, fills_by_tier are objects');
SELECT ok((SELECT (res ->> 'duration_ms')::numeric >= 0 FROM run WHERE name = 'c1'), 'duration_ms is a number >= 0');
SELECT is((SELECT (res ->> 'cancellations_inferred')::integer FROM run WHERE name = 'c1'), 1, 'cancellations_inferred 1 (CYD)');
-- the CYE conflict is audited in this cycle; the CYF anomaly was audited by ingest
SELECT is((SELECT (res ->> 'anomalies')::integer FROM run WHERE name = 'c1'), 1, 'anomalies: the one conflict noticed in this cycle (CYE)');
SELECT ok((SELECT (res -> 'fills_by_tier' ->> '2')::integer > 0 AND (res -> 'fills_by_tier' ->> '3')::integer > 0
                  AND (res -> 'fills_by_tier' ->> 'rule')::integer = 5 FROM run WHERE name = 'c1'),
          'fills_by_tier counts tiers 2, 3 and rule (5 cancellation fields)');
SELECT is((SELECT (res -> 'fills_by_tier' ->> '2')::integer FROM run WHERE name = 'c1'),
          (SELECT count(*)::integer FROM sync_audit_log WHERE run_id = pg_temp.run_id('c1') AND tier = '2'
              AND action_type IN ('fill', 'upgrade', 'refresh')), 'fills_by_tier.2 = the Tier 2 audit rows of the run');
SELECT is((SELECT ARRAY[r.status, r.trigger, r.p_now::text, r.full_cycle::text] FROM sync_runs r WHERE r.id = pg_temp.run_id('c1')),
          ARRAY['ok', 'manual', '2025-12-12 15:10:00+00', 'false'], 'sync_runs row: ok, manual, p_now, not full');
SELECT is((SELECT r.summary FROM sync_runs r WHERE r.id = pg_temp.run_id('c1')), (SELECT res FROM run WHERE name = 'c1'),
          'sync_runs.summary is the returned summary');
SELECT ok((SELECT r.gaps_before = (SELECT res -> 'gaps_before' FROM run WHERE name = 'c1')
              AND r.gaps_after = (SELECT res -> 'gaps_after' FROM run WHERE name = 'c1')
              AND r.fills_by_tier = (SELECT res -> 'fills_by_tier' FROM run WHERE name = 'c1')
              AND r.finished_at IS NOT NULL AND r.duration_ms IS NOT NULL
             FROM sync_runs r WHERE r.id = pg_temp.run_id('c1')), 'sync_runs row: counts before/after, fills, finish time, duration');
SELECT is((SELECT (res ->> 'signals_processed')::integer FROM run WHERE name = 'c1'), 9, 'cycle 1 processed all nine (new) signals');
SELECT is((SELECT count(*)::integer FROM signals WHERE dirty), 0, 'cycle 1 cleared every work mark');
SELECT is((SELECT count(*)::integer FROM signal_health_metrics), 9, 'one signal_health_metrics row per signal');

-- ---------------------------------------------------------------------------------------------
-- cycle 2 at the same p_now: nothing to do
-- ---------------------------------------------------------------------------------------------
CREATE TEMP TABLE snap_sig ON COMMIT DROP AS SELECT to_jsonb(s) AS r FROM sigsync.signals s;
CREATE TEMP TABLE snap_health ON COMMIT DROP AS SELECT to_jsonb(m) AS r FROM sigsync.signal_health_metrics m;
CREATE TEMP TABLE snap_req ON COMMIT DROP AS SELECT to_jsonb(q) AS r FROM sigsync.sync_requests q;
CREATE TEMP TABLE snap_audit ON COMMIT DROP AS SELECT count(*) AS n FROM sigsync.sync_audit_log;
INSERT INTO run VALUES ('c2', sigsync.reconcile(p_now => '2025-12-12 15:10:00+00'));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'c2'), 'ok', 'cycle 2: status ok');
SELECT is((SELECT count(*)::integer FROM sync_audit_log WHERE run_id = pg_temp.run_id('c2')), 0, 'cycle 2 writes no audit row');
SELECT is((SELECT count(*) FROM sync_audit_log), (SELECT n FROM snap_audit), 'the audit log did not grow');
SELECT bag_eq('SELECT to_jsonb(s) FROM sigsync.signals s', 'SELECT r FROM snap_sig', 'cycle 2 changes no registry row (every column)');
SELECT bag_eq('SELECT to_jsonb(m) FROM sigsync.signal_health_metrics m', 'SELECT r FROM snap_health', 'cycle 2 changes no health row');
SELECT bag_eq('SELECT to_jsonb(q) FROM sigsync.sync_requests q', 'SELECT r FROM snap_req', 'cycle 2 writes no sync request');
SELECT is((SELECT res -> 'fills_by_tier' FROM run WHERE name = 'c2'), '{}'::jsonb, 'cycle 2 summary: no fills');
SELECT is((SELECT (res ->> 'anomalies')::integer + (res ->> 'cancellations_inferred')::integer + (res ->> 'upgrades')::integer
             FROM run WHERE name = 'c2'), 0, 'cycle 2 summary: no anomaly, cancellation or upgrade');
SELECT is((SELECT res -> 'gaps_before' FROM run WHERE name = 'c2'), (SELECT res -> 'gaps_after' FROM run WHERE name = 'c2'),
          'cycle 2: gaps before = gaps after');
-- incremental: nothing dirty and no time-driven check due yet, so nothing is processed, though
-- four signals (CYB, CYE, CYF, CYG) are active
SELECT is((SELECT (res ->> 'signals_processed')::integer FROM run WHERE name = 'c2'), 0,
          'cycle 2 processes no signal: nothing changed and nothing is due');
SELECT is((SELECT array_agg(symbol || ' ' || coalesce(next_check_at::text, '-') ORDER BY symbol)
             FROM signals WHERE status = 'active'),
          ARRAY['CYB 2025-12-12 15:11:00.000001+00', 'CYE -', 'CYF 2025-12-12 15:11:00.000001+00', 'CYG -'],
          '... the four active ones are scheduled: the MFE of CYB (Tier 2, as of its 15:09 bar) and of CYF (event '
          'at 15:09) goes stale just after 15:11; CYE and CYG wait for their open sync request to close');
SELECT is((SELECT count(*)::integer FROM sync_runs WHERE status = 'ok'), 2, 'each cycle is one sync_runs row');

-- one new event: only the dirty signal is processed ------------------------------------------------
SELECT is(pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"CYI","trade_id":"20251212_100500000_BEARISH","timestamp":"2025-12-12T15:05:00Z"}'),
          'accepted', 'a new signal accepted');
INSERT INTO run VALUES ('c3', sigsync.reconcile(p_now => '2025-12-12 15:10:00+00'));
SELECT is((SELECT (res ->> 'signals_processed')::integer FROM run WHERE name = 'c3'), 1, 'cycle 3 processes the 1 dirty signal');
SELECT is((SELECT array_agg(DISTINCT a.symbol) FROM sync_audit_log a WHERE a.run_id = pg_temp.run_id('c3')), ARRAY['CYI'],
          'cycle 3 writes only for the new signal');

-- ---------------------------------------------------------------------------------------------
-- rebuild() + reconcile(p_full => true) restores the registry
-- ---------------------------------------------------------------------------------------------
CREATE TEMP TABLE before_rebuild ON COMMIT DROP AS SELECT * FROM pg_temp.reg;
CREATE TEMP TABLE health_before ON COMMIT DROP AS SELECT symbol, trade_id, health_score FROM sigsync.signal_health_metrics;
SELECT is(sigsync.rebuild(), 10, 'rebuild() re-derives the ten signals from the event log');
SELECT ok((SELECT targets_extended IS NULL AND bars_to_confirmation IS NULL FROM signals WHERE symbol = 'CYB'),
          'after rebuild alone the fills are gone (they come back with the next full cycle)');
SELECT is((SELECT count(*)::integer FROM signal_health_metrics), 10,
          'rebuild keeps signal_health_metrics, so each open gap keeps its since (the next cycle refreshes them)');
INSERT INTO run VALUES ('full', sigsync.reconcile(p_now => '2025-12-12 15:10:00+00', p_full => true));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'full'), 'ok', 'full cycle ok');
SELECT is((SELECT (res ->> 'signals_processed')::integer FROM run WHERE name = 'full'), 10, 'the full cycle processes every signal');
SELECT bag_eq('SELECT * FROM pg_temp.reg', 'SELECT * FROM before_rebuild',
              'rebuild + full reconcile gives the same registry (key columns and provenance)');
SELECT bag_eq('SELECT symbol, trade_id, health_score FROM sigsync.signal_health_metrics', 'SELECT * FROM health_before',
              'and the same health scores');

-- ---------------------------------------------------------------------------------------------
-- update_signal_health(trade_id)
-- ---------------------------------------------------------------------------------------------
-- (it evaluates at now(); CYA is closed, so its gaps do not depend on the time)
UPDATE signal_health_metrics SET health_score = 1, gaps = '{"bogus": true}', gap_count = 7 WHERE symbol IN ('CYA', 'CYH');
SELECT is(sigsync.update_signal_health('20251212_094500000_bullish'), 98,
          'update_signal_health returns the score (trade_id suffix in any case): 100 - targets 10 x 0.2');
SELECT is((SELECT ARRAY[health_score::text, gaps::text, gap_count::text] FROM signal_health_metrics WHERE symbol = 'CYA'),
          ARRAY[(SELECT health_score FROM health_before WHERE symbol = 'CYA')::text, '{}', '0'],
          'the CYA row is recomputed as reconcile had it');
SELECT is((SELECT ARRAY[health_score::text, gaps::text, gap_count::text] FROM signal_health_metrics WHERE symbol = 'CYH'),
          ARRAY['1', '{"bogus": true}', '7'], 'another signal''s row is left alone');
SELECT ok(sigsync.update_signal_health('20251212_094600000_BULLISH') IS NULL, 'an unknown trade_id: NULL');
SELECT * FROM finish();
ROLLBACK;
