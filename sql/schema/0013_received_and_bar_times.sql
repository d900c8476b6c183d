-- 0013_received_and_bar_times: two times a caller gives, made safe to keep.
--
-- * rejected_events.stored_at: when sigsync stored the row, by its own clock. Retention
--   (rejected_retention) counts from it. received_at stays when the body was received, as the
--   caller says (serve's spool replays bodies with the time it got them); pruned by that
--   time, a replay of old bodies lost its rejections at the next cycle. Rows stored before
--   this version take their received_at (the two were one clock unless replayed).
-- * price_bars.ts is a time: a bar at infinity was shown by signal_bars as reaching the stop
--   while no walk reads it. A table that holds such bars stops the migration, saying how many.
ALTER TABLE sigsync.rejected_events ADD COLUMN stored_at timestamptz;
UPDATE sigsync.rejected_events SET stored_at = received_at;
ALTER TABLE sigsync.rejected_events
    ALTER COLUMN stored_at SET DEFAULT clock_timestamp(),
    ALTER COLUMN stored_at SET NOT NULL;
COMMENT ON COLUMN sigsync.rejected_events.stored_at IS
    'When sigsync stored the row (its own clock); rejected_retention counts from it.';
CREATE INDEX rejected_events_stored_idx ON sigsync.rejected_events (stored_at);

DO $$
DECLARE
    v_bad bigint;
BEGIN
    SELECT count(*) INTO v_bad FROM sigsync.price_bars WHERE NOT isfinite(ts);
    IF v_bad > 0 THEN
        RAISE EXCEPTION 'sigsync: sigsync.price_bars holds % bars whose ts is not a time (infinity)', v_bad
            USING ERRCODE = 'check_violation',
                  HINT = 'No cycle reads them: DELETE FROM sigsync.price_bars WHERE NOT isfinite(ts); then migrate again.';
    END IF;
END
$$;
ALTER TABLE sigsync.price_bars ADD CONSTRAINT price_bars_finite_ts CHECK (isfinite(ts));
