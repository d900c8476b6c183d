-- Internal: the health scores of many signals from their gaps (DESIGN §9), 0..100, one row per
-- element (ord = 1-based position): the rule's one home. Set-based: a cycle scores its whole
-- working set in one statement (a hash join of every signal's gaps with sigsync.gap_types), not
-- one function call per signal. sigsync._health_score is the single-signal form, and
-- sigsync.calculate_signal_health_score its public face.
--   score = 100 - the weights of the open gaps (a known gap type whose entry is not false/null)
--               - for each other gap type with a field filled below confidence 1:
--                 weight x (1 - the lowest such confidence), clamped to 0..100
-- An element may also be an array of gap types.
-- (PL/pgSQL for its plan, generic and kept for the session: a SQL function makes it again at every call.)
CREATE OR REPLACE FUNCTION sigsync._health_scores(p_gaps jsonb[])
RETURNS TABLE (ord integer, health_score integer)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
    WITH g AS MATERIALIZED (   -- accept an array of gap types too
        SELECT u.o::integer AS ord,
               CASE WHEN jsonb_typeof(u.gaps) = 'array'
                    THEN (SELECT coalesce(jsonb_object_agg(e, true), '{}') FROM jsonb_array_elements_text(u.gaps) e)
                    ELSE coalesce(u.gaps, '{}') END AS v
          FROM unnest(p_gaps) WITH ORDINALITY u(gaps, o)
    ),
    open AS (   -- the open gaps: a known gap type whose entry is not false/null (as signal_gaps reads them)
        SELECT g.ord, sum(t.weight) AS w, array_agg(t.gap_type) AS gap_types
          FROM g
         CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(g.v) = 'object' THEN g.v ELSE '{}' END) e
          JOIN sigsync.gap_types t ON t.gap_type = e.key
         WHERE e.value NOT IN ('false'::jsonb, 'null'::jsonb)
         GROUP BY g.ord
    ),
    fill AS (   -- the gap types filled below confidence 1 that are not open
        SELECT x.ord, sum(x.weight * (1 - x.conf)) AS w
          FROM (SELECT g.ord, t.gap_type, t.weight, min(least(1, greatest(0, (c.value #>> '{}')::numeric))) AS conf
                  FROM g
                 CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(g.v -> 'confidence') = 'object'
                                                   THEN g.v -> 'confidence' ELSE '{}' END) c
                  JOIN sigsync.gap_types t ON t.gap_type = c.key OR c.key = ANY (t.fields)
                  LEFT JOIN open o ON o.ord = g.ord
                 WHERE t.gap_type <> ALL (coalesce(o.gap_types, '{}'))
                 GROUP BY g.ord, t.gap_type, t.weight) x
         GROUP BY x.ord
    )
    SELECT g.ord, greatest(0, least(100, round(100 - coalesce(ow.w, 0) - coalesce(fw.w, 0))))::integer
      FROM g
      LEFT JOIN open ow ON ow.ord = g.ord
      LEFT JOIN fill fw ON fw.ord = g.ord;
END
$$;
COMMENT ON FUNCTION sigsync._health_scores(jsonb[]) IS
    'Internal: health scores 0..100 of many gaps objects, one row per element (see sigsync.calculate_signal_health_score).';
REVOKE ALL ON FUNCTION sigsync._health_scores(jsonb[]) FROM PUBLIC;
