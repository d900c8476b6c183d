-- Internal: project events of the log into the registry (the "event" tier).
-- p_events: the stored rows themselves (ingest has them from its INSERT, rebuild and the cycle
-- read them once), so no statement below looks an event up again. Three callers:
--   ingest  (p_run_id NULL, p_queue): creates or marks the signals rows; MFE_UPDATE events are
--           only queued on their row (signals.queued_events, in the transaction that stores
--           them) for the next cycle, which projects them (_project_queued); the rest now;
--   rebuild (p_run_id NULL, not p_queue): everything now, anomalies not audited again;
--   a cycle (p_run_id, not p_queue): the queued events of its working set, whose rows it holds.
-- The result does not depend on the order in which events arrive or are projected: static
-- fields keep the first value by event time, running metrics are running max/min by event time,
-- status follows from what is present (DESIGN §3-4). Implausible values are not applied; they
-- are audited as anomalies when p_audit_anomalies. Returns fields written.
CREATE OR REPLACE FUNCTION sigsync._project_events(p_events sigsync.automated_signals[], p_audit_anomalies boolean,
                                                   p_run_id bigint, p_queue boolean)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_max_queued constant integer := 5000;   -- events a signal's queue holds at most (a cycle's budget)
    v_full_syms text[];
    v_full_tids text[];
    v_tz text := sigsync._setting_text('timezone');
    v_queued_types text[] := '{}'::text[];   -- the batch's types ingest leaves to the cycle (_queued: once a type)
    v_all_queued boolean := false;    -- ... and whether that is all of them
    v_cands sigsync._candidate[];
    v_written integer := 0;
BEGIN
    IF p_events IS NULL OR cardinality(p_events) = 0 THEN
        RETURN 0;
    END IF;

    IF p_queue THEN
        WITH t AS MATERIALIZED (   -- (a fence: _queued must not be pushed down to each event)
            SELECT DISTINCT e.event_type FROM unnest(p_events) e
        )
        SELECT coalesce(array_agg(t.event_type) FILTER (WHERE sigsync._queued(t.event_type, p_queue)), '{}'),
               bool_and(sigsync._queued(t.event_type, p_queue))
          INTO v_queued_types, v_all_queued
          FROM t;
    END IF;

    -- 1. one registry row per signal (outside a cycle); locks the rows in key order (no deadlock
    --    between concurrent ingests), marks them for the next reconcile cycle and queues the
    --    events it leaves to the cycle
    IF p_run_id IS NULL THEN
        WITH up AS (
            INSERT INTO sigsync.signals AS s (symbol, trade_id, queued_events)
            SELECT e.symbol, e.trade_id, array_agg(e.id ORDER BY e.id) FILTER (WHERE e.event_type = ANY (v_queued_types))
              FROM unnest(p_events) e
             WHERE e.trade_id IS NOT NULL
             GROUP BY e.symbol, e.trade_id
             ORDER BY 1, 2
            ON CONFLICT (symbol, trade_id) DO UPDATE
               SET dirty = true, dirty_gen = s.dirty_gen + 1,
                   queued_events = CASE WHEN excluded.queued_events IS NULL THEN s.queued_events
                                        ELSE coalesce(s.queued_events, '{}') || excluded.queued_events END
            RETURNING s.symbol, s.trade_id, cardinality(s.queued_events) AS queued
        )
        -- a queue no cycle empties (none runs) would make every ingest rewrite a longer row: past
        -- c_max_queued events, ingest projects that signal's queue itself
        SELECT array_agg(up.symbol ORDER BY up.symbol, up.trade_id),
               array_agg(up.trade_id ORDER BY up.symbol, up.trade_id)
          INTO v_full_syms, v_full_tids
          FROM up
         WHERE up.queued > c_max_queued;
        IF v_full_syms IS NOT NULL THEN
            PERFORM sigsync._project_queued(NULL, v_full_syms, v_full_tids);
        END IF;
    END IF;

    IF v_all_queued THEN
        RETURN 0;   -- nothing to project now
    END IF;

    -- 2-4 in one statement, which reads the events once: each unnest of the rows copies every row
    -- (five of them were a third of a cycle's projection of its queued events). Its parts see one
    -- snapshot, none of the others' writes, and need none: the anomalies (2) and the candidates (3)
    -- read the registry as it was before this statement (the candidates are merged after it), the
    -- "MFE below an earlier MFE" check's look for an audited row never concerns a row the other
    -- anomaly check writes (that one flags negative values only), and the indicator link (4) is a
    -- table of its own. (The parts write in an order of PostgreSQL's: one call's anomaly rows of the
    -- two kinds are not in the order of the steps here.)
    WITH events AS MATERIALIZED (   -- the events projected now, the columns read below (not the payload)
        SELECT e.symbol, e.trade_id, e.id, e.event_type, e."timestamp", e.payload_checksum, e.source, e.direction,
               e.signal_time, e.session, e.htf_alignment, e.signal_price, e.confirmation_time, e.bars_to_confirmation,
               e.entry_price, e.stop_loss, e.current_price, e.be_mfe, e.no_be_mfe, e.mae_global_r, e.exit_price,
               e.final_mfe, e.cancelled_time, e.cancelled_by, e.cancel_reason, e.bars_pending, e.tracked_signals,
               e.indicator_version, e.tracking, e.not_tracking,
               CASE WHEN e.event_type = 'SIGNAL_CREATED' THEN '0' ELSE 'event' END AS tier,
               -- the time a static value of these types carries (be_triggered_at, exit_time, ...)
               CASE WHEN e.event_type IN ('BE_TRIGGERED', 'EXIT_BE', 'EXIT_SL', 'CANCELLED') THEN e."timestamp" END
                   AS static_at
          FROM unnest(p_events) e
         WHERE e.event_type <> ALL (v_queued_types)
    ),
    ev AS NOT MATERIALIZED (   -- the signals' events (a heartbeat or a sync status names none)
        SELECT * FROM events e WHERE e.trade_id IS NOT NULL
    ),
    -- the running metrics' observations an event carries, declared once for every reader here:
    -- an MFE update's be_mfe, no_be_mfe and mae_global_r, an EXIT_BE's final_mfe (be), an
    -- EXIT_SL's final_mfe (no_be) and its MAE of -1; an implausible value (an MFE below 0, an MAE
    -- outside -1..0) is none (NULL), and is audited above (an MAE below -1 only before the
    -- signal's exit: at or after it the price may run past the stop). Of the events projected now
    -- (batch) and of the log, which the MFE check below reads per signal through its index. Each
    -- reader names its side: the qual on batch, pushed into the union, leaves the other side empty
    -- (per_signal must never read the log).
    observed AS NOT MATERIALIZED (
        SELECT o.*,
               CASE WHEN o.event_type = 'MFE_UPDATE' AND o.be_mfe >= 0 THEN o.be_mfe
                    WHEN o.event_type = 'EXIT_BE' AND o.final_mfe >= 0 THEN o.final_mfe END AS obs_be,
               CASE WHEN o.event_type = 'MFE_UPDATE' AND o.no_be_mfe >= 0 THEN o.no_be_mfe
                    WHEN o.event_type = 'EXIT_SL' AND o.final_mfe >= 0 THEN o.final_mfe END AS obs_no_be,
               CASE WHEN o.event_type = 'MFE_UPDATE' AND o.mae_global_r BETWEEN -1 AND 0 THEN o.mae_global_r
                    WHEN o.event_type = 'EXIT_SL' THEN -1 END AS obs_mae
          FROM (SELECT true AS batch, e.symbol, e.trade_id, e.id, e.event_type, e."timestamp", e.be_mfe, e.no_be_mfe,
                       e.final_mfe, e.mae_global_r
                  FROM ev e
                UNION ALL
                SELECT false, b.symbol, b.trade_id, b.id, b.event_type, b."timestamp", b.be_mfe, b.no_be_mfe,
                       b.final_mfe, b.mae_global_r
                  FROM sigsync.automated_signals b   -- (trade_id IS NOT NULL: the partial signal index)
                 WHERE b.trade_id IS NOT NULL) o
    ),
    -- 2. anomalies: stored in the log, audited, not applied.
    anomalies AS (
        INSERT INTO sigsync.sync_audit_log
               (symbol, trade_id, action_type, field, new_value, tier, confidence_score, source, reason, event_id)
        SELECT e.symbol, e.trade_id, 'anomaly', a.field, to_jsonb(a.value), 'event', sigsync._tier_confidence('event'),
               'event:' || e.id, a.reason, e.id
          FROM ev e
         CROSS JOIN LATERAL (VALUES   -- (the value is written as JSON for a flagged one only)
            ('be_mfe', e.be_mfe, e.be_mfe < 0, 'negative MFE'),
            ('no_be_mfe', e.no_be_mfe, e.no_be_mfe < 0, 'negative MFE'),
            ('final_mfe', e.final_mfe, e.final_mfe < 0, 'negative final MFE'),
            ('mae_global_r', e.mae_global_r, e.mae_global_r > 0, 'MAE above 0'),
            ('mae_global_r', e.mae_global_r,
                  e.mae_global_r < -1   -- (the signal's row is read only for such a value)
                  AND NOT coalesce((SELECT s.exit_time FROM sigsync.signals s
                                     WHERE s.symbol = e.symbol AND s.trade_id = e.trade_id) <= e."timestamp", false),
                  'MAE below -1 before an exit')
         ) a(field, value, flagged, reason)
         WHERE a.flagged AND p_audit_anomalies
        RETURNING 1
    ),

    -- ... and MFE updates below an earlier observation of the same metric (by event time: an
    -- earlier update, or the final_mfe of an earlier exit: "observed"), whichever arrived
    -- first, so the anomaly does not depend on arrival order: per signal, every update from the
    -- earliest new event of these types (t0) on, stored or new, against the highest before it: the window
    -- over these, and the highest before t0 (g, once per signal), which is the stored running
    -- max when everything projected so far is older (in-order arrival: no look-up), else one
    -- range scan per signal. Linear in the batch and the signal's history, never a look-up per
    -- event. Updates before t0 need no look: each was checked when it, or the later ones,
    -- arrived. Audited once.
    g AS MATERIALIZED (
        SELECT g.symbol, g.trade_id, g.t0,
               CASE WHEN s.evt_be_mfe_at < g.t0 THEN s.evt_be_mfe ELSE scan.be END AS before_be,
               CASE WHEN s.evt_no_be_mfe_at < g.t0 THEN s.evt_no_be_mfe ELSE scan.no_be END AS before_no_be
          FROM (SELECT e.symbol, e.trade_id, min(e."timestamp") AS t0
                  FROM ev e
                 WHERE e.event_type IN ('MFE_UPDATE', 'EXIT_BE', 'EXIT_SL') AND p_audit_anomalies
                 GROUP BY e.symbol, e.trade_id) g
          JOIN sigsync.signals s ON s.symbol = g.symbol AND s.trade_id = g.trade_id
          -- the range scan, only for a signal with a projected observation at or after t0
          LEFT JOIN LATERAL (
                SELECT max(b.obs_be) AS be, max(b.obs_no_be) AS no_be
                  FROM observed b
                 WHERE NOT b.batch AND b.symbol = g.symbol AND b.trade_id = g.trade_id
                   AND b."timestamp" < g.t0 AND b.event_type IN ('MFE_UPDATE', 'EXIT_BE', 'EXIT_SL')
                   AND (s.evt_be_mfe_at >= g.t0 OR s.evt_no_be_mfe_at >= g.t0)) scan ON true
    ),
    mfe_anomalies AS (
        INSERT INTO sigsync.sync_audit_log
               (symbol, trade_id, action_type, field, new_value, tier, confidence_score, source, reason, event_id)
        SELECT o.symbol, o.trade_id, 'anomaly', m.field, to_jsonb(m.value), 'event', sigsync._tier_confidence('event'),
               'event:' || o.id,
               'MFE below an earlier MFE', o.id
          FROM (SELECT o.symbol, o.trade_id, o.id, o.event_type, o.be_mfe, o.no_be_mfe,
                       greatest(o.max_be, g.before_be) AS prev_be, greatest(o.max_no_be, g.before_no_be) AS prev_no_be
                  FROM g
                 CROSS JOIN LATERAL (   -- per signal (lateral: the log is read through its index)
                        SELECT o.*,
                               max(o.obs_be) OVER w AS max_be, max(o.obs_no_be) OVER w AS max_no_be
                          FROM observed o
                         WHERE NOT o.batch AND o.symbol = g.symbol AND o.trade_id = g.trade_id
                           AND o."timestamp" >= g.t0 AND o.event_type IN ('MFE_UPDATE', 'EXIT_BE', 'EXIT_SL')
                        WINDOW w AS (ORDER BY o."timestamp" RANGE BETWEEN UNBOUNDED PRECEDING AND '1 microsecond' PRECEDING)
                       ) o) o
         CROSS JOIN LATERAL (VALUES ('be_mfe', o.be_mfe, o.be_mfe >= 0 AND o.be_mfe < o.prev_be),
                                    ('no_be_mfe', o.no_be_mfe, o.no_be_mfe >= 0 AND o.no_be_mfe < o.prev_no_be)
         ) m(field, value, flagged)
         WHERE o.event_type = 'MFE_UPDATE' AND m.flagged
           AND NOT EXISTS (SELECT 1 FROM sigsync.sync_audit_log a    -- (sync_audit_log_anomaly_event_idx)
                            WHERE a.symbol = o.symbol AND a.event_id = o.id AND a.action_type = 'anomaly'
                              AND a.field = m.field)
        RETURNING 1
    ),
    -- 3. candidates: event fields, plus the running metrics as complete aggregates.
    proposers AS (
        -- the events whose field candidates can win (all at confidence 1.0), so that a signal's
        -- hundreds of MFE updates make a few candidates, not hundreds: of the events that propose
        -- the same static values (same type and fields), the first by (event time, key), which
        -- the merge would keep among them (static: the first by event time); and per signal the
        -- latest event with a current price (latest: the latest wins). (DISTINCT ON: one sort
        -- each, where row numbers over both orders sorted the wide rows twice.)
        SELECT DISTINCT ON (e.symbol, e.trade_id, e.event_type, e.source, e.direction, e.signal_time, e.session,
                            e.htf_alignment, e.signal_price, e.confirmation_time, e.bars_to_confirmation,
                            e.entry_price, e.stop_loss, e.exit_price, e.final_mfe, e.cancelled_time, e.cancelled_by,
                            e.cancel_reason, e.bars_pending, e.static_at)
               e.*, 'static' AS kind
          FROM ev e
         ORDER BY e.symbol, e.trade_id, e.event_type, e.source, e.direction, e.signal_time, e.session,
                  e.htf_alignment, e.signal_price, e.confirmation_time, e.bars_to_confirmation,
                  e.entry_price, e.stop_loss, e.exit_price, e.final_mfe, e.cancelled_time, e.cancelled_by,
                  e.cancel_reason, e.bars_pending, e.static_at,   -- (as DISTINCT ON: PostgreSQL checks it)
                  e."timestamp", left(e.payload_checksum, 16)
    ),
    latest AS (
        SELECT DISTINCT ON (e.symbol, e.trade_id) e.*, 'latest' AS kind
          FROM ev e
         WHERE e.current_price IS NOT NULL
         ORDER BY e.symbol, e.trade_id, e."timestamp" DESC, left(e.payload_checksum, 16)
    ),
    fields AS (
        SELECT ROW(e.symbol, e.trade_id, f.field, f.value, f.kind, e.tier, NULL, e."timestamp",
                   left(e.payload_checksum, 16), 'event:' || e.id, e.event_type, e.id)::sigsync._candidate AS c
          FROM (SELECT * FROM proposers UNION ALL SELECT * FROM latest) e
         CROSS JOIN LATERAL (VALUES
            ('source',               to_jsonb(e.source), 'static'),
            ('direction',            to_jsonb(e.direction), 'static'),
            ('signal_time',          to_jsonb(e.signal_time), 'static'),
            ('signal_date',          to_jsonb((e.signal_time AT TIME ZONE v_tz)::date), 'static'),
            ('session',              to_jsonb(e.session), 'static'),
            ('htf_alignment',        e.htf_alignment, 'static'),
            ('signal_price',         to_jsonb(e.signal_price), 'static'),
            ('has_entry',            CASE WHEN e.event_type = 'ENTRY' THEN 'true'::jsonb END, 'static'),
            ('confirmation_time',    to_jsonb(e.confirmation_time), 'static'),
            ('bars_to_confirmation', to_jsonb(e.bars_to_confirmation), 'static'),
            ('entry_price',          to_jsonb(e.entry_price), 'static'),
            ('stop_loss',            to_jsonb(e.stop_loss), 'static'),
            ('current_price',        to_jsonb(e.current_price), 'latest'),
            ('be_triggered_at',      CASE WHEN e.event_type = 'BE_TRIGGERED' THEN to_jsonb(e."timestamp") END, 'static'),
            ('be_exit_time',         CASE WHEN e.event_type = 'EXIT_BE' THEN to_jsonb(e."timestamp") END, 'static'),
            ('exit_type',            CASE WHEN e.event_type = 'EXIT_SL' THEN '"EXIT_SL"'::jsonb END, 'static'),
            ('exit_time',            CASE WHEN e.event_type = 'EXIT_SL' THEN to_jsonb(e."timestamp") END, 'static'),
            ('exit_price',           CASE WHEN e.event_type = 'EXIT_SL' THEN to_jsonb(e.exit_price) END, 'static'),
            ('final_mfe',            CASE WHEN e.event_type = 'EXIT_SL' AND e.final_mfe >= 0 THEN to_jsonb(e.final_mfe) END, 'static'),
            ('cancelled_at',         CASE WHEN e.event_type = 'CANCELLED' THEN to_jsonb(coalesce(e.cancelled_time, e."timestamp")) END, 'static'),
            ('cancelled_by',         CASE WHEN e.event_type = 'CANCELLED' THEN to_jsonb(e.cancelled_by) END, 'static'),
            ('cancel_reason',        CASE WHEN e.event_type = 'CANCELLED' THEN to_jsonb(e.cancel_reason) END, 'static'),
            ('bars_pending',         CASE WHEN e.event_type = 'CANCELLED' THEN to_jsonb(e.bars_pending) END, 'static'),
            ('cancel_detection',     CASE WHEN e.event_type = 'CANCELLED' THEN '"explicit"'::jsonb END, 'static')
         ) f(field, value, kind)
         WHERE f.value IS NOT NULL AND f.value <> 'null'::jsonb AND f.kind = e.kind
    ),
    per_signal AS (   -- one pass over the events: per signal, its observations of the running
                      -- metrics (implausible ones left out) and its event times; then its row, once
        SELECT o.*, s.evt_be_mfe, s.evt_be_mfe_at, s.evt_no_be_mfe, s.evt_no_be_mfe_at, s.evt_mae_global_r,
               s.evt_mae_global_r_at, s.first_event_at, s.last_event_at, s.last_mfe_update_at
          FROM (SELECT e.symbol, e.trade_id,
                       max(e.obs_be) AS be, max(e."timestamp") FILTER (WHERE e.obs_be IS NOT NULL) AS be_at,
                       max(e.obs_no_be) AS no_be, max(e."timestamp") FILTER (WHERE e.obs_no_be IS NOT NULL) AS no_be_at,
                       min(e.obs_mae) AS mae, max(e."timestamp") FILTER (WHERE e.obs_mae IS NOT NULL) AS mae_at,
                       min(e."timestamp") AS first_at, max(e."timestamp") AS last_at,
                       max(e."timestamp") FILTER (WHERE e.event_type = 'MFE_UPDATE') AS mfe_at
                  FROM observed e
                 WHERE e.batch
                 GROUP BY e.symbol, e.trade_id) o
          JOIN sigsync.signals s ON s.symbol = o.symbol AND s.trade_id = o.trade_id
    ),
    agg AS (   -- each running metric observed: the complete aggregate with the stored one
        SELECT a.symbol, a.trade_id, m.metric, m.v, m.at
          FROM per_signal a
         CROSS JOIN LATERAL (VALUES
            ('be_mfe', greatest(a.be, a.evt_be_mfe), greatest(a.be_at, a.evt_be_mfe_at), a.be IS NOT NULL),
            ('no_be_mfe', greatest(a.no_be, a.evt_no_be_mfe), greatest(a.no_be_at, a.evt_no_be_mfe_at),
             a.no_be IS NOT NULL),
            ('mae_global_r', least(a.mae, a.evt_mae_global_r), greatest(a.mae_at, a.evt_mae_global_r_at),
             a.mae IS NOT NULL)
         ) m(metric, v, at, observed)
         WHERE m.observed
    ),
    running AS (
        SELECT ROW(a.symbol, a.trade_id, a.metric, to_jsonb(a.v), 'running', 'event', NULL, a.at,
                   '', 'events', NULL, NULL)::sigsync._candidate AS c
          FROM agg a
        UNION ALL
        SELECT ROW(a.symbol, a.trade_id, x.field, x.value, 'set', 'event', NULL, a.at,
                   '', 'events', NULL, NULL)::sigsync._candidate
          FROM agg a
         CROSS JOIN LATERAL (VALUES ('evt_' || a.metric, to_jsonb(a.v)),
                                    ('evt_' || a.metric || '_at', to_jsonb(a.at))) x(field, value)
    ),
    times AS (
        SELECT ROW(e.symbol, e.trade_id, x.field, x.value, 'set', 'event', NULL, NULL, '', 'events', NULL, NULL)::sigsync._candidate AS c
          FROM per_signal e
         CROSS JOIN LATERAL (VALUES ('first_event_at', to_jsonb(least(e.first_at, e.first_event_at))),
                                    ('last_event_at', to_jsonb(greatest(e.last_at, e.last_event_at))),
                                    ('last_mfe_update_at', to_jsonb(greatest(e.mfe_at, e.last_mfe_update_at)))
         ) x(field, value)
         WHERE x.value IS NOT NULL AND x.value <> 'null'::jsonb
    ),
    -- 4. the indicator link: latest heartbeat / sync status per source, by event time.
    link AS (
        INSERT INTO sigsync.indicator_status AS i
               (source, last_heartbeat_at, heartbeat_key, tracked_signals, indicator_version,
                tracking, not_tracking, sync_status_at, sync_status_key)
        SELECT l.source, (l.hb ->> 'at')::timestamptz, l.hb ->> 'key', (l.hb ->> 'tracked')::integer, l.hb ->> 'version',
               CASE WHEN l.ss IS NOT NULL THEN ARRAY(SELECT jsonb_array_elements_text(l.ss -> 'tracking')) END,
               CASE WHEN l.ss IS NOT NULL THEN ARRAY(SELECT jsonb_array_elements_text(l.ss -> 'not_tracking')) END,
               (l.ss ->> 'at')::timestamptz, l.ss ->> 'key'
          FROM (SELECT e.source,
                       (jsonb_agg(jsonb_build_object('at', e."timestamp", 'key', e.payload_checksum,
                                                     'tracked', e.tracked_signals, 'version', e.indicator_version)
                                  ORDER BY e."timestamp" DESC, e.payload_checksum)
                           FILTER (WHERE e.event_type = 'HEARTBEAT')) -> 0 AS hb,
                       (jsonb_agg(jsonb_build_object('at', e."timestamp", 'key', e.payload_checksum,
                                                     'tracking', to_jsonb(e.tracking), 'not_tracking', to_jsonb(e.not_tracking))
                                  ORDER BY e."timestamp" DESC, e.payload_checksum)
                           FILTER (WHERE e.event_type = 'SYNC_STATUS')) -> 0 AS ss
                  FROM events e
                 WHERE e.event_type IN ('HEARTBEAT', 'SYNC_STATUS')
                 GROUP BY e.source
                 ORDER BY e.source) l
        ON CONFLICT (source) DO UPDATE SET
            -- the latest by event time wins; at equal times the smaller checksum (arrival order never matters)
            (last_heartbeat_at, heartbeat_key, tracked_signals, indicator_version) =
                (SELECT CASE WHEN better THEN excluded.last_heartbeat_at ELSE i.last_heartbeat_at END,
                        CASE WHEN better THEN excluded.heartbeat_key ELSE i.heartbeat_key END,
                        CASE WHEN better THEN excluded.tracked_signals ELSE i.tracked_signals END,
                        CASE WHEN better THEN excluded.indicator_version ELSE i.indicator_version END
                   FROM (SELECT excluded.last_heartbeat_at IS NOT NULL
                                AND (i.last_heartbeat_at IS NULL
                                     OR (excluded.last_heartbeat_at, i.heartbeat_key)
                                        > (i.last_heartbeat_at, excluded.heartbeat_key)) AS better) b),
            (tracking, not_tracking, sync_status_at, sync_status_key) =
                (SELECT CASE WHEN better THEN excluded.tracking ELSE i.tracking END,
                        CASE WHEN better THEN excluded.not_tracking ELSE i.not_tracking END,
                        CASE WHEN better THEN excluded.sync_status_at ELSE i.sync_status_at END,
                        CASE WHEN better THEN excluded.sync_status_key ELSE i.sync_status_key END
                   FROM (SELECT excluded.sync_status_at IS NOT NULL
                                AND (i.sync_status_at IS NULL
                                     OR (excluded.sync_status_at, i.sync_status_key)
                                        > (i.sync_status_at, excluded.sync_status_key)) AS better) b),
            updated_at = now()
        RETURNING 1
    )
    SELECT array_agg(u.c)
      INTO v_cands
      FROM (SELECT c FROM fields UNION ALL SELECT c FROM running UNION ALL SELECT c FROM times) u;

    -- the candidates, merged
    v_written := sigsync._merge_candidates(v_cands, NULL, false, p_run_id IS NULL);

    RETURN v_written;
END
$$;
COMMENT ON FUNCTION sigsync._project_events(sigsync.automated_signals[], boolean, bigint, boolean) IS
    'Internal: project the given stored events into sigsync.signals (arrival-order independent) and '
    'sigsync.indicator_status; with p_queue, MFE_UPDATE events are queued for the next cycle instead.';
REVOKE ALL ON FUNCTION sigsync._project_events(sigsync.automated_signals[], boolean, bigint, boolean) FROM PUBLIC;
