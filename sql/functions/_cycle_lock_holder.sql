-- Internal: the backend (pid) holding the reconcile lock, NULL when none: a cycle that is
-- skipped, and system_health when cycles stall, say who keeps them from running (an advisory
-- lock of bigint key k shows in pg_locks as classid = high 32 bits, objid = low 32 bits).
CREATE OR REPLACE FUNCTION sigsync._cycle_lock_holder()
RETURNS integer
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT min(l.pid)
      FROM pg_locks l, (SELECT sigsync._cycle_lock_key() AS k) k
     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
       AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
       AND l.classid = ((k.k >> 32) & 4294967295)::oid AND l.objid = (k.k & 4294967295)::oid
$$;
COMMENT ON FUNCTION sigsync._cycle_lock_holder() IS 'Internal: pid of the backend holding the reconcile lock, or NULL.';
REVOKE ALL ON FUNCTION sigsync._cycle_lock_holder() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync._cycle_lock_holder() TO sigsync_reader;
