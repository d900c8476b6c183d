-- 21_gaps: the gap rules of DESIGN §5 and the health score of §9. Each of the nine gap types
-- (plus missed_exit and anomaly) is seen open and then closed, by an event or by a fill.
-- "Open before the cycle" is read from sigsync._open_gaps (the gap rules, evaluated at a
-- p_now); "after the cycle" from sigsync.signal_health_metrics, which reconcile refreshes.
-- Every scenario has its own symbol (the alternation rule is per symbol). Source 'indicator'
-- gets HEARTBEATs (online: no Tier 2 MFE); source 'feed2' never does (offline: Tier 2 at once).
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(73);

-- ingest leaves MFE updates to the next cycle (sigsync._queued): pg_temp.ing also projects
-- them, as that cycle's first step does, so the registry reads as the events say
CREATE FUNCTION pg_temp.project_queued() RETURNS integer
LANGUAGE sql AS $$
    SELECT coalesce(sigsync._project_queued(NULL, array_agg(symbol), array_agg(trade_id)), 0)
      FROM sigsync.signals WHERE queued_events IS NOT NULL $$;
CREATE FUNCTION pg_temp.ing(p text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_status text := sigsync.ingest(p) ->> 'status';
BEGIN
    PERFORM pg_temp.project_queued();
    RETURN v_status;
END $$;
CREATE FUNCTION pg_temp.sig(p_symbol text, p_trade_id text) RETURNS sigsync.signals
LANGUAGE sql AS $$ SELECT s.* FROM sigsync.signals s WHERE s.symbol = p_symbol AND s.trade_id = p_trade_id $$;
-- a field's provenance row (sigsync.signal_provenance) of a signal
CREATE FUNCTION pg_temp.field_prov(p_sig sigsync.signals, p_field text) RETURNS sigsync.signal_provenance
LANGUAGE sql AS $$ SELECT p.* FROM sigsync.signal_provenance p
                    WHERE p.symbol = p_sig.symbol AND p.trade_id = p_sig.trade_id AND p.field = p_field $$;
CREATE FUNCTION pg_temp.health(p_symbol text, p_trade_id text) RETURNS sigsync.signal_health_metrics
LANGUAGE sql AS $$ SELECT m.* FROM sigsync.signal_health_metrics m WHERE m.symbol = p_symbol AND m.trade_id = p_trade_id $$;
CREATE FUNCTION pg_temp.open_gaps(p_now timestamptz, p_symbol text, p_trade_id text) RETURNS text[]
LANGUAGE sql AS $$
    SELECT coalesce(array_agg(g ORDER BY g), '{}')
      FROM sigsync._open_gaps(p_now, ARRAY[p_symbol], ARRAY[p_trade_id]) o, jsonb_object_keys(o.gaps) g
$$;
CREATE FUNCTION pg_temp.stored_gaps(p_symbol text, p_trade_id text) RETURNS text[]
LANGUAGE sql AS $$
    SELECT coalesce(array_agg(g ORDER BY g), '{}')
      FROM sigsync.signal_health_metrics m, jsonb_object_keys(m.gaps) g
     WHERE m.symbol = p_symbol AND m.trade_id = p_trade_id
$$;
CREATE TEMP TABLE run (name text PRIMARY KEY, res jsonb) ON COMMIT DROP;

-- All trade_ids are 20251212_100000000 (10:00 ET = 15:00Z) unless named otherwise.
-- ---------------------------------------------------------------------------------------------
-- Setup for the first cycle at 15:05Z
-- ---------------------------------------------------------------------------------------------
SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"HEARTBEAT","tracked_signals":5,"indicator_version":"1.0.0","timestamp":"2025-12-12T15:04:00Z"}'),
    -- G1 no_mfe_update, indicator online
    pg_temp.ing('{"event_type":"ENTRY","symbol":"G1","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"session":"NY AM","timestamp":"2025-12-12T15:00:00Z"}'),
    -- G1B no_mfe_update / no_targets closed by Tier 2 fills (offline source, a recent bar)
    pg_temp.ing('{"event_type":"ENTRY","symbol":"G1B","source":"feed2","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"session":"NY AM","timestamp":"2025-12-12T15:00:00Z"}'),
    -- G2 no_entry_price, G3 no_stop_loss
    pg_temp.ing('{"event_type":"ENTRY","symbol":"G2","trade_id":"20251212_100000000_BULLISH","stop_loss":90,"session":"NY AM","timestamp":"2025-12-12T15:00:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","symbol":"G3","trade_id":"20251212_100000000_BULLISH","entry_price":100,"session":"NY AM","timestamp":"2025-12-12T15:00:00Z"}'),
    -- G3B closed without ENTRY, G3C pending
    pg_temp.ing('{"event_type":"EXIT_SL","symbol":"G3B","trade_id":"20251212_100000000_BULLISH","exit_price":90,"timestamp":"2025-12-12T15:03:00Z"}'),
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"G3C","trade_id":"20251212_100000000_BULLISH","signal_time":"2025-12-12T15:00:00Z","direction":"Bullish","session":"NY AM","htf_alignment":{"daily":"Bullish"},"timestamp":"2025-12-12T15:00:00Z"}'),
    -- G4 no_mae online, G4B no_mae offline
    pg_temp.ing('{"event_type":"ENTRY","symbol":"G4","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"session":"NY AM","timestamp":"2025-12-12T15:00:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","symbol":"G4B","source":"feed2","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"session":"NY AM","timestamp":"2025-12-12T15:00:00Z"}'),
    -- G5 no_session / no_signal_date / no_confirmation_time closed by Tier 3 fills
    pg_temp.ing('{"event_type":"ENTRY","symbol":"G5","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:02:00Z"}'),
    -- G5B the same gaps closed by events
    pg_temp.ing('{"event_type":"ENTRY","symbol":"G5B","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:02:00Z"}'),
    -- G6 no_htf_alignment
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"G6","trade_id":"20251212_100000000_BULLISH","signal_time":"2025-12-12T15:00:00Z","direction":"Bullish","session":"NY AM","timestamp":"2025-12-12T15:00:00Z"}'),
    -- G9 missed_exit closed by the inferred exit, G9B by a real exit
    pg_temp.ing('{"event_type":"ENTRY","symbol":"G9","source":"feed2","trade_id":"20251212_100000000_BULLISH","direction":"Bullish","entry_price":100,"stop_loss":90,"session":"NY AM","timestamp":"2025-12-12T15:00:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","symbol":"G9B","source":"feed2","trade_id":"20251212_100000000_BULLISH","direction":"Bullish","entry_price":100,"stop_loss":90,"session":"NY AM","timestamp":"2025-12-12T15:00:00Z"}'),
    -- G10 anomaly: an MFE below an earlier MFE
    pg_temp.ing('{"event_type":"ENTRY","symbol":"G10","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"session":"NY AM","timestamp":"2025-12-12T15:00:00Z"}'),
    pg_temp.ing('{"event_type":"MFE_UPDATE","symbol":"G10","trade_id":"20251212_100000000_BULLISH","be_mfe":1.0,"no_be_mfe":1.0,"mae_global_r":-0.1,"timestamp":"2025-12-12T15:02:00Z"}'),
    pg_temp.ing('{"event_type":"MFE_UPDATE","symbol":"G10","trade_id":"20251212_100000000_BULLISH","be_mfe":0.5,"no_be_mfe":0.5,"mae_global_r":-0.1,"timestamp":"2025-12-12T15:03:00Z"}')
    ], array_fill('accepted'::text, ARRAY[17]), 'setup events accepted');
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close) VALUES
    ('G1B', '2025-12-12 15:04:00+00', 100, 104, 99, 103),
    ('G9',  '2025-12-12 15:01:00+00', 100, 102, 99, 101),
    ('G9',  '2025-12-12 15:02:00+00', 101, 101, 89, 92),
    ('G9B', '2025-12-12 15:01:00+00', 100, 102, 99, 101),
    ('G9B', '2025-12-12 15:02:00+00', 101, 101, 89, 92);

-- no_mfe_update: "older than mfe_stale_after (2 minutes)" -- strictly older ---------------------
SELECT ok(NOT 'no_mfe_update' = ANY (pg_temp.open_gaps('2025-12-12 15:02:00+00', 'G1', '20251212_100000000_BULLISH')),
          'no_mfe_update: not open when the confirmation is exactly 2 minutes old');
SELECT ok('no_mfe_update' = ANY (pg_temp.open_gaps('2025-12-12 15:02:00.001+00', 'G1', '20251212_100000000_BULLISH')),
          'no_mfe_update: open when the confirmation (no MFE yet) is older than 2 minutes');
SELECT ok('no_mfe_update' = ANY (pg_temp.open_gaps('2025-12-12 15:05:00+00', 'G1B', '20251212_100000000_BULLISH')),
          'no_mfe_update open for G1B before the cycle');
SELECT ok('no_targets' = ANY (pg_temp.open_gaps('2025-12-12 15:05:00+00', 'G1B', '20251212_100000000_BULLISH')),
          'no_targets open before the cycle (entry and stop known, no targets yet)');
SELECT ok('no_entry_price' = ANY (pg_temp.open_gaps('2025-12-12 15:05:00+00', 'G2', '20251212_100000000_BULLISH')),
          'no_entry_price open for an active signal without entry_price');
SELECT ok('no_stop_loss' = ANY (pg_temp.open_gaps('2025-12-12 15:05:00+00', 'G3', '20251212_100000000_BULLISH')),
          'no_stop_loss open for an active signal without stop_loss');
SELECT ok(ARRAY['no_entry_price','no_stop_loss','no_confirmation_time','no_targets'] <@ pg_temp.open_gaps('2025-12-12 15:05:00+00', 'G3B', '20251212_100000000_BULLISH'),
          'a closed signal (EXIT_SL, no ENTRY) has no_entry_price, no_stop_loss, no_confirmation_time, no_targets');
SELECT is(pg_temp.open_gaps('2025-12-12 15:05:00+00', 'G3C', '20251212_100000000_BULLISH'), '{}'::text[],
          'a pending signal with its SIGNAL_CREATED fields has no gap (entry/stop/targets/confirmation only for active/closed)');
SELECT ok(NOT 'no_mae' = ANY (pg_temp.open_gaps('2025-12-12 15:05:00+00', 'G4', '20251212_100000000_BULLISH')),
          'no_mae: not open before any MFE update');
SELECT is(ARRAY[pg_temp.ing('{"event_type":"MFE_UPDATE","symbol":"G4","trade_id":"20251212_100000000_BULLISH","be_mfe":0.5,"no_be_mfe":0.5,"timestamp":"2025-12-12T15:04:30Z"}'),
                pg_temp.ing('{"event_type":"MFE_UPDATE","symbol":"G4B","source":"feed2","trade_id":"20251212_100000000_BULLISH","be_mfe":0.5,"no_be_mfe":0.5,"timestamp":"2025-12-12T15:04:30Z"}')],
          ARRAY['accepted','accepted'], 'MFE updates without mae_global_r accepted');
SELECT ok('no_mae' = ANY (pg_temp.open_gaps('2025-12-12 15:05:00+00', 'G4', '20251212_100000000_BULLISH')),
          'no_mae open: an MFE update came, mae_global_r is null');
SELECT ok('no_mae' = ANY (pg_temp.open_gaps('2025-12-12 15:05:00+00', 'G4B', '20251212_100000000_BULLISH')),
          'no_mae open for G4B before the cycle');
SELECT is(pg_temp.open_gaps('2025-12-12 15:03:00+00', 'G5', '20251212_100000000_BULLISH'),
          ARRAY['no_confirmation_time','no_htf_alignment','no_session','no_signal_date','no_targets'],
          'G5 before the cycle: no_session, no_signal_date, no_confirmation_time (bars), no_htf_alignment, no_targets');
SELECT is(pg_temp.open_gaps('2025-12-12 15:03:00+00', 'G5B', '20251212_100000000_BULLISH'),
          ARRAY['no_confirmation_time','no_htf_alignment','no_session','no_signal_date','no_targets'],
          'G5B: the same gaps open');
SELECT is(ARRAY[pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"G5B","trade_id":"20251212_100000000_BULLISH","signal_time":"2025-12-12T15:00:00Z","direction":"Bullish","session":"NY AM","htf_alignment":{"daily":"Bearish"},"timestamp":"2025-12-12T15:00:00Z"}'),
                pg_temp.ing('{"event_type":"ENTRY","symbol":"G5B","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"bars_to_confirmation":2,"timestamp":"2025-12-12T15:02:00Z"}')],
          ARRAY['accepted','accepted'], 'G5B: SIGNAL_CREATED and an ENTRY with bars_to_confirmation accepted');
SELECT is(pg_temp.open_gaps('2025-12-12 15:03:00+00', 'G5B', '20251212_100000000_BULLISH'), ARRAY['no_targets'],
          'G5B: session, signal date, htf and confirmation gaps closed by events alone (no cycle yet)');
SELECT ok('missed_exit' = ANY (pg_temp.open_gaps('2025-12-12 15:05:00+00', 'G9', '20251212_100000000_BULLISH')),
          'missed_exit open: a bar reached the stop, no exit event');
SELECT ok('missed_exit' = ANY (pg_temp.open_gaps('2025-12-12 15:05:00+00', 'G9B', '20251212_100000000_BULLISH')),
          'missed_exit open for G9B');
SELECT ok(NOT 'missed_exit' = ANY (pg_temp.open_gaps('2025-12-12 15:01:30+00', 'G9', '20251212_100000000_BULLISH')),
          'missed_exit: bars after p_now do not count');
SELECT is(pg_temp.ing('{"event_type":"EXIT_SL","symbol":"G9B","source":"feed2","trade_id":"20251212_100000000_BULLISH","exit_price":90,"final_mfe":0.2,"timestamp":"2025-12-12T15:02:00Z"}'),
          'accepted', 'G9B: the real EXIT_SL accepted');
SELECT ok(NOT 'missed_exit' = ANY (pg_temp.open_gaps('2025-12-12 15:05:00+00', 'G9B', '20251212_100000000_BULLISH')),
          'missed_exit closed by the real exit event');
SELECT ok('anomaly' = ANY (pg_temp.open_gaps('2025-12-12 15:05:00+00', 'G10', '20251212_100000000_BULLISH')),
          'anomaly open: an MFE update below an earlier one awaits review');

-- ---------------------------------------------------------------------------------------------
-- Cycle 1 at 15:05Z
-- ---------------------------------------------------------------------------------------------
INSERT INTO run VALUES ('c1', sigsync.reconcile(p_now => '2025-12-12 15:05:00+00'));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'c1'), 'ok', 'cycle 1 ok');
SELECT is(pg_temp.stored_gaps('G1', '20251212_100000000_BULLISH'), ARRAY['no_htf_alignment','no_mfe_update'],
          'G1 after cycle 1: no_mfe_update stays open (indicator online: no Tier 2), no_htf_alignment');
SELECT is((pg_temp.health('G1', '20251212_100000000_BULLISH')).gaps,
          '{"no_mfe_update": "2025-12-12T15:05:00+00:00", "no_htf_alignment": "2025-12-12T15:05:00+00:00"}'::jsonb,
          'signal_health_metrics.gaps: gap type -> the time it was first seen open');
SELECT is((pg_temp.health('G1', '20251212_100000000_BULLISH')).gap_count, 2, 'G1 gap_count 2');
-- 100 - no_mfe_update 15 - no_htf_alignment 10 - targets (0.8) 10x0.2 - signal_date (0.9) 10x0.1
-- - bars_to_confirmation (0.9) 10x0.1 = 71
SELECT is((pg_temp.health('G1', '20251212_100000000_BULLISH')).health_score, 71, 'G1 health 71');
SELECT is(pg_temp.stored_gaps('G1B', '20251212_100000000_BULLISH'), ARRAY['no_htf_alignment'],
          'G1B after cycle 1: no_mfe_update and no_targets closed by Tier 2 fills');
SELECT is((pg_temp.field_prov(pg_temp.sig('G1B', '20251212_100000000_BULLISH'), 'be_mfe')).at, '2025-12-12T15:04:00+00:00',
          'G1B: the Tier 2 MFE is as of its last bar (15:04), fresh at 15:05');
SELECT ok('no_entry_price' = ANY (pg_temp.stored_gaps('G2', '20251212_100000000_BULLISH')), 'G2: no_entry_price still open (nothing can fill it)');
SELECT ok('no_targets' = ANY (pg_temp.stored_gaps('G2', '20251212_100000000_BULLISH')), 'G2: no_targets stays open without entry_price');
SELECT ok('no_stop_loss' = ANY (pg_temp.stored_gaps('G3', '20251212_100000000_BULLISH')), 'G3: no_stop_loss still open');
SELECT is(pg_temp.stored_gaps('G3B', '20251212_100000000_BULLISH'),
          ARRAY['no_confirmation_time','no_entry_price','no_htf_alignment','no_stop_loss','no_targets'],
          'G3B (closed, no ENTRY): its gaps after the cycle');
SELECT is((pg_temp.health('G3C', '20251212_100000000_BULLISH')).health_score, 100, 'G3C pending with all SIGNAL_CREATED fields: health 100');
SELECT ok('no_mae' = ANY (pg_temp.stored_gaps('G4', '20251212_100000000_BULLISH')), 'G4: no_mae stays open (online: left to the indicator)');
SELECT ok(NOT 'no_mae' = ANY (pg_temp.stored_gaps('G4B', '20251212_100000000_BULLISH')), 'G4B: no_mae closed by the Tier 2 fill (offline)');
SELECT is((pg_temp.sig('G4B', '20251212_100000000_BULLISH')).mae_global_r, 0::numeric, 'G4B: Tier 2 MAE 0 (no bars)');
SELECT is(pg_temp.stored_gaps('G5', '20251212_100000000_BULLISH'), ARRAY['no_htf_alignment','no_mfe_update'],
          'G5: session, signal date, confirmation (bars) and targets closed by Tier 3 / Tier 2 fills; htf (and stale MFE) remain');
SELECT is(pg_temp.stored_gaps('G6', '20251212_100000000_BULLISH'), ARRAY['no_htf_alignment'], 'G6: no_htf_alignment open');
SELECT is((pg_temp.health('G6', '20251212_100000000_BULLISH')).health_score, 90, 'G6: health 100 - 10 (no_htf_alignment)');
SELECT is((pg_temp.sig('G9', '20251212_100000000_BULLISH')).status, 'closed', 'G9: the missed exit is filled (inferred EXIT_SL)');
SELECT ok(NOT 'missed_exit' = ANY (pg_temp.stored_gaps('G9', '20251212_100000000_BULLISH')), 'G9: missed_exit closed by the fill');
SELECT ok('anomaly' = ANY (pg_temp.stored_gaps('G10', '20251212_100000000_BULLISH')), 'G10: anomaly open after the cycle');
SELECT is((SELECT (res -> 'gaps_before' ->> 'missed_exit')::integer FROM run WHERE name = 'c1'), 1,
          'cycle 1 summary: one missed_exit before (G9; G9B had its real exit)');
SELECT ok(NOT (SELECT res -> 'gaps_after' FROM run WHERE name = 'c1') ? 'missed_exit', 'cycle 1 summary: no missed_exit after');
SELECT is((SELECT gaps_after FROM sync_runs WHERE id = (SELECT (res ->> 'run_id')::bigint FROM run WHERE name = 'c1')),
          (SELECT res -> 'gaps_after' FROM run WHERE name = 'c1'), 'sync_runs.gaps_after = the summary''s');

-- ---------------------------------------------------------------------------------------------
-- Events closing gaps, then cycle 2 at 15:06Z
-- ---------------------------------------------------------------------------------------------
SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"HEARTBEAT","tracked_signals":5,"indicator_version":"1.0.0","timestamp":"2025-12-12T15:05:45Z"}'),
    pg_temp.ing('{"event_type":"MFE_UPDATE","symbol":"G1","trade_id":"20251212_100000000_BULLISH","be_mfe":0.5,"no_be_mfe":0.5,"mae_global_r":-0.1,"timestamp":"2025-12-12T15:05:30Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","symbol":"G2","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"session":"NY AM","timestamp":"2025-12-12T15:00:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","symbol":"G3","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"session":"NY AM","timestamp":"2025-12-12T15:00:00Z"}'),
    pg_temp.ing('{"event_type":"MFE_UPDATE","symbol":"G4","trade_id":"20251212_100000000_BULLISH","be_mfe":0.6,"no_be_mfe":0.6,"mae_global_r":-0.2,"timestamp":"2025-12-12T15:05:30Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","symbol":"G6","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"htf_alignment":{"daily":"Bullish"},"timestamp":"2025-12-12T15:05:00Z"}')],
    array_fill('accepted'::text, ARRAY[6]), 'closing events accepted');
UPDATE sigsync.sync_audit_log SET reviewed_at = '2025-12-12 15:05:30+00'
 WHERE symbol = 'G10' AND trade_id = '20251212_100000000_BULLISH' AND action_type = 'anomaly';
INSERT INTO run VALUES ('c2', sigsync.reconcile(p_now => '2025-12-12 15:06:00+00'));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'c2'), 'ok', 'cycle 2 ok');
SELECT is((pg_temp.health('G1', '20251212_100000000_BULLISH')).gaps, '{"no_htf_alignment": "2025-12-12T15:05:00+00:00"}'::jsonb,
          'G1: no_mfe_update closed by the MFE_UPDATE; the remaining gap keeps its first-seen time');
SELECT is((pg_temp.health('G1', '20251212_100000000_BULLISH')).health_score, 86, 'G1 health 100 - 10 - 2 - 1 - 1 = 86');
SELECT is((pg_temp.health('G1', '20251212_100000000_BULLISH')).gap_count, 1, 'G1 gap_count 1');
SELECT ok(NOT ARRAY['no_entry_price','no_targets'] && pg_temp.stored_gaps('G2', '20251212_100000000_BULLISH'),
          'G2: no_entry_price closed by the second ENTRY, no_targets by the Tier 2 fill that follows');
SELECT ok(NOT ARRAY['no_stop_loss','no_targets'] && pg_temp.stored_gaps('G3', '20251212_100000000_BULLISH'),
          'G3: no_stop_loss closed by the second ENTRY, no_targets by the fill');
SELECT ok(NOT 'no_mae' = ANY (pg_temp.stored_gaps('G4', '20251212_100000000_BULLISH')), 'G4: no_mae closed by the MFE update with MAE');
SELECT ok(NOT 'no_htf_alignment' = ANY (pg_temp.stored_gaps('G6', '20251212_100000000_BULLISH')), 'G6: no_htf_alignment closed by the ENTRY carrying it');
SELECT ok(NOT 'anomaly' = ANY (pg_temp.stored_gaps('G10', '20251212_100000000_BULLISH')), 'G10: anomaly closed once the audit rows are reviewed');
SELECT ok((SELECT (res -> 'gaps_after' ->> 'anomaly')::integer FROM run WHERE name = 'c1') = 1
          AND NOT (SELECT res -> 'gaps_after' FROM run WHERE name = 'c2') ? 'anomaly',
          'summaries: one anomaly after cycle 1, none after cycle 2');
SELECT ok((SELECT (res -> 'gaps_before' ->> 'no_session')::integer FROM run WHERE name = 'c1') = 2
          AND NOT (SELECT res -> 'gaps_after' FROM run WHERE name = 'c1') ? 'no_session'
          AND (SELECT (res ->> 'gaps_closed')::integer FROM run WHERE name = 'c1') > 0,
          'cycle 1 summary: no_session 2 before (G5, G3B), none after; gaps_closed counted');

-- ---------------------------------------------------------------------------------------------
-- calculate_signal_health_score (DESIGN §9): weights from gap_types (the nine sum to 100)
-- ---------------------------------------------------------------------------------------------
SELECT is((SELECT sum(weight)::integer FROM gap_types WHERE core), 100, 'the nine core gap weights sum to 100');
SELECT is(calculate_signal_health_score('[]'), 100, 'no gaps: 100');
SELECT is(calculate_signal_health_score('{}'), 100, 'empty object: 100');
SELECT is(calculate_signal_health_score('["no_htf_alignment", "no_confirmation_time"]'), 80, 'array of gap types: 100 - 10 - 10');
SELECT is(calculate_signal_health_score('["no_mfe_update", "no_entry_price", "no_stop_loss", "no_mae", "no_session", "no_signal_date", "no_htf_alignment", "no_targets", "no_confirmation_time"]'),
          0, 'all nine open: 0');
SELECT is(calculate_signal_health_score('["no_mfe_update", "no_entry_price", "no_stop_loss", "no_mae", "no_session", "no_signal_date", "no_htf_alignment", "no_targets", "no_confirmation_time", "missed_exit", "anomaly"]'),
          0, 'more than 100 of weight: clamped at 0');
SELECT is(calculate_signal_health_score('{"no_mfe_update": "2025-12-12T15:05:00+00:00", "no_session": true}'), 80,
          'object form (gap -> since / true): 100 - 15 - 5');
SELECT is(calculate_signal_health_score('{"no_mfe_update": false, "no_session": null}'), 100, 'false / null values are not open gaps');
SELECT is(calculate_signal_health_score('["missed_exit"]'), 80, 'missed_exit weighs 20');
SELECT is(calculate_signal_health_score('["anomaly"]'), 90, 'anomaly weighs 10');
SELECT is(calculate_signal_health_score('{"confidence": {"no_targets": 0.8}}'), 98, 'a fill at 0.8: minus weight 10 x 0.2');
SELECT is(calculate_signal_health_score('{"confidence": {"targets_extended": 0.8}}'), 98, 'confidence keyed by field name works too');
-- DESIGN §9 says "weight x (1 - confidence) for each field filled below 1.0"; the weight belongs to
-- the gap type, and the implementation deducts it once per gap type at its lowest confidence (so
-- a filled gap never costs more than an open one). The health numbers in 20/21 use this reading.
SELECT is(calculate_signal_health_score('{"confidence": {"be_mfe": 0.8, "no_be_mfe": 0.9}}'), 97,
          'two fields of one gap type: the lowest confidence counts once (15 x 0.2)');
SELECT is(calculate_signal_health_score('{"no_mfe_update": true, "confidence": {"no_mfe_update": 0.8, "no_mae": 0.8}}'), 83,
          'an open gap is not also deducted for its confidence: 100 - 15 - 10 x 0.2');
SELECT * FROM finish();
ROLLBACK;
