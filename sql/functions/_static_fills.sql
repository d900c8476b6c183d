-- Internal: fill candidates computed from a signal's own fields (DESIGN §6; each tier's
-- confidence is in sigsync.tiers):
--   Tier 3: signal_time, signal_date, direction parsed from the trade_id;
--           session from signal_time and sigsync.sessions;
--   Tier 0 / Tier 3: bars_to_confirmation = (confirmation_time - signal_time) / bar_interval,
--           Tier 0 when signal_time came from SIGNAL_CREATED (or an event), else Tier 3;
--   Tier 2: targets_extended = entry +/- k*R for k in target_multiples.
-- (PL/pgSQL for its plan, generic and kept for the session: a SQL function makes it again at every call.)
CREATE OR REPLACE FUNCTION sigsync._static_fills(p_symbols text[], p_trade_ids text[])
RETURNS sigsync._candidate[]
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
RETURN (
    WITH cfg AS MATERIALIZED (   -- settings read once, not per row
        SELECT sigsync._setting_text('timezone') AS tz,
               extract(epoch FROM sigsync._setting_interval('bar_interval')) AS bar_s,
               sigsync._setting('target_multiples') AS multiples
    ),
    s AS (
        SELECT s.symbol, s.trade_id, s.direction, s.signal_time, s.confirmation_time, s.entry_price, s.stop_loss,
               p.signal_time AS p_time, p.signal_date AS p_date, p.direction AS p_dir, cfg.*,
               -- Tier 0 for bars_to_confirmation: both times from events (their provenance rows)
               coalesce(pt.tier IN ('event', '0') AND pc.confidence = 1, false) AS from_events,
               pt.tier IN ('event', '0') AS signal_time_from_event
          FROM sigsync.signals s
          JOIN (SELECT DISTINCT u.symbol, u.trade_id FROM unnest(p_symbols, p_trade_ids) u(symbol, trade_id)) k
            ON k.symbol = s.symbol AND k.trade_id = s.trade_id
         CROSS JOIN cfg
          -- the trade_ids parsed in one call (their texts: the same trade_id under two symbols is one)
          JOIN sigsync._trade_ids_parts(ARRAY(SELECT DISTINCT u.trade_id FROM unnest(p_trade_ids) u(trade_id)),
                                        (SELECT cfg.tz FROM cfg)) p
            ON p.raw = s.trade_id
          LEFT JOIN sigsync.signal_provenance pt
                 ON pt.symbol = s.symbol AND pt.trade_id = s.trade_id AND pt.field = 'signal_time'
          LEFT JOIN sigsync.signal_provenance pc
                 ON pc.symbol = s.symbol AND pc.trade_id = s.trade_id AND pc.field = 'confirmation_time'
    ),
    c AS MATERIALIZED (   -- each value computed once (the filter below would repeat it per branch)
        SELECT s.symbol, s.trade_id, 'signal_time' AS field, to_jsonb(s.p_time) AS value, '3' AS tier,
               s.p_time AS at, 'rule:trade_id' AS source
          FROM s
        UNION ALL
        SELECT s.symbol, s.trade_id, 'signal_date', to_jsonb(s.p_date), '3', s.p_time, 'rule:trade_id' FROM s
        UNION ALL
        SELECT s.symbol, s.trade_id, 'direction', to_jsonb(s.p_dir), '3', s.p_time, 'rule:trade_id' FROM s
        UNION ALL
        SELECT s.symbol, s.trade_id, 'session', to_jsonb(sigsync._session_at(coalesce(s.signal_time, s.p_time), s.tz)),
               '3', coalesce(s.signal_time, s.p_time), 'rule:session_windows'
          FROM s
        UNION ALL
        SELECT s.symbol, s.trade_id, 'bars_to_confirmation',
               to_jsonb(sigsync._bars_between(coalesce(s.signal_time, s.p_time), s.confirmation_time, s.bar_s)),
               CASE WHEN s.from_events THEN '0' ELSE '3' END,
               s.confirmation_time,
               CASE WHEN s.signal_time_from_event THEN 'rule:signal_created_to_entry' ELSE 'rule:trade_id_to_entry' END
          FROM s
         WHERE s.confirmation_time IS NOT NULL AND s.confirmation_time >= coalesce(s.signal_time, s.p_time)
        UNION ALL
        SELECT s.symbol, s.trade_id, 'targets_extended',
               (SELECT jsonb_object_agg(m.k || 'R',
                                        s.entry_price + (CASE WHEN coalesce(s.direction, s.p_dir) = 'Bearish' THEN -1 ELSE 1 END)
                                                        * m.k::numeric * abs(s.entry_price - s.stop_loss)
                                        ORDER BY m.k::numeric)
                  FROM jsonb_array_elements_text(s.multiples) m(k)),
               '2', coalesce(s.confirmation_time, s.signal_time, s.p_time), 'rule:targets'
          FROM s
         WHERE s.entry_price IS NOT NULL AND s.stop_loss IS NOT NULL AND s.entry_price <> s.stop_loss
    )
    SELECT coalesce(array_agg(ROW(c.symbol, c.trade_id, c.field, c.value, 'derived', c.tier, NULL, c.at,
                                  c.source, c.source, NULL, NULL)::sigsync._candidate), '{}')
      FROM c
     WHERE c.value IS NOT NULL AND c.value <> 'null'::jsonb);
END
$$;
COMMENT ON FUNCTION sigsync._static_fills(text[], text[]) IS
    'Internal: Tier 0/2/3 candidates computed from a signal''s own fields (trade_id, session windows, bars, targets).';
REVOKE ALL ON FUNCTION sigsync._static_fills(text[],text[]) FROM PUBLIC;
