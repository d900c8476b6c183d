-- Internal: the first price bar of p_symbol after p_after, up to and including p_upto, that
-- reaches the stop price p_stop: for a long (p_sgn 1) a low at or below it, for a short
-- (p_sgn -1) a high at or above it, compared exactly (DESIGN §6: adverse <= -1 R without the
-- rounding of a division). NULL when no bar reaches it (or an argument is missing). One index
-- range scan that stops at the first such bar: its cost follows the bars before the stop,
-- never those after.
-- The one home of "a bar reaches the stop" for the bar walk (_bar_walk: where the walk ends,
-- its EXIT_SL; it asks for entry -/+ R, its own R) and the missed_exit gap (_open_gaps: the
-- recorded stop loss). The two prices are one when the stop is on its side of the entry; a
-- stop assembled on the wrong side (entry and stop from different events) keeps the gap
-- opening at the recorded stop, as it always did, rather than going quiet.
-- (The view signal_bars, which sigsync_reader reads, spells the walk's comparison per bar: this
-- function reads price_bars, which that role may not read; pgTAP 62 holds the two equal.)
-- (PL/pgSQL: called once a row, it is evaluated without the executor a SQL function sets up at every call.)
CREATE OR REPLACE FUNCTION sigsync._stop_bar(p_symbol text, p_sgn integer, p_stop numeric, p_after timestamptz,
                                             p_upto timestamptz)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN (SELECT p.ts
              FROM sigsync.price_bars p
             WHERE p.symbol = p_symbol AND p.ts > p_after AND p.ts <= p_upto
               AND CASE p_sgn WHEN 1 THEN p.low <= p_stop WHEN -1 THEN p.high >= p_stop END
             ORDER BY p.ts
             LIMIT 1);
END
$$;
COMMENT ON FUNCTION sigsync._stop_bar(text, integer, numeric, timestamptz, timestamptz) IS
    'Internal: the first price bar of a symbol after p_after, up to p_upto, that reaches a stop price (low <= stop '
    'for a long, high >= stop for a short); NULL when none.';
REVOKE ALL ON FUNCTION sigsync._stop_bar(text, integer, numeric, timestamptz, timestamptz) FROM PUBLIC;
