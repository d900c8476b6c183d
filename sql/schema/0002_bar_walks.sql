-- 0002: the Tier 2 bar walk's state per signal, so a cycle walks only the bars that arrived
-- since the last one (DESIGN §6, §12: a cycle costs in proportion to what changed).
--
-- A row is the walk of one signal over its bars up to walked_to, for one basis (direction,
-- entry, stop, confirmation time, real exit, be_trigger_r). sigsync._bar_walk continues it
-- from walked_to when the basis is unchanged and recomputes it otherwise. Derived data: any
-- row may be deleted at any time (it is recomputed). A price bar inserted, changed or deleted
-- at or before a walk's walked_to deletes that walk and marks its signal for the next cycle.
CREATE TABLE sigsync.bar_walks (
    symbol        text NOT NULL,
    trade_id      text NOT NULL,
    basis         text NOT NULL,          -- what the walk depends on besides the bars
    walked_to     timestamptz,            -- last bar walked (NULL: none yet)
    bars          integer NOT NULL DEFAULT 0,
    stop_ts       timestamptz,            -- first bar at the stop: the walk is complete
    trigger_ts    timestamptz,
    be_exit_ts    timestamptz,
    fav_no_be     numeric,                -- max favourable excursion before the stop bar (R, unrounded)
    fav_be        numeric,                -- the same, also before the EXIT_BE bar
    adv           numeric,                -- min adverse excursion up to and including the stop bar
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, trade_id)
);
CREATE INDEX bar_walks_walked_to_idx ON sigsync.bar_walks (symbol, walked_to);
COMMENT ON TABLE sigsync.bar_walks IS
    'Tier 2 bar walk state per signal (derived, recomputable): the walk continues from walked_to while its basis holds.';

CREATE FUNCTION sigsync._bar_change_invalidates_walks() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_from jsonb;   -- per symbol, the earliest changed bar: walks that covered it start over
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        v_from := (SELECT jsonb_object_agg(w.symbol, '-infinity'::timestamptz)
                     FROM (SELECT DISTINCT w.symbol FROM sigsync.bar_walks w) w);
    ELSIF TG_OP = 'INSERT' THEN
        v_from := (SELECT jsonb_object_agg(n.symbol, n.ts) FROM (SELECT symbol, min(ts) AS ts FROM new_bars GROUP BY symbol) n);
    ELSIF TG_OP = 'UPDATE' THEN
        v_from := (SELECT jsonb_object_agg(c.symbol, c.ts)
                     FROM (SELECT u.symbol, min(u.ts) AS ts
                             FROM (SELECT symbol, ts FROM new_bars UNION ALL SELECT symbol, ts FROM old_bars) u
                            GROUP BY u.symbol) c);
    ELSE
        v_from := (SELECT jsonb_object_agg(o.symbol, o.ts) FROM (SELECT symbol, min(ts) AS ts FROM old_bars GROUP BY symbol) o);
    END IF;
    WITH gone AS (
        DELETE FROM sigsync.bar_walks w
         USING jsonb_each_text(coalesce(v_from, '{}')) c(symbol, ts)
         WHERE w.symbol = c.symbol AND w.walked_to >= c.ts::timestamptz
        RETURNING w.symbol, w.trade_id
    )
    UPDATE sigsync.signals s
       SET dirty = true, dirty_gen = s.dirty_gen + 1
      FROM gone g
     WHERE s.symbol = g.symbol AND s.trade_id = g.trade_id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sigsync._bar_change_invalidates_walks() IS
    'Trigger: a price bar inserted, changed or deleted at or before a walk''s walked_to deletes the walk and marks its signal.';
REVOKE ALL ON FUNCTION sigsync._bar_change_invalidates_walks() FROM PUBLIC;

CREATE TRIGGER price_bars_insert_invalidates_walks
    AFTER INSERT ON sigsync.price_bars REFERENCING NEW TABLE AS new_bars
    FOR EACH STATEMENT EXECUTE FUNCTION sigsync._bar_change_invalidates_walks();
CREATE TRIGGER price_bars_update_invalidates_walks
    AFTER UPDATE ON sigsync.price_bars REFERENCING OLD TABLE AS old_bars NEW TABLE AS new_bars
    FOR EACH STATEMENT EXECUTE FUNCTION sigsync._bar_change_invalidates_walks();
CREATE TRIGGER price_bars_delete_invalidates_walks
    AFTER DELETE ON sigsync.price_bars REFERENCING OLD TABLE AS old_bars
    FOR EACH STATEMENT EXECUTE FUNCTION sigsync._bar_change_invalidates_walks();
CREATE TRIGGER price_bars_truncate_invalidates_walks
    AFTER TRUNCATE ON sigsync.price_bars
    FOR EACH STATEMENT EXECUTE FUNCTION sigsync._bar_change_invalidates_walks();

GRANT ALL ON sigsync.bar_walks TO sigsync_admin;
