-- indicator_link: the link to each reporting indicator (one row per source of
-- sigsync.indicator_status), for a reader: when it was last heard from, whether it counts as
-- online (a HEARTBEAT within the heartbeat_timeout setting of now(): sigsync._indicator_online,
-- the one home of that rule), since when it is
-- offline (last heartbeat + heartbeat_timeout; NULL while online or when it never sent one),
-- what it says it tracks (counts only, not the lists), its version, and its last SYNC_STATUS.
CREATE VIEW sigsync.indicator_link AS
SELECT i.source,
       i.last_heartbeat_at,
       sigsync._indicator_online(i.last_heartbeat_at, now())                 AS online,
       CASE WHEN NOT sigsync._indicator_online(i.last_heartbeat_at, now())
            THEN i.last_heartbeat_at + t.timeout END                         AS offline_since,
       i.tracked_signals,
       i.indicator_version,
       i.sync_status_at,
       coalesce(cardinality(i.tracking), 0)                                  AS tracking_count,
       coalesce(cardinality(i.not_tracking), 0)                              AS not_tracking_count,
       i.updated_at
  FROM sigsync.indicator_status i
 CROSS JOIN (SELECT (s.value #>> '{}')::interval AS timeout      -- (when the timeout ran out)
               FROM sigsync.settings s WHERE s.key = 'heartbeat_timeout') t;

COMMENT ON VIEW sigsync.indicator_link IS
    'The link to each indicator (source): last_heartbeat_at, online (a HEARTBEAT within heartbeat_timeout), '
    'offline_since (last heartbeat + heartbeat_timeout, NULL while online), tracked_signals, indicator_version, '
    'sync_status_at and the sizes of its tracking / not_tracking lists. Example: SELECT source, online, '
    'offline_since, last_heartbeat_at FROM sigsync.indicator_link ORDER BY source;';

GRANT SELECT ON sigsync.indicator_link TO sigsync_reader, sigsync_admin;
