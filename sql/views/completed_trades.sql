-- completed_trades: closed trades (status closed: EXIT_SL, real or inferred) and their
-- results (DESIGN §4). exit_inferred: the final exit was not reported by an event but
-- inferred from price bars; be_exit_inferred likewise for the EXIT_BE (the rules: _signal_rows).
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
       s.exit_inferred,
       s.exit_confidence,
       s.be_exit_inferred,
       s.source,
       s.health_score,
       s.gaps
  FROM sigsync._signal_rows s
 WHERE s.status = 'closed';

COMMENT ON VIEW sigsync.completed_trades IS
    'Closed trades (EXIT_SL, real or inferred) with their results: exit_time / exit_price / final_mfe (= final '
    'no_be_mfe), be_mfe (final after an EXIT_BE), mae_global_r, time in trade, and exit_inferred (true when the exit '
    'was inferred from price bars, not reported). Example: SELECT exit_inferred, count(*), avg(final_mfe), '
    'avg(be_mfe) FROM sigsync.completed_trades GROUP BY 1;';

GRANT SELECT ON sigsync.completed_trades TO sigsync_reader, sigsync_admin;
