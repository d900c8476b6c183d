-- signal_gaps: one row per open gap of a signal (DESIGN §5), read from
-- sigsync.signal_health_metrics.gaps ({"<gap_type>": "<since>"}) as of the signal's
-- last reconcile. A gap counts as open when its type is in sigsync.gap_types and its
-- entry is not false/null; since is NULL when the entry is not a timestamp string.
CREATE VIEW sigsync.signal_gaps AS
SELECT h.symbol,
       h.trade_id,
       g.gap_type,
       g.since
  FROM sigsync.signal_health_metrics h
 CROSS JOIN LATERAL sigsync._open_gap_entries(h.gaps) g;

COMMENT ON VIEW sigsync.signal_gaps IS
    'Open gaps, one row per (signal, gap type), with since = when the gap was first seen open (as of the last '
    'reconcile cycle). Example: SELECT gap_type, since FROM sigsync.signal_gaps '
    'WHERE trade_id = ''20251212_104200000_BULLISH''; or the oldest open gaps: '
    'SELECT * FROM sigsync.signal_gaps ORDER BY since LIMIT 20;';

GRANT SELECT ON sigsync.signal_gaps TO sigsync_reader, sigsync_admin;
