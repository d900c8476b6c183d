-- Internal: the health score of a signal from its gaps (DESIGN §9), 0..100: the rule's one home.
-- Reconcile calls it for each signal it processes; sigsync.calculate_signal_health_score is its
-- public face (session settings pinned, callable by sigsync_reader).
CREATE OR REPLACE FUNCTION sigsync._health_score(gaps jsonb)
RETURNS integer
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH g AS (   -- accept an array of gap types too
        SELECT CASE WHEN jsonb_typeof(gaps) = 'array'
                    THEN (SELECT coalesce(jsonb_object_agg(e, true), '{}') FROM jsonb_array_elements_text(gaps) e)
                    ELSE coalesce(gaps, '{}') END AS v
    ),
    open AS (   -- the open gaps: a known gap type whose entry is not false/null (as signal_gaps reads them)
        SELECT t.gap_type, t.weight
          FROM g JOIN sigsync.gap_types t ON g.v ? t.gap_type
         WHERE g.v -> t.gap_type NOT IN ('false'::jsonb, 'null'::jsonb)
    ),
    open_weight AS (
        SELECT coalesce(sum(o.weight), 0) AS w FROM open o
    ),
    fill_weight AS (   -- the gap types filled below confidence 1 that are not open
        SELECT coalesce(sum(x.weight * (1 - x.conf)), 0) AS w
          FROM (SELECT t.gap_type, t.weight,
                       min(least(1, greatest(0, (c.value #>> '{}')::numeric))) AS conf
                  FROM g
                 CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(g.v -> 'confidence') = 'object'
                                                   THEN g.v -> 'confidence' ELSE '{}' END) c
                  JOIN sigsync.gap_types t ON t.gap_type = c.key OR c.key = ANY (t.fields)
                 WHERE t.gap_type NOT IN (SELECT o.gap_type FROM open o)
                 GROUP BY t.gap_type, t.weight) x
    )
    SELECT greatest(0, least(100, round(100 - open_weight.w - fill_weight.w)))::integer
      FROM open_weight, fill_weight
$$;
COMMENT ON FUNCTION sigsync._health_score(jsonb) IS
    'Internal: health score 0..100 of a gaps object (see sigsync.calculate_signal_health_score).';
REVOKE ALL ON FUNCTION sigsync._health_score(jsonb) FROM PUBLIC;
