-- 20_seed_examples: the four "Data Flow Examples" of seed 001 as reconcile scenarios, with
-- the states DESIGN §4-9 give them. Each example lives in its own symbol so that the
-- alternation rule (per symbol, DESIGN §7) keeps them apart. Times: trade_ids are New York
-- bar times (10:42 ET = 15:42Z on 2025-12-12); payload timestamps are UTC; no HEARTBEAT means
-- the indicator is offline (Tier 2 may fill at once), except where example 4 sends one.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(61);

CREATE FUNCTION pg_temp.ing(p text) RETURNS text
LANGUAGE sql AS $$ SELECT sigsync.ingest(p) ->> 'status' $$;
CREATE FUNCTION pg_temp.sig(p_symbol text, p_trade_id text) RETURNS sigsync.signals
LANGUAGE sql AS $$ SELECT s.* FROM sigsync.signals s WHERE s.symbol = p_symbol AND s.trade_id = p_trade_id $$;
-- a field's provenance row (sigsync.signal_provenance) of a signal
CREATE FUNCTION pg_temp.field_prov(p_sig sigsync.signals, p_field text) RETURNS sigsync.signal_provenance
LANGUAGE sql AS $$ SELECT p.* FROM sigsync.signal_provenance p
                    WHERE p.symbol = p_sig.symbol AND p.trade_id = p_sig.trade_id AND p.field = p_field $$;
CREATE FUNCTION pg_temp.health(p_symbol text, p_trade_id text) RETURNS sigsync.signal_health_metrics
LANGUAGE sql AS $$ SELECT m.* FROM sigsync.signal_health_metrics m WHERE m.symbol = p_symbol AND m.trade_id = p_trade_id $$;
CREATE FUNCTION pg_temp.ev_id(p_symbol text, p_trade_id text, p_type text) RETURNS bigint
LANGUAGE sql AS $$ SELECT min(e.id) FROM sigsync.automated_signals e
                    WHERE e.symbol = p_symbol AND e.trade_id = p_trade_id AND e.event_type = p_type $$;
-- the open gap types of one signal at p_now, straight from the gap rules (before any fill)
CREATE FUNCTION pg_temp.open_gaps(p_now timestamptz, p_symbol text, p_trade_id text) RETURNS text[]
LANGUAGE sql AS $$
    SELECT coalesce(array_agg(g ORDER BY g), '{}')
      FROM sigsync._open_gaps(p_now, ARRAY[p_symbol], ARRAY[p_trade_id]) o, jsonb_object_keys(o.gaps) g
$$;
CREATE TEMP TABLE run (name text PRIMARY KEY, res jsonb) ON COMMIT DROP;

-- ===========================================================================================
-- Example 1: complete lifecycle (IDEAL). SIGNAL_CREATED -> ENTRY -> MFE_UPDATE_BATCH -> EXIT_SL.
-- ===========================================================================================
SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH","signal_time":"2025-12-12T15:42:00Z",'
                '"direction":"Bullish","session":"NY AM","signal_price":25679.5,"timestamp":"2025-12-12T15:42:00Z",'
                '"htf_alignment":{"daily":"Bullish","h4":"Bullish","h1":"Bullish","m15":"Bullish","m5":"Bullish","m1":"Bullish"}}'),
    pg_temp.ing('{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":25680.00,"stop_loss":25645.00,'
                '"confirmation_time":"2025-12-12T15:45:00Z","bars_to_confirmation":3,"timestamp":"2025-12-12T15:45:00Z"}'),
    pg_temp.ing('{"event_type":"MFE_UPDATE_BATCH","timestamp":"2025-12-12T15:55:00Z","updates":['
                '{"trade_id":"20251212_104200000_BULLISH","be_mfe":0.6,"no_be_mfe":0.6,"mae_global_r":-0.2,"timestamp":"2025-12-12T15:50:00Z"},'
                '{"trade_id":"20251212_104200000_BULLISH","be_mfe":1.5,"no_be_mfe":2.3,"mae_global_r":-0.2}]}'),
    pg_temp.ing('{"event_type":"EXIT_SL","trade_id":"20251212_104200000_BULLISH","exit_price":25645.00,"final_mfe":2.3,'
                '"timestamp":"2025-12-12T16:10:00Z"}')],
    ARRAY['accepted','accepted','accepted','accepted'], 'ex1: SIGNAL_CREATED, ENTRY, MFE_UPDATE_BATCH, EXIT_SL accepted');

INSERT INTO run VALUES ('ex1', sigsync.reconcile(p_now => '2025-12-12 16:20:00+00'));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'ex1'), 'ok', 'ex1: reconcile ok');
SELECT is((pg_temp.sig('NQ1!', '20251212_104200000_BULLISH')).status, 'closed', 'ex1: EXIT_SL closes the signal');
SELECT is((pg_temp.sig('NQ1!', '20251212_104200000_BULLISH')).exit_type, 'EXIT_SL', 'ex1: exit_type EXIT_SL');
SELECT is((pg_temp.sig('NQ1!', '20251212_104200000_BULLISH')).exit_price, 25645.00, 'ex1: exit_price 25645.00');
SELECT is((pg_temp.sig('NQ1!', '20251212_104200000_BULLISH')).exit_time, '2025-12-12 16:10:00+00'::timestamptz, 'ex1: exit_time');
SELECT is((pg_temp.sig('NQ1!', '20251212_104200000_BULLISH')).final_mfe, 2.3, 'ex1: final_mfe 2.3');
SELECT is((pg_temp.sig('NQ1!', '20251212_104200000_BULLISH')).be_mfe, 1.5, 'ex1: be_mfe 1.5 (running max of real updates)');
SELECT is((pg_temp.sig('NQ1!', '20251212_104200000_BULLISH')).no_be_mfe, 2.3, 'ex1: no_be_mfe 2.3');
-- EXIT_SL means price reached the original stop: the global MAE is -1 R from then on (DESIGN §4/§6)
SELECT is((pg_temp.sig('NQ1!', '20251212_104200000_BULLISH')).mae_global_r, -1::numeric, 'ex1: mae_global_r -1 after EXIT_SL');
SELECT is((pg_temp.field_prov(pg_temp.sig('NQ1!', '20251212_104200000_BULLISH'), 'be_mfe')).tier, 'event',
          'ex1: real MFE is kept (no bars: Tier 2 as-of the confirmation is older than the real update)');
SELECT is((pg_temp.sig('NQ1!', '20251212_104200000_BULLISH')).htf_alignment ->> 'daily', 'Bullish', 'ex1: htf_alignment from SIGNAL_CREATED');
SELECT is((pg_temp.sig('NQ1!', '20251212_104200000_BULLISH')).bars_to_confirmation, 3, 'ex1: bars_to_confirmation 3 from ENTRY');
SELECT is((pg_temp.sig('NQ1!', '20251212_104200000_BULLISH')).targets_extended,
          '{"1R": 25715, "2R": 25750, "3R": 25785, "5R": 25855, "10R": 26030, "20R": 26380}'::jsonb,
          'ex1: Tier 2 targets = entry + k*R, R = 35');
SELECT is((pg_temp.health('NQ1!', '20251212_104200000_BULLISH')).gaps, '{}'::jsonb, 'ex1: gap detection finds no gaps');
SELECT is((pg_temp.health('NQ1!', '20251212_104200000_BULLISH')).gap_count, 0, 'ex1: gap_count 0');
SELECT is((SELECT res -> 'gaps_after' FROM run WHERE name = 'ex1'), '{}'::jsonb, 'ex1: cycle summary gaps_after is empty');
-- Seed 001 says "Health Score: 100/100". DESIGN §9 deducts weight x (1 - confidence) for every
-- field filled below 1.0; the only such field here is targets_extended (Tier 2, 0.8; no event
-- carries targets), so the score is 100 - 10 x 0.2 = 98.
SELECT is((pg_temp.health('NQ1!', '20251212_104200000_BULLISH')).health_score, 98,
          'ex1: health 98 = 100 - no_targets weight 10 x (1 - 0.8) for the Tier 2 targets');
SELECT is((SELECT array_agg(DISTINCT a.field) FROM sync_audit_log a
            WHERE a.symbol = 'NQ1!' AND a.trade_id = '20251212_104200000_BULLISH' AND a.run_id IS NOT NULL),
          ARRAY['targets_extended'], 'ex1: the only reconciler write is the targets fill');
SELECT is((SELECT count(*)::integer FROM sync_audit_log a
            WHERE a.symbol = 'NQ1!' AND a.trade_id = '20251212_104200000_BULLISH'
              AND a.action_type IN ('anomaly', 'conflict')), 0, 'ex1: no anomaly or conflict');

-- ===========================================================================================
-- Example 2: cancelled signal (IDEAL): SIGNAL_CREATED, then the opposite signal; the
-- indicator sends CANCELLED for the first (explicit cancellation).
-- ===========================================================================================
SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"EX2","trade_id":"20251212_104200000_BULLISH","signal_time":"2025-12-12T15:42:00Z",'
                '"direction":"Bullish","session":"NY AM","htf_alignment":{"daily":"Bullish","h1":"Bullish"},"signal_price":25679.5,'
                '"timestamp":"2025-12-12T15:42:00Z"}'),
    pg_temp.ing('{"event_type":"CANCELLED","symbol":"EX2","trade_id":"20251212_104200000_BULLISH","cancelled_time":"2025-12-12T15:44:00Z",'
                '"cancel_reason":"opposite_signal_appeared","bars_pending":2,"cancelled_by":"20251212_104400000_BEARISH"}'),
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"EX2","trade_id":"20251212_104400000_BEARISH","signal_time":"2025-12-12T15:44:00Z",'
                '"direction":"Bearish","session":"NY AM","htf_alignment":{"daily":"Bullish","h1":"Bearish"},"signal_price":25670.25,'
                '"timestamp":"2025-12-12T15:44:00Z"}')],
    ARRAY['accepted','accepted','accepted'], 'ex2: SIGNAL_CREATED, CANCELLED, opposite SIGNAL_CREATED accepted');
INSERT INTO run VALUES ('ex2', sigsync.reconcile(p_now => '2025-12-12 15:50:00+00'));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'ex2'), 'ok', 'ex2: reconcile ok');
SELECT is((pg_temp.sig('EX2', '20251212_104200000_BULLISH')).status, 'cancelled', 'ex2: the Bullish signal is cancelled');
SELECT is((pg_temp.sig('EX2', '20251212_104200000_BULLISH')).cancel_detection, 'explicit', 'ex2: cancel_detection explicit');
SELECT is((pg_temp.sig('EX2', '20251212_104200000_BULLISH')).cancelled_by, '20251212_104400000_BEARISH', 'ex2: cancelled_by the Bearish signal');
SELECT is((pg_temp.sig('EX2', '20251212_104200000_BULLISH')).bars_pending, 2, 'ex2: bars_pending 2');
SELECT is((pg_temp.sig('EX2', '20251212_104200000_BULLISH')).cancelled_at, '2025-12-12 15:44:00+00'::timestamptz, 'ex2: cancelled_at');
SELECT is((pg_temp.field_prov(pg_temp.sig('EX2', '20251212_104200000_BULLISH'), 'cancel_detection')).source,
          'event:' || pg_temp.ev_id('EX2', '20251212_104200000_BULLISH', 'CANCELLED'),
          'ex2: the cancellation comes from the CANCELLED event');
SELECT is((SELECT count(*)::integer FROM sync_audit_log a
            WHERE a.symbol = 'EX2' AND a.trade_id = '20251212_104200000_BULLISH' AND a.source = 'rule:alternation'), 0,
          'ex2: the alternation rule writes nothing over the explicit cancellation');
SELECT is((pg_temp.sig('EX2', '20251212_104400000_BEARISH')).status, 'pending', 'ex2: the Bearish signal is pending');
SELECT is((pg_temp.health('EX2', '20251212_104200000_BULLISH')).gaps, '{}'::jsonb, 'ex2: no gaps for the cancelled signal');
SELECT is((pg_temp.health('EX2', '20251212_104200000_BULLISH')).health_score, 100, 'ex2: cancelled signal health 100');
SELECT is((pg_temp.health('EX2', '20251212_104400000_BEARISH')).health_score, 100, 'ex2: the new signal health 100');
SELECT is((SELECT res -> 'gaps_after' FROM run WHERE name = 'ex2'), '{}'::jsonb, 'ex2: cycle summary: no gaps');

-- ===========================================================================================
-- Example 3: no SIGNAL_CREATED; the ENTRY carries neither htf_alignment nor
-- confirmation_time. DESIGN §3: ENTRY's confirmation_time is its timestamp when the field is
-- missing, so only bars_to_confirmation is missing there, and Tier 3 (trade_id) computes it.
-- htf_alignment has no source but events: that gap remains.
-- ===========================================================================================
SELECT is(pg_temp.ing('{"event_type":"ENTRY","symbol":"EX3","trade_id":"20251212_104200000_BULLISH","entry_price":25680.00,'
                      '"stop_loss":25645.00,"session":"NY AM","timestamp":"2025-12-12T15:45:00Z"}'),
          'accepted', 'ex3: ENTRY without htf_alignment / confirmation_time accepted');
SELECT is(pg_temp.open_gaps('2025-12-12 15:46:00+00', 'EX3', '20251212_104200000_BULLISH'),
          ARRAY['no_confirmation_time','no_htf_alignment','no_signal_date','no_targets'],
          'ex3: gap detection before the cycle: htf, confirmation (bars), signal date, targets');
INSERT INTO run VALUES ('ex3', sigsync.reconcile(p_now => '2025-12-12 15:46:00+00'));
SELECT is((pg_temp.sig('EX3', '20251212_104200000_BULLISH')).confirmation_time, '2025-12-12 15:45:00+00'::timestamptz,
          'ex3: confirmation_time is the ENTRY timestamp');
SELECT is((pg_temp.sig('EX3', '20251212_104200000_BULLISH')).bars_to_confirmation, 3,
          'ex3: bars_to_confirmation (15:45 - 15:42) / 1 minute = 3');
SELECT is((pg_temp.field_prov(pg_temp.sig('EX3', '20251212_104200000_BULLISH'), 'bars_to_confirmation')).tier, '3',
          'ex3: ... from Tier 3 (signal_time parsed from the trade_id), not Tier 0');
SELECT is((SELECT count(*)::integer FROM sigsync.signal_provenance p
            WHERE p.symbol = 'EX3' AND p.trade_id = '20251212_104200000_BULLISH' AND p.tier = '0'), 0, 'ex3: Tier 0 finds no SIGNAL_CREATED: nothing of tier 0');
SELECT ok((pg_temp.sig('EX3', '20251212_104200000_BULLISH')).htf_alignment IS NULL, 'ex3: htf_alignment stays empty');
SELECT is((pg_temp.health('EX3', '20251212_104200000_BULLISH')).gaps, '{"no_htf_alignment": "2025-12-12T15:46:00+00:00"}'::jsonb,
          'ex3: the htf gap remains (since this cycle); no confirmation gap');
-- 100 - no_htf_alignment 10 (open) - deductions for fills below 1.0: targets (Tier 2) 10x0.2,
-- signal_date/signal_time (Tier 3) 10x0.1, bars_to_confirmation (Tier 3) 10x0.1, be_mfe/no_be_mfe
-- (Tier 2, indicator offline) 15x0.2, mae_global_r (Tier 2) 10x0.2 = 100 - 10 - 9 = 81
-- (each gap type's weight deducted once, at the lowest confidence of its fields; see 21_gaps)
SELECT is((pg_temp.health('EX3', '20251212_104200000_BULLISH')).health_score, 81,
          'ex3: health 81 (htf gap open, Tier 2/3 fills deducted)');
INSERT INTO run VALUES ('ex3b', sigsync.reconcile(p_now => '2025-12-12 15:47:00+00'));
SELECT ok((pg_temp.health('EX3', '20251212_104200000_BULLISH')).gaps ? 'no_htf_alignment',
          'ex3: a later cycle cannot fill htf_alignment either (gaps remain)');
SELECT is((pg_temp.health('EX3', '20251212_104200000_BULLISH')).gaps ->> 'no_htf_alignment', '2025-12-12T15:46:00+00:00',
          'ex3: the gap keeps the time it was first seen');

-- ===========================================================================================
-- Example 4: SIGNAL_CREATED present; the ENTRY lacks htf_alignment and confirmation_time.
-- Tier 0 takes htf_alignment from SIGNAL_CREATED and computes bars_to_confirmation from
-- SIGNAL_CREATED.signal_time -> ENTRY confirmation. The indicator is online (heartbeat).
-- ===========================================================================================
SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"HEARTBEAT","tracked_signals":1,"indicator_version":"1.0.0","timestamp":"2025-12-12T15:45:30Z"}'),
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"EX4","trade_id":"20251212_104200000_BULLISH","signal_time":"2025-12-12T15:42:00Z",'
                '"direction":"Bullish","session":"NY AM","htf_alignment":{"daily":"Bullish","h4":"Bearish"},"signal_price":25679.5,'
                '"timestamp":"2025-12-12T15:42:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","symbol":"EX4","trade_id":"20251212_104200000_BULLISH","entry_price":25680.00,'
                '"stop_loss":25645.00,"timestamp":"2025-12-12T15:45:00Z"}')],
    ARRAY['accepted','accepted','accepted'], 'ex4: HEARTBEAT, SIGNAL_CREATED, ENTRY accepted');
SELECT is(pg_temp.open_gaps('2025-12-12 15:46:00+00', 'EX4', '20251212_104200000_BULLISH'),
          ARRAY['no_confirmation_time','no_targets'],
          'ex4: before the cycle: no htf gap (SIGNAL_CREATED has it); bars_to_confirmation and targets missing');
INSERT INTO run VALUES ('ex4', sigsync.reconcile(p_now => '2025-12-12 15:46:00+00'));
SELECT is((pg_temp.sig('EX4', '20251212_104200000_BULLISH')).htf_alignment, '{"daily":"Bullish","h4":"Bearish"}'::jsonb,
          'ex4: htf_alignment from SIGNAL_CREATED');
SELECT is((pg_temp.field_prov(pg_temp.sig('EX4', '20251212_104200000_BULLISH'), 'htf_alignment')).tier, '0', 'ex4: htf_alignment tier 0');
SELECT is((pg_temp.field_prov(pg_temp.sig('EX4', '20251212_104200000_BULLISH'), 'htf_alignment')).source,
          'event:' || pg_temp.ev_id('EX4', '20251212_104200000_BULLISH', 'SIGNAL_CREATED'),
          'ex4: htf_alignment source is the SIGNAL_CREATED event');
SELECT is((pg_temp.sig('EX4', '20251212_104200000_BULLISH')).confirmation_time, '2025-12-12 15:45:00+00'::timestamptz,
          'ex4: confirmation_time is the ENTRY timestamp');
SELECT is((pg_temp.sig('EX4', '20251212_104200000_BULLISH')).bars_to_confirmation, 3,
          'ex4: bars_to_confirmation 3 from SIGNAL_CREATED -> ENTRY');
SELECT is((pg_temp.field_prov(pg_temp.sig('EX4', '20251212_104200000_BULLISH'), 'bars_to_confirmation')).tier, '0',
          'ex4: bars_to_confirmation is Tier 0');
SELECT is(((pg_temp.field_prov(pg_temp.sig('EX4', '20251212_104200000_BULLISH'), 'bars_to_confirmation')).confidence)::numeric, 1.0,
          'ex4: ... with confidence 1.0');
SELECT is((SELECT a.tier || '/' || a.confidence_score || '/' || a.source FROM sync_audit_log a
            WHERE a.symbol = 'EX4' AND a.trade_id = '20251212_104200000_BULLISH' AND a.field = 'bars_to_confirmation'),
          '0/1.0/rule:signal_created_to_entry', 'ex4: the Tier 0 fill is audited once with its rule');
SELECT is((pg_temp.sig('EX4', '20251212_104200000_BULLISH')).session, 'NY AM', 'ex4: session from SIGNAL_CREATED');
SELECT is((pg_temp.health('EX4', '20251212_104200000_BULLISH')).gaps, '{}'::jsonb, 'ex4: gaps filled: none left');
SELECT ok((pg_temp.sig('EX4', '20251212_104200000_BULLISH')).be_mfe IS NULL,
          'ex4: indicator online and MFE not stale yet: no Tier 2 MFE');
SELECT is((pg_temp.health('EX4', '20251212_104200000_BULLISH')).health_score, 98,
          'ex4: health 98 (only the Tier 2 targets deduct 10 x 0.2)');
SELECT is((SELECT (res -> 'gaps_before' ->> 'no_confirmation_time')::integer FROM run WHERE name = 'ex4'), 1,
          'ex4: the cycle saw the confirmation gap before filling it');
SELECT ok(NOT (SELECT res -> 'gaps_after' FROM run WHERE name = 'ex4') ? 'no_confirmation_time',
          'ex4: the cycle ends without a confirmation gap');
SELECT * FROM finish();
ROLLBACK;
