-- Internal: whether ingest leaves an event's projection to the next reconcile cycle (p_queue:
-- the caller is ingest). MFE_UPDATE is most of a stream (an update per open trade per bar) and
-- only moves the running metrics, which the cycle projects in one pass over all the updates a
-- signal received since (_project_queued); DESIGN asks for order independence after reconcile.
CREATE OR REPLACE FUNCTION sigsync._queued(p_event_type text, p_queue boolean)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p_queue AND p_event_type = 'MFE_UPDATE'
$$;
COMMENT ON FUNCTION sigsync._queued(text, boolean) IS
    'Internal: whether ingest queues an event type''s projection for the next reconcile cycle (MFE_UPDATE).';
REVOKE ALL ON FUNCTION sigsync._queued(text, boolean) FROM PUBLIC;
