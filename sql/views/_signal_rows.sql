-- _signal_rows (internal): each signal of the registry with what the public signal views add
-- to its columns, each rule spelled here once: its health row, its sorted open gap types (as
-- sigsync.signal_gaps reads them), and what the provenance of a few fields says. The views
-- all_signals, signals_with_health, active_trades, completed_trades and cancelled_signals each
-- select their columns from it (a join or subquery a view does not read is planned away).
--   gaps             the open gap types, sorted (C collation); '{}' when none
--   mfe_as_of        the as-of time of the MFE values (latest real update or Tier 2 computation):
--                    the clock the no_mfe_update gap watches; mfe_tier / mfe_confidence: no_be_mfe's
--   exit_inferred    the final exit was not reported by an event but inferred from price bars
--                    (tier of exit_time, else of exit_type, is not 'event'); NULL without provenance
--   be_exit_inferred likewise for the EXIT_BE (NULL when there was none)
--   cancel_confidence / cancel_source: cancelled_at's
-- Read by the views only (their owner's privileges): no role is granted it.
CREATE VIEW sigsync._signal_rows AS
SELECT s.*,
       h.health_score,
       h.gaps                                                     AS gap_details,
       h.gap_count,
       h.updated_at                                               AS health_updated_at,
       coalesce((SELECT array_agg(g.gap_type ORDER BY g.gap_type COLLATE "C") FROM sigsync.signal_gaps g
                  WHERE g.symbol = s.symbol AND g.trade_id = s.trade_id), '{}') AS gaps,
       greatest(p_be_mfe.at, p_no_be_mfe.at)                      AS mfe_as_of,
       p_no_be_mfe.tier                                           AS mfe_tier,
       p_no_be_mfe.confidence                                     AS mfe_confidence,
       coalesce(p_exit_time.tier, p_exit_type.tier) <> 'event'    AS exit_inferred,
       coalesce(p_exit_time.confidence, p_exit_type.confidence)   AS exit_confidence,
       CASE WHEN s.be_exit_time IS NOT NULL THEN p_be_exit_time.tier <> 'event' END AS be_exit_inferred,
       p_cancelled_at.confidence                                  AS cancel_confidence,
       p_cancelled_at.source                                      AS cancel_source
  FROM sigsync.signals s
  LEFT JOIN sigsync.signal_health_metrics h
         ON h.symbol = s.symbol AND h.trade_id = s.trade_id
  LEFT JOIN sigsync.signal_provenance p_be_mfe
         ON p_be_mfe.symbol = s.symbol AND p_be_mfe.trade_id = s.trade_id AND p_be_mfe.field = 'be_mfe'
  LEFT JOIN sigsync.signal_provenance p_no_be_mfe
         ON p_no_be_mfe.symbol = s.symbol AND p_no_be_mfe.trade_id = s.trade_id AND p_no_be_mfe.field = 'no_be_mfe'
  LEFT JOIN sigsync.signal_provenance p_exit_time
         ON p_exit_time.symbol = s.symbol AND p_exit_time.trade_id = s.trade_id AND p_exit_time.field = 'exit_time'
  LEFT JOIN sigsync.signal_provenance p_exit_type
         ON p_exit_type.symbol = s.symbol AND p_exit_type.trade_id = s.trade_id AND p_exit_type.field = 'exit_type'
  LEFT JOIN sigsync.signal_provenance p_be_exit_time
         ON p_be_exit_time.symbol = s.symbol AND p_be_exit_time.trade_id = s.trade_id
        AND p_be_exit_time.field = 'be_exit_time'
  LEFT JOIN sigsync.signal_provenance p_cancelled_at
         ON p_cancelled_at.symbol = s.symbol AND p_cancelled_at.trade_id = s.trade_id
        AND p_cancelled_at.field = 'cancelled_at';

COMMENT ON VIEW sigsync._signal_rows IS
    'Internal: every signal with its health, sorted open gap types and what the provenance of its MFE, exit and '
    'cancellation says; the public signal views select from it.';
REVOKE ALL ON sigsync._signal_rows FROM PUBLIC;
