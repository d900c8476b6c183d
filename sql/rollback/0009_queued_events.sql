-- Inverse of 0009_queued_events. Refused while an event waits in a queue: its projection would be
-- lost (run SELECT sigsync.reconcile(p_full => true) first, or rebuild() after rolling back).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM sigsync.signals WHERE queued_events IS NOT NULL) THEN
        RAISE EXCEPTION 'sigsync: events wait in signals.queued_events; run a reconcile cycle before rolling back 0009'
            USING ERRCODE = 'object_in_use';
    END IF;
END
$$;
ALTER TABLE sigsync.signals DROP COLUMN queued_events;
