-- Internal: compute the open gaps and health of the given signals at p_now (_open_gaps) and
-- store them in sigsync.signal_health_metrics, writing a row only when it changed (a second
-- cycle at the same time writes nothing). Returns every signal's gaps, score and next
-- time-driven check. Used by reconcile and by update_signal_health.
-- (PL/pgSQL for its plan, generic and kept for the session: a SQL function makes it again at every call.)
CREATE OR REPLACE FUNCTION sigsync._store_health(p_now timestamptz, p_symbols text[], p_trade_ids text[])
RETURNS TABLE (symbol text, trade_id text, gaps jsonb, health_score integer, next_check_at timestamptz)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
    WITH o AS MATERIALIZED (
        SELECT o.*, row_number() OVER ()::integer AS ord
          FROM sigsync._open_gaps(p_now, p_symbols, p_trade_ids) o
    ),
    g AS (   -- (scored in one statement for all of them)
        SELECT o.symbol, o.trade_id, o.gaps, o.next_check_at, h.health_score
          FROM o
          JOIN sigsync._health_scores((SELECT array_agg(o.gaps || jsonb_build_object('confidence', o.confidence)
                                                        ORDER BY o.ord)
                                         FROM o)) h
            ON h.ord = o.ord
    ),
    up AS (
        INSERT INTO sigsync.signal_health_metrics AS m (symbol, trade_id, health_score, gaps, gap_count, updated_at)
        SELECT g.symbol, g.trade_id, g.health_score, g.gaps,
               (SELECT count(*) FROM jsonb_object_keys(g.gaps))::integer, now()
          FROM g
         -- an unchanged row is not offered at all: a conflicting insert costs a speculative
         -- insertion and a row lock even when its DO UPDATE then writes nothing (a scalar
         -- subquery: one index probe per row, never a join over the whole table)
         WHERE (SELECT m.health_score = g.health_score AND m.gaps = g.gaps
                  FROM sigsync.signal_health_metrics m
                 WHERE m.symbol = g.symbol AND m.trade_id = g.trade_id) IS NOT TRUE
         ORDER BY g.symbol, g.trade_id
        ON CONFLICT (symbol, trade_id) DO UPDATE
           SET health_score = excluded.health_score, gaps = excluded.gaps,
               gap_count = excluded.gap_count, updated_at = excluded.updated_at
         WHERE m.health_score IS DISTINCT FROM excluded.health_score
            OR m.gaps IS DISTINCT FROM excluded.gaps
        RETURNING 1
    )
    SELECT g.symbol, g.trade_id, g.gaps, g.health_score, g.next_check_at FROM g;
END
$$;
COMMENT ON FUNCTION sigsync._store_health(timestamptz, text[], text[]) IS
    'Internal: compute and store (when changed) the open gaps and health of the given signals at p_now.';
REVOKE ALL ON FUNCTION sigsync._store_health(timestamp with time zone, text[], text[]) FROM PUBLIC;
