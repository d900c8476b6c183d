-- signal_gaps: one row per open gap of a signal (DESIGN §5), read from
-- sigsync.signal_health_metrics.gaps ({"<gap_type>": "<since>"}) as of the signal's
-- last reconcile. This view is the one reading of "open gap" every other view uses
-- (gap_summary, system_health, signals_with_gaps, all_signals and the other lists).
-- A gap counts as open when its type is in sigsync.gap_types and its entry is not
-- false/null (the reading of calculate_signal_health_score; a gaps value that is not an object,
-- which only a hand edit can store, holds none); since is the entry read as an
-- ISO-8601 date-time with an offset (as reconcile writes it), NULL when it is anything else:
-- one odd row reads as "since unknown" and never breaks a view. A view, not a function, so
-- the planner sees through it: a count never reads since, and no call is made per row.
CREATE VIEW sigsync.signal_gaps AS
SELECT h.symbol,
       h.trade_id,
       g.key AS gap_type,
       (jsonb_path_query_first(g.value, '$.datetime() ? (@.type() == "timestamp with time zone")', '{}', true)
            #>> '{}')::timestamptz AS since
  FROM sigsync.signal_health_metrics h
 CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(h.gaps) = 'object' THEN h.gaps END) g
  JOIN sigsync.gap_types t
    ON t.gap_type = g.key
 WHERE h.gaps <> '{}'::jsonb          -- most signals: nothing to read
   AND g.value NOT IN ('false'::jsonb, 'null'::jsonb);

COMMENT ON VIEW sigsync.signal_gaps IS
    'Open gaps, one row per (signal, gap type), with since = when the gap was first seen open (as of the last '
    'reconcile cycle). Example: SELECT gap_type, since FROM sigsync.signal_gaps '
    'WHERE trade_id = ''20251212_104200000_BULLISH''; or the oldest open gaps: '
    'SELECT * FROM sigsync.signal_gaps ORDER BY since LIMIT 20;';

GRANT SELECT ON sigsync.signal_gaps TO sigsync_reader, sigsync_admin;
