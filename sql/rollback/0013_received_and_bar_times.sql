-- Inverse of schema/0013_received_and_bar_times.sql. (Rejected rows are pruned by received_at
-- again: a replayed rejection goes at the next cycle once its received_at is past retention.)
ALTER TABLE sigsync.price_bars DROP CONSTRAINT price_bars_ts_in_range;
ALTER TABLE sigsync.settings DISABLE TRIGGER settings_check;
UPDATE sigsync.settings
   SET description = 'rejected_events rows older than this (wall clock) are pruned by each cycle.'
 WHERE key = 'rejected_retention';
ALTER TABLE sigsync.settings ENABLE TRIGGER settings_check;
ALTER TABLE sigsync.automated_signals DROP CONSTRAINT automated_signals_finite_received;
ALTER TABLE sigsync.rejected_events DROP CONSTRAINT rejected_events_finite_received;
DROP INDEX sigsync.rejected_events_stored_idx;
ALTER TABLE sigsync.rejected_events DROP COLUMN stored_at;
