-- Internal: the first price bar of p_symbol after p_after, up to and including p_upto, that
-- reaches the stop of a trade (DESIGN §6: adverse <= -1 R, compared exactly, without the
-- rounding of a division): for a long (p_sgn 1) a low at or below entry - R, for a short
-- (p_sgn -1) a high at or above entry + R, with R = |entry - stop|. That price is the stop
-- loss itself when the stop is on its side of the entry; without an entry it is the stop
-- loss. NULL when no bar reaches it (or an argument is missing). One index range scan that
-- stops at the first such bar: its cost follows the bars before the stop, never those after.
-- The one home of "a bar reaches the stop" for the bar walk (_bar_walk: where the walk ends,
-- its EXIT_SL) and the missed_exit gap (_open_gaps), which ask it with the same arguments.
-- (The view signal_bars, which sigsync_reader reads, spells the same comparison per bar: this
-- function reads price_bars, which that role may not read; pgTAP 62 holds the two equal.)
CREATE OR REPLACE FUNCTION sigsync._stop_bar(p_symbol text, p_sgn integer, p_entry numeric, p_stop numeric,
                                             p_after timestamptz, p_upto timestamptz)
RETURNS timestamptz
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.ts
      FROM sigsync.price_bars p
     CROSS JOIN (SELECT coalesce(p_entry - p_sgn * abs(p_entry - p_stop), p_stop) AS price) s
     WHERE p.symbol = p_symbol AND p.ts > p_after AND p.ts <= p_upto
       AND CASE p_sgn WHEN 1 THEN p.low <= s.price WHEN -1 THEN p.high >= s.price END
     ORDER BY p.ts
     LIMIT 1
$$;
COMMENT ON FUNCTION sigsync._stop_bar(text, integer, numeric, numeric, timestamptz, timestamptz) IS
    'Internal: the first price bar of a symbol after p_after, up to p_upto, that reaches a trade''s stop (low <= '
    'entry - R for a long, high >= entry + R for a short; R = |entry - stop|); NULL when none.';
REVOKE ALL ON FUNCTION sigsync._stop_bar(text, integer, numeric, numeric, timestamptz, timestamptz) FROM PUBLIC;
