-- Internal: the health score of one signal from its gaps (DESIGN §9), 0..100: the single-signal
-- form of sigsync._health_scores, the rule's one home. sigsync.calculate_signal_health_score is
-- its public face (session settings pinned, callable by sigsync_reader).
CREATE OR REPLACE FUNCTION sigsync._health_score(gaps jsonb)
RETURNS integer
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.health_score FROM sigsync._health_scores(ARRAY[gaps]) s
$$;
COMMENT ON FUNCTION sigsync._health_score(jsonb) IS
    'Internal: health score 0..100 of a gaps object (see sigsync.calculate_signal_health_score).';
REVOKE ALL ON FUNCTION sigsync._health_score(jsonb) FROM PUBLIC;
