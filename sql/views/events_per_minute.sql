-- events_per_minute: what arrived in each minute of the last 24 hours (by received_at: the
-- database clock, or for a body a receiver kept and replays, when it received it), one row per
-- minute in which anything arrived (minutes without any are absent: fill them with zeros when
-- drawing):
--   events         events stored (a MFE_UPDATE_BATCH counts once per item)
--   signal_events  of them, events of a signal (with a trade_id)
--   heartbeats     of them, HEARTBEAT events
--   rejected       payloads rejected (sigsync.rejected_events)
-- Both tables are read through their received_at indexes (BRIN / btree), only the last 24 h.
CREATE VIEW sigsync.events_per_minute AS
SELECT coalesce(e.minute, r.minute)        AS minute,
       coalesce(e.events, 0)               AS events,
       coalesce(e.signal_events, 0)        AS signal_events,
       coalesce(e.heartbeats, 0)           AS heartbeats,
       coalesce(r.rejected, 0)             AS rejected
  FROM (SELECT date_trunc('minute', a.received_at)                   AS minute,
               count(*)                                              AS events,
               count(*) FILTER (WHERE a.trade_id IS NOT NULL)        AS signal_events,
               count(*) FILTER (WHERE a.event_type = 'HEARTBEAT')    AS heartbeats
          FROM sigsync.automated_signals a
         WHERE a.received_at > now() - interval '24 hours'
         GROUP BY 1) e
  FULL JOIN
       (SELECT date_trunc('minute', x.received_at) AS minute, count(*) AS rejected
          FROM sigsync.rejected_events x
         WHERE x.received_at > now() - interval '24 hours'
         GROUP BY 1) r
    ON r.minute = e.minute;

COMMENT ON VIEW sigsync.events_per_minute IS
    'Arrivals per minute over the last 24 hours (received_at): events stored, signal_events, heartbeats and rejected '
    'payloads; minutes with nothing are absent. Example: SELECT minute, events, rejected FROM '
    'sigsync.events_per_minute WHERE minute > now() - interval ''1 hour'' ORDER BY minute;';

GRANT SELECT ON sigsync.events_per_minute TO sigsync_reader, sigsync_admin;
