-- Internal: Tier 2 from price bars (DESIGN §6) for the given signals: the candidates of the bar
-- walk (sigsync._bar_walk). Running metrics (be_mfe, no_be_mfe, mae_global_r): Tier 2 competes
-- when the indicator cannot answer (offline, not tracking, timed out; _indicator_answers), or
-- for the final values of a trade whose stop the bars show; the value with the latest as-of
-- time wins, the real one at equal time. The walk's inferences (BE trigger, EXIT_BE, missed
-- EXIT_SL) are derived facts: recomputed from the current entry/stop/bars each time, a JSON
-- null clearing an inference that no longer holds; they never beat an event value.
-- (VOLATILE: the walk stores its state in sigsync.bar_walks.)
-- (PL/pgSQL for its plan, generic and kept for the session: a SQL function makes it again at every call.)
CREATE OR REPLACE FUNCTION sigsync._tier2_candidates(p_now timestamptz, p_sources text[], p_symbols text[],
                                                     p_trade_ids text[])
RETURNS sigsync._candidate[]
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
RETURN (
    WITH walk AS (
        SELECT w.*, a.can_answer AS indicator_can_answer,
               s.evt_be_mfe, s.evt_be_mfe_at, s.evt_no_be_mfe, s.evt_no_be_mfe_at,
               s.evt_mae_global_r, s.evt_mae_global_r_at,
               s.be_triggered_at AS cur_trigger, s.be_exit_time AS cur_be_exit, s.exit_type AS cur_exit_type,
               s.exit_time AS cur_exit_time, s.exit_price AS cur_exit_price, s.final_mfe AS cur_final_mfe
          FROM sigsync._bar_walk(p_now, p_symbols, p_trade_ids) w
          JOIN sigsync.signals s ON s.symbol = w.symbol AND s.trade_id = w.trade_id
          JOIN sigsync._indicator_answers(p_now, p_sources, p_symbols, p_trade_ids) a
            ON a.source = coalesce(s.source, 'indicator') AND a.symbol = s.symbol AND a.trade_id = s.trade_id
    ),
    metric AS (
        -- running metrics: Tier 2 competes when the indicator cannot answer (offline, not
        -- tracking, timed out), or for the final values (be_mfe, no_be_mfe, MAE) of a trade
        -- whose stop the bars show; the value
        -- with the latest as-of time wins, the real one at equal time (DESIGN §6)
        SELECT w.symbol, w.trade_id, m.field, m.t2, coalesce(w.stop_ts, w.as_of) AS t2_at, m.real, m.real_at
          FROM walk w
         CROSS JOIN LATERAL (VALUES
            ('be_mfe', w.be_mfe, w.evt_be_mfe, w.evt_be_mfe_at),
            ('no_be_mfe', w.no_be_mfe, w.evt_no_be_mfe, w.evt_no_be_mfe_at),
            ('mae_global_r', w.mae_global_r, w.evt_mae_global_r, w.evt_mae_global_r_at)) m(field, t2, real, real_at)
         WHERE NOT w.indicator_can_answer OR w.stop_ts IS NOT NULL
    ),
    c AS (
        SELECT m.symbol, m.trade_id, m.field, to_jsonb(m.t2) AS value, 'replace' AS kind, m.t2_at AS at,
               '2' AS tier
          FROM metric m
         WHERE m.real_at IS NULL OR m.t2_at > m.real_at
        UNION ALL
        SELECT m.symbol, m.trade_id, m.field, to_jsonb(m.real), 'replace', m.real_at, 'event'
          FROM metric m
         WHERE m.real_at IS NOT NULL AND m.t2_at <= m.real_at
        UNION ALL
        -- inferred BE trigger / EXIT_BE / EXIT_SL (missed exits)
        SELECT w.symbol, w.trade_id, x.field, coalesce(x.value, 'null'::jsonb), 'derived',
               coalesce(x.at, w.as_of), '2'
          FROM walk w
         CROSS JOIN LATERAL (VALUES
            ('be_triggered_at', to_jsonb(w.trigger_ts), w.trigger_ts, w.cur_trigger IS NOT NULL),
            ('be_exit_time',    to_jsonb(w.be_exit_ts), w.be_exit_ts, w.cur_be_exit IS NOT NULL),
            ('exit_type',       CASE WHEN w.stop_ts IS NOT NULL THEN '"EXIT_SL"'::jsonb END, w.stop_ts,
                                w.cur_exit_type IS NOT NULL),
            ('exit_time',       to_jsonb(w.stop_ts), w.stop_ts, w.cur_exit_time IS NOT NULL),
            ('exit_price',      CASE WHEN w.stop_ts IS NOT NULL THEN to_jsonb(w.stop_price) END, w.stop_ts,
                                w.cur_exit_price IS NOT NULL),
            ('final_mfe',       CASE WHEN w.stop_ts IS NOT NULL THEN to_jsonb(w.no_be_mfe) END, w.stop_ts,
                                w.cur_final_mfe IS NOT NULL)
         ) x(field, value, at, is_set)
         -- a JSON null only clears a field that is set: none to merge for an empty one
         WHERE x.value IS NOT NULL OR x.is_set
    )
    SELECT coalesce(array_agg(ROW(c.symbol, c.trade_id, c.field, c.value, c.kind, c.tier, NULL, c.at,
                                  CASE WHEN c.tier = '2' THEN 'rule:bar_walk' ELSE 'events' END,
                                  CASE WHEN c.tier = '2' THEN 'rule:bar_walk' ELSE 'events' END,
                                  NULL, NULL)::sigsync._candidate), '{}')
      FROM c);
END
$$;
COMMENT ON FUNCTION sigsync._tier2_candidates(timestamptz, text[], text[], text[]) IS
    'Internal: Tier 2 candidates (running metrics, BE trigger, EXIT_BE, missed EXIT_SL) from the bar walk of the given signals.';
REVOKE ALL ON FUNCTION sigsync._tier2_candidates(timestamptz, text[], text[], text[]) FROM PUBLIC;
