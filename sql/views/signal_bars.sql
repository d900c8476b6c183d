-- signal_bars: the price bars around each signal (sigsync.price_bars), for its chart, with the
-- path of what the Tier 2 walk reads from them (DESIGN §6), bar by bar.
-- The bars: from 30 bars (bar_interval) before the signal time to 30 bars after its exit or
-- cancellation (an open signal: up to the latest bar), at most 3000 bars per signal.
-- in_trade: the bar lies after the confirmation (ts > confirmation_time) of a confirmed signal
-- with entry and stop, and not after a real (reported, not inferred) EXIT_SL. On such bars,
-- with R = |entry - stop| and Bullish favourable = (high - entry)/R, adverse = (low - entry)/R
-- (Bearish mirrored), the same rules as the walk (sigsync._bar_walk):
--   t2_stop        the first bar with adverse <= -1, compared exactly: low <= entry - R (Bearish:
--                  high >= entry + R), as sigsync._stop_bar (the stop is checked before the favourable side)
--   t2_be_trigger  the first bar before it with favourable >= be_trigger_r
--   t2_be_exit     the first bar after the trigger with adverse <= 0
--   t2_no_be_mfe   running max favourable before the stop bar (>= 0), up to the stop bar
--   t2_be_mfe      the same, also before the BE exit bar
--   t2_mae         running min adverse up to and including the stop bar, in [-1, 0]
-- (4 places; NULL outside the trade). The last values equal the registry's Tier 2 values
-- when the walk has read the same bars (it reads only bars up to its cycle's p_now).
-- A query for one signal (symbol, trade_id) reads its registry row and its bars by index only.
CREATE VIEW sigsync.signal_bars AS
SELECT w.symbol,
       w.trade_id,
       w.ts,
       w.open,
       w.high,
       w.low,
       w.close,
       w.in_trade,
       CASE WHEN w.in_trade AND (w.stop_ts IS NULL OR w.ts <= w.stop_ts)
            THEN round(greatest(coalesce(w.run_no_be, 0), 0), 4) END                       AS t2_no_be_mfe,
       CASE WHEN w.in_trade AND (w.stop_ts IS NULL OR w.ts <= w.stop_ts)
            THEN round(greatest(coalesce(w.run_be, 0), 0), 4) END                          AS t2_be_mfe,
       CASE WHEN w.in_trade AND (w.stop_ts IS NULL OR w.ts <= w.stop_ts)
            THEN round(least(greatest(coalesce(w.run_adv, 0), -1), 0), 4) END              AS t2_mae,
       coalesce(w.ts = w.trigger_ts, false)                                                AS t2_be_trigger,
       coalesce(w.ts = w.be_exit_ts, false)                                                AS t2_be_exit,
       coalesce(w.ts = w.stop_ts, false)                                                   AS t2_stop
  FROM (
        SELECT y.*,
               max(y.fav) FILTER (WHERE y.in_trade AND (y.stop_ts IS NULL OR y.ts < y.stop_ts)) OVER r AS run_no_be,
               max(y.fav) FILTER (WHERE y.in_trade AND (y.stop_ts IS NULL OR y.ts < y.stop_ts)
                                    AND (y.be_exit_ts IS NULL OR y.ts < y.be_exit_ts)) OVER r AS run_be,
               min(y.adv) FILTER (WHERE y.in_trade AND (y.stop_ts IS NULL OR y.ts <= y.stop_ts)) OVER r AS run_adv
          FROM (
                SELECT x.*,
                       min(x.ts) FILTER (WHERE x.in_trade AND x.adv <= 0 AND x.ts > x.trigger_ts) OVER k AS be_exit_ts
                  FROM (
                        SELECT v.*,
                               min(v.ts) FILTER (WHERE v.in_trade AND v.fav >= v.be_r
                                                   AND (v.stop_ts IS NULL OR v.ts < v.stop_ts)) OVER k AS trigger_ts
                          FROM (
                                SELECT u.*,
                                       min(u.ts) FILTER (WHERE u.in_trade AND u.at_stop) OVER k AS stop_ts
                                  FROM (
                                        SELECT s.symbol, s.trade_id, p.ts, p.open, p.high, p.low, p.close, c.be_r,
                                               coalesce(s.status IN ('active', 'closed')
                                                        AND p.ts > s.confirmation_time
                                                        AND b.r > 0
                                                        AND (b.real_exit IS NULL OR p.ts <= b.real_exit), false)
                                                   AS in_trade,
                                               b.sgn * ((CASE WHEN b.sgn = 1 THEN p.high ELSE p.low END)
                                                        - s.entry_price) / nullif(b.r, 0) AS fav,
                                               b.sgn * ((CASE WHEN b.sgn = 1 THEN p.low ELSE p.high END)
                                                        - s.entry_price) / nullif(b.r, 0) AS adv,
                                               -- adverse <= -1, compared exactly (no rounding of the
                                               -- division): sigsync._stop_bar's comparison, which the
                                               -- walk asks; that function reads price_bars, which
                                               -- sigsync_reader may not (pgTAP 62 holds them equal)
                                               CASE b.sgn WHEN 1 THEN p.low <= s.entry_price - b.r
                                                          WHEN -1 THEN p.high >= s.entry_price + b.r END AS at_stop
                                          FROM sigsync.signals s
                                         -- (bar_interval and be_trigger_r, defaults included, as dashboard_settings reads them)
                                         CROSS JOIN (
                                                SELECT d.bar_interval AS bar, d.be_trigger_r AS be_r
                                                  FROM sigsync.dashboard_settings d
                                               ) c
                                         CROSS JOIN LATERAL (
                                                SELECT CASE s.direction WHEN 'Bullish' THEN 1 WHEN 'Bearish' THEN -1 END AS sgn,
                                                       abs(s.entry_price - s.stop_loss) AS r,
                                                       -- the walk's own rule: a real exit caps it
                                                       (sigsync._walk_basis(s.direction, s.entry_price, s.stop_loss,
                                                            s.confirmation_time, s.exit_time,
                                                            (SELECT p.tier FROM sigsync.signal_provenance p
                                                              WHERE p.symbol = s.symbol AND p.trade_id = s.trade_id
                                                                AND p.field = 'exit_time'),
                                                            c.be_r)).real_exit AS real_exit,
                                                       coalesce(s.signal_time, s.confirmation_time, s.first_event_at)
                                                           - 30 * c.bar AS lo,
                                                       coalesce(coalesce(s.exit_time, s.cancelled_at) + 30 * c.bar,
                                                                'infinity') AS hi
                                               ) b
                                         CROSS JOIN LATERAL (
                                                SELECT pb.ts, pb.open, pb.high, pb.low, pb.close
                                                  FROM sigsync.price_bars pb
                                                 WHERE pb.symbol = s.symbol AND pb.ts >= b.lo AND pb.ts <= b.hi
                                                 ORDER BY pb.ts
                                                 LIMIT 3000
                                               ) p
                                       ) u
                                WINDOW k AS (PARTITION BY u.symbol, u.trade_id)
                               ) v
                        WINDOW k AS (PARTITION BY v.symbol, v.trade_id)
                       ) x
                WINDOW k AS (PARTITION BY x.symbol, x.trade_id)
               ) y
        WINDOW r AS (PARTITION BY y.symbol, y.trade_id ORDER BY y.ts ROWS UNBOUNDED PRECEDING)
       ) w;

COMMENT ON VIEW sigsync.signal_bars IS
    'Price bars around each signal (30 bars before its signal time to 30 after its exit or cancellation, open '
    'signals up to the latest bar; at most 3000) with the Tier 2 path bar by bar: in_trade, t2_no_be_mfe, t2_be_mfe, '
    't2_mae (running values the bar walk reads from the bars, in R) and the bars where it finds the BE trigger, the '
    'BE exit and the stop (t2_be_trigger, t2_be_exit, t2_stop). Example: SELECT ts, low, high, close, t2_no_be_mfe, '
    't2_mae FROM sigsync.signal_bars WHERE symbol = ''NQ1!'' AND trade_id = ''20251212_104200000_BULLISH'' '
    'ORDER BY ts;';

GRANT SELECT ON sigsync.signal_bars TO sigsync_reader, sigsync_admin;
