-- Internal: Tier 2 walk over price bars for the given confirmed signals (DESIGN §6); a trade
-- closed by a real EXIT_SL is walked up to that exit. The result depends only on the signal's
-- entry, stop, direction, confirmation and the bars, never on when the walk ran.
-- R = |entry - stop|; only bars with confirmation_time < ts <= p_now (ts = bar open time).
-- Bullish: favourable = (high - entry)/R, adverse = (low - entry)/R; Bearish mirrored.
-- The stop is checked before the favourable side: a bar that touches both is the stop bar
-- and its favourable excursion is excluded.
--   stop_ts    first bar with adverse <= -1 (EXIT_SL at the stop price)
--   trigger_ts first bar before stop_ts with favourable >= be_trigger_r (BE_TRIGGERED)
--   be_exit_ts first bar after trigger_ts with adverse <= 0 (EXIT_BE at the entry price)
--   no_be_mfe  max favourable before stop_ts;  be_mfe the same, also before be_exit_ts
--   mae        min adverse up to and including stop_ts
-- MFE clamped to >= 0, MAE to [-1, 0], rounded to 4 places; no bar yet: 0, 0, 0.
-- as_of is the last bar used (stop bar when stopped), else the confirmation time.
CREATE OR REPLACE FUNCTION sigsync._bar_walk(p_now timestamptz, p_symbols text[], p_trade_ids text[])
RETURNS TABLE (symbol text, trade_id text, be_mfe numeric, no_be_mfe numeric, mae_global_r numeric,
               as_of timestamptz, bars integer, trigger_ts timestamptz, be_exit_ts timestamptz,
               stop_ts timestamptz, stop_price numeric, entry_price numeric)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH cfg AS MATERIALIZED (   -- read once, not per bar
        SELECT sigsync._setting_numeric('be_trigger_r') AS be_r
    ),
    sig AS (
        SELECT s.symbol, s.trade_id, s.entry_price AS e, s.stop_loss AS st,
               CASE s.direction WHEN 'Bullish' THEN 1 ELSE -1 END AS sgn,
               abs(s.entry_price - s.stop_loss) AS r, s.confirmation_time AS ct,
               -- a trade closed by a real exit is walked up to that exit only
               CASE WHEN s.provenance -> 'exit_time' ->> 'tier' <> '2' THEN s.exit_time END AS real_exit
          FROM sigsync.signals s
          JOIN (SELECT DISTINCT u.symbol, u.trade_id FROM unnest(p_symbols, p_trade_ids) u(symbol, trade_id)) k
            ON k.symbol = s.symbol AND k.trade_id = s.trade_id
         WHERE s.status IN ('active', 'closed') AND s.direction IS NOT NULL AND s.confirmation_time IS NOT NULL
           AND s.entry_price IS NOT NULL AND s.stop_loss IS NOT NULL AND s.entry_price <> s.stop_loss
    ),
    upto AS (   -- nothing after the stop bar matters: walk up to it (cost ∝ the trade's life,
                -- not the bars since); adverse <= -1 is low <= entry - R (Bearish: high >= entry + R)
        SELECT sig.*,
               least(p_now, sig.real_exit,
                     (SELECT p.ts FROM sigsync.price_bars p
                       WHERE p.symbol = sig.symbol AND p.ts > sig.ct AND p.ts <= least(p_now, sig.real_exit)
                         AND CASE WHEN sig.sgn = 1 THEN p.low <= sig.e - sig.r ELSE p.high >= sig.e + sig.r END
                       ORDER BY p.ts LIMIT 1)) AS last_ts
          FROM sig
    ),
    b AS (   -- the walked bars, one row per signal without any (LEFT: it still gets a result)
        SELECT sig.symbol, sig.trade_id, sig.ct, sig.st, sig.e, bar.ts, bar.fav, bar.adv
          FROM upto sig
          LEFT JOIN LATERAL (
                SELECT p.ts,
                       sig.sgn * ((CASE WHEN sig.sgn = 1 THEN p.high ELSE p.low END) - sig.e) / sig.r AS fav,
                       sig.sgn * ((CASE WHEN sig.sgn = 1 THEN p.low ELSE p.high END) - sig.e) / sig.r AS adv
                  FROM sigsync.price_bars p
                 WHERE p.symbol = sig.symbol AND p.ts > sig.ct AND p.ts <= sig.last_ts) bar ON true
    ),
    -- one pass per step over each signal's bars (window aggregates: linear, no join back)
    stop AS (
        SELECT b.*, min(b.ts) FILTER (WHERE b.adv <= -1) OVER w AS stop_ts
          FROM b
        WINDOW w AS (PARTITION BY b.symbol, b.trade_id)
    ),
    trig AS (
        SELECT x.*, min(x.ts) FILTER (WHERE x.fav >= cfg.be_r AND (x.stop_ts IS NULL OR x.ts < x.stop_ts)) OVER w
                    AS trigger_ts
          FROM stop x CROSS JOIN cfg
        WINDOW w AS (PARTITION BY x.symbol, x.trade_id)
    ),
    be_exit AS (
        SELECT x.*, min(x.ts) FILTER (WHERE x.ts > x.trigger_ts AND x.adv <= 0) OVER w AS be_exit_ts
          FROM trig x
        WINDOW w AS (PARTITION BY x.symbol, x.trade_id)
    )
    SELECT x.symbol, x.trade_id,
           round(greatest(0, coalesce(max(x.fav) FILTER (WHERE (x.stop_ts IS NULL OR x.ts < x.stop_ts)
                                                           AND (x.be_exit_ts IS NULL OR x.ts < x.be_exit_ts)), 0)), 4),
           round(greatest(0, coalesce(max(x.fav) FILTER (WHERE x.stop_ts IS NULL OR x.ts < x.stop_ts), 0)), 4),
           round(least(0, greatest(-1, coalesce(min(x.adv) FILTER (WHERE x.stop_ts IS NULL OR x.ts <= x.stop_ts), 0))), 4),
           coalesce(x.stop_ts, max(x.ts), x.ct),
           count(x.ts)::integer,
           x.trigger_ts, x.be_exit_ts, x.stop_ts, x.st, x.e
      FROM be_exit x
     GROUP BY x.symbol, x.trade_id, x.ct, x.st, x.e, x.stop_ts, x.trigger_ts, x.be_exit_ts
$$;
COMMENT ON FUNCTION sigsync._bar_walk(timestamptz, text[], text[]) IS
    'Internal: Tier 2 bar walk (DESIGN §6) for confirmed signals: be_mfe, no_be_mfe, mae_global_r, BE trigger, EXIT_BE, EXIT_SL.';
REVOKE ALL ON FUNCTION sigsync._bar_walk(timestamp with time zone,text[],text[]) FROM PUBLIC;
