-- 0009_queued_events: ingest queues the projection of MFE updates for the next reconcile
-- cycle (sigsync._queued, sigsync._project_queued), in the transaction that stores them.
ALTER TABLE sigsync.signals ADD COLUMN queued_events bigint[];
COMMENT ON COLUMN sigsync.signals.queued_events IS
    'Ids (in sigsync.automated_signals, with this symbol) of events stored but not yet projected: ingest queues '
    'MFE updates here and the next reconcile cycle projects them; NULL when none.';

-- Functions whose signature or result changed: the old definitions go here, once (the function
-- files hold only the current one, re-created after this file).
DROP FUNCTION IF EXISTS sigsync._project_events(text[], bigint[], boolean);              -- takes the rows now
DROP FUNCTION IF EXISTS sigsync._merge_candidates(sigsync._candidate[], bigint, boolean); -- + p_outside_cycle
-- (moved here from their function files, where they had been since 0004-0006)
DROP FUNCTION IF EXISTS sigsync._store_health(timestamptz, text[], text[]);
DROP FUNCTION IF EXISTS sigsync._expire_sync_requests(bigint, timestamptz);
DROP FUNCTION IF EXISTS sigsync._request_sync(bigint, timestamptz, text[], text[]);
DROP FUNCTION IF EXISTS sigsync._open_gaps(timestamptz, text[], text[]);
