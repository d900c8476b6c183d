-- 22_tiers: the fill tiers of DESIGN §6 and their provenance in sigsync.signal_provenance
-- ({"field": {"tier", "confidence", "source", "at", ...}}): event 1.0 ('event:<id>'),
-- Tier 0 1.0, Tier 2 0.8, Tier 3 0.9, the alternation rule 0.9 ('rule:...'); fills never
-- overwrite an event value; a later higher-confidence source upgrades a lower one (audited
-- 'upgrade'); running metrics hold the value with the latest as-of time (Tier 2 refreshes a
-- stale real MFE, a later real update replaces it again); audit rows carry run, old/new
-- value, tier, confidence and reason. One symbol per scenario. Source 'feed2' never sends a
-- HEARTBEAT (offline: Tier 2 fills at once); source 'indicator' is kept online where noted.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(65);

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
-- "tier/confidence/source" of one field
CREATE FUNCTION pg_temp.prov(p_symbol text, p_trade_id text, p_field text) RETURNS text
LANGUAGE sql AS $$
    SELECT p.tier || '/' || p.confidence::text || '/' || p.source
      FROM sigsync.signal_provenance p WHERE p.symbol = p_symbol AND p.trade_id = p_trade_id AND p.field = p_field
$$;
CREATE FUNCTION pg_temp.ev_id(p_symbol text, p_trade_id text, p_type text) RETURNS bigint
LANGUAGE sql AS $$ SELECT min(e.id) FROM sigsync.automated_signals e
                    WHERE e.symbol = p_symbol AND e.trade_id = p_trade_id AND e.event_type = p_type $$;
CREATE FUNCTION pg_temp.audit(p_symbol text, p_trade_id text, p_field text, p_action text) RETURNS SETOF sigsync.sync_audit_log
LANGUAGE sql AS $$ SELECT a.* FROM sigsync.sync_audit_log a
                    WHERE a.symbol = p_symbol AND a.trade_id = p_trade_id AND a.field = p_field AND a.action_type = p_action
                    ORDER BY a.id $$;
CREATE TEMP TABLE run (name text PRIMARY KEY, res jsonb) ON COMMIT DROP;
CREATE FUNCTION pg_temp.run_id(p_name text) RETURNS bigint
LANGUAGE sql AS $$ SELECT (res ->> 'run_id')::bigint FROM run WHERE name = p_name $$;

-- ---------------------------------------------------------------------------------------------
-- Setup, cycle 1 at 15:05Z
-- ---------------------------------------------------------------------------------------------
SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"HEARTBEAT","tracked_signals":3,"indicator_version":"1.0.0","timestamp":"2025-12-12T15:04:30Z"}'),
    -- T0: SIGNAL_CREATED + ENTRY -> Tier 0
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"T0","trade_id":"20251212_100000000_BULLISH","signal_time":"2025-12-12T15:00:00Z","direction":"Bullish","session":"NY AM","htf_alignment":{"daily":"Bullish"},"signal_price":99.5,"timestamp":"2025-12-12T15:00:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","symbol":"T0","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:04:00Z"}'),
    -- T3: ENTRY only -> Tier 3 (Bearish, prices not round: targets are not rounded)
    pg_temp.ing('{"event_type":"ENTRY","symbol":"T3","trade_id":"20251212_100000000_BEARISH","entry_price":25000.25,"stop_loss":25010.5,"htf_alignment":{"daily":"Bearish"},"timestamp":"2025-12-12T15:02:00Z"}'),
    -- T3S: session windows at the edges
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"T3S","trade_id":"20251212_083000000_BULLISH","timestamp":"2025-12-12T13:30:00Z"}'),
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"T3S","trade_id":"20251212_160000000_BULLISH","timestamp":"2025-12-12T21:00:00Z"}'),
    -- EV: event values a fill would compute differently
    pg_temp.ing('{"event_type":"ENTRY","symbol":"EV","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"session":"London","bars_to_confirmation":7,"timestamp":"2025-12-12T15:02:00Z"}'),
    -- UP: ENTRY only at 12:00 ET (Tier 3 session 'NY Lunch'); SIGNAL_CREATED arrives later
    pg_temp.ing('{"event_type":"ENTRY","symbol":"UP","trade_id":"20251212_120000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T17:03:00Z"}'),
    -- CX: alternation rule (pending Bullish, later Bearish)
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"CX","trade_id":"20251212_100000000_BULLISH","signal_time":"2025-12-12T15:00:00Z","direction":"Bullish","timestamp":"2025-12-12T15:00:00Z"}'),
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"CX","trade_id":"20251212_100300000_BEARISH","signal_time":"2025-12-12T15:03:00Z","direction":"Bearish","timestamp":"2025-12-12T15:03:00Z"}'),
    -- IX: offline; the bars show the stop -> inferred EXIT_SL; the real one arrives later
    pg_temp.ing('{"event_type":"ENTRY","symbol":"IX","source":"feed2","trade_id":"20251212_100000000_BULLISH","direction":"Bullish","entry_price":100,"stop_loss":90,"session":"NY AM","timestamp":"2025-12-12T15:00:00Z"}'),
    -- RM: offline; a real MFE at 15:01, bars until 15:03 -> Tier 2 refresh; a real one at 15:03:30
    pg_temp.ing('{"event_type":"ENTRY","symbol":"RM","source":"feed2","trade_id":"20251212_100000000_BULLISH","direction":"Bullish","entry_price":100,"stop_loss":90,"session":"NY AM","timestamp":"2025-12-12T15:00:00Z"}'),
    pg_temp.ing('{"event_type":"MFE_UPDATE","symbol":"RM","source":"feed2","trade_id":"20251212_100000000_BULLISH","be_mfe":0.2,"no_be_mfe":0.2,"mae_global_r":-0.1,"timestamp":"2025-12-12T15:01:00Z"}')
    ], array_fill('accepted'::text, ARRAY[13]), 'setup events accepted');
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close) VALUES
    ('IX', '2025-12-12 15:01:00+00', 100, 103, 99, 102),
    ('IX', '2025-12-12 15:02:00+00', 102, 102, 89.5, 90),
    ('RM', '2025-12-12 15:01:00+00', 100, 104, 99, 103),
    ('RM', '2025-12-12 15:02:00+00', 103, 106, 98, 105),
    ('RM', '2025-12-12 15:03:00+00', 105, 105, 99, 100);
INSERT INTO run VALUES ('c1', sigsync.reconcile(p_now => '2025-12-12 15:05:00+00'));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'c1'), 'ok', 'cycle 1 ok');

-- event tier --------------------------------------------------------------------------------
SELECT is(pg_temp.prov('T0', '20251212_100000000_BULLISH', 'entry_price'),
          'event/1.0/event:' || pg_temp.ev_id('T0', '20251212_100000000_BULLISH', 'ENTRY'), 'event field: tier event, 1.0, event:<id>');
-- Tier 0 -------------------------------------------------------------------------------------
SELECT is(pg_temp.prov('T0', '20251212_100000000_BULLISH', 'htf_alignment'),
          '0/1.0/event:' || pg_temp.ev_id('T0', '20251212_100000000_BULLISH', 'SIGNAL_CREATED'), 'SIGNAL_CREATED field: tier 0, 1.0, event:<id>');
SELECT is(pg_temp.prov('T0', '20251212_100000000_BULLISH', 'signal_price'),
          '0/1.0/event:' || pg_temp.ev_id('T0', '20251212_100000000_BULLISH', 'SIGNAL_CREATED'), 'signal_price: tier 0');
SELECT is((pg_temp.sig('T0', '20251212_100000000_BULLISH')).bars_to_confirmation, 4, 'Tier 0 bars_to_confirmation (15:04 - 15:00) / 1 min = 4');
SELECT is(pg_temp.prov('T0', '20251212_100000000_BULLISH', 'bars_to_confirmation'), '0/1.0/rule:signal_created_to_entry',
          'Tier 0 bars_to_confirmation: tier 0, 1.0, rule:signal_created_to_entry');
SELECT is((SELECT a.run_id FROM pg_temp.audit('T0', '20251212_100000000_BULLISH', 'bars_to_confirmation', 'fill') a),
          pg_temp.run_id('c1'), 'Tier 0 fill audited with the cycle''s run_id');
SELECT is((SELECT ARRAY[coalesce(a.old_value::text, 'NULL'), a.new_value::text, a.tier, a.confidence_score::text, a.reason]
             FROM pg_temp.audit('T0', '20251212_100000000_BULLISH', 'bars_to_confirmation', 'fill') a),
          ARRAY['NULL', '4', '0', '1.0', 'filled by tier 0'], 'Tier 0 fill audit: old NULL, new 4, tier 0, confidence 1.0, reason');
-- Tier 3 -------------------------------------------------------------------------------------
SELECT is((pg_temp.sig('T3', '20251212_100000000_BEARISH')).signal_time, '2025-12-12 15:00:00+00'::timestamptz,
          'Tier 3 signal_time from the trade_id (10:00 New York)');
SELECT is((pg_temp.sig('T3', '20251212_100000000_BEARISH')).signal_date, '2025-12-12'::date, 'Tier 3 signal_date');
SELECT is((pg_temp.sig('T3', '20251212_100000000_BEARISH')).direction, 'Bearish', 'Tier 3 direction');
SELECT is((pg_temp.sig('T3', '20251212_100000000_BEARISH')).session, 'NY AM', 'Tier 3 session from the session windows');
SELECT is((pg_temp.sig('T3', '20251212_100000000_BEARISH')).bars_to_confirmation, 2, 'Tier 3 bars_to_confirmation 2');
SELECT is(ARRAY[pg_temp.prov('T3', '20251212_100000000_BEARISH', 'signal_time'),
                pg_temp.prov('T3', '20251212_100000000_BEARISH', 'signal_date'),
                pg_temp.prov('T3', '20251212_100000000_BEARISH', 'direction'),
                pg_temp.prov('T3', '20251212_100000000_BEARISH', 'session'),
                pg_temp.prov('T3', '20251212_100000000_BEARISH', 'bars_to_confirmation')],
          ARRAY['3/0.9/rule:trade_id', '3/0.9/rule:trade_id', '3/0.9/rule:trade_id', '3/0.9/rule:session_windows',
                '3/0.9/rule:trade_id_to_entry'],
          'Tier 3 provenance: tier 3, confidence 0.9, rule sources');
SELECT is((pg_temp.sig('T3S', '20251212_083000000_BULLISH')).session, 'NY AM', 'session window includes its start (08:30 -> NY AM)');
SELECT is((pg_temp.sig('T3S', '20251212_160000000_BULLISH')).session, 'Off Hours', 'session window excludes its end (16:00 -> Off Hours)');
-- Tier 2 -------------------------------------------------------------------------------------
SELECT is((pg_temp.sig('T3', '20251212_100000000_BEARISH')).targets_extended,
          '{"1R": 24990.00, "2R": 24979.75, "3R": 24969.50, "5R": 24949.00, "10R": 24897.75, "20R": 24795.25}'::jsonb,
          'Tier 2 targets, Bearish: entry - k*R (R = 10.25), not rounded');
SELECT is(pg_temp.prov('T3', '20251212_100000000_BEARISH', 'targets_extended'), '2/0.8/rule:targets', 'targets: tier 2, 0.8, rule:targets');
SELECT is(pg_temp.prov('RM', '20251212_100000000_BULLISH', 'be_mfe'), '2/0.8/rule:bar_walk', 'Tier 2 MFE: tier 2, 0.8, rule:bar_walk');
-- rule ---------------------------------------------------------------------------------------
SELECT is((pg_temp.sig('CX', '20251212_100000000_BULLISH')).cancel_detection, 'inferred', 'alternation rule: inferred cancellation');
SELECT is(pg_temp.prov('CX', '20251212_100000000_BULLISH', 'cancel_detection'), 'rule/0.9/rule:alternation',
          'inferred cancellation: tier rule, 0.9, rule:alternation');
SELECT is(pg_temp.prov('CX', '20251212_100000000_BULLISH', 'cancelled_by'), 'rule/0.9/rule:alternation', 'cancelled_by: tier rule, 0.9');

-- every reconciler write is one audit row: each field of tier 0/2/3/rule written by the
-- reconciler has exactly one audit row of this cycle with the same tier and confidence --------
SELECT is((SELECT count(*)::integer
             FROM sigsync.signal_provenance p
            WHERE p.symbol IN ('T0', 'T3', 'CX')
              AND (p.tier IN ('2', '3', 'rule') OR p.source LIKE 'rule:%')
              AND (SELECT count(*) FROM sigsync.sync_audit_log a
                    WHERE a.symbol = p.symbol AND a.trade_id = p.trade_id AND a.field = p.field
                      AND a.run_id = pg_temp.run_id('c1') AND a.action_type = 'fill'
                      AND a.tier = p.tier
                      AND a.confidence_score = p.confidence) <> 1), 0,
          'every filled field has exactly one fill audit row of the cycle, same tier and confidence');
SELECT is((SELECT count(*)::integer FROM sigsync.sync_audit_log a
            WHERE a.symbol = 'T3' AND a.run_id = pg_temp.run_id('c1') AND a.action_type = 'fill'), 6,
          'T3: six fills (signal_time, signal_date, direction, session, bars, targets; no MFE: online)');

-- an event value is never overwritten by a fill ----------------------------------------------
SELECT is((pg_temp.sig('EV', '20251212_100000000_BULLISH')).session, 'London', 'event session kept (Tier 3 would say NY AM)');
SELECT is((pg_temp.sig('EV', '20251212_100000000_BULLISH')).bars_to_confirmation, 7, 'event bars_to_confirmation kept (Tier 3 would say 2)');
SELECT is(pg_temp.prov('EV', '20251212_100000000_BULLISH', 'session'),
          'event/1.0/event:' || pg_temp.ev_id('EV', '20251212_100000000_BULLISH', 'ENTRY'), 'EV session provenance is the event');
SELECT is((SELECT count(*)::integer FROM sigsync.sync_audit_log a
            WHERE a.symbol = 'EV' AND a.field IN ('session', 'bars_to_confirmation')), 0, 'no audit row touches the event values');

-- Tier 3 now, upgraded later by SIGNAL_CREATED -------------------------------------------------
SELECT is(ARRAY[(pg_temp.sig('UP', '20251212_120000000_BULLISH')).session, pg_temp.prov('UP', '20251212_120000000_BULLISH', 'session')],
          ARRAY['NY Lunch', '3/0.9/rule:session_windows'], 'UP: Tier 3 session NY Lunch after cycle 1');

-- inferred exit (Tier 2) -----------------------------------------------------------------------
SELECT is((pg_temp.sig('IX', '20251212_100000000_BULLISH')).status, 'closed', 'IX: inferred EXIT_SL closes the trade');
SELECT is(ARRAY[(pg_temp.sig('IX', '20251212_100000000_BULLISH')).exit_type,
                (pg_temp.sig('IX', '20251212_100000000_BULLISH')).exit_time::text,
                (pg_temp.sig('IX', '20251212_100000000_BULLISH')).exit_price::text,
                (pg_temp.sig('IX', '20251212_100000000_BULLISH')).final_mfe::text],
          ARRAY['EXIT_SL', '2025-12-12 15:02:00+00', '90', '0.3000'],
          'IX: inferred exit at the stop bar, the stop price, final_mfe = no_be_mfe');
SELECT is(pg_temp.prov('IX', '20251212_100000000_BULLISH', 'exit_time'), '2/0.8/rule:bar_walk', 'IX: exit_time tier 2, 0.8');

-- stale real MFE refreshed by Tier 2 ------------------------------------------------------------
SELECT is(ARRAY[(pg_temp.sig('RM', '20251212_100000000_BULLISH')).be_mfe, (pg_temp.sig('RM', '20251212_100000000_BULLISH')).no_be_mfe,
                (pg_temp.sig('RM', '20251212_100000000_BULLISH')).mae_global_r],
          ARRAY[0.6, 0.6, -0.2]::numeric[], 'RM: the Tier 2 walk (bars until 15:03) replaces the real 15:01 MFE');
SELECT is((pg_temp.field_prov(pg_temp.sig('RM', '20251212_100000000_BULLISH'), 'be_mfe')).at, '2025-12-12T15:03:00+00:00',
          'RM: its as-of time is the last bar used');
SELECT is((SELECT ARRAY[a.run_id::text, a.old_value::text, a.new_value::text, a.tier, a.confidence_score::text, a.source]
             FROM pg_temp.audit('RM', '20251212_100000000_BULLISH', 'be_mfe', 'refresh') a),
          ARRAY[pg_temp.run_id('c1')::text, '0.2', '0.6000', '2', '0.8', 'rule:bar_walk'],
          'RM: the refresh is audited (run, old 0.2, new 0.6000, tier 2, 0.8, rule:bar_walk)');
SELECT ok((SELECT a.reason FROM pg_temp.audit('RM', '20251212_100000000_BULLISH', 'be_mfe', 'refresh') a) LIKE '%tier 2%tier event%',
          'RM: the refresh reason names both tiers');

-- ---------------------------------------------------------------------------------------------
-- Later events: SIGNAL_CREATED for UP, the real EXIT_SL for IX, a real MFE for RM
-- ---------------------------------------------------------------------------------------------
SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"UP","trade_id":"20251212_120000000_BULLISH","signal_time":"2025-12-12T17:00:00Z","direction":"Bullish","session":"NY AM","htf_alignment":{"daily":"Bullish"},"timestamp":"2025-12-12T17:00:00Z"}'),
    pg_temp.ing('{"event_type":"EXIT_SL","symbol":"IX","source":"feed2","trade_id":"20251212_100000000_BULLISH","exit_price":89.75,"final_mfe":0.35,"timestamp":"2025-12-12T15:02:30Z"}'),
    pg_temp.ing('{"event_type":"MFE_UPDATE","symbol":"RM","source":"feed2","trade_id":"20251212_100000000_BULLISH","be_mfe":0.7,"no_be_mfe":0.7,"mae_global_r":-0.25,"timestamp":"2025-12-12T15:03:30Z"}')
    ], array_fill('accepted'::text, ARRAY[3]), 'later events accepted');

SELECT is(ARRAY[(pg_temp.sig('UP', '20251212_120000000_BULLISH')).session, pg_temp.prov('UP', '20251212_120000000_BULLISH', 'session')],
          ARRAY['NY AM', '0/1.0/event:' || pg_temp.ev_id('UP', '20251212_120000000_BULLISH', 'SIGNAL_CREATED')],
          'UP: SIGNAL_CREATED upgrades the Tier 3 session');
SELECT is((SELECT ARRAY[a.old_value::text, a.new_value::text, a.tier, a.confidence_score::text]
             FROM pg_temp.audit('UP', '20251212_120000000_BULLISH', 'session', 'upgrade') a),
          ARRAY['"NY Lunch"', '"NY AM"', '0', '1.0'], 'UP: the upgrade is audited (action upgrade, old, new, tier 0, 1.0)');
SELECT is((SELECT count(*)::integer FROM pg_temp.audit('UP', '20251212_120000000_BULLISH', 'signal_time', 'upgrade')), 1,
          'UP: signal_time Tier 3 -> Tier 0 audited as one upgrade');

SELECT is(ARRAY[(pg_temp.sig('IX', '20251212_100000000_BULLISH')).exit_time::text,
                (pg_temp.sig('IX', '20251212_100000000_BULLISH')).exit_price::text,
                (pg_temp.sig('IX', '20251212_100000000_BULLISH')).final_mfe::text],
          ARRAY['2025-12-12 15:02:30+00', '89.75', '0.35'], 'IX: the real EXIT_SL replaces the inferred one');
SELECT is(pg_temp.prov('IX', '20251212_100000000_BULLISH', 'exit_time'),
          'event/1.0/event:' || pg_temp.ev_id('IX', '20251212_100000000_BULLISH', 'EXIT_SL'), 'IX: exit_time provenance is the event');
SELECT is((SELECT ARRAY[a.old_value::text, a.new_value::text, a.tier, a.confidence_score::text]
             FROM pg_temp.audit('IX', '20251212_100000000_BULLISH', 'exit_time', 'upgrade') a),
          ARRAY['"2025-12-12T15:02:00+00:00"', '"2025-12-12T15:02:30+00:00"', 'event', '1.0'],
          'IX: the replacement of the inferred exit is audited as an upgrade');
SELECT is((SELECT count(*)::integer FROM sync_audit_log a
            WHERE a.symbol = 'IX' AND a.action_type = 'upgrade' AND a.field IN ('exit_type', 'exit_time', 'exit_price', 'final_mfe')), 4,
          'IX: one upgrade row per exit field');

SELECT is(ARRAY[(pg_temp.sig('RM', '20251212_100000000_BULLISH')).be_mfe, (pg_temp.sig('RM', '20251212_100000000_BULLISH')).no_be_mfe,
                (pg_temp.sig('RM', '20251212_100000000_BULLISH')).mae_global_r],
          ARRAY[0.7, 0.7, -0.25]::numeric[], 'RM: the later real MFE replaces the Tier 2 value');
SELECT is(pg_temp.prov('RM', '20251212_100000000_BULLISH', 'be_mfe') LIKE 'event/1.0/%', true, 'RM: be_mfe tier event again');
SELECT is((SELECT ARRAY[a.old_value::text, a.new_value::text, a.tier]
             FROM pg_temp.audit('RM', '20251212_100000000_BULLISH', 'be_mfe', 'upgrade') a),
          ARRAY['0.6000', '0.7', 'event'], 'RM: Tier 2 -> real audited as an upgrade (old 0.6000, new 0.7)');

-- ---------------------------------------------------------------------------------------------
-- Cycle 2 at 15:05:30Z (same bars): nothing reverts
-- ---------------------------------------------------------------------------------------------
SELECT is(pg_temp.ing('{"event_type":"HEARTBEAT","tracked_signals":3,"indicator_version":"1.0.0","timestamp":"2025-12-12T15:05:15Z"}'),
          'accepted', 'heartbeat accepted');
INSERT INTO run VALUES ('c2', sigsync.reconcile(p_now => '2025-12-12 15:05:30+00'));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'c2'), 'ok', 'cycle 2 ok');
SELECT is((pg_temp.sig('UP', '20251212_120000000_BULLISH')).session, 'NY AM', 'UP: Tier 3 does not take the session back');
SELECT is(pg_temp.prov('UP', '20251212_120000000_BULLISH', 'bars_to_confirmation'), '0/1.0/rule:signal_created_to_entry',
          'UP: bars_to_confirmation recomputed as Tier 0 now that signal_time is from SIGNAL_CREATED');
SELECT is((SELECT ARRAY[a.run_id::text, a.old_value::text, a.new_value::text, a.tier]
             FROM pg_temp.audit('UP', '20251212_120000000_BULLISH', 'bars_to_confirmation', 'upgrade') a),
          ARRAY[pg_temp.run_id('c2')::text, '3', '3', '0'], 'UP: Tier 3 -> Tier 0 bars_to_confirmation audited as an upgrade in cycle 2');
SELECT is((pg_temp.sig('IX', '20251212_100000000_BULLISH')).exit_time, '2025-12-12 15:02:30+00'::timestamptz,
          'IX: the real exit stays (the walk''s inference cannot beat it)');
SELECT is((SELECT count(*)::integer FROM sync_audit_log a
            WHERE a.symbol = 'IX' AND a.run_id = pg_temp.run_id('c2') AND a.field LIKE 'exit%'), 0, 'IX: cycle 2 writes no exit field');
SELECT is(pg_temp.prov('RM', '20251212_100000000_BULLISH', 'be_mfe') LIKE 'event/1.0/%', true,
          'RM: the real MFE (15:03:30) stays: Tier 2 as of 15:03 is older');
SELECT is((pg_temp.sig('RM', '20251212_100000000_BULLISH')).be_mfe, 0.7, 'RM: be_mfe 0.7 after cycle 2');
SELECT is((SELECT count(*)::integer FROM sync_audit_log a WHERE a.symbol = 'RM' AND a.run_id = pg_temp.run_id('c2')), 0,
          'RM: cycle 2 writes nothing');

-- a new bar after the real update: Tier 2 refreshes again ------------------------------------------
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close) VALUES
    ('RM', '2025-12-12 15:04:00+00', 100, 109, 99.5, 108);
INSERT INTO run VALUES ('c3', sigsync.reconcile(p_now => '2025-12-12 15:05:45+00'));
SELECT is(ARRAY[(pg_temp.sig('RM', '20251212_100000000_BULLISH')).be_mfe, (pg_temp.sig('RM', '20251212_100000000_BULLISH')).no_be_mfe],
          ARRAY[0.9, 0.9]::numeric[], 'RM: a bar later than the real update -> Tier 2 (max 0.9) wins again');
SELECT is((pg_temp.sig('RM', '20251212_100000000_BULLISH')).mae_global_r, -0.2, 'RM: Tier 2 MAE (min adverse -0.2 over the bars) as of 15:04');
SELECT is(pg_temp.prov('RM', '20251212_100000000_BULLISH', 'be_mfe'), '2/0.8/rule:bar_walk', 'RM: be_mfe tier 2 again');
SELECT is((SELECT count(*)::integer FROM sync_audit_log a
            WHERE a.symbol = 'RM' AND a.run_id = pg_temp.run_id('c3') AND a.action_type = 'refresh'), 3,
          'RM: three refresh rows (be_mfe, no_be_mfe, mae_global_r)');
SELECT is((SELECT count(*)::integer FROM sync_audit_log a
            WHERE a.run_id IS NOT NULL AND (a.run_id NOT IN (SELECT id FROM sync_runs))), 0, 'every audit run_id is a sync_runs row');
SELECT is((SELECT count(*)::integer FROM sync_audit_log a
            WHERE a.action_type IN ('fill', 'upgrade', 'refresh') AND (a.tier IS NULL OR a.confidence_score IS NULL OR a.reason IS NULL OR a.new_value IS NULL)), 0,
          'every fill / upgrade / refresh row has tier, confidence, reason and new value');
SELECT is((SELECT count(*)::integer FROM sync_audit_log a
            WHERE a.action_type IN ('upgrade', 'refresh') AND a.old_value IS NULL), 0,
          'every upgrade / refresh row has the old value');
SELECT * FROM finish();
ROLLBACK;
