-- 30_views: the public views (DESIGN §10): contract columns, and contents on hand-made
-- registry / health / audit / run rows (no reconcile involved, so the views are tested on
-- exactly the data contract they read). Everything is rolled back.
BEGIN;
SELECT plan(133);

-- Start from empty per-signal tables (inside this transaction only), so the one-row
-- system_health is computable by hand. The event log is append-only and not emptied.
DELETE FROM sigsync.signal_health_metrics;
DELETE FROM sigsync.sync_audit_log;
DELETE FROM sigsync.signals;
DELETE FROM sigsync.sync_runs;
DELETE FROM sigsync.sync_requests;
DELETE FROM sigsync.rejected_events;
DELETE FROM sigsync.indicator_status;

-- ---------------------------------------------------------------------------------------
-- 1. The views exist, with their contract columns
-- ---------------------------------------------------------------------------------------
SELECT has_view('sigsync', v, 'view sigsync.' || v || ' exists')
  FROM unnest(ARRAY['all_signals', 'cancelled_signals', 'active_trades', 'completed_trades',
                    'signals_with_gaps', 'signals_with_health', 'signal_gaps', 'gap_summary',
                    'field_provenance', 'signal_timeline', 'system_health']) v;

SELECT columns_are('sigsync', 'all_signals', ARRAY[
    'symbol', 'trade_id', 'direction', 'signal_time', 'signal_date', 'session', 'status',
    'confirmation_time', 'bars_to_confirmation', 'entry_price', 'stop_loss', 'htf_alignment',
    'targets_extended', 'be_mfe', 'no_be_mfe', 'mae_global_r', 'be_triggered_at', 'be_exit_time',
    'exit_type', 'exit_time', 'exit_price', 'final_mfe', 'cancelled_at', 'cancelled_by',
    'cancel_reason', 'bars_pending', 'cancel_detection', 'health_score', 'gaps',
    'source', 'signal_price', 'current_price', 'last_mfe_update_at', 'first_event_at', 'last_event_at',
    'health_updated_at'], 'all_signals: the DESIGN §10 columns (plus the allowed additions)');
SELECT is(
    (SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
      WHERE attrelid = 'sigsync.all_signals'::regclass AND attnum BETWEEN 1 AND 29),
    ARRAY['symbol', 'trade_id', 'direction', 'signal_time', 'signal_date', 'session', 'status',
          'confirmation_time', 'bars_to_confirmation', 'entry_price', 'stop_loss', 'htf_alignment',
          'targets_extended', 'be_mfe', 'no_be_mfe', 'mae_global_r', 'be_triggered_at', 'be_exit_time',
          'exit_type', 'exit_time', 'exit_price', 'final_mfe', 'cancelled_at', 'cancelled_by',
          'cancel_reason', 'bars_pending', 'cancel_detection', 'health_score', 'gaps'],
    'all_signals: the contract columns come first, in DESIGN order');
SELECT col_type_is('sigsync', 'all_signals', 'gaps', 'text[]', 'all_signals.gaps is text[]');
SELECT col_type_is('sigsync', 'all_signals', 'health_score', 'integer', 'all_signals.health_score is integer');
SELECT hasnt_column('sigsync', 'all_signals', c, 'all_signals does not expose internal column ' || c)
  FROM unnest(ARRAY['provenance', 'dirty', 'dirty_gen', 'has_entry', 'evt_be_mfe', 'evt_no_be_mfe_at']) c;

SELECT columns_are('sigsync', 'signal_gaps', ARRAY['symbol', 'trade_id', 'gap_type', 'since'],
                   'signal_gaps: symbol, trade_id, gap_type, since');
SELECT col_type_is('sigsync', 'signal_gaps', 'since', 'timestamp with time zone', 'signal_gaps.since is timestamptz');
SELECT columns_are('sigsync', 'gap_summary', ARRAY['gap_type', 'open_count'], 'gap_summary: gap_type, open_count');
SELECT columns_are('sigsync', 'field_provenance',
                   ARRAY['symbol', 'trade_id', 'field', 'value', 'tier', 'confidence', 'source', 'filled_at', 'as_of'],
                   'field_provenance: the DESIGN §10 columns plus as_of');
SELECT col_type_is('sigsync', 'field_provenance', 'value', 'jsonb', 'field_provenance.value is jsonb');
SELECT col_type_is('sigsync', 'field_provenance', 'confidence', 'numeric', 'field_provenance.confidence is numeric');
SELECT col_type_is('sigsync', 'field_provenance', 'filled_at', 'timestamp with time zone', 'field_provenance.filled_at is timestamptz');
SELECT columns_are('sigsync', 'signal_timeline',
                   ARRAY['symbol', 'trade_id', 'at', 'kind', 'what', 'detail', 'event_id', 'audit_id'],
                   'signal_timeline: symbol, trade_id, at, kind, what, detail, event_id, audit_id');
SELECT col_type_is('sigsync', 'signal_timeline', 'at', 'timestamp with time zone', 'signal_timeline.at is timestamptz');
SELECT col_type_is('sigsync', 'signal_timeline', 'detail', 'jsonb', 'signal_timeline.detail is jsonb');
SELECT has_column('sigsync', 'cancelled_signals', c, 'cancelled_signals.' || c)
  FROM unnest(ARRAY['symbol', 'trade_id', 'cancel_detection', 'bars_pending', 'cancelled_by', 'cancelled_at',
                    'cancel_reason']) c;
SELECT has_column('sigsync', 'completed_trades', c, 'completed_trades.' || c)
  FROM unnest(ARRAY['exit_type', 'exit_time', 'exit_price', 'final_mfe', 'be_mfe', 'mae_global_r', 'exit_inferred']) c;
SELECT col_type_is('sigsync', 'completed_trades', 'exit_inferred', 'boolean', 'completed_trades.exit_inferred is boolean');
SELECT col_type_is('sigsync', 'signals_with_gaps', 'gaps', 'text[]', 'signals_with_gaps.gaps is text[]');
SELECT has_column('sigsync', 'signals_with_gaps', c, 'signals_with_gaps.' || c)
  FROM unnest(ARRAY['trade_id', 'gap_count', 'health_score']) c;
SELECT has_column('sigsync', 'signals_with_health', c, 'signals_with_health.' || c)
  FROM unnest(ARRAY['trade_id', 'status', 'health_score', 'gaps', 'gap_count', 'health_updated_at']) c;
SELECT columns_are('sigsync', 'system_health', ARRAY[
    'signals', 'active_signals', 'pct_complete', 'open_gaps', 'gaps_detected_last_hour', 'gaps_filled_last_hour',
    'mean_health', 'alert_level', 'indicator_online', 'last_heartbeat_at', 'last_cycle_at',
    'last_cycle_duration_ms', 'last_cycle_status', 'error_rate', 'open_sync_requests', 'rejected_last_hour',
    'anomalies_open', 'reconciled_signals', 'last_ok_cycle_at', 'cycle_lock_holder', 'signals_set_aside',
    'alert_reasons'], 'system_health: its columns');
SELECT col_type_is('sigsync', 'system_health', 'indicator_online', 'boolean', 'system_health.indicator_online is boolean');
SELECT col_type_is('sigsync', 'system_health', 'pct_complete', 'numeric', 'system_health.pct_complete is numeric');

-- ---------------------------------------------------------------------------------------
-- 2. Hand-made data
--   P  pending, never reconciled
--   B  active, gaps no_mfe_update + no_htf_alignment (plus entries that are not open gaps)
--   C  closed by a real EXIT_SL, no gaps
--   D  closed by an inferred (Tier 2) EXIT_SL after an inferred EXIT_BE, no gaps
--   E  cancelled, inferred;  F  cancelled, explicit
--   B2 the same trade_id as B on another symbol: must never mix with B
-- ---------------------------------------------------------------------------------------
-- a field's provenance row, as the merge writes it
CREATE FUNCTION pg_temp.prov(p_trade_id text, p_field text, p_tier text, p_conf numeric, p_source text, p_at timestamptz)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO sigsync.signal_provenance (symbol, trade_id, field, tier, confidence, source, event_type, at, key, filled_at)
    VALUES ('NQ1!', p_trade_id, p_field, p_tier, p_conf, p_source, NULL, p_at, 'k', p_at + interval '1 second')
$$;

INSERT INTO sigsync.signals (symbol, trade_id, direction, signal_time, signal_date, session)
VALUES ('NQ1!', '20251212_090000000_BULLISH', 'Bullish', '2025-12-12 14:00+00', '2025-12-12', 'NY AM');

INSERT INTO sigsync.signals (symbol, trade_id, direction, signal_time, signal_date, session, has_entry,
                             confirmation_time, bars_to_confirmation, entry_price, stop_loss, be_mfe, no_be_mfe,
                             last_mfe_update_at)
VALUES ('NQ1!', '20251212_100000000_BULLISH', 'Bullish', '2025-12-12 15:00+00', '2025-12-12', 'NY AM', true,
        '2025-12-12 15:03+00', 3, 25680, 25645, 0.5, 0.7, '2025-12-12 15:04+00');
SELECT pg_temp.prov('20251212_100000000_BULLISH', f, t, c, src, at)
  FROM (VALUES ('direction',    '3',     0.9, 'rule:trade_id',    '2025-12-12 15:00+00'::timestamptz),
               ('session',      'event', 1.0, 'event:11',         '2025-12-12 15:03+00'),
               ('entry_price',  'event', 1.0, 'event:11',         '2025-12-12 15:03+00'),
               ('be_mfe',       '2',     0.8, 'rule:bar_walk',    '2025-12-12 15:05+00'),
               ('no_be_mfe',    '2',     0.8, 'rule:bar_walk',    '2025-12-12 15:05+00'),
               ('cancelled_at', 'rule',  0.9, 'rule:alternation', '2025-12-12 15:01+00')) v(f, t, c, src, at);  -- cancelled_at: reverted, no value

INSERT INTO sigsync.signals (symbol, trade_id, direction, signal_time, signal_date, session, has_entry,
                             entry_price, stop_loss, exit_type, exit_time, exit_price, final_mfe, be_mfe, no_be_mfe,
                             mae_global_r, confirmation_time, be_exit_time)
VALUES ('NQ1!', '20251212_110000000_BEARISH', 'Bearish', '2025-12-12 16:00+00', '2025-12-12', 'NY AM', true,
        25680, 25700, 'EXIT_SL', '2025-12-12 16:40+00', 25700, 2.3, 1.0, 2.3, -1, '2025-12-12 16:02+00', NULL),
       ('NQ1!', '20251212_120000000_BULLISH', 'Bullish', '2025-12-12 17:00+00', '2025-12-12', 'NY Lunch', true,
        25680, 25645, 'EXIT_SL', '2025-12-12 17:30+00', 25645, 1.2, 1.0, 1.2, -1, '2025-12-12 17:01+00',
        '2025-12-12 17:20+00');
SELECT pg_temp.prov(tid, f, t, c, src, at)
  FROM (VALUES ('20251212_110000000_BEARISH', 'exit_type',    'event', 1.0, 'event:21',      '2025-12-12 16:40+00'::timestamptz),
               ('20251212_110000000_BEARISH', 'exit_time',    'event', 1.0, 'event:21',      '2025-12-12 16:40+00'),
               ('20251212_120000000_BULLISH', 'exit_type',    '2',     0.8, 'rule:bar_walk', '2025-12-12 17:30+00'),
               ('20251212_120000000_BULLISH', 'exit_time',    '2',     0.8, 'rule:bar_walk', '2025-12-12 17:30+00'),
               ('20251212_120000000_BULLISH', 'be_exit_time', '2',     0.8, 'rule:bar_walk', '2025-12-12 17:20+00')) v(tid, f, t, c, src, at);

INSERT INTO sigsync.signals (symbol, trade_id, direction, signal_time, signal_date, session, cancelled_at,
                             cancelled_by, cancel_reason, bars_pending, cancel_detection)
VALUES ('NQ1!', '20251212_130000000_BULLISH', 'Bullish', '2025-12-12 18:00+00', '2025-12-12', 'NY PM',
        '2025-12-12 18:04+00', '20251212_130400000_BEARISH', 'opposite_signal_appeared', 4, 'inferred'),
       ('NQ1!', '20251212_140000000_BEARISH', 'Bearish', '2025-12-12 19:00+00', '2025-12-12', 'NY PM',
        '2025-12-12 19:02+00', '20251212_140200000_BULLISH', 'opposite_signal_appeared', 2, 'explicit');
SELECT pg_temp.prov('20251212_130000000_BULLISH', 'cancelled_at', 'rule', 0.9, 'rule:alternation', '2025-12-12 18:04+00'),
       pg_temp.prov('20251212_140000000_BEARISH', 'cancelled_at', 'event', 1.0, 'event:31', '2025-12-12 19:02+00');

INSERT INTO sigsync.signals (symbol, trade_id, direction, signal_time, signal_date)
VALUES ('ES1!', '20251212_100000000_BULLISH', 'Bullish', '2025-12-12 15:00+00', '2025-12-12');

INSERT INTO sigsync.signal_health_metrics (symbol, trade_id, health_score, gaps, gap_count) VALUES
    ('NQ1!', '20251212_100000000_BULLISH', 71,
     '{"no_mfe_update": "2025-12-12T15:10:00+00:00", "no_htf_alignment": "2025-12-12T15:05:00+00:00",
       "no_session": false, "no_mae": null}', 2),
    ('NQ1!', '20251212_110000000_BEARISH', 100, '{}', 0),
    ('NQ1!', '20251212_120000000_BULLISH', 95, '{}', 0),
    ('NQ1!', '20251212_130000000_BULLISH', 89, '{"no_htf_alignment": "2025-12-12T18:05:00+00:00"}', 1),
    ('ES1!', '20251212_100000000_BULLISH', 40,
     '{"no_session": "2025-12-12T15:05:00+00:00", "no_htf_alignment": "2025-12-12T15:05:00+00:00",
       "anomaly": "2025-12-12T15:06:00+00:00"}', 3);

-- ---------------------------------------------------------------------------------------
-- 3. all_signals / signals_with_health
-- ---------------------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM sigsync.all_signals), 7::bigint, 'all_signals: one row per signal');
SELECT results_eq(
    $$SELECT status, count(*) FROM sigsync.all_signals GROUP BY status ORDER BY status$$,
    $$VALUES ('active', 1::bigint), ('cancelled', 2), ('closed', 2), ('pending', 2)$$,
    'all_signals: every status is listed (pending, active, closed, cancelled)');
SELECT is((SELECT gaps FROM sigsync.all_signals WHERE symbol = 'NQ1!' AND trade_id = '20251212_100000000_BULLISH'),
          ARRAY['no_htf_alignment', 'no_mfe_update'],
          'all_signals.gaps: the open gap types, sorted; false / null entries are not open gaps');
SELECT is((SELECT gaps FROM sigsync.all_signals WHERE symbol = 'ES1!' AND trade_id = '20251212_100000000_BULLISH'),
          ARRAY['anomaly', 'no_htf_alignment', 'no_session'],
          'all_signals.gaps: per symbol (the same trade_id on ES1! has its own gaps)');
SELECT is((SELECT gaps FROM sigsync.all_signals WHERE trade_id = '20251212_110000000_BEARISH'),
          '{}'::text[], 'all_signals.gaps: an empty array when the signal has no open gap');
SELECT is((SELECT health_score FROM sigsync.all_signals WHERE trade_id = '20251212_110000000_BEARISH'),
          100, 'all_signals.health_score from signal_health_metrics');
SELECT ok((SELECT health_score IS NULL AND health_updated_at IS NULL AND gaps = '{}'
             FROM sigsync.all_signals WHERE trade_id = '20251212_090000000_BULLISH'),
          'all_signals: a never reconciled signal has health_score NULL (and no gaps recorded)');
SELECT is((SELECT (entry_price, stop_loss, be_mfe, no_be_mfe, confirmation_time)::text
             FROM sigsync.all_signals WHERE symbol = 'NQ1!' AND trade_id = '20251212_100000000_BULLISH'),
          '(25680,25645,0.5,0.7,"2025-12-12 15:03:00+00")',
          'all_signals: registry values as stored');
SELECT is((SELECT count(*) FROM sigsync.signals_with_health), 7::bigint,
          'signals_with_health: every signal (never reconciled ones with NULL health)');
SELECT is((SELECT (health_score, gap_count, gaps ? 'no_mfe_update')::text FROM sigsync.signals_with_health
            WHERE symbol = 'NQ1!' AND trade_id = '20251212_100000000_BULLISH'),
          '(71,2,t)', 'signals_with_health: health_score, gap_count, gaps of the health row');
SELECT ok((SELECT health_updated_at IS NOT NULL FROM sigsync.signals_with_health
            WHERE trade_id = '20251212_110000000_BEARISH'),
          'signals_with_health: health_updated_at from signal_health_metrics.updated_at');

-- ---------------------------------------------------------------------------------------
-- 4. cancelled_signals / active_trades / completed_trades
-- ---------------------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT trade_id, cancel_detection, bars_pending, cancelled_by, cancel_reason, cancelled_at
        FROM sigsync.cancelled_signals ORDER BY trade_id$$,
    $$VALUES ('20251212_130000000_BULLISH', 'inferred', 4, '20251212_130400000_BEARISH', 'opposite_signal_appeared',
              '2025-12-12 18:04+00'::timestamptz),
             ('20251212_140000000_BEARISH', 'explicit', 2, '20251212_140200000_BULLISH', 'opposite_signal_appeared',
              '2025-12-12 19:02+00'::timestamptz)$$,
    'cancelled_signals: inferred and explicit cancellations with detection, bars_pending, cancelled_by/at, reason');
SELECT results_eq(
    $$SELECT cancel_confidence FROM sigsync.cancelled_signals ORDER BY trade_id$$,
    $$VALUES (0.9), (1.0)$$,
    'cancelled_signals: confidence of the cancellation (inferred 0.9, explicit 1.0)');
SELECT results_eq(
    $$SELECT symbol, trade_id FROM sigsync.active_trades$$,
    $$VALUES ('NQ1!', '20251212_100000000_BULLISH')$$,
    'active_trades: only status active');
SELECT is((SELECT (mfe_tier, mfe_confidence, mfe_as_of, risk)::text FROM sigsync.active_trades),
          '(2,0.8,"2025-12-12 15:05:00+00",35)',
          'active_trades: where the MFE comes from, its as-of time, and the risk');
SELECT is((SELECT gaps FROM sigsync.active_trades), ARRAY['no_htf_alignment', 'no_mfe_update'],
          'active_trades: open gaps');
SELECT results_eq(
    $$SELECT trade_id, exit_inferred, exit_price, final_mfe FROM sigsync.completed_trades ORDER BY trade_id$$,
    $$VALUES ('20251212_110000000_BEARISH', false, 25700::numeric, 2.3::numeric),
             ('20251212_120000000_BULLISH', true, 25645, 1.2)$$,
    'completed_trades: closed trades; exit_inferred from the provenance tier of exit_time');
SELECT results_eq(
    $$SELECT be_exit_inferred, time_in_trade FROM sigsync.completed_trades ORDER BY trade_id$$,
    $$VALUES (NULL::boolean, interval '38 minutes'), (true, interval '29 minutes')$$,
    'completed_trades: be_exit_inferred (NULL without EXIT_BE) and time in trade');

-- ---------------------------------------------------------------------------------------
-- 5. signal_gaps / signals_with_gaps / gap_summary
-- ---------------------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT gap_type, since FROM sigsync.signal_gaps
       WHERE symbol = 'NQ1!' AND trade_id = '20251212_100000000_BULLISH' ORDER BY gap_type$$,
    $$VALUES ('no_htf_alignment', '2025-12-12 15:05+00'::timestamptz), ('no_mfe_update', '2025-12-12 15:10+00')$$,
    'signal_gaps: one row per open gap with its since');
SELECT is((SELECT count(*) FROM sigsync.signal_gaps), 6::bigint, 'signal_gaps: all open gaps (2 + 1 + 3)');
SELECT results_eq(
    $$SELECT symbol, trade_id, gaps, gap_count, health_score FROM sigsync.signals_with_gaps ORDER BY symbol, trade_id$$,
    $$VALUES ('ES1!', '20251212_100000000_BULLISH', ARRAY['anomaly', 'no_htf_alignment', 'no_session'], 3, 40),
             ('NQ1!', '20251212_100000000_BULLISH', ARRAY['no_htf_alignment', 'no_mfe_update'], 2, 71),
             ('NQ1!', '20251212_130000000_BULLISH', ARRAY['no_htf_alignment'], 1, 89)$$,
    'signals_with_gaps: exactly the signals with at least one open gap');
SELECT is((SELECT oldest_gap_since FROM sigsync.signals_with_gaps
            WHERE symbol = 'NQ1!' AND trade_id = '20251212_100000000_BULLISH'),
          '2025-12-12 15:05+00'::timestamptz, 'signals_with_gaps: when the oldest open gap opened');
SELECT is((SELECT count(*) FROM sigsync.gap_summary), (SELECT count(*) FROM sigsync.gap_types),
          'gap_summary: one row per gap type');
SELECT results_eq(
    $$SELECT gap_type, open_count FROM sigsync.gap_summary WHERE open_count > 0 ORDER BY gap_type$$,
    $$VALUES ('anomaly', 1::bigint), ('no_htf_alignment', 3), ('no_mfe_update', 1), ('no_session', 1)$$,
    'gap_summary: open counts per type (false / null entries not counted)');
SELECT is((SELECT open_count FROM sigsync.gap_summary WHERE gap_type = 'no_targets'), 0::bigint,
          'gap_summary: zero counts are listed');
SELECT is((SELECT array_agg(gap_type) FROM sigsync.gap_summary),
          (SELECT array_agg(gap_type ORDER BY weight DESC, gap_type COLLATE "C") FROM sigsync.gap_types),
          'gap_summary: ordered by weight, heaviest first');
SELECT is((SELECT sum(open_count) FROM sigsync.gap_summary), (SELECT count(*) FROM sigsync.signal_gaps)::numeric,
          'gap_summary and signal_gaps agree');

-- ---------------------------------------------------------------------------------------
-- 6. field_provenance
-- ---------------------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT field, value, tier, confidence, source, as_of FROM sigsync.field_provenance
       WHERE symbol = 'NQ1!' AND trade_id = '20251212_100000000_BULLISH' ORDER BY field$$,
    $$VALUES ('be_mfe', '0.5'::jsonb, '2', 0.8, 'rule:bar_walk', '2025-12-12 15:05+00'::timestamptz),
             ('direction', '"Bullish"', '3', 0.9, 'rule:trade_id', '2025-12-12 15:00+00'),
             ('entry_price', '25680', 'event', 1.0, 'event:11', '2025-12-12 15:03+00'),
             ('no_be_mfe', '0.7', '2', 0.8, 'rule:bar_walk', '2025-12-12 15:05+00'),
             ('session', '"NY AM"', 'event', 1.0, 'event:11', '2025-12-12 15:03+00')$$,
    'field_provenance: one row per field with a value and a provenance entry (a reverted field is left out)');
SELECT is((SELECT filled_at FROM sigsync.field_provenance
            WHERE symbol = 'NQ1!' AND trade_id = '20251212_100000000_BULLISH' AND field = 'be_mfe'),
          '2025-12-12 15:05:01+00'::timestamptz, 'field_provenance.filled_at from the provenance entry');
SELECT is((SELECT count(*) FROM sigsync.field_provenance WHERE trade_id = '20251212_090000000_BULLISH'),
          0::bigint, 'field_provenance: values without a provenance entry are not listed');

-- ---------------------------------------------------------------------------------------
-- 7. signal_timeline
-- ---------------------------------------------------------------------------------------
INSERT INTO sigsync.automated_signals (symbol, trade_id, event_type, "timestamp", source, payload, payload_checksum)
VALUES ('NQ1!', '20251212_100000000_BULLISH', 'ENTRY', '2025-12-12 15:03+00', 'indicator',
        '{"event_type": "ENTRY", "entry_price": 25680}', 'vt-1'),
       ('NQ1!', '20251212_100000000_BULLISH', 'SIGNAL_CREATED', '2025-12-12 15:00+00', 'indicator',
        '{"event_type": "SIGNAL_CREATED"}', 'vt-2'),
       ('ES1!', '20251212_100000000_BULLISH', 'SIGNAL_CREATED', '2025-12-12 15:00+00', 'indicator',
        '{"event_type": "SIGNAL_CREATED"}', 'vt-3');
INSERT INTO sigsync.sync_audit_log (symbol, trade_id, run_id, action_type, field, old_value, new_value, tier,
                                    confidence_score, source, reason, event_id, action_timestamp)
VALUES ('NQ1!', '20251212_100000000_BULLISH', 7, 'fill', 'be_mfe', NULL, '0.5', '2', 0.8, 'rule:bar_walk',
        'filled by tier 2', NULL, '2025-12-12 15:06+00'),
       ('NQ1!', '20251212_100000000_BULLISH', 6, 'fill', 'direction', NULL, '"Bullish"', '3', 0.9, 'rule:trade_id',
        'filled by tier 3', NULL, '2025-12-12 15:01+00'),
       ('ES1!', '20251212_100000000_BULLISH', 6, 'fill', 'direction', NULL, '"Bullish"', '3', 0.9, 'rule:trade_id',
        'filled by tier 3', NULL, '2025-12-12 15:01+00');
SELECT results_eq(
    $$SELECT kind, what, at FROM sigsync.signal_timeline
       WHERE symbol = 'NQ1!' AND trade_id = '20251212_100000000_BULLISH' ORDER BY at$$,
    $$VALUES ('event', 'SIGNAL_CREATED', '2025-12-12 15:00+00'::timestamptz),
             ('action', 'fill', '2025-12-12 15:01+00'),
             ('event', 'ENTRY', '2025-12-12 15:03+00'),
             ('action', 'fill', '2025-12-12 15:06+00')$$,
    'signal_timeline: events (by event time) and actions (by action time) of one signal, interleaved');
SELECT is((SELECT count(*) FROM sigsync.signal_timeline WHERE trade_id = '20251212_100000000_BULLISH'), 6::bigint,
          'signal_timeline: a trade_id alone selects it on every symbol');
SELECT is((SELECT detail FROM sigsync.signal_timeline
            WHERE symbol = 'NQ1!' AND trade_id = '20251212_100000000_BULLISH' AND what = 'ENTRY'),
          '{"event_type": "ENTRY", "entry_price": 25680}'::jsonb, 'signal_timeline: an event''s detail is its payload');
SELECT is((SELECT detail FROM sigsync.signal_timeline
            WHERE symbol = 'NQ1!' AND trade_id = '20251212_100000000_BULLISH' AND at = '2025-12-12 15:06+00'),
          '{"field": "be_mfe", "old_value": null, "new_value": 0.5, "tier": "2", "confidence": 0.8,
            "reason": "filled by tier 2", "run_id": 7}'::jsonb,
          'signal_timeline: an action''s detail is {field, old_value, new_value, tier, confidence, reason, run_id}');
SELECT ok((SELECT bool_and(CASE kind WHEN 'event' THEN event_id IS NOT NULL AND audit_id IS NULL
                                    ELSE audit_id IS NOT NULL END)
             FROM sigsync.signal_timeline WHERE trade_id = '20251212_100000000_BULLISH'),
          'signal_timeline: events carry event_id, actions audit_id');

-- one signal's timeline is looked up through the per-signal indexes
SET LOCAL enable_seqscan = off;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; acc text := '';
BEGIN
    FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP acc := acc || r || E'\n'; END LOOP;
    RETURN acc;
END $$;
SELECT ok(pg_temp.plan_of($$SELECT * FROM sigsync.signal_timeline WHERE trade_id = '20251212_100000000_BULLISH' ORDER BY at$$)
              ~ 'automated_signals_signal_idx'
          AND pg_temp.plan_of($$SELECT * FROM sigsync.signal_timeline WHERE trade_id = '20251212_100000000_BULLISH' ORDER BY at$$)
              ~ 'sync_audit_log_signal_idx',
          'signal_timeline by trade_id: index scans on automated_signals_signal_idx and sync_audit_log_signal_idx');
SELECT ok(pg_temp.plan_of($$SELECT * FROM sigsync.all_signals WHERE symbol = 'NQ1!' AND trade_id = '20251212_100000000_BULLISH'$$)
              ~ 'signal_health_metrics_pkey',
          'all_signals for one signal: the health row is looked up by key');
RESET enable_seqscan;

-- ---------------------------------------------------------------------------------------
-- 8. system_health
-- ---------------------------------------------------------------------------------------
-- (the last successful cycle below is 30 minutes old: the stall rule, which has its own file,
-- is kept out of these health and gap thresholds)
UPDATE sigsync.settings SET value = '"1 hour"' WHERE key = 'cycle_stall_after';
INSERT INTO sigsync.sync_runs (trigger, p_now, started_at, finished_at, duration_ms, status, summary) VALUES
    ('manual', now(), now() - interval '30 minutes', now() - interval '30 minutes' + interval '40 ms', 40, 'ok',
     '{"status": "ok", "gaps_opened": 3}'),
    ('manual', now(), now() - interval '10 minutes', now() - interval '10 minutes' + interval '15 ms', 15, 'error',
     '{"status": "error", "error": "boom"}'),
    ('manual', now(), now() - interval '5 minutes', now() - interval '5 minutes', 0.1, 'skipped',
     '{"status": "skipped", "gaps_opened": 5}'),
    ('manual', now(), now() - interval '2 hours', now() - interval '2 hours', 30, 'ok',
     '{"status": "ok", "gaps_opened": 7}');
INSERT INTO sigsync.sync_audit_log (symbol, trade_id, action_type, field, reason, reviewed_at, action_timestamp) VALUES
    ('NQ1!', 'x', 'fill', 'session', 'r', NULL, now() - interval '10 minutes'),
    ('NQ1!', 'x', 'upgrade', 'session', 'r', NULL, now() - interval '20 minutes'),
    ('NQ1!', 'x', 'revert', 'exit_time', 'r', NULL, now() - interval '30 minutes'),
    ('NQ1!', 'x', 'refresh', 'be_mfe', 'r', NULL, now() - interval '5 minutes'),
    ('NQ1!', 'x', 'fill', 'session', 'r', NULL, now() - interval '2 hours'),
    ('NQ1!', 'x', 'anomaly', 'be_mfe', 'r', NULL, now() - interval '3 hours'),
    ('NQ1!', 'x', 'conflict', 'session', 'r', NULL, now() - interval '3 days'),
    ('NQ1!', 'x', 'anomaly', 'be_mfe', 'r', now(), now() - interval '3 hours');
INSERT INTO sigsync.sync_requests (trade_ids, symbols, reason, status) VALUES
    ('{a}', '{NQ1!}', 'no_mfe_update', 'open'), ('{b}', '{NQ1!}', 'no_mae', 'open'),
    ('{c}', '{NQ1!}', 'no_mfe_update', 'answered');
INSERT INTO sigsync.rejected_events (payload, payload_bytes, payload_sha256, error_code, message, received_at, stored_at) VALUES
    ('x', 1, 'sha-x', 'invalid_json', 'm', now() - interval '10 minutes', now() - interval '10 minutes'),
    ('y', 1, 'sha-y', 'invalid_json', 'm', now() - interval '2 hours', now() - interval '2 hours'),
    ('replayed', 1, 'sha-r', 'invalid_json', 'm', now() - interval '3 days', now() - interval '5 minutes');
INSERT INTO sigsync.indicator_status (source, last_heartbeat_at) VALUES
    ('indicator', now() - interval '2 minutes'), ('other', now() - interval '1 day');

SELECT is((SELECT count(*) FROM sigsync.system_health), 1::bigint, 'system_health: one row');
SELECT is((SELECT (signals, active_signals, reconciled_signals)::text FROM sigsync.system_health),
          '(7,1,5)', 'system_health: signals, active signals, reconciled signals');
SELECT is((SELECT pct_complete FROM sigsync.system_health), 40.0,
          'system_health.pct_complete: 2 of 5 reconciled signals without open gap');
SELECT is((SELECT open_gaps FROM sigsync.system_health), 6::bigint, 'system_health.open_gaps');
SELECT is((SELECT mean_health FROM sigsync.system_health), 79.0,
          'system_health.mean_health: (71 + 100 + 95 + 89 + 40) / 5');
SELECT is((SELECT alert_level FROM sigsync.system_health), 'warning', 'system_health.alert_level: health < 80 is a warning');
SELECT is((SELECT gaps_detected_last_hour FROM sigsync.system_health), 8::bigint,
          'system_health.gaps_detected_last_hour: summary gaps_opened of the runs of the last hour (3 + 5)');
SELECT is((SELECT gaps_filled_last_hour FROM sigsync.system_health), 3::bigint,
          'system_health.gaps_filled_last_hour: fill / upgrade / refresh in the last hour (a revert writes no value)');
SELECT is((SELECT (last_cycle_status, last_cycle_duration_ms)::text FROM sigsync.system_health),
          '(error,15)', 'system_health: the last cycle (a skipped call is not a cycle)');
SELECT is((SELECT last_cycle_at FROM sigsync.system_health), now() - interval '10 minutes' + interval '15 ms',
          'system_health.last_cycle_at: when the last cycle finished');
SELECT is((SELECT error_rate FROM sigsync.system_health), 0.3333,
          'system_health.error_rate: 1 of the 3 cycles of the last 24 h failed');
SELECT is((SELECT (open_sync_requests, rejected_last_hour, anomalies_open)::text FROM sigsync.system_health),
          '(2,2,2)', 'system_health: open sync requests, rejected in the last hour (stored then: a replayed body '
          'received 3 days ago counts), unreviewed anomalies/conflicts');
SELECT is((SELECT (indicator_online, last_heartbeat_at = now() - interval '2 minutes')::text FROM sigsync.system_health),
          '(t,t)', 'system_health: indicator online with a heartbeat 2 minutes ago');
UPDATE sigsync.indicator_status SET last_heartbeat_at = now() - interval '10 minutes' WHERE source = 'indicator';
SELECT is((SELECT indicator_online FROM sigsync.system_health), false,
          'system_health: offline when the last heartbeat is older than heartbeat_timeout (5 minutes)');
UPDATE sigsync.settings SET value = '"15 minutes"' WHERE key = 'heartbeat_timeout';
SELECT is((SELECT indicator_online FROM sigsync.system_health), true,
          'system_health: heartbeat_timeout is read from sigsync.settings');

-- alert levels
UPDATE sigsync.signal_health_metrics SET health_score = 45;
SELECT is((SELECT alert_level FROM sigsync.system_health), 'critical', 'alert_level: health < 50 is critical');
UPDATE sigsync.signal_health_metrics SET health_score = 100, gaps = '{}', gap_count = 0;
SELECT is((SELECT (alert_level, pct_complete, open_gaps)::text FROM sigsync.system_health), '(ok,100.0,0)',
          'alert_level: ok when healthy and no open gaps');
INSERT INTO sigsync.signal_health_metrics (symbol, trade_id, health_score, gaps, gap_count)
SELECT 'GAP', 't' || i, 100, '{"no_session": "2025-12-12T15:00:00+00:00"}', 1 FROM generate_series(1, 51) i;
SELECT is((SELECT alert_level FROM sigsync.system_health), 'warning', 'alert_level: more than 50 open gaps is a warning');
INSERT INTO sigsync.signal_health_metrics (symbol, trade_id, health_score, gaps, gap_count)
SELECT 'GAP', 'u' || i, 100, '{"no_session": "2025-12-12T15:00:00+00:00"}', 1 FROM generate_series(1, 50) i;
SELECT is((SELECT alert_level FROM sigsync.system_health), 'critical', 'alert_level: more than 100 open gaps is critical');
DELETE FROM sigsync.sync_runs;
SELECT ok((SELECT error_rate IS NULL AND last_cycle_at IS NULL AND gaps_detected_last_hour = 0 FROM sigsync.system_health),
          'system_health: no cycles yet -> error_rate and last cycle NULL, nothing detected');

-- ---------------------------------------------------------------------------------------
-- 9. Documentation and privileges
-- ---------------------------------------------------------------------------------------
SELECT ok(obj_description(c.oid, 'pg_class') ~ 'SELECT', 'view sigsync.' || c.relname || ' has a comment with an example')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'sigsync' AND c.relkind = 'v'
   AND c.relname IN ('all_signals', 'cancelled_signals', 'active_trades', 'completed_trades', 'signals_with_gaps',
                     'signals_with_health', 'signal_gaps', 'gap_summary', 'field_provenance', 'signal_timeline',
                     'system_health')
 ORDER BY c.relname;
SELECT ok(bool_and(has_table_privilege('sigsync_reader', c.oid, 'SELECT')
                   AND has_table_privilege('sigsync_admin', c.oid, 'SELECT')),
          'sigsync_reader and sigsync_admin may read every public view')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'sigsync' AND c.relkind = 'v' AND c.relname NOT LIKE '\_%';
SELECT ok(count(*) > 0 AND NOT bool_or(has_table_privilege('sigsync_reader', c.oid, 'SELECT')
                                        OR has_table_privilege('sigsync_admin', c.oid, 'SELECT')),
          '... and no internal one (_signal_rows, which the signal views read, shows every column of the registry)')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'sigsync' AND c.relkind = 'v' AND c.relname LIKE '\_%';
SET LOCAL ROLE sigsync_reader;
SELECT lives_ok($$SELECT * FROM sigsync.all_signals, sigsync.system_health$$,
                'sigsync_reader reads the views (they read the tables as their owner)');
SELECT throws_ok($$SELECT * FROM sigsync.signals$$, '42501', NULL, 'sigsync_reader does not read the tables');
SELECT throws_ok($$SELECT * FROM sigsync.signal_provenance$$, '42501', NULL,
                 '... nor the provenance rows (field_provenance shows them)');
SELECT throws_ok($$SELECT * FROM sigsync._signal_rows$$, '42501', NULL, '... nor the internal view the signal views read');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
