-- Inverse of schema/0002_bar_walks.sql.
DROP TRIGGER IF EXISTS price_bars_truncate_invalidates_walks ON sigsync.price_bars;
DROP TRIGGER IF EXISTS price_bars_delete_invalidates_walks ON sigsync.price_bars;
DROP TRIGGER IF EXISTS price_bars_update_invalidates_walks ON sigsync.price_bars;
DROP TRIGGER IF EXISTS price_bars_insert_invalidates_walks ON sigsync.price_bars;
DROP FUNCTION IF EXISTS sigsync._bar_change_invalidates_walks();
DROP TABLE IF EXISTS sigsync.bar_walks;
