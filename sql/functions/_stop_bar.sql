-- Internal: the first price bar of p_symbol after p_after, up to and including p_upto, that
-- reaches the stop price p_stop (DESIGN §6): its low at or below it for a long (p_sgn 1), its
-- high at or above it for a short (p_sgn -1). NULL when there is none (or an argument is
-- NULL). One index range scan that stops at the first such bar, so its cost follows the bars
-- before the stop, never the bars after it.
-- The one home of "a bar reaches the stop" for the bar walk (_bar_walk: where the walk ends
-- and its EXIT_SL) and the missed_exit gap (_open_gaps), so that the gap opens exactly when
-- the walk would find the stop. (The view signal_bars spells the stop as adverse <= -1 R:
-- sigsync_reader reads it, and this function reads price_bars, which that role may not.)
CREATE OR REPLACE FUNCTION sigsync._stop_bar(p_symbol text, p_sgn integer, p_stop numeric, p_after timestamptz,
                                             p_upto timestamptz)
RETURNS timestamptz
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.ts
      FROM sigsync.price_bars p
     WHERE p.symbol = p_symbol AND p.ts > p_after AND p.ts <= p_upto
       AND CASE p_sgn WHEN 1 THEN p.low <= p_stop WHEN -1 THEN p.high >= p_stop END
     ORDER BY p.ts
     LIMIT 1
$$;
COMMENT ON FUNCTION sigsync._stop_bar(text, integer, numeric, timestamptz, timestamptz) IS
    'Internal: the first price bar of a symbol after p_after, up to p_upto, that reaches a stop price (low <= stop for '
    'a long, high >= stop for a short); NULL when none.';
REVOKE ALL ON FUNCTION sigsync._stop_bar(text, integer, numeric, timestamptz, timestamptz) FROM PUBLIC;
