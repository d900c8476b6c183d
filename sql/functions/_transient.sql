-- Internal: is an error (by SQLSTATE) one that is not the doing of the data at hand, so that the
-- caller must retry rather than reject an element or set a signal aside? Transaction rollback
-- (class 40: deadlock, serialization failure), insufficient resources (53), lock not available
-- (55P03), operator intervention (57: shutdown, cancel), system errors (58) and internal errors
-- (XX). _ingest_slice, _failing_signals and reconcile raise these again instead of isolating.
CREATE OR REPLACE FUNCTION sigsync._transient(p_sqlstate text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT left(p_sqlstate, 2) IN ('40', '53', '57', '58', 'XX') OR p_sqlstate = '55P03'
$$;
COMMENT ON FUNCTION sigsync._transient(text) IS
    'Internal: true for an SQLSTATE that calls for a retry (deadlock, serialization, resources, lock, shutdown).';
REVOKE ALL ON FUNCTION sigsync._transient(text) FROM PUBLIC;
