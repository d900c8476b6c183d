-- completed_trades: closed trades (status closed: EXIT_SL, real or inferred) and their
-- results (DESIGN §4). exit_inferred: the final exit was not reported by an event but
-- inferred from price bars (provenance tier of exit_time, else of exit_type, is not
-- 'event'); NULL when the exit carries no provenance. be_exit_inferred likewise for the
-- EXIT_BE (NULL when there was none).
CREATE VIEW sigsync.completed_trades AS
SELECT s.symbol,
       s.trade_id,
       s.direction,
       s.signal_time,
       s.signal_date,
       s.session,
       s.htf_alignment,
       s.confirmation_time,
       s.bars_to_confirmation,
       s.entry_price,
       s.stop_loss,
       abs(s.entry_price - s.stop_loss) AS risk,
       s.targets_extended,
       s.be_triggered_at,
       s.be_exit_time,
       s.exit_type,
       s.exit_time,
       s.exit_price,
       s.final_mfe,
       s.be_mfe,
       s.no_be_mfe,
       s.mae_global_r,
       s.exit_time - s.confirmation_time AS time_in_trade,
       coalesce(pt.tier, py.tier) <> 'event'                      AS exit_inferred,
       coalesce(pt.confidence, py.confidence)                     AS exit_confidence,
       CASE WHEN s.be_exit_time IS NOT NULL THEN pb.tier <> 'event' END AS be_exit_inferred,
       s.source,
       h.health_score,
       coalesce((SELECT array_agg(g.gap_type ORDER BY g.gap_type COLLATE "C") FROM sigsync.signal_gaps g
                  WHERE g.symbol = s.symbol AND g.trade_id = s.trade_id), '{}') AS gaps
  FROM sigsync.signals s
  LEFT JOIN sigsync.signal_health_metrics h
         ON h.symbol = s.symbol AND h.trade_id = s.trade_id
  LEFT JOIN sigsync.signal_provenance pt
         ON pt.symbol = s.symbol AND pt.trade_id = s.trade_id AND pt.field = 'exit_time'
  LEFT JOIN sigsync.signal_provenance py
         ON py.symbol = s.symbol AND py.trade_id = s.trade_id AND py.field = 'exit_type'
  LEFT JOIN sigsync.signal_provenance pb
         ON pb.symbol = s.symbol AND pb.trade_id = s.trade_id AND pb.field = 'be_exit_time'
 WHERE s.status = 'closed';

COMMENT ON VIEW sigsync.completed_trades IS
    'Closed trades (EXIT_SL, real or inferred) with their results: exit_time / exit_price / final_mfe (= final '
    'no_be_mfe), be_mfe (final after an EXIT_BE), mae_global_r, time in trade, and exit_inferred (true when the exit '
    'was inferred from price bars, not reported). Example: SELECT exit_inferred, count(*), avg(final_mfe), '
    'avg(be_mfe) FROM sigsync.completed_trades GROUP BY 1;';

GRANT SELECT ON sigsync.completed_trades TO sigsync_reader, sigsync_admin;
