-- signals_with_gaps (name kept from the seeds' schema): signals having at least one open
-- gap (DESIGN §5), with the sorted gap types, their count, the health score and when
-- the oldest gap opened. Nothing else depends on this view, so the seeds' rollback
-- (DROP VIEW IF EXISTS signals_with_gaps) runs as written.
CREATE VIEW sigsync.signals_with_gaps AS
SELECT s.symbol,
       s.trade_id,
       s.direction,
       s.status,
       s.signal_time,
       s.signal_date,
       s.session,
       h.health_score,
       o.gap_count,
       o.gaps,
       o.oldest_gap_since,
       h.gaps       AS gap_details,
       h.updated_at AS health_updated_at
  FROM (SELECT g.symbol, g.trade_id,
               array_agg(g.gap_type ORDER BY g.gap_type COLLATE "C") AS gaps,
               count(*)::integer AS gap_count,
               min(g.since) AS oldest_gap_since
          FROM sigsync.signal_gaps g
         GROUP BY g.symbol, g.trade_id) o
  JOIN sigsync.signal_health_metrics h
    ON h.symbol = o.symbol AND h.trade_id = o.trade_id
  JOIN sigsync.signals s
    ON s.symbol = o.symbol AND s.trade_id = o.trade_id;

COMMENT ON VIEW sigsync.signals_with_gaps IS
    'Signals with at least one open gap: gaps text[] (sorted gap types), gap_count, health_score, oldest_gap_since, '
    'gap_details jsonb ({"<gap_type>": "<since>"}). Example: SELECT trade_id, status, health_score, gaps '
    'FROM sigsync.signals_with_gaps ORDER BY health_score, trade_id;';

GRANT SELECT ON sigsync.signals_with_gaps TO sigsync_reader, sigsync_admin;
