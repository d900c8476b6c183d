-- signal_timeline: the life of a signal as one stream (seed 003's "lifecycle timeline"):
-- its events from sigsync.automated_signals (kind 'event', at = event timestamp, what =
-- event_type, detail = payload as received) and the reconciler's actions on it from
-- sigsync.sync_audit_log (kind 'action', at = action_timestamp, what = action_type,
-- detail = {field, old_value, new_value, tier, confidence, reason, run_id}).
-- Driven from the registry row, each branch looks a signal up by (symbol, trade_id) in
-- automated_signals_signal_idx / sync_audit_log_signal_idx, so a query for one signal
-- (even by trade_id alone) never scans the event log.
CREATE VIEW sigsync.signal_timeline AS
SELECT s.symbol,
       s.trade_id,
       t.at,
       t.kind,
       t.what,
       t.detail,
       t.event_id,
       t.audit_id
  FROM sigsync.signals s
 CROSS JOIN LATERAL (
        SELECT e."timestamp"  AS at,
               'event'::text  AS kind,
               e.event_type   AS what,
               e.payload      AS detail,
               e.id           AS event_id,
               NULL::bigint   AS audit_id
          FROM sigsync.automated_signals e
         WHERE e.symbol = s.symbol AND e.trade_id = s.trade_id
        UNION ALL
        SELECT a.action_timestamp,
               'action'::text,
               a.action_type,
               jsonb_build_object('field', a.field, 'old_value', a.old_value, 'new_value', a.new_value,
                                  'tier', a.tier, 'confidence', a.confidence_score, 'reason', a.reason,
                                  'run_id', a.run_id),
               a.event_id,
               a.id
          FROM sigsync.sync_audit_log a
         WHERE a.symbol = s.symbol AND a.trade_id = s.trade_id
       ) t;

COMMENT ON VIEW sigsync.signal_timeline IS
    'Events and reconciler actions of each signal as one time line: kind event (what = event_type, detail = payload, '
    'event_id) or action (what = action_type, detail = {field, old_value, new_value, tier, confidence, reason, '
    'run_id}, audit_id; event_id = the event that caused it, if any). Example: SELECT at, kind, what, detail '
    'FROM sigsync.signal_timeline WHERE trade_id = ''20251212_104200000_BULLISH'' ORDER BY at, kind DESC;';

GRANT SELECT ON sigsync.signal_timeline TO sigsync_reader, sigsync_admin;
