-- Internal: Tier 2 walk over price bars for the given confirmed signals (DESIGN §6); a trade
-- closed by a real EXIT_SL is walked up to that exit. The result depends only on the signal's
-- entry, stop, direction, confirmation and the bars, never on when the walk ran.
-- R = |entry - stop|; only bars with confirmation_time < ts <= p_now (ts = bar open time).
-- Bullish: favourable = (high - entry)/R, adverse = (low - entry)/R; Bearish mirrored.
-- The stop is checked before the favourable side: a bar that touches both is the stop bar
-- and its favourable excursion is excluded.
--   stop_ts    first bar with adverse <= -1 (_stop_bar: compared exactly; EXIT_SL at entry -/+ R:
--              the stop loss, or where the walk put the stop when that is on the wrong side)
--   trigger_ts first bar before stop_ts with favourable >= be_trigger_r (BE_TRIGGERED)
--   be_exit_ts first bar after trigger_ts with adverse <= 0 (EXIT_BE at the entry price)
--   no_be_mfe  max favourable before stop_ts;  be_mfe the same, also before be_exit_ts
--   mae        min adverse up to and including stop_ts
-- MFE clamped to >= 0, MAE to [-1, 0], rounded to 4 places; no bar yet: 0, 0, 0.
-- as_of is the last bar used (stop bar when stopped), else the confirmation time.
--
-- Incremental: the walk of each signal is kept in sigsync.bar_walks and continued from its
-- walked_to while its basis (direction, entry, stop, confirmation, real exit, be_trigger_r)
-- holds and p_now is not before it, so a cycle walks only the bars that arrived since; a
-- complete walk (stop reached) walks nothing. Combining is exact: the stored aggregates are
-- those of the bars before any later stop / trigger / BE exit, and those three are each the
-- first bar of their kind. Any other case walks from the confirmation and stores the result.
-- (PL/pgSQL for its plan, generic and kept for the session: a SQL function makes it again at every call.)
CREATE OR REPLACE FUNCTION sigsync._bar_walk(p_now timestamptz, p_symbols text[], p_trade_ids text[])
RETURNS TABLE (symbol text, trade_id text, be_mfe numeric, no_be_mfe numeric, mae_global_r numeric,
               as_of timestamptz, bars integer, trigger_ts timestamptz, be_exit_ts timestamptz,
               stop_ts timestamptz, stop_price numeric, entry_price numeric)
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
    WITH cfg AS MATERIALIZED (   -- read once, not per bar
        SELECT sigsync._setting_numeric('be_trigger_r') AS be_r
    ),
    sig AS (
        SELECT s.symbol, s.trade_id, s.entry_price AS e, s.stop_loss AS st,
               CASE s.direction WHEN 'Bullish' THEN 1 ELSE -1 END AS sgn,
               abs(s.entry_price - s.stop_loss) AS r, s.confirmation_time AS ct, x.real_exit, x.basis
          FROM sigsync.signals s
          JOIN (SELECT DISTINCT u.symbol, u.trade_id FROM unnest(p_symbols, p_trade_ids) u(symbol, trade_id)) k
            ON k.symbol = s.symbol AND k.trade_id = s.trade_id
         CROSS JOIN cfg
         -- a trade closed by a real exit is walked up to that exit only
         CROSS JOIN LATERAL sigsync._walk_basis(s.direction, s.entry_price, s.stop_loss, s.confirmation_time,
                                                s.exit_time, (SELECT p.tier FROM sigsync.signal_provenance p
                                                               WHERE p.symbol = s.symbol AND p.trade_id = s.trade_id
                                                                 AND p.field = 'exit_time'), cfg.be_r) x
         WHERE s.status IN ('active', 'closed') AND s.direction IS NOT NULL AND s.confirmation_time IS NOT NULL
           AND s.entry_price IS NOT NULL AND s.stop_loss IS NOT NULL AND s.entry_price <> s.stop_loss
    ),
    resume AS (   -- the stored walk, where it still holds
        SELECT sig.*, w.symbol IS NOT NULL AS resumed, w.walked_to AS w_to, coalesce(w.walked_to, sig.ct) AS from_ts,
               coalesce(w.bars, 0) AS w_bars,
               w.stop_ts AS w_stop, w.trigger_ts AS w_trigger, w.be_exit_ts AS w_be_exit,
               w.fav_no_be AS w_fav_no_be, w.fav_be AS w_fav_be, w.adv AS w_adv
          FROM sig
          LEFT JOIN sigsync.bar_walks w
            ON w.symbol = sig.symbol AND w.trade_id = sig.trade_id AND w.basis = sig.basis
           AND (w.walked_to IS NULL OR w.walked_to <= p_now)
    ),
    stop_bar AS MATERIALIZED (   -- the first new bar at the stop, entry -/+ R (none for a complete walk;
                                 -- materialised: looked for once, not at each reference)
        SELECT x.*,
               CASE WHEN x.w_stop IS NULL
                    THEN sigsync._stop_bar(x.symbol, x.sgn, x.e - x.sgn * x.r, x.from_ts, least(p_now, x.real_exit)) END
                   AS stop_ts
          FROM resume x
    ),
    upto AS (   -- nothing after the stop bar matters: walk up to it (cost ∝ the new bars, not
                -- the trade's age)
        SELECT x.*,
               CASE WHEN x.w_stop IS NOT NULL THEN x.w_to    -- complete
                    ELSE least(p_now, x.real_exit, x.stop_ts) END AS last_ts
          FROM stop_bar x
    ),
    -- per signal, each first bar of its kind: one index range scan that stops at it (after the
    -- stop bar, which stop_bar found the same way); a trigger / BE exit the stored walk found stays
    firsts AS MATERIALIZED (   -- (once per signal: the spans below read them per bar)
        SELECT u.*, t.trigger_ts,
               coalesce(u.w_be_exit,
                        CASE WHEN t.trigger_ts IS NOT NULL THEN
                            (SELECT p.ts FROM sigsync.price_bars p
                              WHERE p.symbol = u.symbol AND p.ts > u.from_ts AND p.ts > t.trigger_ts
                                AND p.ts <= u.last_ts
                                AND u.sgn * ((CASE WHEN u.sgn = 1 THEN p.low ELSE p.high END) - u.e) / u.r <= 0
                              ORDER BY p.ts
                              LIMIT 1) END) AS be_exit_ts
          FROM upto u
         CROSS JOIN cfg
         CROSS JOIN LATERAL (
                SELECT coalesce(u.w_trigger,
                                (SELECT p.ts FROM sigsync.price_bars p
                                  WHERE p.symbol = u.symbol AND p.ts > u.from_ts AND p.ts <= u.last_ts
                                    AND (u.stop_ts IS NULL OR p.ts < u.stop_ts)
                                    AND u.sgn * ((CASE WHEN u.sgn = 1 THEN p.high ELSE p.low END) - u.e) / u.r
                                        >= cfg.be_r
                                  ORDER BY p.ts
                                  LIMIT 1)) AS trigger_ts
                 OFFSET 0) t   -- (a fence: looked for once, not at each reference to it)
    ),
    -- per signal, what its new bars show, in one range aggregate (no sort, no window): the max
    -- favourable / min adverse of each span, of each bar's own quotient (the maximum of the rounded
    -- quotients, as bar by bar: the result is the same however the bars are split over cycles)
    found AS (
        SELECT f.*, greatest(a.fav_be, a.fav_after_be) AS fav_no_be, a.fav_be, a.adv, a.new_bars, a.last_bar
          FROM firsts f
         CROSS JOIN LATERAL (   -- (the spans before and after the BE exit apart: each bar's quotient
                                -- is computed once, in the one aggregate whose filter it passes)
                SELECT max(v.fav) FILTER (WHERE (f.stop_ts IS NULL OR p.ts < f.stop_ts)
                                            AND (f.be_exit_ts IS NULL OR p.ts < f.be_exit_ts)) AS fav_be,
                       max(v.fav) FILTER (WHERE (f.stop_ts IS NULL OR p.ts < f.stop_ts)
                                            AND p.ts >= f.be_exit_ts) AS fav_after_be,
                       min(v.adv) FILTER (WHERE f.stop_ts IS NULL OR p.ts <= f.stop_ts) AS adv,
                       count(p.ts) AS new_bars,
                       max(p.ts) AS last_bar
                  FROM sigsync.price_bars p
                 CROSS JOIN LATERAL (   -- the bar's excursions, in R (the first-bar scans above ask the same)
                        SELECT f.sgn * ((CASE WHEN f.sgn = 1 THEN p.high ELSE p.low END) - f.e) / f.r AS fav,
                               f.sgn * ((CASE WHEN f.sgn = 1 THEN p.low ELSE p.high END) - f.e) / f.r AS adv) v
                 WHERE p.symbol = f.symbol AND p.ts > f.from_ts AND p.ts <= f.last_ts) a
    ),
    walk AS (
        SELECT u.symbol, u.trade_id, u.basis, u.resumed, u.ct, u.e,
               -- (the recorded stop as written when it is that price: on its side of the entry)
               CASE WHEN u.e - u.sgn * u.r = u.st THEN u.st ELSE u.e - u.sgn * u.r END AS stop_price,
               coalesce(u.w_stop, u.stop_ts) AS stop_ts, u.trigger_ts, u.be_exit_ts,
               greatest(u.w_fav_no_be, u.fav_no_be) AS fav_no_be,
               CASE WHEN u.w_be_exit IS NOT NULL THEN u.w_fav_be ELSE greatest(u.w_fav_be, u.fav_be) END AS fav_be,
               least(u.w_adv, u.adv) AS adv,
               u.w_bars + u.new_bars::integer AS bars,
               u.new_bars,
               coalesce(u.last_bar, u.w_to) AS walked_to
          FROM found u
    ),
    saved AS (   -- (runs whether or not it is read) walks that moved or started over
        INSERT INTO sigsync.bar_walks AS w
               (symbol, trade_id, basis, walked_to, bars, stop_ts, trigger_ts, be_exit_ts, fav_no_be, fav_be, adv)
        SELECT k.symbol, k.trade_id, k.basis, k.walked_to, k.bars, k.stop_ts, k.trigger_ts, k.be_exit_ts,
               k.fav_no_be, k.fav_be, k.adv
          FROM walk k
         WHERE NOT k.resumed OR k.new_bars > 0
        ON CONFLICT (symbol, trade_id) DO UPDATE
           SET (basis, walked_to, bars, stop_ts, trigger_ts, be_exit_ts, fav_no_be, fav_be, adv, updated_at)
             = (excluded.basis, excluded.walked_to, excluded.bars, excluded.stop_ts, excluded.trigger_ts,
                excluded.be_exit_ts, excluded.fav_no_be, excluded.fav_be, excluded.adv, now())
    )
    SELECT k.symbol, k.trade_id,
           round(greatest(0, coalesce(k.fav_be, 0)), 4),
           round(greatest(0, coalesce(k.fav_no_be, 0)), 4),
           round(least(0, greatest(-1, coalesce(k.adv, 0))), 4),
           coalesce(k.stop_ts, k.walked_to, k.ct),
           k.bars,
           k.trigger_ts, k.be_exit_ts, k.stop_ts, k.stop_price, k.e
      FROM walk k;
END
$$;
COMMENT ON FUNCTION sigsync._bar_walk(timestamptz, text[], text[]) IS
    'Internal: Tier 2 bar walk (DESIGN §6) for confirmed signals: be_mfe, no_be_mfe, mae_global_r, BE trigger, EXIT_BE, '
    'EXIT_SL; continues the walk stored in sigsync.bar_walks when it still holds.';
REVOKE ALL ON FUNCTION sigsync._bar_walk(timestamp with time zone,text[],text[]) FROM PUBLIC;
