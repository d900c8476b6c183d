-- cancelled_signals: signals whose status is cancelled, explicit (CANCELLED event) or
-- inferred by the alternation rule (DESIGN §7). A CANCELLED signal that later got an
-- ENTRY is active (status precedence) and is not listed here.
CREATE VIEW sigsync.cancelled_signals AS
SELECT s.symbol,
       s.trade_id,
       s.direction,
       s.signal_time,
       s.signal_date,
       s.session,
       s.signal_price,
       s.htf_alignment,
       s.cancelled_at,
       s.cancelled_by,
       s.cancel_reason,
       s.bars_pending,
       s.cancel_detection,
       s.cancel_confidence,
       s.cancel_source,
       s.health_score,
       s.gaps
  FROM sigsync._signal_rows s
 WHERE s.status = 'cancelled';

COMMENT ON VIEW sigsync.cancelled_signals IS
    'Cancelled signals (never confirmed): cancel_detection explicit (CANCELLED event, confidence 1.0) or inferred '
    '(alternation rule, 0.9), with cancelled_at, cancelled_by (the opposite signal), cancel_reason and bars_pending. '
    'Example: SELECT cancel_detection, count(*), avg(bars_pending) FROM sigsync.cancelled_signals GROUP BY 1;';

GRANT SELECT ON sigsync.cancelled_signals TO sigsync_reader, sigsync_admin;
