-- dashboard_settings: the few settings a reader (the dashboard) needs to show what it shows,
-- one row. sigsync_reader cannot read sigsync.settings itself; this view gives it these values
-- only (each with its default when the row is missing):
--   timezone           time zone in which the dashboard shows times (and trade_ids are written)
--   bar_interval       one chart bar
--   heartbeat_timeout  the indicator counts as offline without a HEARTBEAT this recent
--   mfe_stale_after    an active signal's MFE older than this is a no_mfe_update gap
--   be_trigger_r       excursion (R) at which break-even triggers
--   default_symbol     symbol of events without one
CREATE VIEW sigsync.dashboard_settings AS
SELECT coalesce((SELECT s.value #>> '{}' FROM sigsync.settings s WHERE s.key = 'timezone'),
                'America/New_York')                                                      AS timezone,
       coalesce((SELECT (s.value #>> '{}')::interval FROM sigsync.settings s WHERE s.key = 'bar_interval'),
                interval '1 minute')                                                     AS bar_interval,
       coalesce((SELECT (s.value #>> '{}')::interval FROM sigsync.settings s WHERE s.key = 'heartbeat_timeout'),
                interval '5 minutes')                                                    AS heartbeat_timeout,
       coalesce((SELECT (s.value #>> '{}')::interval FROM sigsync.settings s WHERE s.key = 'mfe_stale_after'),
                interval '2 minutes')                                                    AS mfe_stale_after,
       coalesce((SELECT (s.value #>> '{}')::numeric FROM sigsync.settings s WHERE s.key = 'be_trigger_r'),
                1)                                                                       AS be_trigger_r,
       coalesce((SELECT s.value #>> '{}' FROM sigsync.settings s WHERE s.key = 'default_symbol'),
                'NQ1!')                                                                  AS default_symbol;

COMMENT ON VIEW sigsync.dashboard_settings IS
    'One row: the settings a reader needs to present the data (timezone, bar_interval, heartbeat_timeout, '
    'mfe_stale_after, be_trigger_r, default_symbol), each with its default when unset; sigsync_reader cannot read '
    'sigsync.settings itself. Example: SELECT timezone, heartbeat_timeout FROM sigsync.dashboard_settings;';

GRANT SELECT ON sigsync.dashboard_settings TO sigsync_reader, sigsync_admin;
