-- Internal: the alternation rule (DESIGN §7) for the signals affected by the given ones.
-- Per symbol, in signal_time order, a signal S without ENTRY is cancelled by the first
-- strictly later signal N of the opposite direction (confidence 0.9, cancel_detection
-- 'inferred'). Affected by a signal X: X itself, the run of opposite-direction signals
-- just before it (those X may be the first opposite signal after), and the signals X was
-- said to cancel. An explicit CANCELLED
-- (1.0) wins through the merge rules. An ENTRY for an inferred-cancelled signal reverts
-- the inference (audited). A signal with an ENTRY confirmed after the first later opposite
-- signal N is audited once as a conflict (the indicator disagrees with the rule), whether
-- the inference was made first or the ENTRY arrived before N (_alternation_conflict; its
-- anomaly gap stays open while that holds, whatever the arrival order); a signal outside the
-- working set that gets one is marked for the next cycle. An explicit CANCELLED together with
-- an ENTRY is audited once as a conflict.
-- Returns the rule's candidates (cancelled_at, cancelled_by, cancel_reason, bars_pending,
-- cancel_detection), which the cycle merges with its other fills (_cycle_signals: one merge),
-- the number of inferences reverted, and the signals outside the working set whose conflict
-- began or ended, for the cycle to score.
CREATE OR REPLACE FUNCTION sigsync._alternation_rule(p_run_id bigint, p_symbols text[], p_trade_ids text[],
                                                    OUT candidates sigsync._candidate[], OUT reverted integer,
                                                    OUT rescore_symbols text[], OUT rescore_trade_ids text[])
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rescore_syms text[];
    v_rescore_tids text[];
    v_bar_s numeric := extract(epoch FROM sigsync._setting_interval('bar_interval'));
BEGIN
    WITH x AS (
        SELECT s.symbol, s.trade_id, s.signal_time, s.direction
          FROM sigsync.signals s
          JOIN (SELECT DISTINCT u.symbol, u.trade_id FROM unnest(p_symbols, p_trade_ids) u(symbol, trade_id)) k
            ON k.symbol = s.symbol AND k.trade_id = s.trade_id
         WHERE s.signal_time IS NOT NULL AND s.direction IS NOT NULL
    ),
    affected AS (
        SELECT x.symbol, x.trade_id FROM x
        UNION
        SELECT p.symbol, p.trade_id
          FROM x
          JOIN sigsync.signals p
            ON p.symbol = x.symbol AND p.signal_time < x.signal_time
           AND p.direction = CASE x.direction WHEN 'Bullish' THEN 'Bearish' ELSE 'Bullish' END
           AND p.signal_time > coalesce((SELECT max(q.signal_time) FROM sigsync.signals q
                                          WHERE q.symbol = x.symbol AND q.direction = x.direction
                                            AND q.signal_time < x.signal_time), '-infinity')
        UNION
        -- signals X was inferred to cancel: X may have moved (an upgraded signal_time)
        SELECT p.symbol, p.trade_id
          FROM x
          JOIN sigsync.signals p ON p.symbol = x.symbol AND p.cancelled_by = x.trade_id
        UNION
        -- signals whose open conflict names X: X may have moved, and the conflict ended
        SELECT a.symbol, a.trade_id
          FROM x
          JOIN sigsync.sync_audit_log a      -- (sync_audit_log_alternation_conflict_idx)
            ON a.symbol = x.symbol AND (a.old_value ->> 'cancelled_by') = x.trade_id
           AND a.action_type = 'conflict' AND a.source = 'rule:alternation' AND a.reviewed_at IS NULL
         WHERE a.trade_id IS NOT NULL
    ),
    locked AS (
        SELECT s.symbol, s.trade_id, s.signal_time, s.direction, s.has_entry, s.confirmation_time,
               s.cancel_detection IS NOT DISTINCT FROM 'explicit' AS explicit,
               num_nonnulls(s.cancelled_at, s.cancelled_by, s.cancel_reason, s.bars_pending,
                            s.cancel_detection) > 0 AS has_cancel_fields
          FROM sigsync.signals s
          JOIN affected a ON a.symbol = s.symbol AND a.trade_id = s.trade_id
         ORDER BY s.symbol, s.trade_id
           FOR NO KEY UPDATE OF s SKIP LOCKED
    ),
    opposite AS (
        -- the first strictly later opposite signal (none read for an explicit CANCELLED)
        SELECT l.symbol, l.trade_id, l.signal_time, l.direction, l.has_entry, l.confirmation_time, l.has_cancel_fields,
               n.trade_id AS opp_trade_id, n.signal_time AS opp_time
          FROM locked l
          -- (the first by (signal_time, trade_id): the earliest time, one probe of the index on
          -- (symbol, direction, signal_time), then the smallest trade_id at that time; sorting every
          -- later opposite signal would cost per signal in proportion to the symbol's history)
          LEFT JOIN LATERAL (SELECT n.trade_id, n.signal_time
                               FROM (SELECT CASE l.direction WHEN 'Bullish' THEN 'Bearish' ELSE 'Bullish' END) d(direction)
                               JOIN sigsync.signals n
                                 ON n.symbol = l.symbol AND n.direction = d.direction
                                AND n.signal_time = (SELECT min(m.signal_time) FROM sigsync.signals m
                                                      WHERE m.symbol = l.symbol AND m.direction = d.direction
                                                        AND m.signal_time > l.signal_time)
                              WHERE NOT l.explicit   -- an explicit CANCELLED is whole
                              ORDER BY n.trade_id
                              LIMIT 1) n ON true
    ),
    canceller AS (   -- ... which cancels a signal without an ENTRY
        SELECT o.symbol, o.trade_id, o.signal_time, o.has_cancel_fields,
               CASE WHEN NOT o.has_entry THEN o.opp_trade_id END AS n_trade_id,
               CASE WHEN NOT o.has_entry THEN o.opp_time END AS n_time
          FROM opposite o
    ),
    conflict AS (   -- ... and disagrees with an ENTRY confirmed after it (audited once)
        INSERT INTO sigsync.sync_audit_log AS a
               (symbol, trade_id, run_id, action_type, field, old_value, new_value, tier, confidence_score, source, reason)
        SELECT o.symbol, o.trade_id, p_run_id, 'conflict', 'status',
               jsonb_build_object('cancelled_by', o.opp_trade_id, 'cancelled_at', o.opp_time), '"active"'::jsonb,
               'event', sigsync._tier_confidence('event'), 'rule:alternation',
               format('confirmed at %s, after the opposite signal %s of %s: the indicator disagrees with the alternation rule',
                      o.confirmation_time, o.opp_trade_id, o.opp_time)
          FROM opposite o
         -- (_alternation_conflict's condition, read from the first later opposite signal
         -- found above: the same test without a second look-up per signal)
         WHERE o.has_entry AND o.confirmation_time > o.opp_time
           AND NOT EXISTS (SELECT 1 FROM sigsync.sync_audit_log a
                            WHERE a.symbol = o.symbol AND a.trade_id = o.trade_id
                              AND a.action_type = 'conflict' AND a.field = 'status'
                              AND a.source = 'rule:alternation')
        RETURNING a.symbol, a.trade_id
    ),
    ended AS (   -- ... or no longer does: an open conflict of this rule whose condition ended
        SELECT o.symbol, o.trade_id
          FROM opposite o
         WHERE o.has_entry AND NOT coalesce(o.confirmation_time > o.opp_time, false)
           AND EXISTS (SELECT 1 FROM sigsync.sync_audit_log a
                        WHERE a.symbol = o.symbol AND a.trade_id = o.trade_id
                          AND a.action_type = 'conflict' AND a.field = 'status'
                          AND a.source = 'rule:alternation' AND a.reviewed_at IS NULL)
    ),
    rescore AS (
        SELECT symbol, trade_id FROM conflict
        UNION
        SELECT symbol, trade_id FROM ended
    ),
    c AS (
        -- derived facts: recomputed every time; JSON null clears an inference that no longer
        -- holds (a later ENTRY, or an upgraded signal_time); explicit values (1.0) always win
        SELECT cn.symbol, cn.trade_id, cn.n_time, f.field, coalesce(f.value, 'null'::jsonb) AS value
          FROM canceller cn
         CROSS JOIN LATERAL (VALUES
            ('cancelled_at', to_jsonb(cn.n_time)),
            ('cancelled_by', to_jsonb(cn.n_trade_id)),
            ('cancel_reason', CASE WHEN cn.n_trade_id IS NOT NULL THEN '"opposite_signal_appeared"'::jsonb END),
            ('bars_pending', to_jsonb(sigsync._bars_between(cn.signal_time, cn.n_time, v_bar_s))),
            ('cancel_detection', CASE WHEN cn.n_trade_id IS NOT NULL THEN '"inferred"'::jsonb END)) f(field, value)
         -- without a canceller every value is a JSON null, which only clears a field that is
         -- set: a signal with none of them set has nothing to merge (most signals, every cycle)
         WHERE cn.n_trade_id IS NOT NULL OR cn.has_cancel_fields
    )
    SELECT (SELECT array_agg(ROW(c.symbol, c.trade_id, c.field, c.value, 'derived', 'rule', NULL, c.n_time,
                                 'rule:alternation', 'rule:alternation', NULL, NULL)::sigsync._candidate)
              FROM c),
           (SELECT array_agg(r.symbol ORDER BY r.symbol, r.trade_id) FROM rescore r),
           (SELECT array_agg(r.trade_id ORDER BY r.symbol, r.trade_id) FROM rescore r)
      INTO candidates, v_rescore_syms, v_rescore_tids;

    -- a conflict opens an anomaly gap, and its end closes it: a signal outside the working set
    -- is marked, so that the next cycle processes it, and is returned, so that this cycle scores
    -- it too (its gap opens or closes in the cycle that changed it, as for one in the set; the
    -- rows are held: 'locked' above)
    SELECT coalesce(array_agg(k.symbol ORDER BY k.symbol, k.trade_id), '{}'),
           coalesce(array_agg(k.trade_id ORDER BY k.symbol, k.trade_id), '{}')
      INTO rescore_symbols, rescore_trade_ids
      FROM unnest(v_rescore_syms, v_rescore_tids) k(symbol, trade_id)
     WHERE NOT EXISTS (SELECT 1 FROM unnest(p_symbols, p_trade_ids) w(symbol, trade_id)
                        WHERE w.symbol = k.symbol AND w.trade_id = k.trade_id);
    UPDATE sigsync.signals s
       SET dirty = true
      FROM unnest(rescore_symbols, rescore_trade_ids) k(symbol, trade_id)
     WHERE s.symbol = k.symbol AND s.trade_id = k.trade_id AND NOT s.dirty;

    -- An ENTRY for an inferred-cancelled signal reverts the inference (the cycle's merge clears
    -- the fields); audit the reversion (a conflict, when confirmed after N, is audited above).
    WITH rev AS (
        SELECT s.symbol, s.trade_id,
               jsonb_build_object('cancelled_at', s.cancelled_at, 'cancelled_by', s.cancelled_by,
                                  'cancel_reason', s.cancel_reason, 'bars_pending', s.bars_pending,
                                  'cancel_detection', s.cancel_detection) AS old
          FROM sigsync.signals s
          JOIN (SELECT DISTINCT u.symbol, u.trade_id FROM unnest(candidates) u) k
            ON k.symbol = s.symbol AND k.trade_id = s.trade_id
         WHERE s.has_entry AND s.cancel_detection = 'inferred'
    ),
    aud AS (
        INSERT INTO sigsync.sync_audit_log
               (symbol, trade_id, run_id, action_type, field, old_value, new_value, tier, confidence_score, source, reason)
        SELECT rev.symbol, rev.trade_id, p_run_id, 'cancel_reverted', 'cancel_detection', rev.old, NULL,
               'event', sigsync._tier_confidence('event'), 'rule:alternation', 'an ENTRY arrived for a signal inferred as cancelled'
          FROM rev
        RETURNING 1
    )
    SELECT count(*) INTO reverted FROM rev;

    -- An explicit CANCELLED together with an ENTRY: status active, conflict audited once (the
    -- rule's candidates never replace an explicit value: merged later, they change nothing read here).
    INSERT INTO sigsync.sync_audit_log
           (symbol, trade_id, run_id, action_type, field, old_value, new_value, tier, confidence_score, source, reason)
    SELECT s.symbol, s.trade_id, p_run_id, 'conflict', 'status', '"cancelled"'::jsonb, '"active"'::jsonb,
           'event', sigsync._tier_confidence('event'),
           (SELECT p.source FROM sigsync.signal_provenance p
             WHERE p.symbol = s.symbol AND p.trade_id = s.trade_id AND p.field = 'cancel_detection'),
           'explicit CANCELLED and an ENTRY for the same signal; status active (closed > active > cancelled > pending)'
      FROM sigsync.signals s
      JOIN (SELECT DISTINCT u.symbol, u.trade_id FROM unnest(p_symbols, p_trade_ids) u(symbol, trade_id)) k
        ON k.symbol = s.symbol AND k.trade_id = s.trade_id
     WHERE s.has_entry AND s.cancel_detection = 'explicit'
       AND NOT EXISTS (SELECT 1 FROM sigsync.sync_audit_log a
                        WHERE a.symbol = s.symbol AND a.trade_id = s.trade_id
                          AND a.action_type = 'conflict' AND a.field = 'status'
                          AND a.source IS DISTINCT FROM 'rule:alternation');   -- (the rule's own is another)
END
$$;
COMMENT ON FUNCTION sigsync._alternation_rule(bigint, text[], text[]) IS
    'Internal: the alternation rule (DESIGN §7): the cancellation candidates of the signals affected by the given ones, '
    'with the rule''s conflicts and reversions audited (the cycle merges the candidates).';
REVOKE ALL ON FUNCTION sigsync._alternation_rule(bigint,text[],text[]) FROM PUBLIC;
