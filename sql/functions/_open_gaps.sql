-- Internal: the open gaps of the given signals at p_now (DESIGN §5), the one place where
-- the gap rules live. Returns per signal: gaps {"<gap_type>": <since>} (since = when the gap
-- was first seen open, kept from signal_health_metrics, else p_now), the lowest confidence
-- of the filled fields per gap type where below 1.0 (with gaps, the input of the health
-- score, which _store_health computes: a cycle's "before" count needs only the gaps), and
-- next_check_at: the earliest later p_now at which time alone can change these gaps or the
-- walk (the MFE going stale, a stored bar after p_now becoming visible); NULL when nothing
-- is due.
-- (PL/pgSQL for its plan, generic and kept for the session: a SQL function makes it again at every call.)
CREATE OR REPLACE FUNCTION sigsync._open_gaps(p_now timestamptz, p_symbols text[], p_trade_ids text[])
RETURNS TABLE (symbol text, trade_id text, gaps jsonb, confidence jsonb, next_check_at timestamptz)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
    WITH k AS (
        SELECT DISTINCT u.symbol, u.trade_id FROM unnest(p_symbols, p_trade_ids) u(symbol, trade_id)
    ),
    cfg AS MATERIALIZED (   -- settings read once, not per row
        SELECT sigsync._setting_interval('mfe_stale_after') AS stale,
               sigsync._setting_numeric('be_trigger_r') AS be_r
    ),
    s AS (
        SELECT s.*,
               s.status IN ('active', 'closed') AS confirmed,
               coalesce(pv.mfe_at, s.confirmation_time, s.first_event_at) + cfg.stale AS mfe_stale_at,
               pv.exit_tier, pv.low_conf,
               CASE WHEN s.direction = 'Bullish' THEN 1 WHEN s.direction = 'Bearish' THEN -1 END AS sgn
          FROM sigsync.signals s
          JOIN k ON k.symbol = s.symbol AND k.trade_id = s.trade_id
         CROSS JOIN cfg
         -- what the rules read from provenance, in one pass over the signal's rows
         CROSS JOIN LATERAL (
                SELECT max(p.at) FILTER (WHERE p.field IN ('be_mfe', 'no_be_mfe')) AS mfe_at,
                       max(p.tier) FILTER (WHERE p.field = 'exit_time') AS exit_tier,
                       coalesce(jsonb_object_agg(p.field, p.confidence) FILTER (WHERE p.confidence < 1), '{}') AS low_conf
                  FROM sigsync.signal_provenance p
                 WHERE p.symbol = s.symbol AND p.trade_id = s.trade_id) pv
    ),
    field_gap AS MATERIALIZED (   -- which gap type each field belongs to (a dozen rows)
        SELECT f.field, gt.gap_type FROM sigsync.gap_types gt CROSS JOIN LATERAL unnest(gt.fields) f(field)
    ),
    per_signal AS (   -- everything per signal in LATERAL subqueries: cost linear in the signals
        SELECT s.symbol, s.trade_id, og.gaps, lc.confidence,
               CASE WHEN s.status = 'active' OR s.exit_time > p_now THEN
                   -- no_mfe_update opens at the first p_now after mfe_stale_at (1 µs later)
                   least(CASE WHEN s.status = 'active' AND s.mfe_stale_at >= p_now
                              THEN s.mfe_stale_at + interval '1 microsecond' END,
                         -- a stored bar after p_now that the walk will read (not after the exit)
                         (SELECT min(b.ts) FROM sigsync.price_bars b
                           WHERE b.symbol = s.symbol AND b.ts > p_now AND (s.exit_time IS NULL OR b.ts <= s.exit_time)))
               END AS next_check_at
          FROM s
          CROSS JOIN cfg
          LEFT JOIN sigsync.signal_health_metrics m ON m.symbol = s.symbol AND m.trade_id = s.trade_id
         CROSS JOIN LATERAL (
                SELECT coalesce(jsonb_object_agg(g.gap_type, coalesce(m.gaps -> g.gap_type, to_jsonb(p_now))
                                                 ORDER BY g.gap_type), '{}') AS gaps
                  FROM (VALUES
            ('no_mfe_update',        s.status = 'active' AND s.mfe_stale_at < p_now),
            ('no_entry_price',       s.confirmed AND s.entry_price IS NULL),
            ('no_stop_loss',         s.confirmed AND s.stop_loss IS NULL),
            ('no_mae',               s.confirmed AND s.last_mfe_update_at IS NOT NULL AND s.mae_global_r IS NULL),
            ('no_session',           s.session IS NULL),
            ('no_signal_date',       s.signal_date IS NULL OR s.signal_time IS NULL),
            ('no_htf_alignment',     s.htf_alignment IS NULL),
            ('no_targets',           s.confirmed AND s.targets_extended IS NULL),
            ('no_confirmation_time', s.confirmed AND (s.confirmation_time IS NULL OR s.bars_to_confirmation IS NULL)),
            ('missed_exit',          s.status = 'active' AND s.exit_type IS NULL AND s.stop_loss IS NOT NULL
                                     AND s.sgn IS NOT NULL AND s.confirmation_time IS NOT NULL
                                     -- a bar at the recorded stop loss (_stop_bar); bars up
                                     -- to the end of a stored stop-free walk of this very stop (same
                                     -- basis, stop on the right side) need no second look: only the bars
                                     -- since are read (cost ∝ new bars, not the trade's age). (A sub-select:
                                     -- called bare in this VALUES row, the function's set-up ran for every
                                     -- signal, reached or not, about 2 µs each.)
                                     AND (SELECT sigsync._stop_bar(s.symbol, s.sgn, s.stop_loss,
                                                           coalesce(
                                                               (SELECT w.walked_to FROM sigsync.bar_walks w
                                                                 WHERE w.symbol = s.symbol AND w.trade_id = s.trade_id
                                                                   AND w.stop_ts IS NULL AND w.walked_to <= p_now
                                                                   AND s.sgn * (s.entry_price - s.stop_loss) > 0
                                                                   AND w.basis = (sigsync._walk_basis(
                                                                           s.direction, s.entry_price, s.stop_loss,
                                                                           s.confirmation_time, s.exit_time,
                                                                           s.exit_tier, cfg.be_r)).basis),
                                                               s.confirmation_time),
                                                           p_now)) IS NOT NULL),
            ('anomaly',              EXISTS (SELECT 1 FROM sigsync.sync_audit_log a
                                              WHERE a.symbol = s.symbol AND a.trade_id = s.trade_id
                                                AND a.action_type IN ('anomaly', 'conflict')
                                                AND a.reviewed_at IS NULL
                                                -- the alternation rule's conflict: while it holds (never
                                                -- for an explicit CANCELLED, which the rule leaves whole:
                                                -- its disagreement with the ENTRY is a conflict of its own)
                                                AND (a.source IS DISTINCT FROM 'rule:alternation'
                                                     OR (s.cancel_detection IS DISTINCT FROM 'explicit'
                                                         AND sigsync._alternation_conflict(s.symbol, s.direction,
                                                                                           s.signal_time,
                                                                                           s.confirmation_time)))))
                 ) g(gap_type, is_open)
                 WHERE g.is_open) og
         CROSS JOIN LATERAL (
                -- per gap type, the lowest confidence among its filled fields, where below 1.0
                SELECT coalesce(jsonb_object_agg(x.gap_type, x.conf ORDER BY x.gap_type), '{}') AS confidence
                  FROM (SELECT fg.gap_type, min((p.value #>> '{}')::numeric) AS conf
                          FROM jsonb_each(s.low_conf) p
                          JOIN field_gap fg ON fg.field = p.key
                         GROUP BY fg.gap_type) x) lc
    )
    SELECT p.symbol, p.trade_id, p.gaps, p.confidence, p.next_check_at
      FROM per_signal p;
END
$$;
COMMENT ON FUNCTION sigsync._open_gaps(timestamptz, text[], text[]) IS
    'Internal: open gaps (with since), fill confidences below 1.0 and next time-driven check of the given signals at p_now.';
REVOKE ALL ON FUNCTION sigsync._open_gaps(timestamp with time zone,text[],text[]) FROM PUBLIC;
