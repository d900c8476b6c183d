-- signals_with_health (name kept from the seeds' schema): every signal of the registry
-- joined with its sigsync.signal_health_metrics row. gaps is that row's jsonb object
-- {"<gap_type>": "<since>"} (all_signals / signals_with_gaps show it as a sorted text[]);
-- health_score, gaps, gap_count and health_updated_at are NULL while the signal was never
-- reconciled. Nothing depends on this view (the seeds' rollback drops it by name).
CREATE VIEW sigsync.signals_with_health AS
SELECT s.symbol,
       s.trade_id,
       s.source,
       s.direction,
       s.signal_time,
       s.signal_date,
       s.session,
       s.signal_price,
       s.status,
       s.htf_alignment,
       s.confirmation_time,
       s.bars_to_confirmation,
       s.entry_price,
       s.stop_loss,
       s.targets_extended,
       s.be_mfe,
       s.no_be_mfe,
       s.mae_global_r,
       s.last_mfe_update_at,
       s.current_price,
       s.be_triggered_at,
       s.be_exit_time,
       s.exit_type,
       s.exit_time,
       s.exit_price,
       s.final_mfe,
       s.cancelled_at,
       s.cancelled_by,
       s.cancel_reason,
       s.bars_pending,
       s.cancel_detection,
       s.first_event_at,
       s.last_event_at,
       s.health_score,
       s.gap_details AS gaps,
       s.gap_count,
       s.health_updated_at
  FROM sigsync._signal_rows s;

COMMENT ON VIEW sigsync.signals_with_health IS
    'Every signal with its health row: health_score (0..100), gaps jsonb ({"<gap_type>": "<since>"}), gap_count, '
    'health_updated_at; health columns NULL when never reconciled. Example: SELECT status, round(avg(health_score), 1) '
    'FROM sigsync.signals_with_health GROUP BY status;';

GRANT SELECT ON sigsync.signals_with_health TO sigsync_reader, sigsync_admin;
