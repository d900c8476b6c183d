-- all_signals: every signal of the registry with its health (DESIGN §4, §10).
-- One row per (symbol, trade_id). Internal bookkeeping columns of sigsync.signals
-- (evt_*, dirty, dirty_gen, has_entry; provenance: field_provenance) are not exposed.
-- gaps: the open gap types from sigsync.signal_health_metrics, sorted (C collation);
-- '{}' when none is recorded. health_score and health_updated_at are NULL while the
-- signal has never been reconciled (no signal_health_metrics row yet).
-- A gap counts as open as sigsync.signal_gaps reads it (the one reading of every view).
CREATE VIEW sigsync.all_signals AS
SELECT s.symbol,
       s.trade_id,
       s.direction,
       s.signal_time,
       s.signal_date,
       s.session,
       s.status,
       s.confirmation_time,
       s.bars_to_confirmation,
       s.entry_price,
       s.stop_loss,
       s.htf_alignment,
       s.targets_extended,
       s.be_mfe,
       s.no_be_mfe,
       s.mae_global_r,
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
       s.health_score,
       s.gaps,
       -- additions after the contract columns
       s.source,
       s.signal_price,
       s.current_price,
       s.last_mfe_update_at,
       s.first_event_at,
       s.last_event_at,
       s.health_updated_at
  FROM sigsync._signal_rows s;

COMMENT ON VIEW sigsync.all_signals IS
    'Every signal (pending, active, closed, cancelled) with its registry fields, health score and sorted open gap '
    'types (gaps text[], ''{}'' when none). health_score / health_updated_at are NULL while the signal was never '
    'reconciled. Example: SELECT trade_id, status, session, health_score, gaps FROM sigsync.all_signals '
    'WHERE signal_date = ''2025-12-12'' ORDER BY signal_time;';

GRANT SELECT ON sigsync.all_signals TO sigsync_reader, sigsync_admin;
