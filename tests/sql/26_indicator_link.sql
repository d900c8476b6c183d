-- 26_indicator_link: Tier 1 and the indicator link (DESIGN §8). Online (a HEARTBEAT within
-- heartbeat_timeout, 5 min): gaps only the indicator can fill (no_mfe_update, no_mae) make ONE
-- sync_requests row per cycle (trade_ids, reason, status 'open') and Tier 2 stays out; answers
-- are ordinary MFE_UPDATE events ('answered'); a request unanswered past sync_request_timeout
-- (3 min) is 'timed_out' (audited 'sync_timeout') and Tier 2 fills at once; SYNC_STATUS
-- not_tracking and an old heartbeat (offline) let Tier 2 fill at once.
-- The scenarios follow one another in time; each closes its trades before the next starts, so
-- that only the signals named are active.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(55);

CREATE FUNCTION pg_temp.ing(p text) RETURNS text
LANGUAGE sql AS $$ SELECT sigsync.ingest(p) ->> 'status' $$;
CREATE FUNCTION pg_temp.hb(p_at text) RETURNS text
LANGUAGE sql AS $$ SELECT sigsync.ingest(jsonb_build_object('event_type', 'HEARTBEAT', 'tracked_signals', 2,
                                                           'indicator_version', '2.1.0', 'timestamp', p_at)) ->> 'status' $$;
CREATE FUNCTION pg_temp.sig(p_symbol text) RETURNS sigsync.signals
LANGUAGE sql AS $$ SELECT s.* FROM sigsync.signals s WHERE s.symbol = p_symbol $$;
-- a field's provenance row (sigsync.signal_provenance) of a signal
CREATE FUNCTION pg_temp.field_prov(p_sig sigsync.signals, p_field text) RETURNS sigsync.signal_provenance
LANGUAGE sql AS $$ SELECT p.* FROM sigsync.signal_provenance p
                    WHERE p.symbol = p_sig.symbol AND p.trade_id = p_sig.trade_id AND p.field = p_field $$;
CREATE TEMP TABLE run (name text PRIMARY KEY, res jsonb) ON COMMIT DROP;
CREATE FUNCTION pg_temp.run_id(p_name text) RETURNS bigint
LANGUAGE sql AS $$ SELECT (res ->> 'run_id')::bigint FROM run WHERE name = p_name $$;
CREATE FUNCTION pg_temp.req(p_n integer) RETURNS sigsync.sync_requests
LANGUAGE sql AS $$ SELECT q.* FROM sigsync.sync_requests q ORDER BY q.id OFFSET p_n - 1 LIMIT 1 $$;

-- ---------------------------------------------------------------------------------------------
-- A. online: one request for two signals, no Tier 2 (cycle 15:10Z)
-- ---------------------------------------------------------------------------------------------
SELECT is(ARRAY[
    pg_temp.hb('2025-12-12T15:09:00Z'),
    -- L1: stale MFE (no update since the 15:00 confirmation)
    pg_temp.ing('{"event_type":"ENTRY","symbol":"L1","trade_id":"20251212_095900000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:00:00Z"}'),
    -- L1B: a recent MFE update without MAE
    pg_temp.ing('{"event_type":"ENTRY","symbol":"L1B","trade_id":"20251212_095900000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:00:00Z"}'),
    pg_temp.ing('{"event_type":"MFE_UPDATE","symbol":"L1B","trade_id":"20251212_095900000_BULLISH","be_mfe":0.2,"no_be_mfe":0.2,"timestamp":"2025-12-12T15:09:30Z"}')
    ], array_fill('accepted'::text, ARRAY[4]), 'A: HEARTBEAT, two ENTRY, an MFE update accepted');
INSERT INTO sigsync.price_bars (symbol, ts, open, high, low, close)
SELECT sym, '2025-12-12 15:00:00+00'::timestamptz + make_interval(mins => n), 100, 104, 99, 103
  FROM unnest(ARRAY['L1', 'L1B', 'L2', 'L3', 'L3B', 'L4']) sym, generate_series(1, 45) n;
SELECT is((SELECT ARRAY[last_heartbeat_at::text, tracked_signals::text, indicator_version] FROM indicator_status WHERE source = 'indicator'),
          ARRAY['2025-12-12 15:09:00+00', '2', '2.1.0'], 'HEARTBEAT updates indicator_status (time, tracked count, version)');
SELECT ok(sigsync._indicator_can_answer('indicator', 'L1', '20251212_095900000_BULLISH', '2025-12-12 15:10:00+00'), 'A: the indicator is online');

INSERT INTO run VALUES ('a', sigsync.reconcile(p_now => '2025-12-12 15:10:00+00'));
SELECT is((SELECT count(*)::integer FROM sync_requests), 1, 'A: ONE sync_requests row for the cycle');
SELECT is((pg_temp.req(1)).trade_ids, ARRAY['20251212_095900000_BULLISH', '20251212_095900000_BULLISH'], 'A: it names both trade_ids');
SELECT is((pg_temp.req(1)).symbols, ARRAY['L1', 'L1B'], 'A: ... with their symbols');
SELECT is((pg_temp.req(1)).status, 'open', 'A: status open');
SELECT is((pg_temp.req(1)).reason, 'no_mae,no_mfe_update', 'A: reason: the gaps asked about (L1 stale MFE, L1B no MAE)');
SELECT is(ARRAY[(pg_temp.req(1)).created_at::text, (pg_temp.req(1)).run_id::text],
          ARRAY['2025-12-12 15:10:00+00', pg_temp.run_id('a')::text], 'A: created at p_now by this run');
SELECT is((SELECT (res ->> 'sync_requests')::integer FROM run WHERE name = 'a'), 2, 'A: the summary counts the 2 signals asked for');
SELECT is((SELECT count(*)::integer FROM sync_audit_log WHERE action_type = 'sync_request' AND run_id = pg_temp.run_id('a')), 2,
          'A: one sync_request audit row per signal');
SELECT ok((pg_temp.sig('L1')).be_mfe IS NULL AND (pg_temp.sig('L1')).mae_global_r IS NULL, 'A: no Tier 2 MFE/MAE while the indicator can answer');
SELECT ok((pg_temp.sig('L1B')).mae_global_r IS NULL, 'A: L1B MAE left to the indicator');
SELECT is((SELECT count(*)::integer FROM sync_audit_log WHERE tier = '2' AND field IN ('be_mfe', 'no_be_mfe', 'mae_global_r')), 0,
          'A: no Tier 2 running-metric write at all');

-- B. a second cycle does not duplicate the request ---------------------------------------------------
INSERT INTO run VALUES ('b', sigsync.reconcile(p_now => '2025-12-12 15:11:00+00'));
SELECT is((SELECT count(*)::integer FROM sync_requests), 1, 'B: still one request (the open one covers both signals)');
SELECT is((SELECT (res ->> 'sync_requests')::integer FROM run WHERE name = 'b'), 0, 'B: the summary asks for nobody');
SELECT is((pg_temp.req(1)).status, 'open', 'B: the request stays open');

-- C. answered by MFE_UPDATE events (each asked signal must answer) ------------------------------------
SELECT is(pg_temp.ing('{"event_type":"MFE_UPDATE","symbol":"L1","trade_id":"20251212_095900000_BULLISH","be_mfe":0.4,"no_be_mfe":0.4,"mae_global_r":-0.1,"timestamp":"2025-12-12T15:11:30Z"}'),
          'accepted', 'C: L1 answers with an MFE_UPDATE');
INSERT INTO run VALUES ('c1', sigsync.reconcile(p_now => '2025-12-12 15:12:00+00'));
SELECT is((pg_temp.req(1)).status, 'open', 'C: open while L1B has not answered');
SELECT is(ARRAY[pg_temp.hb('2025-12-12T15:12:15Z'),
                pg_temp.ing('{"event_type":"MFE_UPDATE","symbol":"L1B","trade_id":"20251212_095900000_BULLISH","be_mfe":0.4,"no_be_mfe":0.4,"mae_global_r":-0.1,"timestamp":"2025-12-12T15:12:30Z"}')],
          ARRAY['accepted', 'accepted'], 'C: L1B answers');
INSERT INTO run VALUES ('c2', sigsync.reconcile(p_now => '2025-12-12 15:13:00+00'));
SELECT is((pg_temp.req(1)).status, 'answered', 'C: every asked signal updated after the request: answered');
SELECT is((pg_temp.req(1)).closed_at, '2025-12-12 15:13:00+00'::timestamptz, 'C: closed at the cycle''s p_now');
SELECT is((SELECT count(*)::integer FROM sync_audit_log WHERE action_type = 'sync_timeout'), 0, 'C: no timeout');
SELECT is((pg_temp.field_prov(pg_temp.sig('L1'), 'be_mfe')).tier, 'event', 'C: L1 MFE is the real answer (no Tier 2 ever)');
SELECT is(ARRAY[pg_temp.ing('{"event_type":"EXIT_SL","symbol":"L1","trade_id":"20251212_095900000_BULLISH","exit_price":90,"final_mfe":0.4,"timestamp":"2025-12-12T15:13:30Z"}'),
                pg_temp.ing('{"event_type":"EXIT_SL","symbol":"L1B","trade_id":"20251212_095900000_BULLISH","exit_price":90,"final_mfe":0.4,"timestamp":"2025-12-12T15:13:30Z"}')],
          ARRAY['accepted', 'accepted'], 'L1, L1B closed');

-- ---------------------------------------------------------------------------------------------
-- D. a request unanswered past sync_request_timeout (3 min): timed out, Tier 2 fills at once
-- ---------------------------------------------------------------------------------------------
SELECT is(ARRAY[pg_temp.hb('2025-12-12T15:22:00Z'),
                pg_temp.ing('{"event_type":"ENTRY","symbol":"L2","trade_id":"20251212_101900000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:20:00Z"}')],
          ARRAY['accepted', 'accepted'], 'D: heartbeat and ENTRY accepted');
INSERT INTO run VALUES ('d1', sigsync.reconcile(p_now => '2025-12-12 15:23:00+00'));
SELECT is(ARRAY[(pg_temp.req(2)).trade_ids[1], (pg_temp.req(2)).status], ARRAY['20251212_101900000_BULLISH', 'open'],
          'D: a request for L2');
SELECT is(pg_temp.hb('2025-12-12T15:25:00Z'), 'accepted', 'D: the indicator stays online');
INSERT INTO run VALUES ('d2', sigsync.reconcile(p_now => '2025-12-12 15:25:30+00'));
SELECT is((pg_temp.req(2)).status, 'open', 'D: not yet timed out after 2.5 minutes');
INSERT INTO run VALUES ('d3', sigsync.reconcile(p_now => '2025-12-12 15:26:01+00'));
SELECT is((pg_temp.req(2)).status, 'timed_out', 'D: unanswered for more than 3 minutes: timed_out');
SELECT is((SELECT ARRAY[a.trade_id, a.tier, a.source] FROM sync_audit_log a WHERE a.action_type = 'sync_timeout' AND a.run_id = pg_temp.run_id('d3')),
          ARRAY['20251212_101900000_BULLISH', '1', 'sync_request:' || (pg_temp.req(2)).id], 'D: audited sync_timeout for L2');
SELECT is((SELECT (res ->> 'sync_timeouts')::integer FROM run WHERE name = 'd3'), 1, 'D: the summary counts the timeout');
-- DESIGN §8: "a request stays unanswered past sync_request_timeout, Tier 2 fills at once";
-- §2 orders the cycle "... Tier 1 requests, Tier 2 ...": the cycle that times the request out fills.
SELECT is((pg_temp.field_prov(pg_temp.sig('L2'), 'be_mfe')).tier, '2', 'D: Tier 2 fills the MFE in the cycle that times the request out');
SELECT ok(NOT (SELECT gaps ? 'no_mfe_update' FROM signal_health_metrics WHERE symbol = 'L2'),
          'D: ... so no_mfe_update is closed after that cycle (bars until 15:26)');
INSERT INTO run VALUES ('d4', sigsync.reconcile(p_now => '2025-12-12 15:26:30+00'));
SELECT is(ARRAY[(pg_temp.sig('L2')).be_mfe, (pg_temp.sig('L2')).mae_global_r], ARRAY[0.4, -0.1]::numeric[],
          'D: Tier 2 values from the bars after the timeout');
SELECT is((SELECT count(*)::integer FROM sync_requests), 2, 'D: no new request for a signal whose request timed out');
SELECT is(pg_temp.ing('{"event_type":"EXIT_SL","symbol":"L2","trade_id":"20251212_101900000_BULLISH","exit_price":90,"final_mfe":0.4,"timestamp":"2025-12-12T15:27:00Z"}'),
          'accepted', 'L2 closed');

-- ---------------------------------------------------------------------------------------------
-- E. SYNC_STATUS not_tracking: Tier 2 at once, no request
-- ---------------------------------------------------------------------------------------------
SELECT is(ARRAY[
    pg_temp.ing('{"event_type":"ENTRY","symbol":"L3","trade_id":"20251212_102900000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:30:00Z"}'),
    pg_temp.ing('{"event_type":"ENTRY","symbol":"L3B","trade_id":"20251212_102900000_BEARISH","entry_price":100,"stop_loss":110,"timestamp":"2025-12-12T15:30:00Z"}'),
    pg_temp.hb('2025-12-12T15:33:00Z'),
    pg_temp.ing('{"event_type":"SYNC_STATUS","tracking":["20251212_102900000_BEARISH"],"not_tracking":["20251212_102900000_BULLISH"],"timestamp":"2025-12-12T15:33:00Z"}')
    ], array_fill('accepted'::text, ARRAY[4]), 'E: two ENTRY, HEARTBEAT, SYNC_STATUS accepted');
SELECT is((SELECT ARRAY[tracking, not_tracking] FROM indicator_status WHERE source = 'indicator'),
          ARRAY[ARRAY['20251212_102900000_BEARISH'], ARRAY['20251212_102900000_BULLISH']], 'E: SYNC_STATUS stored in indicator_status');
INSERT INTO run VALUES ('e', sigsync.reconcile(p_now => '2025-12-12 15:34:00+00'));
SELECT is((pg_temp.field_prov(pg_temp.sig('L3'), 'be_mfe')).tier, '2', 'E: not tracked: Tier 2 fills at once');
SELECT is((pg_temp.req(3)).trade_ids, ARRAY['20251212_102900000_BEARISH'], 'E: the request names only the tracked signal');
SELECT ok((pg_temp.sig('L3B')).be_mfe IS NULL, 'E: the tracked signal gets no Tier 2 MFE');
SELECT is(ARRAY[pg_temp.ing('{"event_type":"EXIT_SL","symbol":"L3","trade_id":"20251212_102900000_BULLISH","exit_price":90,"final_mfe":0.4,"timestamp":"2025-12-12T15:35:00Z"}'),
                pg_temp.ing('{"event_type":"EXIT_SL","symbol":"L3B","trade_id":"20251212_102900000_BEARISH","exit_price":110,"final_mfe":0.1,"timestamp":"2025-12-12T15:35:00Z"}')],
          ARRAY['accepted', 'accepted'], 'L3, L3B closed');

-- ---------------------------------------------------------------------------------------------
-- F. heartbeat older than heartbeat_timeout: offline, Tier 2 at once
-- ---------------------------------------------------------------------------------------------
SELECT ok(sigsync._indicator_can_answer('indicator', 'L4', '20251212_103900000_BULLISH', '2025-12-12 15:38:00+00'),
          'F: a heartbeat exactly 5 minutes old still counts');
SELECT ok(NOT sigsync._indicator_can_answer('indicator', 'L4', '20251212_103900000_BULLISH', '2025-12-12 15:38:00.001+00'),
          'F: older than 5 minutes: offline');
SELECT ok(NOT sigsync._indicator_can_answer('never_heard_of', 'L4', '20251212_103900000_BULLISH', '2025-12-12 15:34:00+00'),
          'F: a source without any heartbeat is offline');
SELECT is(pg_temp.ing('{"event_type":"ENTRY","symbol":"L4","trade_id":"20251212_103900000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:40:00Z"}'),
          'accepted', 'F: ENTRY accepted (last heartbeat 15:33)');
INSERT INTO run VALUES ('f', sigsync.reconcile(p_now => '2025-12-12 15:43:00+00'));
SELECT is((pg_temp.field_prov(pg_temp.sig('L4'), 'be_mfe')).tier, '2', 'F: offline: Tier 2 fills at once');
SELECT is((SELECT count(*)::integer FROM sync_requests WHERE 'L4' = ANY (symbols)), 0, 'F: no request to an offline indicator');
SELECT is(pg_temp.ing('{"event_type":"EXIT_SL","symbol":"L4","trade_id":"20251212_103900000_BULLISH","exit_price":90,"final_mfe":0.4,"timestamp":"2025-12-12T15:44:00Z"}'),
          'accepted', 'L4 closed');

-- ---------------------------------------------------------------------------------------------
-- G. a signal is (symbol, trade_id) (DESIGN §4, §13): the same trade_id in another symbol is
-- another signal, and an open request for one does not cover the other
-- ---------------------------------------------------------------------------------------------
SELECT is(ARRAY[pg_temp.hb('2025-12-12T15:49:30Z'),
                pg_temp.ing('{"event_type":"ENTRY","symbol":"P1","trade_id":"20251212_104400000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:45:00Z"}'),
                pg_temp.ing('{"event_type":"ENTRY","symbol":"P2","trade_id":"20251212_104400000_BULLISH","entry_price":200,"stop_loss":190,"timestamp":"2025-12-12T15:49:00Z"}')],
          ARRAY['accepted', 'accepted', 'accepted'], 'G: heartbeat and two ENTRY (same trade_id, symbols P1 and P2) accepted');
INSERT INTO run VALUES ('g1', sigsync.reconcile(p_now => '2025-12-12 15:50:00+00'));
SELECT is((pg_temp.req(4)).symbols, ARRAY['P1'], 'G: at 15:50 only P1 is stale: a request for P1');
SELECT is(pg_temp.hb('2025-12-12T15:51:30Z'), 'accepted', 'G: heartbeat');
INSERT INTO run VALUES ('g2', sigsync.reconcile(p_now => '2025-12-12 15:52:00+00'));
SELECT ok('no_mfe_update' = ANY (ARRAY(SELECT jsonb_object_keys(gaps) FROM signal_health_metrics WHERE symbol = 'P2')),
          'G: at 15:52 P2 is stale too');
SELECT ok(EXISTS (SELECT 1 FROM sync_requests WHERE 'P2' = ANY (symbols)),
          'G: P2 is asked for, though P1 (same trade_id, other symbol) has an open request');
SELECT * FROM finish();
ROLLBACK;
