-- 24_cancellations: the alternation rule (DESIGN §7). Per symbol, in signal_time order, a
-- signal S with no ENTRY is cancelled by the first strictly later signal N of the opposite
-- direction (whatever became of N): cancelled_by = N, cancelled_at = N.signal_time,
-- bars_pending = (N.signal_time - S.signal_time) / bar_interval, reason
-- 'opposite_signal_appeared', detection 'inferred', confidence 0.9. An explicit CANCELLED wins;
-- a late ENTRY reverts the inference (audited 'cancel_reverted'); an ENTRY confirmed after
-- N.signal_time is one 'conflict', whether it arrived after the inference, together with N or
-- before N (C4, C12, C14: arrival order never changes the open gaps); an explicit CANCELLED
-- plus an ENTRY is active with one 'conflict'.
-- One symbol per scenario. Trade_ids are New York times: 10:00 ET = 15:00Z.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(90);

CREATE FUNCTION pg_temp.ing(p text) RETURNS text
LANGUAGE sql AS $$ SELECT sigsync.ingest(p) ->> 'status' $$;
-- a SIGNAL_CREATED for symbol / HHMM (ET) / direction
CREATE FUNCTION pg_temp.sc(p_symbol text, p_hhmm text, p_dir text) RETURNS text
LANGUAGE sql AS $$
    SELECT sigsync.ingest(jsonb_build_object(
        'event_type', 'SIGNAL_CREATED', 'symbol', p_symbol, 'trade_id', '20251212_' || p_hhmm || '00000_' || upper(p_dir),
        'direction', p_dir, 'session', 'NY AM', 'htf_alignment', jsonb_build_object('daily', p_dir),
        'signal_time', '2025-12-12 ' || p_hhmm::integer / 100 + 5 || ':' || right(p_hhmm, 2) || ':00+00',
        'timestamp', '2025-12-12 ' || p_hhmm::integer / 100 + 5 || ':' || right(p_hhmm, 2) || ':00+00')) ->> 'status'
$$;
CREATE FUNCTION pg_temp.entry(p_symbol text, p_hhmm text, p_dir text, p_at text) RETURNS text
LANGUAGE sql AS $$
    SELECT sigsync.ingest(jsonb_build_object(
        'event_type', 'ENTRY', 'symbol', p_symbol, 'trade_id', '20251212_' || p_hhmm || '00000_' || upper(p_dir),
        'entry_price', 100, 'stop_loss', CASE WHEN p_dir = 'Bullish' THEN 90 ELSE 110 END,
        'timestamp', '2025-12-12 ' || p_at || '+00')) ->> 'status'
$$;
CREATE FUNCTION pg_temp.sig(p_symbol text, p_hhmm text, p_dir text) RETURNS sigsync.signals
LANGUAGE sql AS $$ SELECT s.* FROM sigsync.signals s
                    WHERE s.symbol = p_symbol AND s.trade_id = '20251212_' || p_hhmm || '00000_' || upper(p_dir) $$;
-- a field's provenance row (sigsync.signal_provenance) of a signal
CREATE FUNCTION pg_temp.field_prov(p_sig sigsync.signals, p_field text) RETURNS sigsync.signal_provenance
LANGUAGE sql AS $$ SELECT p.* FROM sigsync.signal_provenance p
                    WHERE p.symbol = p_sig.symbol AND p.trade_id = p_sig.trade_id AND p.field = p_field $$;
CREATE FUNCTION pg_temp.tid(p_hhmm text, p_dir text) RETURNS text
LANGUAGE sql AS $$ SELECT '20251212_' || p_hhmm || '00000_' || upper(p_dir) $$;
CREATE FUNCTION pg_temp.audits(p_symbol text, p_hhmm text, p_dir text, p_action text) RETURNS integer
LANGUAGE sql AS $$ SELECT count(*)::integer FROM sigsync.sync_audit_log a
                    WHERE a.symbol = p_symbol AND a.trade_id = '20251212_' || p_hhmm || '00000_' || upper(p_dir)
                      AND a.action_type = p_action $$;
CREATE TEMP TABLE run (name text PRIMARY KEY, res jsonb) ON COMMIT DROP;

-- ---------------------------------------------------------------------------------------------
-- setup, cycle 1 at 15:10Z
-- ---------------------------------------------------------------------------------------------
SELECT is(ARRAY[
    -- C1: S 10:00 Bullish, B2 10:01 Bullish, N 10:03 Bearish, N2 10:06 Bearish (ingested first)
    pg_temp.sc('C1', '1006', 'Bearish'), pg_temp.sc('C1', '1003', 'Bearish'),
    pg_temp.sc('C1', '1000', 'Bullish'), pg_temp.sc('C1', '1001', 'Bullish'),
    -- C2: S 10:00 Bullish, N 10:02 Bearish, M 10:05 Bullish: N is cancelled itself and still cancels S
    pg_temp.sc('C2', '1000', 'Bullish'), pg_temp.sc('C2', '1002', 'Bearish'), pg_temp.sc('C2', '1005', 'Bullish'),
    -- C2E: N has an ENTRY: it cancels S and is not cancelled by M
    pg_temp.sc('C2E', '1000', 'Bullish'), pg_temp.sc('C2E', '1002', 'Bearish'), pg_temp.entry('C2E', '1002', 'Bearish', '15:03:00'),
    pg_temp.sc('C2E', '1005', 'Bullish'),
    -- C3: explicit CANCELLED that disagrees with what the rule would infer (N 10:03)
    pg_temp.sc('C3', '1000', 'Bullish'), pg_temp.sc('C3', '1003', 'Bearish'),
    pg_temp.ing('{"event_type":"CANCELLED","symbol":"C3","trade_id":"20251212_100000000_BULLISH","cancelled_time":"2025-12-12T15:05:00Z","cancel_reason":"opposite_signal_appeared","bars_pending":5,"cancelled_by":"20251212_100500000_BEARISH"}'),
    -- C3B: inferred now, explicit CANCELLED later
    pg_temp.sc('C3B', '1000', 'Bullish'), pg_temp.sc('C3B', '1003', 'Bearish'),
    -- C4 / C5 / C6: inferred now; a late ENTRY confirmed after / before / at N.signal_time
    pg_temp.sc('C4', '1000', 'Bullish'), pg_temp.sc('C4', '1003', 'Bearish'),
    pg_temp.sc('C5', '1000', 'Bullish'), pg_temp.sc('C5', '1003', 'Bearish'),
    pg_temp.sc('C6', '1000', 'Bullish'), pg_temp.sc('C6', '1003', 'Bearish'),
    -- C7: opposite signals with the same signal_time: not strictly later, no cancellation
    pg_temp.sc('C7', '1000', 'Bullish'), pg_temp.sc('C7', '1000', 'Bearish'),
    -- C8A / C8B: the opposite signal is of another symbol
    pg_temp.sc('C8A', '1000', 'Bullish'), pg_temp.sc('C8B', '1003', 'Bearish'),
    -- C9: explicit CANCELLED plus an ENTRY
    pg_temp.sc('C9', '1000', 'Bullish'), pg_temp.sc('C9', '1003', 'Bearish'), pg_temp.entry('C9', '1000', 'Bullish', '15:02:00'),
    pg_temp.ing('{"event_type":"CANCELLED","symbol":"C9","trade_id":"20251212_100000000_BULLISH","cancelled_time":"2025-12-12T15:03:00Z","cancel_reason":"opposite_signal_appeared","bars_pending":3,"cancelled_by":"20251212_100300000_BEARISH"}'),
    -- C10: S alone now; its opposite signal arrives after the first cycle
    pg_temp.sc('C10', '1000', 'Bullish'),
    -- C11: S cancelled by N 10:03 now; an earlier opposite signal (10:02) arrives later
    pg_temp.sc('C11', '1000', 'Bullish'), pg_temp.sc('C11', '1003', 'Bearish'),
    -- C12 / C13: S's ENTRY (confirmed after / before N 10:03) arrives with N, before any cycle
    pg_temp.sc('C12', '1000', 'Bullish'), pg_temp.entry('C12', '1000', 'Bullish', '15:04:00'), pg_temp.sc('C12', '1003', 'Bearish'),
    pg_temp.sc('C13', '1000', 'Bullish'), pg_temp.entry('C13', '1000', 'Bullish', '15:02:00'), pg_temp.sc('C13', '1003', 'Bearish'),
    -- C14: S's ENTRY confirmed at 15:05 now; N 10:03 arrives after the first cycle
    pg_temp.sc('C14', '1000', 'Bullish'), pg_temp.entry('C14', '1000', 'Bullish', '15:05:00'),
    -- C15: S confirmed at 15:05; N known only from its ENTRY (signal_time 10:03, from its trade_id),
    -- until its SIGNAL_CREATED says 09:59 (before S): then the conflict no longer holds
    pg_temp.sc('C15', '1000', 'Bullish'), pg_temp.entry('C15', '1000', 'Bullish', '15:05:00'),
    pg_temp.entry('C15', '1003', 'Bearish', '15:04:00'),
    -- C16: as C15, and an explicit CANCELLED for S arrives after the rule's conflict
    pg_temp.sc('C16', '1000', 'Bullish'), pg_temp.entry('C16', '1000', 'Bullish', '15:05:00'),
    pg_temp.entry('C16', '1003', 'Bearish', '15:04:00'),
    -- C17: the rule's conflict (confirmed 15:03, after N 10:01), then an explicit CANCELLED
    pg_temp.sc('C17', '1000', 'Bullish'), pg_temp.sc('C17', '1001', 'Bearish'), pg_temp.entry('C17', '1000', 'Bullish', '15:03:00')
    ], array_fill('accepted'::text, ARRAY[50]), 'setup events accepted');
INSERT INTO run VALUES ('c1', sigsync.reconcile(p_now => '2025-12-12 15:10:00+00'));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'c1'), 'ok', 'cycle 1 ok');

-- C1: inferred cancellation, all its fields ------------------------------------------------------
SELECT is((pg_temp.sig('C1', '1000', 'Bullish')).status, 'cancelled', 'C1 S: cancelled');
SELECT is((pg_temp.sig('C1', '1000', 'Bullish')).cancelled_by, pg_temp.tid('1003', 'Bearish'),
          'C1 S: cancelled_by the FIRST later opposite signal (10:03, not 10:06; not the same-direction 10:01)');
SELECT is((pg_temp.sig('C1', '1000', 'Bullish')).cancelled_at, '2025-12-12 15:03:00+00'::timestamptz, 'C1 S: cancelled_at = N.signal_time');
SELECT is((pg_temp.sig('C1', '1000', 'Bullish')).bars_pending, 3, 'C1 S: bars_pending (15:03 - 15:00) / 1 minute = 3');
SELECT is((pg_temp.sig('C1', '1000', 'Bullish')).cancel_reason, 'opposite_signal_appeared', 'C1 S: cancel_reason');
SELECT is((pg_temp.sig('C1', '1000', 'Bullish')).cancel_detection, 'inferred', 'C1 S: cancel_detection inferred');
SELECT is(ARRAY(SELECT (pg_temp.field_prov(pg_temp.sig('C1', '1000', 'Bullish'), f)).confidence
                  FROM unnest(ARRAY['cancelled_by', 'cancelled_at', 'bars_pending', 'cancel_reason', 'cancel_detection']) f),
          ARRAY[0.9, 0.9, 0.9, 0.9, 0.9], 'C1 S: every inferred field has confidence 0.9');
SELECT is((pg_temp.field_prov(pg_temp.sig('C1', '1000', 'Bullish'), 'cancelled_by')).source, 'rule:alternation', 'C1 S: source rule:alternation');
SELECT is((SELECT count(*)::integer FROM sync_audit_log a
            WHERE a.symbol = 'C1' AND a.trade_id = pg_temp.tid('1000', 'Bullish') AND a.action_type = 'fill'
              AND a.source = 'rule:alternation' AND a.confidence_score = 0.9
              AND a.run_id = (SELECT (res ->> 'run_id')::bigint FROM run WHERE name = 'c1')), 5,
          'C1 S: five audited fills of this run (by, at, bars_pending, reason, detection)');
SELECT is(ARRAY[(pg_temp.sig('C1', '1001', 'Bullish')).cancelled_by, (pg_temp.sig('C1', '1001', 'Bullish')).bars_pending::text],
          ARRAY[pg_temp.tid('1003', 'Bearish'), '2'], 'C1 B2: cancelled by the same N, bars_pending 2');
SELECT is((pg_temp.sig('C1', '1003', 'Bearish')).status, 'pending', 'C1 N: no later Bullish signal: pending');
SELECT is((pg_temp.sig('C1', '1006', 'Bearish')).status, 'pending', 'C1 N2: pending');

-- C2: whatever became of N ----------------------------------------------------------------------
SELECT is((pg_temp.sig('C2', '1000', 'Bullish')).cancelled_by, pg_temp.tid('1002', 'Bearish'), 'C2 S: cancelled by N');
SELECT is(ARRAY[(pg_temp.sig('C2', '1002', 'Bearish')).status, (pg_temp.sig('C2', '1002', 'Bearish')).cancelled_by],
          ARRAY['cancelled', pg_temp.tid('1005', 'Bullish')], 'C2 N: itself cancelled by M');
SELECT is((pg_temp.sig('C2E', '1000', 'Bullish')).cancelled_by, pg_temp.tid('1002', 'Bearish'), 'C2E S: cancelled by N, which has an ENTRY');
SELECT is((pg_temp.sig('C2E', '1002', 'Bearish')).status, 'active', 'C2E N: with an ENTRY, never cancelled by the rule');
SELECT ok((pg_temp.sig('C2E', '1002', 'Bearish')).cancelled_by IS NULL, 'C2E N: no cancelled_by');

-- C3: explicit wins ---------------------------------------------------------------------------------
SELECT is(ARRAY[(pg_temp.sig('C3', '1000', 'Bullish')).cancel_detection, (pg_temp.sig('C3', '1000', 'Bullish')).cancelled_by,
                (pg_temp.sig('C3', '1000', 'Bullish')).bars_pending::text, (pg_temp.sig('C3', '1000', 'Bullish')).cancelled_at::text],
          ARRAY['explicit', pg_temp.tid('1005', 'Bearish'), '5', '2025-12-12 15:05:00+00'],
          'C3: the explicit CANCELLED''s values stand (the rule would say 10:03, 3 bars)');
SELECT is(((pg_temp.field_prov(pg_temp.sig('C3', '1000', 'Bullish'), 'cancelled_by')).confidence)::numeric, 1.0, 'C3: confidence 1.0');
SELECT is((SELECT count(*)::integer FROM sync_audit_log a WHERE a.symbol = 'C3' AND a.source = 'rule:alternation'), 0,
          'C3: the rule writes nothing over the explicit cancellation');

-- C3B, C4, C5, C6 inferred for now ------------------------------------------------------------------
SELECT is(ARRAY[(pg_temp.sig('C3B', '1000', 'Bullish')).cancel_detection, (pg_temp.sig('C4', '1000', 'Bullish')).cancel_detection,
                (pg_temp.sig('C5', '1000', 'Bullish')).cancel_detection, (pg_temp.sig('C6', '1000', 'Bullish')).cancel_detection],
          ARRAY['inferred', 'inferred', 'inferred', 'inferred'], 'C3B, C4, C5, C6: inferred after cycle 1');

-- C7 same signal time, C8 other symbol ---------------------------------------------------------------
SELECT is(ARRAY[(pg_temp.sig('C7', '1000', 'Bullish')).status, (pg_temp.sig('C7', '1000', 'Bearish')).status],
          ARRAY['pending', 'pending'], 'C7: opposite signals at the same time do not cancel each other (strictly later)');
SELECT is((pg_temp.sig('C8A', '1000', 'Bullish')).status, 'pending', 'C8A: a later opposite signal of another symbol does not cancel');
SELECT ok((pg_temp.sig('C8A', '1000', 'Bullish')).cancelled_by IS NULL, 'C8A: no cancelled_by');

-- C9 explicit + ENTRY ----------------------------------------------------------------------------------
SELECT is((pg_temp.sig('C9', '1000', 'Bullish')).status, 'active', 'C9: explicit CANCELLED plus ENTRY: active (active > cancelled)');
SELECT is(pg_temp.audits('C9', '1000', 'Bullish', 'conflict'), 1, 'C9: one conflict audited');
SELECT is((SELECT ARRAY[a.field, a.old_value::text, a.new_value::text] FROM sync_audit_log a
            WHERE a.symbol = 'C9' AND a.action_type = 'conflict'), ARRAY['status', '"cancelled"', '"active"'],
          'C9: the conflict row: status cancelled -> active');

SELECT is((pg_temp.sig('C10', '1000', 'Bullish')).status, 'pending', 'C10: alone: pending');
SELECT is((pg_temp.sig('C11', '1000', 'Bullish')).cancelled_by, pg_temp.tid('1003', 'Bearish'), 'C11: cancelled by 10:03 for now');
-- C12 / C13: an ENTRY that came with N: nothing inferred; confirmed after N: one conflict ---------------
SELECT is((pg_temp.sig('C12', '1000', 'Bullish')).status, 'active', 'C12: the ENTRY came with N: active');
SELECT is(pg_temp.audits('C12', '1000', 'Bullish', 'cancel_reverted'), 0, 'C12: nothing was inferred, nothing reverted');
SELECT is(pg_temp.audits('C12', '1000', 'Bullish', 'conflict'), 1,
          'C12: confirmed after N.signal_time: a conflict, as when the ENTRY arrives after the inference (C4)');
SELECT is((SELECT ARRAY[a.field, a.old_value ->> 'cancelled_by', a.new_value::text, a.source] FROM sync_audit_log a
            WHERE a.symbol = 'C12' AND a.action_type = 'conflict'),
          ARRAY['status', pg_temp.tid('1003', 'Bearish'), '"active"', 'rule:alternation'],
          'C12: the conflict row names the opposite signal the rule would cancel it by');
SELECT ok((SELECT gaps ? 'anomaly' FROM signal_health_metrics WHERE symbol = 'C12' AND trade_id = pg_temp.tid('1000', 'Bullish')),
          'C12: the conflict is an open anomaly gap');
SELECT is(pg_temp.audits('C13', '1000', 'Bullish', 'conflict'), 0, 'C13: confirmed before N: no conflict');
SELECT is((pg_temp.sig('C14', '1000', 'Bullish')).status, 'active', 'C14: active, no opposite signal yet');
SELECT is(pg_temp.audits('C14', '1000', 'Bullish', 'conflict'), 0, 'C14: no conflict yet');
SELECT ok(pg_temp.audits('C15', '1000', 'Bullish', 'conflict') = 1
          AND (SELECT gaps ? 'anomaly' FROM signal_health_metrics WHERE symbol = 'C15' AND trade_id = pg_temp.tid('1000', 'Bullish')),
          'C15: N at 10:03 (its trade_id): a conflict, an open anomaly gap');
-- C1 2 + C2 2 + C2E 1 + C3B 1 + C4 1 + C5 1 + C6 1 + C11 1
SELECT is((SELECT (res ->> 'cancellations_inferred')::integer FROM run WHERE name = 'c1'), 10, 'cycle 1 summary: 10 inferred cancellations');
SELECT is((SELECT cancellations_inferred FROM sync_runs WHERE id = (SELECT (res ->> 'run_id')::bigint FROM run WHERE name = 'c1')), 10,
          'sync_runs.cancellations_inferred 10');

-- ---------------------------------------------------------------------------------------------
-- later events, cycle 2 at 15:11Z
-- ---------------------------------------------------------------------------------------------
SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"CANCELLED","symbol":"C3B","trade_id":"20251212_100000000_BULLISH","cancelled_time":"2025-12-12T15:03:00Z","cancel_reason":"opposite signal","bars_pending":3,"cancelled_by":"20251212_100300000_BEARISH"}'),
    pg_temp.entry('C4', '1000', 'Bullish', '15:04:00'),   -- confirmed after N (15:03)
    pg_temp.entry('C5', '1000', 'Bullish', '15:02:00'),   -- before N
    pg_temp.entry('C6', '1000', 'Bullish', '15:03:00'),   -- in N's bar
    pg_temp.sc('C10', '1004', 'Bearish'),
    pg_temp.sc('C11', '1002', 'Bearish'),
    pg_temp.sc('C14', '1003', 'Bearish'),                 -- after S's ENTRY (15:05)
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"C15","trade_id":"20251212_100300000_BEARISH","direction":"Bearish","signal_time":"2025-12-12T14:59:00Z","timestamp":"2025-12-12T14:59:00Z"}'),
    pg_temp.ing('{"event_type":"CANCELLED","symbol":"C16","trade_id":"20251212_100000000_BULLISH","cancelled_time":"2025-12-12T15:03:00Z","cancel_reason":"opposite signal","bars_pending":3,"cancelled_by":"20251212_100300000_BEARISH"}'),
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"C16","trade_id":"20251212_100300000_BEARISH","direction":"Bearish","signal_time":"2025-12-12T14:59:00Z","timestamp":"2025-12-12T14:59:00Z"}'),
    pg_temp.ing('{"event_type":"CANCELLED","symbol":"C17","trade_id":"20251212_100000000_BULLISH","cancelled_time":"2025-12-12T15:02:00Z","cancel_reason":"opposite signal","cancelled_by":"20251212_100100000_BEARISH"}')
    ], array_fill('accepted'::text, ARRAY[11]), 'later events accepted');
SELECT is((pg_temp.sig('C3B', '1000', 'Bullish')).cancel_detection, 'explicit', 'C3B: the explicit CANCELLED replaces the inference');
SELECT is((pg_temp.sig('C3B', '1000', 'Bullish')).cancel_reason, 'opposite signal', 'C3B: with its own reason');
SELECT is((SELECT ARRAY[a.old_value::text, a.new_value::text, a.tier, a.confidence_score::text] FROM sync_audit_log a
            WHERE a.symbol = 'C3B' AND a.field = 'cancel_detection' AND a.action_type = 'upgrade'),
          ARRAY['"inferred"', '"explicit"', 'event', '1.0'], 'C3B: inferred -> explicit audited as an upgrade');

INSERT INTO run VALUES ('c2', sigsync.reconcile(p_now => '2025-12-12 15:11:00+00'));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'c2'), 'ok', 'cycle 2 ok');
SELECT is((pg_temp.sig('C3B', '1000', 'Bullish')).cancel_detection, 'explicit', 'C3B: still explicit after the cycle');
SELECT is((SELECT count(*)::integer FROM sync_audit_log a WHERE a.symbol = 'C3B'
            AND a.run_id = (SELECT (res ->> 'run_id')::bigint FROM run WHERE name = 'c2') AND a.field LIKE 'cancel%'), 0,
          'C3B: the rule does not touch the explicit values');

-- C4: reverted, and a conflict (confirmed after N) ------------------------------------------------------
SELECT is((pg_temp.sig('C4', '1000', 'Bullish')).status, 'active', 'C4: the late ENTRY reverts the inference: active');
SELECT ok((pg_temp.sig('C4', '1000', 'Bullish')).cancelled_by IS NULL AND (pg_temp.sig('C4', '1000', 'Bullish')).cancelled_at IS NULL
          AND (pg_temp.sig('C4', '1000', 'Bullish')).cancel_detection IS NULL AND (pg_temp.sig('C4', '1000', 'Bullish')).bars_pending IS NULL
          AND (pg_temp.sig('C4', '1000', 'Bullish')).cancel_reason IS NULL, 'C4: the inferred fields are cleared');
SELECT ok(NOT EXISTS (SELECT 1 FROM sigsync.signal_provenance p
                       WHERE p.symbol = 'C4' AND p.trade_id = pg_temp.tid('1000', 'Bullish')
                         AND p.field IN ('cancelled_by', 'cancelled_at', 'cancel_detection')),
          'C4: and their provenance');
SELECT is(pg_temp.audits('C4', '1000', 'Bullish', 'cancel_reverted'), 1, 'C4: one cancel_reverted row');
SELECT is((SELECT a.old_value ->> 'cancelled_by' FROM sync_audit_log a WHERE a.symbol = 'C4' AND a.action_type = 'cancel_reverted'),
          pg_temp.tid('1003', 'Bearish'), 'C4: the cancel_reverted row keeps the reverted inference');
SELECT is((SELECT a.run_id FROM sync_audit_log a WHERE a.symbol = 'C4' AND a.action_type = 'cancel_reverted'),
          (SELECT (res ->> 'run_id')::bigint FROM run WHERE name = 'c2'), 'C4: audited in cycle 2');
SELECT is(pg_temp.audits('C4', '1000', 'Bullish', 'conflict'), 1, 'C4: confirmed after N.signal_time: also a conflict');
-- C5: reverted, no conflict ----------------------------------------------------------------------------
SELECT is((pg_temp.sig('C5', '1000', 'Bullish')).status, 'active', 'C5: reverted: active');
SELECT is(pg_temp.audits('C5', '1000', 'Bullish', 'cancel_reverted'), 1, 'C5: one cancel_reverted row');
SELECT is(pg_temp.audits('C5', '1000', 'Bullish', 'conflict'), 0, 'C5: confirmed before N: no conflict');
-- C6: same-bar confirmation -----------------------------------------------------------------------------
SELECT is((pg_temp.sig('C6', '1000', 'Bullish')).status, 'active', 'C6: confirmed in N''s bar: reverted, active');
SELECT is(pg_temp.audits('C6', '1000', 'Bullish', 'cancel_reverted'), 1, 'C6: one cancel_reverted row');
SELECT is(pg_temp.audits('C6', '1000', 'Bullish', 'conflict'), 0, 'C6: confirmed AT N.signal_time is not after it: no conflict');
SELECT is((SELECT (res ->> 'cancellations_reverted')::integer FROM run WHERE name = 'c2'), 3, 'cycle 2 summary: 3 reverted (C4, C5, C6)');
-- C14: the opposite signal arriving after the ENTRY finds the same conflict -----------------------------
SELECT is(pg_temp.audits('C14', '1000', 'Bullish', 'conflict'), 1,
          'C14: N arrived after the ENTRY confirmed at 15:05: one conflict, audited in cycle 2');
SELECT ok((pg_temp.sig('C14', '1000', 'Bullish')).dirty, 'C14: S, outside the working set, is marked for the next cycle');
SELECT ok((pg_temp.sig('C15', '1000', 'Bullish')).dirty,
          'C15: S, outside the working set, whose conflict named the moved N, is marked for the next cycle');
SELECT is(pg_temp.audits('C16', '1000', 'Bullish', 'conflict'), 2,
          'C16: the explicit CANCELLED plus the ENTRY is its own conflict, beside the rule''s');

-- cycle 2b at 15:11:30Z, an ordinary one: it scores what cycle 2 marked
INSERT INTO run VALUES ('c2b', sigsync.reconcile(p_now => '2025-12-12 15:11:30+00'));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'c2b'), 'ok', 'cycle 2b ok');
SELECT ok((SELECT gaps ? 'anomaly' FROM signal_health_metrics WHERE symbol = 'C14' AND trade_id = pg_temp.tid('1000', 'Bullish')),
          'C14: scored by the next ordinary cycle: its conflict is an open anomaly gap');
SELECT ok(NOT (SELECT gaps ? 'anomaly' FROM signal_health_metrics WHERE symbol = 'C15' AND trade_id = pg_temp.tid('1000', 'Bullish')),
          'C15: scored by the next ordinary cycle: the conflict ended, its gap is closed');
SELECT ok((SELECT gaps ? 'anomaly' FROM signal_health_metrics WHERE symbol = 'C16' AND trade_id = pg_temp.tid('1000', 'Bullish')),
          'C16: N moved too, but the explicit CANCELLED plus ENTRY keeps the anomaly gap open');
-- C10: a signal outside the working set is reached through its new opposite signal ------------------------
SELECT is((pg_temp.sig('C10', '1000', 'Bullish')).cancelled_by, pg_temp.tid('1004', 'Bearish'),
          'C10: the new opposite signal cancels the earlier (not dirty, pending) one');
SELECT is((pg_temp.sig('C10', '1000', 'Bullish')).bars_pending, 4, 'C10: bars_pending 4');
SELECT is((SELECT (res ->> 'cancellations_inferred')::integer FROM run WHERE name = 'c2'), 1, 'cycle 2 summary: 1 inferred (C10)');
-- C11: the first later opposite signal is now 10:02 -------------------------------------------------------
SELECT is(ARRAY[(pg_temp.sig('C11', '1000', 'Bullish')).cancelled_by, (pg_temp.sig('C11', '1000', 'Bullish')).cancelled_at::text,
                (pg_temp.sig('C11', '1000', 'Bullish')).bars_pending::text],
          ARRAY[pg_temp.tid('1002', 'Bearish'), '2025-12-12 15:02:00+00', '2'],
          'C11: a late-arriving earlier opposite signal becomes the canceller (10:02, 2 bars)');
SELECT is((pg_temp.sig('C11', '1002', 'Bearish')).status, 'pending', 'C11: the 10:02 signal itself is pending');

-- ---------------------------------------------------------------------------------------------
-- cycle 3 at 15:12Z: nothing is audited twice
-- ---------------------------------------------------------------------------------------------
-- C17: the explicit conflict reviewed; the rule's, made before the CANCELLED came, no longer holds
UPDATE sync_audit_log SET reviewed_at = now()
 WHERE symbol = 'C17' AND action_type = 'conflict' AND source IS DISTINCT FROM 'rule:alternation';
INSERT INTO run VALUES ('c3', sigsync.reconcile(p_now => '2025-12-12 15:12:00+00', p_full => true));
SELECT ok(pg_temp.audits('C17', '1000', 'Bullish', 'conflict') = 2
          AND NOT (SELECT gaps ? 'anomaly' FROM signal_health_metrics WHERE symbol = 'C17' AND trade_id = pg_temp.tid('1000', 'Bullish')),
          'C17: once the explicit conflict is reviewed, no anomaly gap: the rule leaves an explicit CANCELLED whole, as if it had come first');
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'c3'), 'ok', 'cycle 3 (full) ok');
SELECT is(pg_temp.audits('C9', '1000', 'Bullish', 'conflict'), 1, 'C9: the conflict is audited once, not per cycle');
SELECT is(pg_temp.audits('C12', '1000', 'Bullish', 'conflict') + pg_temp.audits('C14', '1000', 'Bullish', 'conflict'), 2,
          'C12, C14: their conflicts are not audited again');
SELECT ok((SELECT gaps ? 'anomaly' FROM signal_health_metrics WHERE symbol = 'C14' AND trade_id = pg_temp.tid('1000', 'Bullish')),
          'C14: its conflict is an open anomaly gap once the signal is checked');
SELECT is((pg_temp.sig('C15', '1003', 'Bearish')).signal_time, '2025-12-12 14:59:00+00'::timestamptz,
          'C15: N''s SIGNAL_CREATED moved it to 09:59, before S');
SELECT ok(pg_temp.audits('C15', '1000', 'Bullish', 'conflict') = 1
          AND NOT (SELECT gaps ? 'anomaly' FROM signal_health_metrics WHERE symbol = 'C15' AND trade_id = pg_temp.tid('1000', 'Bullish')),
          'C15: the conflict no longer holds: its audit row stays, its anomaly gap is closed');
SELECT is(pg_temp.audits('C4', '1000', 'Bullish', 'conflict') + pg_temp.audits('C4', '1000', 'Bullish', 'cancel_reverted'), 2,
          'C4: reversion and conflict not audited again');
SELECT is((SELECT count(*)::integer FROM sync_audit_log a
            WHERE a.run_id = (SELECT (res ->> 'run_id')::bigint FROM run WHERE name = 'c3')
              AND (a.source = 'rule:alternation' OR a.field LIKE 'cancel%' OR a.action_type IN ('cancel_reverted', 'conflict'))), 0,
          'cycle 3: no cancellation writes at all');
SELECT is((SELECT (res ->> 'cancellations_inferred')::integer + (res ->> 'cancellations_reverted')::integer FROM run WHERE name = 'c3'), 0,
          'cycle 3 summary: nothing inferred or reverted');
SELECT is((SELECT count(*)::integer FROM signals WHERE status = 'cancelled' AND cancel_detection = 'inferred'), 7,
          'seven inferred cancellations stand (C1 x2, C2 x2, C2E, C10, C11; C3B explicit, C4-C6 reverted)');
-- C18: two later opposite signals at the same signal_time: the first by (signal_time, trade_id),
-- the smaller trade_id, whichever arrived first
SELECT is(ARRAY[
    pg_temp.sc('C18', '1000', 'Bullish'),
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"C18","trade_id":"20251212_100200000_BEARISH","direction":"Bearish","signal_time":"2025-12-12T15:02:00Z","timestamp":"2025-12-12T15:02:00Z"}'),
    pg_temp.ing('{"event_type":"SIGNAL_CREATED","symbol":"C18","trade_id":"20251212_100100000_BEARISH","direction":"Bearish","signal_time":"2025-12-12T15:02:00Z","timestamp":"2025-12-12T15:02:00Z"}')
    ], array_fill('accepted'::text, ARRAY[3]), 'C18: events accepted');
INSERT INTO run VALUES ('c4', sigsync.reconcile(p_now => '2025-12-12 15:13:00+00'));
SELECT is((SELECT res ->> 'status' FROM run WHERE name = 'c4'), 'ok', 'cycle 4 ok');
SELECT is(ARRAY[(pg_temp.sig('C18', '1000', 'Bullish')).cancelled_by, (pg_temp.sig('C18', '1000', 'Bullish')).cancelled_at::text],
          ARRAY['20251212_100100000_BEARISH', '2025-12-12 15:02:00+00'],
          'C18: of two opposite signals at the same later time, the smaller trade_id cancels (arrival order aside)');
SELECT * FROM finish();
ROLLBACK;
