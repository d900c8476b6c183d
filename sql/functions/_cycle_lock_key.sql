-- Internal: the advisory lock that makes reconcile single-flight (and that rebuild takes too).
CREATE OR REPLACE FUNCTION sigsync._cycle_lock_key()
RETURNS bigint
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT hashtext('sigsync.reconcile')::bigint
$$;
COMMENT ON FUNCTION sigsync._cycle_lock_key() IS 'Internal: key of the advisory lock a reconcile cycle holds.';
REVOKE ALL ON FUNCTION sigsync._cycle_lock_key() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync._cycle_lock_key() TO sigsync_reader;
