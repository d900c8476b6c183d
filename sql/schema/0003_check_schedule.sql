-- 0003: time-driven checks are scheduled per signal, so an incremental cycle reads the
-- signals that changed or are due, not every active signal (DESIGN §12: a cycle costs in
-- proportion to what changed).
--
-- signals.next_check_at: the earliest p_now at which a check that depends on time alone can
-- change the signal (its MFE going stale, a stored bar becoming visible, the hold after a timed-out
-- sync request ending). Each cycle sets it for the signals it processed; new price bars bring
-- it forward for the signals whose walk can read them. NULL: nothing is due without a change.
ALTER TABLE sigsync.signals ADD COLUMN next_check_at timestamptz;
COMMENT ON COLUMN sigsync.signals.next_check_at IS
    'Internal: the earliest cycle time at which a time-driven check can change this signal (NULL: none); '
    'an incremental cycle processes the signals that are dirty or due.';
CREATE INDEX signals_next_check_idx ON sigsync.signals (next_check_at) WHERE next_check_at IS NOT NULL;
-- signals already in the registry: due in the next cycle, which computes their real schedule
UPDATE sigsync.signals SET next_check_at = '-infinity' WHERE status = 'active';

-- indicator_status.checked_*: the indicator state as the last cycle saw it. A cycle that sees
-- the indicator go offline or come back, or its not-tracking list change, processes the
-- signals concerned (whether Tier 1 can ask for them, whether Tier 2 competes).
ALTER TABLE sigsync.indicator_status
    ADD COLUMN checked_online boolean,
    ADD COLUMN checked_not_tracking text[];
COMMENT ON COLUMN sigsync.indicator_status.checked_online IS
    'Internal: whether the indicator was online (HEARTBEAT within heartbeat_timeout) at the last cycle.';
COMMENT ON COLUMN sigsync.indicator_status.checked_not_tracking IS
    'Internal: the not-tracking list as the last cycle saw it.';

CREATE INDEX signals_symbol_exit_idx ON sigsync.signals (symbol, exit_time) WHERE exit_time IS NOT NULL;

CREATE FUNCTION sigsync._bar_arrival_schedules_checks() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- a new or changed bar is due, once the cycle time reaches it, for the walk (missed exits,
    -- Tier 2 metrics) of every signal that can still read it: the active signals of its symbol
    -- and the closed ones whose exit is not before it (bars can lag behind the events)
    -- every such row is written (and so locked), even one already due: a cycle holding it
    -- finishes first and this then brings its new schedule forward, so no bar goes unwalked
    UPDATE sigsync.signals s
       SET next_check_at = least(coalesce(s.next_check_at, d.ts), d.ts)
      FROM (SELECT a.symbol, a.trade_id, n.ts
              FROM (SELECT b.symbol, min(b.ts) AS ts FROM new_bars b GROUP BY b.symbol) n
              JOIN sigsync.signals a ON a.symbol = n.symbol AND a.status = 'active'
            UNION ALL
            SELECT c.symbol, c.trade_id, n.ts
              FROM (SELECT b.symbol, min(b.ts) AS ts FROM new_bars b GROUP BY b.symbol) n
              JOIN sigsync.signals c ON c.symbol = n.symbol AND c.exit_time >= n.ts) d
     WHERE s.symbol = d.symbol AND s.trade_id = d.trade_id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sigsync._bar_arrival_schedules_checks() IS
    'Trigger: a price bar inserted or changed brings next_check_at forward to its time for the signals whose walk can read it.';
REVOKE ALL ON FUNCTION sigsync._bar_arrival_schedules_checks() FROM PUBLIC;

CREATE TRIGGER price_bars_insert_schedules_checks
    AFTER INSERT ON sigsync.price_bars REFERENCING NEW TABLE AS new_bars
    FOR EACH STATEMENT EXECUTE FUNCTION sigsync._bar_arrival_schedules_checks();
CREATE TRIGGER price_bars_update_schedules_checks
    AFTER UPDATE ON sigsync.price_bars REFERENCING NEW TABLE AS new_bars
    FOR EACH STATEMENT EXECUTE FUNCTION sigsync._bar_arrival_schedules_checks();

CREATE FUNCTION sigsync._config_change_schedules_checks() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- a changed setting, session or gap type can change any active signal's gaps, fills and
    -- schedule: all of them are due in the next cycle (reconcile(p_full => true) re-checks
    -- every signal)
    UPDATE sigsync.signals s
       SET next_check_at = '-infinity'
     WHERE s.status = 'active' AND s.next_check_at IS DISTINCT FROM '-infinity';
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sigsync._config_change_schedules_checks() IS
    'Trigger: a change to settings, sessions or gap_types makes every active signal due in the next cycle.';
REVOKE ALL ON FUNCTION sigsync._config_change_schedules_checks() FROM PUBLIC;
CREATE TRIGGER settings_change_schedules_checks
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sigsync.settings
    FOR EACH STATEMENT EXECUTE FUNCTION sigsync._config_change_schedules_checks();
CREATE TRIGGER sessions_change_schedules_checks
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sigsync.sessions
    FOR EACH STATEMENT EXECUTE FUNCTION sigsync._config_change_schedules_checks();
CREATE TRIGGER gap_types_change_schedules_checks
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sigsync.gap_types
    FOR EACH STATEMENT EXECUTE FUNCTION sigsync._config_change_schedules_checks();

CREATE FUNCTION sigsync._review_marks_signals() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- an anomaly or conflict marked reviewed (or its review withdrawn) closes (or opens) the
    -- signal's anomaly gap: the signal is marked for the next cycle
    UPDATE sigsync.signals s
       SET dirty = true, dirty_gen = s.dirty_gen + 1
      FROM (SELECT DISTINCT o.symbol, o.trade_id
              FROM old_rows o
              JOIN new_rows n ON n.id = o.id
             WHERE o.action_type IN ('anomaly', 'conflict')
               AND (n.reviewed_at IS NULL) <> (o.reviewed_at IS NULL)) k
     WHERE s.symbol = k.symbol AND s.trade_id = k.trade_id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sigsync._review_marks_signals() IS
    'Trigger: reviewing an anomaly or conflict (or withdrawing the review) marks its signal for the next cycle.';
REVOKE ALL ON FUNCTION sigsync._review_marks_signals() FROM PUBLIC;
CREATE TRIGGER sync_audit_log_review_marks_signals
    AFTER UPDATE ON sigsync.sync_audit_log REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sigsync._review_marks_signals();
