-- Internal: the confidence of a tier (sigsync.tiers, where it is declared), for the audit rows
-- written outside the merge (anomalies and conflicts, whose values are the events' own).
CREATE OR REPLACE FUNCTION sigsync._tier_confidence(p_tier text)
RETURNS numeric
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.confidence FROM sigsync.tiers t WHERE t.tier = p_tier
$$;
COMMENT ON FUNCTION sigsync._tier_confidence(text) IS 'Internal: the confidence of a tier, from sigsync.tiers.';
REVOKE ALL ON FUNCTION sigsync._tier_confidence(text) FROM PUBLIC;
