-- gap_summary: open gaps per gap type (DESIGN §5): one row per type of sigsync.gap_types,
-- zero counts included, heaviest (health weight) first. Counted from sigsync.signal_gaps, so
-- open_count = (SELECT count(*) FROM sigsync.signal_gaps WHERE gap_type = ...).
CREATE VIEW sigsync.gap_summary AS
SELECT t.gap_type,
       coalesce(c.open_count, 0) AS open_count
  FROM sigsync.gap_types t
  LEFT JOIN (SELECT g.gap_type, count(*) AS open_count
               FROM sigsync.signal_gaps g
              GROUP BY g.gap_type) c
         ON c.gap_type = t.gap_type
 ORDER BY t.weight DESC, t.gap_type COLLATE "C";

COMMENT ON VIEW sigsync.gap_summary IS
    'Open gap count per gap type (every type of sigsync.gap_types, zeros included), ordered by health weight, '
    'heaviest first: the gap breakdown of the seeds'' status check. Example: SELECT * FROM sigsync.gap_summary '
    'WHERE open_count > 0;';

GRANT SELECT ON sigsync.gap_summary TO sigsync_reader, sigsync_admin;
