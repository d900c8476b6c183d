-- Internal: how long after a sync request timed out the indicator is not asked again for its
-- signals, and Tier 2 fills their MFE/MAE instead (DESIGN §8): 10 × sync_request_timeout.
-- Used by _indicator_answers and by reconcile (which checks the signals again when it ends).
CREATE OR REPLACE FUNCTION sigsync._sync_request_hold()
RETURNS interval
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT sigsync._setting_interval('sync_request_timeout') * 10
$$;
COMMENT ON FUNCTION sigsync._sync_request_hold() IS
    'Internal: how long a timed-out sync request keeps Tier 1 from asking again for its signals.';
REVOKE ALL ON FUNCTION sigsync._sync_request_hold() FROM PUBLIC;
