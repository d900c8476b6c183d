-- Inverse of schema/0013_received_and_bar_times.sql.
ALTER TABLE sigsync.price_bars DROP CONSTRAINT price_bars_finite_ts;
DROP INDEX sigsync.rejected_events_stored_idx;
ALTER TABLE sigsync.rejected_events DROP COLUMN stored_at;
