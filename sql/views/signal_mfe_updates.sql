-- signal_mfe_updates: the MFE/MAE updates the indicator reported for each signal (every MFE_UPDATE
-- of sigsync.automated_signals, a MFE_UPDATE_BATCH's items included), for its chart: the real
-- path, told apart from what Tier 2 reads from the bars (signal_bars).
--   event_id        the event (automated_signals.id)
--   at              its event time ("timestamp"); rows in event-time order by (at, event_id)
--   be_mfe, no_be_mfe, mae_global_r, current_price   as reported (NULL when not sent)
--   anomaly         the update was flagged as an anomaly when it was projected (by the cycle
--                   after its ingest: _project_queued; an audit row
--                   action_type 'anomaly' of sync_audit_log names this event): stored in the log,
--                   but the flagged values were not applied to the registry
--   anomaly_fields  which of its values were flagged (be_mfe, no_be_mfe, mae_global_r), sorted
-- Bounded: the last 5,000 updates of a signal by event time (a trade reporting every bar of a
-- day has a few hundred). A query for one signal (symbol, trade_id) reads its registry row and
-- its updates by index (automated_signals_signal_idx; the anomaly of each by
-- sync_audit_log_anomaly_event_idx), never the whole log.
CREATE VIEW sigsync.signal_mfe_updates AS
SELECT s.symbol,
       s.trade_id,
       u.event_id,
       u.at,
       u.be_mfe,
       u.no_be_mfe,
       u.mae_global_r,
       u.current_price,
       cardinality(u.anomaly_fields) > 0 AS anomaly,
       u.anomaly_fields
  FROM sigsync.signals s
 CROSS JOIN LATERAL (
        SELECT e.id          AS event_id,
               e."timestamp" AS at,
               e.be_mfe,
               e.no_be_mfe,
               e.mae_global_r,
               e.current_price,
               ARRAY(SELECT DISTINCT a.field
                       FROM sigsync.sync_audit_log a
                      WHERE a.symbol = e.symbol AND a.event_id = e.id AND a.action_type = 'anomaly'
                        AND a.field IS NOT NULL
                      ORDER BY a.field) AS anomaly_fields
          FROM sigsync.automated_signals e
         WHERE e.symbol = s.symbol AND e.trade_id = s.trade_id AND e.trade_id IS NOT NULL
           AND e.event_type = 'MFE_UPDATE'
         ORDER BY e."timestamp" DESC, e.id DESC
         LIMIT 5000
       ) u;

COMMENT ON VIEW sigsync.signal_mfe_updates IS
    'The MFE/MAE updates the indicator reported for each signal (every MFE_UPDATE, batch items included; the '
    'last 5000 by event time): event_id, at (event time), be_mfe, no_be_mfe, mae_global_r, current_price, and '
    'anomaly / anomaly_fields: flagged when projected (the cycle after ingest; audit action anomaly), stored but not applied. Example: '
    'SELECT at, no_be_mfe, mae_global_r, anomaly FROM sigsync.signal_mfe_updates WHERE symbol = ''NQ1!'' AND '
    'trade_id = ''20251212_104200000_BULLISH'' ORDER BY at, event_id;';

GRANT SELECT ON sigsync.signal_mfe_updates TO sigsync_reader, sigsync_admin;
