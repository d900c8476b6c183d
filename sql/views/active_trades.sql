-- active_trades: confirmed signals (ENTRY) not closed by an EXIT_SL yet (status active),
-- with their live metrics and where the current MFE comes from (DESIGN §4, §6).
-- mfe_as_of is the as-of time of the MFE values (latest real update or Tier 2
-- computation), the clock that the no_mfe_update gap watches.
CREATE VIEW sigsync.active_trades AS
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
       s.be_mfe,
       s.no_be_mfe,
       s.mae_global_r,
       s.current_price,
       s.last_mfe_update_at,
       s.mfe_as_of,
       s.mfe_tier,
       s.mfe_confidence,
       s.be_triggered_at,
       s.be_exit_time,
       s.source,
       s.health_score,
       s.gaps
  FROM sigsync._signal_rows s
 WHERE s.status = 'active';

COMMENT ON VIEW sigsync.active_trades IS
    'Open trades (status active: ENTRY, no EXIT_SL yet) with entry, stop, risk, targets, running be_mfe / no_be_mfe / '
    'mae_global_r, the as-of time, tier and confidence of the MFE (event = indicator, 2 = computed from price bars), '
    'break-even state, health and open gaps. Example: SELECT trade_id, no_be_mfe, mfe_tier, mfe_as_of, gaps '
    'FROM sigsync.active_trades ORDER BY confirmation_time;';

GRANT SELECT ON sigsync.active_trades TO sigsync_reader, sigsync_admin;
