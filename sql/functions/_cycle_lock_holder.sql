-- Internal: the backend (pid) holding the reconcile lock (the row of sigsync.cycle_lock, locked
-- FOR UPDATE by a cycle or a rebuild for its transaction), NULL when none: a cycle that is
-- skipped, and system_health when cycles stall, say who keeps them from running. A locked row
-- names its locker's transaction in xmax, and a running transaction holds the lock on its own id.
CREATE OR REPLACE FUNCTION sigsync._cycle_lock_holder()
RETURNS integer
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT min(l.pid)
      FROM sigsync.cycle_lock c
      JOIN pg_locks l ON l.locktype = 'transactionid' AND l.transactionid = c.xmax AND l.mode = 'ExclusiveLock'
                     AND l.granted
$$;
COMMENT ON FUNCTION sigsync._cycle_lock_holder() IS 'Internal: pid of the backend holding the reconcile lock, or NULL.';
REVOKE ALL ON FUNCTION sigsync._cycle_lock_holder() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync._cycle_lock_holder() TO sigsync_reader;
