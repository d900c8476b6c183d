-- 13_projection: what ingest projects into sigsync.signals and sigsync.indicator_status
-- (DESIGN §3-4): each event type's fields, status precedence, arrival-order independence of
-- static and running fields, conflicts and anomalies in sync_audit_log, dirty marking.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(131);

CREATE FUNCTION pg_temp.sig(p_trade_id text) RETURNS sigsync.signals
LANGUAGE sql AS $$ SELECT s.* FROM sigsync.signals s WHERE s.symbol = 'NQ1!' AND s.trade_id = p_trade_id $$;
-- a field's provenance row (sigsync.signal_provenance) of a signal
CREATE FUNCTION pg_temp.field_prov(p_sig sigsync.signals, p_field text) RETURNS sigsync.signal_provenance
LANGUAGE sql AS $$ SELECT p.* FROM sigsync.signal_provenance p
                    WHERE p.symbol = p_sig.symbol AND p.trade_id = p_sig.trade_id AND p.field = p_field $$;
-- ingest leaves MFE updates to the next cycle (sigsync._queued): the tests below read the
-- registry after ingest and that projection (S10 checks the queue itself)
CREATE FUNCTION pg_temp.project_queued() RETURNS integer
LANGUAGE sql AS $$
    SELECT coalesce(sigsync._project_queued(NULL, array_agg(symbol), array_agg(trade_id)), 0)
      FROM sigsync.signals WHERE queued_events IS NOT NULL $$;
CREATE FUNCTION pg_temp.ok_ingest(p text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_ok boolean := sigsync.ingest(p) ->> 'status' = 'accepted';
BEGIN
    PERFORM pg_temp.project_queued();
    RETURN v_ok;
END $$;

-- S1: a full life -- SIGNAL_CREATED ----------------------------------------------------
SELECT ok(pg_temp.ok_ingest(
    '{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH","signal_time":1765554120000,'
    '"direction":"Bullish","session":"NY AM","htf_alignment":{"1h":"Bullish","4h":"Neutral"},'
    '"signal_price":21000.25,"timestamp":1765554120000}'), 'S1 SIGNAL_CREATED accepted');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).direction, 'Bullish', 'SIGNAL_CREATED: direction');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).signal_time, '2025-12-12 15:42:00+00'::timestamptz, 'SIGNAL_CREATED: signal_time');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).signal_date, '2025-12-12'::date, 'SIGNAL_CREATED: signal_date');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).session, 'NY AM', 'SIGNAL_CREATED: session');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).htf_alignment, '{"1h":"Bullish","4h":"Neutral"}'::jsonb, 'SIGNAL_CREATED: htf_alignment');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).signal_price, 21000.25, 'SIGNAL_CREATED: signal_price');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).source, 'indicator', 'SIGNAL_CREATED: source');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).status, 'pending', 'SIGNAL_CREATED only: status pending');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).has_entry, false, 'SIGNAL_CREATED only: no entry');
SELECT is(ARRAY(SELECT (pg_temp.field_prov(pg_temp.sig('20251212_104200000_BULLISH'), f)).tier
                  FROM unnest(ARRAY['direction','signal_time','signal_date','session','htf_alignment','signal_price']) f),
          ARRAY['0','0','0','0','0','0'], 'SIGNAL_CREATED fields have provenance tier 0');
SELECT is((pg_temp.field_prov(pg_temp.sig('20251212_104200000_BULLISH'), 'signal_price')).source,
          'event:' || (SELECT id FROM automated_signals WHERE trade_id = '20251212_104200000_BULLISH' AND event_type = 'SIGNAL_CREATED'),
          'provenance source names the event');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).first_event_at, '2025-12-12 15:42:00+00'::timestamptz, 'first_event_at');

-- ENTRY (no confirmation_time: its timestamp) -------------------------------------------
SELECT ok(pg_temp.ok_ingest(
    '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":21001.5,"stop_loss":20990,'
    '"bars_to_confirmation":2,"timestamp":1765554240000}'), 'S1 ENTRY accepted');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).has_entry, true, 'ENTRY: has_entry');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).status, 'active', 'ENTRY: status active');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).entry_price, 21001.5, 'ENTRY: entry_price');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).stop_loss, 20990::numeric, 'ENTRY: stop_loss');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).confirmation_time, '2025-12-12 15:44:00+00'::timestamptz, 'ENTRY: confirmation_time');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).bars_to_confirmation, 2, 'ENTRY: bars_to_confirmation');
SELECT is((pg_temp.field_prov(pg_temp.sig('20251212_104200000_BULLISH'), 'entry_price')).tier, 'event', 'ENTRY fields have provenance tier event');

-- MFE updates, the :46 one arriving last ----------------------------------------------
SELECT ok(pg_temp.ok_ingest(
    '{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":0.5,"no_be_mfe":0.5,"mae_global_r":-0.2,"current_price":21007,"timestamp":1765554300000}')
      AND pg_temp.ok_ingest(
    '{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":1.1,"no_be_mfe":1.1,"mae_global_r":-0.3,"current_price":21014,"timestamp":1765554420000}')
      AND pg_temp.ok_ingest(
    '{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":0.8,"no_be_mfe":0.8,"mae_global_r":-0.4,"current_price":21010,"timestamp":1765554360000}'),
    'S1 three MFE updates accepted');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).be_mfe, 1.1, 'MFE_UPDATE: be_mfe is the running max');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).no_be_mfe, 1.1, 'MFE_UPDATE: no_be_mfe is the running max');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).mae_global_r, -0.4, 'MFE_UPDATE: mae_global_r is the running min');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).current_price, 21014::numeric,
          'MFE_UPDATE: current_price is the latest by event time, not by arrival');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).last_mfe_update_at, '2025-12-12 15:47:00+00'::timestamptz,
          'MFE_UPDATE: last_mfe_update_at is the latest update''s event time');
SELECT is((SELECT count(*)::integer FROM sync_audit_log WHERE trade_id = '20251212_104200000_BULLISH' AND action_type = 'anomaly'), 0,
          'plausible out-of-order updates are not anomalies');

-- BE_TRIGGERED, EXIT_BE ------------------------------------------------------------------
SELECT ok(pg_temp.ok_ingest('{"event_type":"BE_TRIGGERED","trade_id":"20251212_104200000_BULLISH","timestamp":1765554420000}'),
          'S1 BE_TRIGGERED accepted');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).be_triggered_at, '2025-12-12 15:47:00+00'::timestamptz, 'BE_TRIGGERED: be_triggered_at');
SELECT ok(pg_temp.ok_ingest(
    '{"event_type":"EXIT_BE","trade_id":"20251212_104200000_BULLISH","exit_price":21001.5,"final_mfe":1.4,"timestamp":1765554600000}'),
    'S1 EXIT_BE accepted');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).be_exit_time, '2025-12-12 15:50:00+00'::timestamptz, 'EXIT_BE: be_exit_time');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).be_mfe, 1.4, 'EXIT_BE: its final_mfe counts as be_mfe');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).status, 'active', 'EXIT_BE: still active (no EXIT_SL yet)');
SELECT ok((pg_temp.sig('20251212_104200000_BULLISH')).exit_type IS NULL AND (pg_temp.sig('20251212_104200000_BULLISH')).exit_price IS NULL
          AND (pg_temp.sig('20251212_104200000_BULLISH')).final_mfe IS NULL,
          'EXIT_BE does not fill the final-exit fields (exit_type, exit_price, final_mfe)');
SELECT ok(pg_temp.ok_ingest(
    '{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":1.4,"no_be_mfe":1.8,"mae_global_r":-0.4,"current_price":21019,"timestamp":1765554720000}'),
    'S1 MFE update between EXIT_BE and EXIT_SL accepted');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).no_be_mfe, 1.8, 'no_be_mfe still moves after EXIT_BE');

-- EXIT_SL ----------------------------------------------------------------------------------
SELECT ok(pg_temp.ok_ingest(
    '{"event_type":"EXIT_SL","trade_id":"20251212_104200000_BULLISH","exit_price":20990,"final_mfe":2.2,"timestamp":1765555200000}'),
    'S1 EXIT_SL accepted');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).status, 'closed', 'EXIT_SL: status closed');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).exit_type, 'EXIT_SL', 'EXIT_SL: exit_type');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).exit_time, '2025-12-12 16:00:00+00'::timestamptz, 'EXIT_SL: exit_time');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).exit_price, 20990::numeric, 'EXIT_SL: exit_price');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).final_mfe, 2.2, 'EXIT_SL: final_mfe');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).no_be_mfe, 2.2, 'EXIT_SL: final_mfe counts as no_be_mfe');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).mae_global_r, -1::numeric, 'EXIT_SL: mae_global_r becomes -1');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).be_mfe, 1.4, 'EXIT_SL leaves be_mfe alone');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).last_event_at, '2025-12-12 16:00:00+00'::timestamptz, 'last_event_at');

-- dirty marking ------------------------------------------------------------------------------
UPDATE signals SET dirty = false WHERE trade_id = '20251212_104200000_BULLISH';
SELECT ok(pg_temp.ok_ingest(
    '{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":1.4,"no_be_mfe":2.2,"timestamp":1765555260000}'),
    'S1 late MFE update accepted');
SELECT is((pg_temp.sig('20251212_104200000_BULLISH')).dirty, true, 'a new event marks the signal dirty for reconcile');
SELECT ok(pg_temp.ok_ingest('{"event_type":"SIGNAL_CREATED","trade_id":"20251212_123000000_BULLISH","timestamp":1765560600000}'),
          'a bare SIGNAL_CREATED for a new signal accepted');
SELECT is((pg_temp.sig('20251212_123000000_BULLISH')).dirty, true, 'a new signal row starts dirty');

-- signal_date is the date in the timezone setting (20:30 New York = 01:30 UTC next day) ---
SELECT ok(pg_temp.ok_ingest(
    '{"event_type":"SIGNAL_CREATED","trade_id":"20251212_203000000_BEARISH","signal_time":1765589400000,"timestamp":1765589400000}'),
    'evening SIGNAL_CREATED accepted');
SELECT is((pg_temp.sig('20251212_203000000_BEARISH')).signal_date, '2025-12-12'::date, 'signal_date is the New York date');

-- S2: CANCELLED ------------------------------------------------------------------------------
SELECT ok(pg_temp.ok_ingest(
    '{"event_type":"CANCELLED","trade_id":"20251212_111500000_BEARISH","cancelled_time":1765556400000,'
    '"cancel_reason":"opposite signal","bars_pending":7,"cancelled_by":"20251212_112000000_BULLISH"}'),
    'S2 CANCELLED accepted');
SELECT is((pg_temp.sig('20251212_111500000_BEARISH')).status, 'cancelled', 'CANCELLED: status cancelled');
SELECT is((pg_temp.sig('20251212_111500000_BEARISH')).cancel_detection, 'explicit', 'CANCELLED: cancel_detection explicit');
SELECT is((pg_temp.sig('20251212_111500000_BEARISH')).cancelled_by, '20251212_112000000_BULLISH', 'CANCELLED: cancelled_by');
SELECT is((pg_temp.sig('20251212_111500000_BEARISH')).bars_pending, 7, 'CANCELLED: bars_pending');
SELECT is((pg_temp.sig('20251212_111500000_BEARISH')).cancel_reason, 'opposite signal', 'CANCELLED: cancel_reason');
SELECT is((pg_temp.sig('20251212_111500000_BEARISH')).cancelled_at, to_timestamp(1765556400), 'CANCELLED: cancelled_at');

-- status precedence ------------------------------------------------------------------------
SELECT ok(pg_temp.ok_ingest('{"event_type":"CANCELLED","trade_id":"20251212_113000000_BULLISH","timestamp":1765557000000}')
      AND pg_temp.ok_ingest('{"event_type":"ENTRY","trade_id":"20251212_113000000_BULLISH","entry_price":21000,"stop_loss":20980,"timestamp":1765556700000}'),
    'S3 CANCELLED then ENTRY accepted');
SELECT is((pg_temp.sig('20251212_113000000_BULLISH')).status, 'active', 'CANCELLED + ENTRY: active (active > cancelled)');
-- (the conflict a CANCELLED together with an ENTRY makes is audited by reconcile, not here)
SELECT ok(pg_temp.ok_ingest('{"event_type":"EXIT_SL","trade_id":"20251212_114000000_BEARISH","exit_price":21100,"timestamp":1765558000000}'),
    'S4 EXIT_SL without ENTRY accepted');
SELECT is((pg_temp.sig('20251212_114000000_BEARISH')).status, 'closed', 'EXIT_SL without ENTRY: closed');
SELECT ok(pg_temp.ok_ingest('{"event_type":"EXIT_SL","trade_id":"20251212_113000000_BULLISH","exit_price":20980,"timestamp":1765557600000}'),
    'S3 EXIT_SL accepted');
SELECT is((pg_temp.sig('20251212_113000000_BULLISH')).status, 'closed', 'CANCELLED + ENTRY + EXIT_SL: closed (closed > all)');

-- static field: first by event time, regardless of arrival; conflicts audited ---------------
SELECT ok(pg_temp.ok_ingest(
    '{"event_type":"ENTRY","trade_id":"20251212_120000000_BEARISH","entry_price":21100.5,"stop_loss":21110,"session":"NY Lunch","timestamp":1765559100000}'),
    'S5 later ENTRY (12:05) sent first');
SELECT ok(pg_temp.ok_ingest(
    '{"event_type":"ENTRY","trade_id":"20251212_120000000_BEARISH","entry_price":21100.25,"stop_loss":21110,"session":"NY Lunch","timestamp":1765558860000}'),
    'S5 earlier ENTRY (12:01) sent second');
SELECT is((pg_temp.sig('20251212_120000000_BEARISH')).entry_price, 21100.25, 'static field: the earlier ENTRY''s entry_price wins');
SELECT is((pg_temp.sig('20251212_120000000_BEARISH')).confirmation_time, to_timestamp(1765558860),
          'static field: the earlier ENTRY''s confirmation_time wins');
SELECT ok(EXISTS (SELECT 1 FROM sync_audit_log WHERE trade_id = '20251212_120000000_BEARISH'
                   AND action_type = 'conflict' AND field = 'entry_price'),
          'two ENTRY events with different entry_price: a conflict row in sync_audit_log');
SELECT is((SELECT count(*)::integer FROM sync_audit_log WHERE trade_id = '20251212_120000000_BEARISH'
            AND action_type = 'conflict' AND field IN ('stop_loss', 'session')), 0,
          'fields the two ENTRY events agree on are no conflict');
-- the same two ENTRYs in one call (the later one first) give the same registry and a conflict
SELECT ok((SELECT bool_and(status = 'accepted') FROM ingest_many(ARRAY[
    '{"event_type":"ENTRY","trade_id":"20251212_121000000_BEARISH","entry_price":21100.5,"stop_loss":21110,"timestamp":1765559700000}',
    '{"event_type":"ENTRY","trade_id":"20251212_121000000_BEARISH","entry_price":21100.25,"stop_loss":21110,"timestamp":1765559460000}'])),
    'S6 two ENTRYs in one call accepted');
SELECT is((pg_temp.sig('20251212_121000000_BEARISH')).entry_price, 21100.25, 'in one call too, the earlier ENTRY wins');
SELECT ok(EXISTS (SELECT 1 FROM sync_audit_log WHERE trade_id = '20251212_121000000_BEARISH'
                   AND action_type = 'conflict' AND field = 'entry_price'),
          'two disagreeing ENTRYs in one call: a conflict row');

-- anomalies: stored in the log, audited, not applied --------------------------------------
SELECT ok(pg_temp.ok_ingest('{"event_type":"ENTRY","trade_id":"20251212_130000000_BULLISH","entry_price":21200,"stop_loss":21190,"timestamp":1765562400000}')
      AND pg_temp.ok_ingest('{"event_type":"MFE_UPDATE","trade_id":"20251212_130000000_BULLISH","be_mfe":1.0,"no_be_mfe":1.0,"mae_global_r":-0.2,"timestamp":1765562460000}'),
    'S7 ENTRY and a first MFE update accepted');
CREATE TEMP TABLE anomaly_in ON COMMIT DROP AS
SELECT n, sigsync.ingest(p) AS res FROM (VALUES
    (1, '{"event_type":"MFE_UPDATE","trade_id":"20251212_130000000_BULLISH","be_mfe":-0.1,"timestamp":1765562520000}'),
    (2, '{"event_type":"MFE_UPDATE","trade_id":"20251212_130000000_BULLISH","mae_global_r":0.2,"timestamp":1765562580000}'),
    (3, '{"event_type":"MFE_UPDATE","trade_id":"20251212_130000000_BULLISH","mae_global_r":-1.5,"timestamp":1765562640000}'),
    (4, '{"event_type":"MFE_UPDATE","trade_id":"20251212_130000000_BULLISH","be_mfe":0.6,"timestamp":1765562700000}')) v(n, p);
SELECT pg_temp.project_queued();
SELECT is((SELECT array_agg(res ->> 'status' ORDER BY n) FROM anomaly_in), ARRAY['accepted','accepted','accepted','accepted'],
          'implausible updates are accepted (stored in the log)');
SELECT is((SELECT count(*)::integer FROM automated_signals a JOIN anomaly_in i ON a.id = (i.res -> 'event_ids' ->> 0)::bigint), 4,
          'the implausible events are in automated_signals');
SELECT results_eq(
    $$SELECT i.n, l.action_type, l.field, l.new_value
        FROM sync_audit_log l JOIN anomaly_in i ON l.event_id = (i.res -> 'event_ids' ->> 0)::bigint
       ORDER BY i.n$$,
    $$VALUES (1, 'anomaly', 'be_mfe', '-0.1'::jsonb), (2, 'anomaly', 'mae_global_r', '0.2'::jsonb),
             (3, 'anomaly', 'mae_global_r', '-1.5'::jsonb), (4, 'anomaly', 'be_mfe', '0.6'::jsonb)$$,
    'one anomaly audit row each: negative MFE, MAE > 0, MAE < -1 before an exit, MFE below an earlier MFE');
SELECT ok((SELECT bool_and(l.trade_id = '20251212_130000000_BULLISH' AND l.symbol = 'NQ1!' AND l.reason <> '')
             FROM sync_audit_log l WHERE l.action_type = 'anomaly' AND l.trade_id LIKE '20251212_1300%'),
          'anomaly rows name the signal and give a reason');
SELECT is((pg_temp.sig('20251212_130000000_BULLISH')).be_mfe, 1.0, 'anomalous MFEs are not applied (be_mfe stays 1.0)');
SELECT is((pg_temp.sig('20251212_130000000_BULLISH')).mae_global_r, -0.2, 'anomalous MAEs are not applied (mae stays -0.2)');
SELECT is((pg_temp.sig('20251212_130000000_BULLISH')).status, 'active', 'anomalies do not change the status');

-- ... and an implausible value is no observation at all: not the highest or lowest one, and
-- not its time. S7B: one call, so that one projection sees a plausible update at 13:31 and
-- implausible values after it; S7C: a signal whose every value is implausible -------------
SELECT ok((SELECT bool_and(status = 'accepted') FROM sigsync.ingest_many(ARRAY[
              '{"event_type":"ENTRY","trade_id":"20251212_133000000_BULLISH","entry_price":21250,"stop_loss":21240,"timestamp":1765564200000}',
              '{"event_type":"MFE_UPDATE","trade_id":"20251212_133000000_BULLISH","be_mfe":0.2,"no_be_mfe":0.3,"mae_global_r":-0.1,"timestamp":1765564260000}',
              '{"event_type":"MFE_UPDATE","trade_id":"20251212_133000000_BULLISH","be_mfe":-0.1,"no_be_mfe":-0.2,"mae_global_r":0.3,"timestamp":1765564320000}',
              '{"event_type":"MFE_UPDATE","trade_id":"20251212_133000000_BULLISH","mae_global_r":-1.5,"timestamp":1765564380000}',
              '{"event_type":"ENTRY","trade_id":"20251212_133500000_BULLISH","entry_price":21250,"stop_loss":21240,"timestamp":1765564500000}',
              '{"event_type":"MFE_UPDATE","trade_id":"20251212_133500000_BULLISH","be_mfe":-0.1,"no_be_mfe":-0.2,"mae_global_r":0.3,"timestamp":1765564560000}',
              '{"event_type":"MFE_UPDATE","trade_id":"20251212_133500000_BULLISH","mae_global_r":-1.5,"timestamp":1765564620000}',
              '{"event_type":"EXIT_BE","trade_id":"20251212_133500000_BULLISH","exit_price":21250,"final_mfe":-0.4,"timestamp":1765564680000}'])),
    'S7B / S7C two signals: a plausible update, then implausible values / only implausible values and an EXIT_BE with a negative final_mfe');
SELECT pg_temp.project_queued();
SELECT results_eq(
    $$SELECT s.trade_id, s.be_mfe, s.evt_be_mfe_at, s.no_be_mfe, s.evt_no_be_mfe_at, s.mae_global_r, s.evt_mae_global_r_at
        FROM sigsync.signals s WHERE s.trade_id IN ('20251212_133000000_BULLISH', '20251212_133500000_BULLISH')
       ORDER BY s.trade_id$$,
    $$VALUES ('20251212_133000000_BULLISH', 0.2, to_timestamp(1765564260), 0.3, to_timestamp(1765564260),
              -0.1, to_timestamp(1765564260)),
             ('20251212_133500000_BULLISH', NULL::numeric, NULL::timestamptz, NULL::numeric, NULL::timestamptz,
              NULL::numeric, NULL::timestamptz)$$,
    'S7B / S7C the running metrics and their times are the plausible values'' only; none without one');

-- "earlier" is by event time: the lower MFE arriving first is still an anomaly ----------
SELECT ok(pg_temp.ok_ingest('{"event_type":"MFE_UPDATE","trade_id":"20251212_131000000_BULLISH","be_mfe":0.6,"timestamp":1765563300000}')
      AND pg_temp.ok_ingest('{"event_type":"MFE_UPDATE","trade_id":"20251212_131000000_BULLISH","be_mfe":1.0,"timestamp":1765563240000}'),
    'S8 later-but-lower MFE sent before the earlier higher one');
SELECT is((pg_temp.sig('20251212_131000000_BULLISH')).be_mfe, 1.0, 'S8 be_mfe is the max (1.0)');
SELECT is((SELECT count(*)::integer FROM sync_audit_log
            WHERE trade_id = '20251212_131000000_BULLISH' AND action_type = 'anomaly' AND field = 'be_mfe'
              AND new_value = '0.6'::jsonb), 1,
          'MFE below an earlier (by event time) MFE is an anomaly even when it arrived first');

-- an exit's final_mfe is an earlier observation too: an MFE update below it after the exit is
-- an anomaly, whether the exit is projected first (S8B, its running max as stored) or both come
-- in one call (S8C, the window) -----------------------------------------------------------
SELECT ok(pg_temp.ok_ingest('{"event_type":"EXIT_BE","trade_id":"20251212_131200000_BULLISH","exit_price":21300,"final_mfe":1.0,"timestamp":1765563540000}')
      AND pg_temp.ok_ingest('{"event_type":"MFE_UPDATE","trade_id":"20251212_131200000_BULLISH","be_mfe":0.4,"timestamp":1765563600000}')
      AND (SELECT bool_and(status = 'accepted') FROM sigsync.ingest_many(ARRAY[
            '{"event_type":"MFE_UPDATE","trade_id":"20251212_131400000_BULLISH","be_mfe":0.4,"timestamp":1765563720000}',
            '{"event_type":"EXIT_BE","trade_id":"20251212_131400000_BULLISH","exit_price":21300,"final_mfe":1.0,"timestamp":1765563660000}'])),
    'S8B / S8C an EXIT_BE (final_mfe 1.0) and a later MFE update of 0.4, in two calls / in one');
SELECT pg_temp.project_queued();
SELECT is((SELECT array_agg(l.trade_id ORDER BY l.trade_id) FROM sync_audit_log l
            WHERE l.trade_id IN ('20251212_131200000_BULLISH', '20251212_131400000_BULLISH')
              AND l.action_type = 'anomaly' AND l.field = 'be_mfe' AND l.new_value = '0.4'::jsonb),
          ARRAY['20251212_131200000_BULLISH', '20251212_131400000_BULLISH'],
          'the MFE below the exit''s final_mfe is one anomaly either way');

-- ... and when the new update falls between stored ones (the range scan): EXIT_BE 1.0 at
-- 13:29, an update of 1.2 at 13:31, then one of 0.4 at 13:30 --------------------------------
SELECT ok(pg_temp.ok_ingest('{"event_type":"EXIT_BE","trade_id":"20251212_131600000_BULLISH","exit_price":21300,"final_mfe":1.0,"timestamp":1765564140000}')
      AND pg_temp.ok_ingest('{"event_type":"MFE_UPDATE","trade_id":"20251212_131600000_BULLISH","be_mfe":1.2,"timestamp":1765564260000}')
      AND pg_temp.ok_ingest('{"event_type":"MFE_UPDATE","trade_id":"20251212_131600000_BULLISH","be_mfe":0.4,"timestamp":1765564200000}'),
    'S8D an exit, a later update, then an update between them');
SELECT is((SELECT count(*)::integer FROM sync_audit_log
            WHERE trade_id = '20251212_131600000_BULLISH' AND action_type = 'anomaly' AND field = 'be_mfe'
              AND new_value = '0.4'::jsonb), 1,
          'S8D the update below the earlier exit''s final_mfe is an anomaly (found by the range scan)');

-- a negative final_mfe on an exit is a negative MFE: audited, not applied ----------------
SELECT ok(pg_temp.ok_ingest('{"event_type":"ENTRY","trade_id":"20251212_132000000_BEARISH","entry_price":21300,"stop_loss":21310,"timestamp":1765563720000}')
      AND pg_temp.ok_ingest('{"event_type":"MFE_UPDATE","trade_id":"20251212_132000000_BEARISH","be_mfe":0.3,"no_be_mfe":0.3,"timestamp":1765563780000}')
      AND pg_temp.ok_ingest('{"event_type":"EXIT_SL","trade_id":"20251212_132000000_BEARISH","exit_price":21310,"final_mfe":-0.5,"timestamp":1765563900000}'),
    'S9 EXIT_SL with a negative final_mfe accepted');
SELECT is((pg_temp.sig('20251212_132000000_BEARISH')).status, 'closed', 'S9 closed');
SELECT is((pg_temp.sig('20251212_132000000_BEARISH')).no_be_mfe, 0.3, 'S9 the negative final_mfe is not applied to no_be_mfe');
SELECT is((pg_temp.sig('20251212_132000000_BEARISH')).final_mfe, NULL, 'S9 the negative final_mfe is not applied to final_mfe');
SELECT ok(EXISTS (SELECT 1 FROM sync_audit_log l JOIN automated_signals a ON a.id = l.event_id AND a.symbol = l.symbol
                   WHERE l.action_type = 'anomaly' AND a.trade_id = '20251212_132000000_BEARISH' AND a.event_type = 'EXIT_SL'),
          'S9 the negative final_mfe is audited as an anomaly (DESIGN §3: negative MFE)');

-- indicator_status: latest by event time wins -------------------------------------------
SELECT ok(pg_temp.ok_ingest('{"event_type":"HEARTBEAT","tracked_signals":5,"indicator_version":"v2","timestamp":1765556400000}')
      AND pg_temp.ok_ingest('{"event_type":"HEARTBEAT","tracked_signals":3,"indicator_version":"v1","timestamp":1765556100000}'),
    'two heartbeats, the newer first');
SELECT results_eq(
    $$SELECT last_heartbeat_at, tracked_signals, indicator_version FROM indicator_status WHERE source = 'indicator'$$,
    $$VALUES (to_timestamp(1765556400), 5, 'v2')$$,
    'HEARTBEAT: the latest by event time wins even though the older arrived later');
SELECT ok(pg_temp.ok_ingest('{"event_type":"HEARTBEAT","tracked_signals":6,"indicator_version":"v3","timestamp":1765556460000}'),
    'a newer heartbeat');
SELECT results_eq(
    $$SELECT last_heartbeat_at, tracked_signals, indicator_version FROM indicator_status WHERE source = 'indicator'$$,
    $$VALUES (to_timestamp(1765556460), 6, 'v3')$$,
    'HEARTBEAT: a newer heartbeat replaces the status');
SELECT ok(pg_temp.ok_ingest('{"event_type":"SYNC_STATUS","tracking":["20251212_104200000_BULLISH"],"not_tracking":[],"timestamp":1765556400000}')
      AND pg_temp.ok_ingest('{"event_type":"SYNC_STATUS","tracking":["20251212_111500000_BEARISH"],"not_tracking":["20251212_104200000_BULLISH"],"timestamp":1765556000000}'),
    'two sync statuses, the newer first');
SELECT results_eq(
    $$SELECT tracking, not_tracking, sync_status_at FROM indicator_status WHERE source = 'indicator'$$,
    $$VALUES (ARRAY['20251212_104200000_BULLISH'], '{}'::text[], to_timestamp(1765556400))$$,
    'SYNC_STATUS: the latest by event time wins');
SELECT is((SELECT tracked_signals FROM indicator_status WHERE source = 'indicator'), 6,
          'SYNC_STATUS does not disturb the heartbeat fields');
SELECT ok(pg_temp.ok_ingest('{"event_type":"HEARTBEAT","source":"tv-alt","tracked_signals":1,"timestamp":1765556000000}'),
    'a heartbeat from another source');
SELECT is((SELECT tracked_signals FROM indicator_status WHERE source = 'tv-alt'), 1, 'indicator_status is per source');

-- S10: ingest queues an MFE update on its signal's row, in the transaction that stores it; the
-- next cycle projects it, and its own projection does not keep the signal marked -----------
SELECT ok(sigsync.ingest('{"event_type":"ENTRY","trade_id":"20251212_140000000_BULLISH","entry_price":21400,"stop_loss":21390,"timestamp":1765566000000}') ->> 'status' = 'accepted'
      AND sigsync.ingest('{"event_type":"MFE_UPDATE_BATCH","timestamp":1765566120000,"updates":[{"trade_id":"20251212_140000000_BULLISH","be_mfe":0.7,"no_be_mfe":0.7,"mae_global_r":-0.1,"current_price":21407}]}') ->> 'status' = 'accepted'
      AND sigsync.ingest('{"event_type":"MFE_UPDATE","trade_id":"20251212_140000000_BULLISH","be_mfe":0.5,"timestamp":1765566060000}') ->> 'status' = 'accepted',
    'S10 an ENTRY, then a batch of one MFE update and an earlier, lower single update');
SELECT is((SELECT array_agg(a.id ORDER BY a.id) FROM automated_signals a
            WHERE a.trade_id = '20251212_140000000_BULLISH' AND a.event_type = 'MFE_UPDATE'),
          (pg_temp.sig('20251212_140000000_BULLISH')).queued_events,
          'S10 both updates are stored and queued on the row, in arrival order');
SELECT ok((pg_temp.sig('20251212_140000000_BULLISH')).entry_price = 21400
          AND (pg_temp.sig('20251212_140000000_BULLISH')).be_mfe IS NULL
          AND (pg_temp.sig('20251212_140000000_BULLISH')).current_price IS NULL,
          'S10 ingest projects the ENTRY now and leaves the updates to the cycle');
SELECT is((SELECT count(*)::integer FROM sync_audit_log
            WHERE trade_id = '20251212_140000000_BULLISH' AND action_type = 'anomaly'), 0,
          'S10 the late, lower update is not judged before its projection');
SELECT is(sigsync.reconcile() ->> 'status', 'ok', 'S10 a reconcile cycle');
SELECT results_eq(
    $$SELECT be_mfe, no_be_mfe, mae_global_r, current_price, last_mfe_update_at, queued_events, dirty
        FROM sigsync.signals WHERE trade_id = '20251212_140000000_BULLISH'$$,
    $$VALUES (0.7, 0.7, -0.1, 21407::numeric, to_timestamp(1765566120), NULL::bigint[], false)$$,
    'S10 the cycle projected the updates (running max, latest price), emptied the queue and cleared the mark');
SELECT is((SELECT count(*)::integer FROM sync_audit_log
            WHERE trade_id = '20251212_140000000_BULLISH' AND action_type = 'anomaly' AND field = 'be_mfe'), 0,
          'S10 an update earlier by event time than a higher one is no anomaly');
SELECT is(sigsync.ingest('{"event_type":"MFE_UPDATE","trade_id":"20251212_140000000_BULLISH","be_mfe":0.2,"timestamp":1765566180000}') ->> 'status',
          'accepted', 'S10 a later update below the max, queued');
SELECT is(rebuild() > 0, true, 'S10 rebuild');
SELECT is((SELECT count(*)::integer FROM sync_audit_log
            WHERE trade_id = '20251212_140000000_BULLISH' AND action_type = 'anomaly' AND field = 'be_mfe'
              AND new_value = '0.2'::jsonb), 1,
          'S10 rebuild checks what was still queued: the update below an earlier one is one anomaly');
SELECT results_eq(
    $$SELECT be_mfe, current_price, queued_events FROM sigsync.signals WHERE trade_id = '20251212_140000000_BULLISH'$$,
    $$VALUES (0.7, 21407::numeric, NULL::bigint[])$$,
    'S10 rebuild projects every event at once: nothing queued');

-- S10b: in one call with other events, the updates are still left to the cycle: the call
-- projects its ENTRY, and the update in the same call only queues --------------------------
SELECT ok((SELECT bool_and(status = 'accepted') FROM sigsync.ingest_many(ARRAY[
              '{"event_type":"ENTRY","trade_id":"20251212_143000000_BULLISH","entry_price":21500,"stop_loss":21490,"timestamp":1765567800000}',
              '{"event_type":"MFE_UPDATE","trade_id":"20251212_143000000_BULLISH","be_mfe":0.4,"no_be_mfe":0.4,"mae_global_r":-0.2,"current_price":21504,"timestamp":1765567860000}'])),
          'S10b an ENTRY and an MFE update in one ingest_many call');
SELECT results_eq(
    $$SELECT s.entry_price, s.be_mfe, s.current_price, s.last_mfe_update_at, cardinality(s.queued_events)
        FROM sigsync.signals s WHERE s.trade_id = '20251212_143000000_BULLISH'$$,
    $$VALUES (21500::numeric, NULL::numeric, NULL::numeric, NULL::timestamptz, 1)$$,
    'S10b the call projects the ENTRY and queues the update, which it does not project');
SELECT is(sigsync.reconcile() ->> 'status', 'ok', 'S10b a reconcile cycle');
SELECT results_eq(
    $$SELECT s.be_mfe, s.current_price, s.queued_events FROM sigsync.signals s
       WHERE s.trade_id = '20251212_143000000_BULLISH'$$,
    $$VALUES (0.4, 21504::numeric, NULL::bigint[])$$,
    'S10b the cycle projected the queued update');

-- S11: an incremental cycle projects about 5,000 queued updates at most (whole signals; a queue
-- holds 5,000 at most, S13), so a
-- backlog does not hold the rows' locks in one long cycle; the rest stays queued and marked, and
-- the summary says how many wait --
SELECT ok((SELECT bool_and(sigsync.ingest(format(
                '{"event_type":"ENTRY","symbol":"BIG","trade_id":"20251212_15%s00000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T20:%s:00Z"}',
                n, n)) ->> 'status' = 'accepted')
             FROM unnest(ARRAY['10', '20', '30']) n)
      AND (SELECT bool_and(status = 'accepted') FROM sigsync.ingest_many(ARRAY(
             SELECT jsonb_build_object('event_type', 'MFE_UPDATE_BATCH', 'symbol', 'BIG',
                                       'updates', (SELECT jsonb_agg(jsonb_build_object(
                                                       'trade_id', '20251212_15' || n || '00000_BULLISH',
                                                       'be_mfe', 0.5, 'timestamp', 1765570000000 + (b * 500 + i) * 1000))
                                                     FROM generate_series(1, 500) i))::text   -- (a body: 64 KiB at most)
               FROM unnest(ARRAY['10', '20', '30']) n, generate_series(0, 7) b))),
    'S11 three signals with 4,000 queued MFE updates each');
SELECT is(sigsync.reconcile('2025-12-12 23:59:00+00') ->> 'mfe_updates_left', '4000',
          'S11 an incremental cycle: 4,000 updates left, its summary says');
SELECT results_eq($$SELECT s.trade_id, cardinality(s.queued_events), s.dirty, (pg_temp.field_prov(s, 'be_mfe')).tier
                      FROM sigsync.signals s WHERE s.symbol = 'BIG' ORDER BY s.trade_id$$,
                  $$VALUES ('20251212_151000000_BULLISH', NULL::integer, false, 'event'),
                           ('20251212_152000000_BULLISH', NULL, false, 'event'),
                           ('20251212_153000000_BULLISH', 4000, true, '2')$$,
                  'S11 it projected the signals that begin within its 5,000 (whole ones: 8,000 updates, be_mfe '
                  'from events); the third keeps its queue and its mark (its be_mfe: Tier 2 until then)');
SELECT is(ARRAY[sigsync.reconcile('2025-12-12 23:59:00+00') ->> 'mfe_updates_left',
                sigsync.reconcile('2025-12-12 23:59:00+00') ->> 'mfe_updates_left'], ARRAY['0', '0'],
          'S11 the next cycles go on with them');
SELECT is((SELECT count(*)::integer FROM sigsync.signals WHERE symbol = 'BIG' AND (queued_events IS NOT NULL OR dirty)), 0,
          'S11 ... projected the rest');

-- S12: update_signal_health refreshes a signal's health as its events say: queued updates first
SELECT ok(sigsync.ingest('{"event_type":"ENTRY","trade_id":"20251212_141000000_BULLISH","entry_price":21400,"stop_loss":21390,"timestamp":1765566600000}') ->> 'status' = 'accepted'
      AND sigsync.ingest('{"event_type":"MFE_UPDATE","trade_id":"20251212_141000000_BULLISH","be_mfe":0.4,"no_be_mfe":0.4,"mae_global_r":-0.2,"timestamp":1765566660000}') ->> 'status' = 'accepted',
    'S12 an ENTRY and an MFE update (queued)');
SELECT isnt(sigsync.update_signal_health('20251212_141000000_BULLISH'), NULL, 'S12 update_signal_health scores it');
SELECT results_eq($$SELECT s.be_mfe, s.queued_events, s.dirty, m.gaps ? 'no_mae'
                      FROM sigsync.signals s JOIN sigsync.signal_health_metrics m USING (symbol, trade_id)
                     WHERE s.trade_id = '20251212_141000000_BULLISH'$$,
                  $$VALUES (0.4, NULL::bigint[], true, false)$$,
                  'S12 ... after projecting the queued update (no no_mae gap), and the signal stays marked for the cycle');

-- S13: with no cycle running, a signal's queue stays bounded: past 5,000 events ingest projects it
SELECT ok(sigsync.ingest('{"event_type":"ENTRY","symbol":"NOCYCLE","trade_id":"20251212_151000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T20:10:00Z"}') ->> 'status' = 'accepted'
      AND (SELECT bool_and(status = 'accepted') FROM sigsync.ingest_many(ARRAY(
             SELECT jsonb_build_object('event_type', 'MFE_UPDATE_BATCH', 'symbol', 'NOCYCLE',
                                       'updates', (SELECT jsonb_agg(jsonb_build_object(
                                                       'trade_id', '20251212_151000000_BULLISH',
                                                       'be_mfe', 0.1 + b / 100.0, 'timestamp', 1765570000000 + (b * 500 + i) * 1000))
                                                     FROM generate_series(1, 500) i))::text
               FROM generate_series(0, 10) b)))
      AND (SELECT bool_and(status = 'accepted') FROM sigsync.ingest_many(ARRAY[
             jsonb_build_object('event_type', 'MFE_UPDATE_BATCH', 'symbol', 'NOCYCLE',
                                'updates', (SELECT jsonb_agg(jsonb_build_object(
                                                'trade_id', '20251212_151000000_BULLISH', 'be_mfe', 0.3,
                                                'timestamp', 1765570000000 + (5500 + i) * 1000))
                                              FROM generate_series(1, 500) i))::text])),
    'S13 no cycle: a call of 5,500 MFE updates for one signal (11 bodies of 500), then one of 500');
SELECT results_eq($$SELECT cardinality(queued_events), be_mfe FROM sigsync.signals WHERE symbol = 'NOCYCLE'$$,
                  $$VALUES (500, 0.2)$$,
                  'S13 the first call''s queue passed 5,000 and ingest projected it (be_mfe 0.2); the 500 of the second wait');

SELECT * FROM finish();
ROLLBACK;
