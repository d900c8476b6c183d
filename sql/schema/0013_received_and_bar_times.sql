-- 0013_received_and_bar_times: times a caller gives, made safe to keep.
--
-- * rejected_events.stored_at: when sigsync stored the row, by its own clock. Retention
--   (rejected_retention) counts from it. received_at stays when the body was received, as the
--   caller says (serve's spool replays bodies with the time it got them); pruned by that
--   time, a replay of old bodies lost its rejections at the next cycle. A row stored before
--   this version is dated by the latest finite receipt time of the rows stored up to it (ids
--   grow in storage order), never later than now: a replayed row among them is dated by the
--   rows before it, not by its own old received_at, and no row goes sooner than it would have.
--   (A row with none before it keeps its own time; an infinite one, which only a call with
--   p_received_at -infinity stored, takes now: it may hold a valid body rejected for that.)
-- * received_at of the log and of rejected rows is a finite time (ingest_many raises for an
--   infinite p_received_at now, _received_at); checked for new rows: the log is append-only.
-- * price_bars.ts is a time in 2000..2099, the years of every event time: a bar at infinity (or
--   in year 294276) was shown by signal_bars as reaching the stop while no walk reads it. A
--   table that holds such bars stops the migration, saying how many.
-- * the bar walk now prices the EXIT_SL of a stop on the wrong side of its entry at entry -/+ R
--   (_bar_walk): such signals are marked, so that the next cycle, incremental or not, re-walks
--   them.
ALTER TABLE sigsync.rejected_events ADD COLUMN stored_at timestamptz;
UPDATE sigsync.rejected_events x
   SET stored_at = least(coalesce(d.stored_at, now()), now())
  FROM (SELECT r.id, max(r.received_at) FILTER (WHERE isfinite(r.received_at)) OVER (ORDER BY r.id) AS stored_at
          FROM sigsync.rejected_events r) d
 WHERE d.id = x.id;
ALTER TABLE sigsync.rejected_events
    ALTER COLUMN stored_at SET DEFAULT clock_timestamp(),
    ALTER COLUMN stored_at SET NOT NULL;
COMMENT ON COLUMN sigsync.rejected_events.stored_at IS
    'When sigsync stored the row (its own clock); rejected_retention counts from it.';
CREATE INDEX rejected_events_stored_idx ON sigsync.rejected_events (stored_at);
ALTER TABLE sigsync.rejected_events ADD CONSTRAINT rejected_events_finite_received CHECK (isfinite(received_at)) NOT VALID;
ALTER TABLE sigsync.automated_signals ADD CONSTRAINT automated_signals_finite_received CHECK (isfinite(received_at)) NOT VALID;
-- (a description, not a value: the trigger that checks values needs functions a first
-- migration has not created yet)
ALTER TABLE sigsync.settings DISABLE TRIGGER settings_check;
UPDATE sigsync.settings
   SET description = 'rejected_events rows stored longer ago than this (stored_at, wall clock) are pruned by each cycle.'
 WHERE key = 'rejected_retention';
ALTER TABLE sigsync.settings ENABLE TRIGGER settings_check;

DO $$
DECLARE
    v_bad bigint;
BEGIN
    SELECT count(*) INTO v_bad FROM sigsync.price_bars
     WHERE NOT (ts >= '2000-01-01 00:00:00+00' AND ts < '2100-01-01 00:00:00+00');
    IF v_bad > 0 THEN
        RAISE EXCEPTION 'sigsync: sigsync.price_bars holds % bars whose ts is not in the years 2000..2099 (UTC)', v_bad
            USING ERRCODE = 'check_violation',
                  HINT = 'No cycle can use them: DELETE FROM sigsync.price_bars WHERE NOT (ts >= ''2000-01-01 00:00:00+00'' '
                         'AND ts < ''2100-01-01 00:00:00+00''); then migrate again.';
    END IF;
END
$$;
ALTER TABLE sigsync.price_bars ADD CONSTRAINT price_bars_ts_in_range
    CHECK (ts >= '2000-01-01 00:00:00+00' AND ts < '2100-01-01 00:00:00+00');

UPDATE sigsync.signals s
   SET dirty = true, dirty_gen = s.dirty_gen + 1
 WHERE s.direction IS NOT NULL AND s.entry_price IS NOT NULL AND s.stop_loss IS NOT NULL
   AND (CASE s.direction WHEN 'Bullish' THEN 1 ELSE -1 END) * (s.entry_price - s.stop_loss) < 0;
