-- Internal: a cycle's Tier 0/3 candidates (_static_fills) split in two: those that would change a
-- value the cycle's later rules read, signal_time (the alternation rule, _alternation_rule) or
-- direction (that rule and the bar walk, _bar_walk), and the rest. Those rules compute their
-- candidates from the stored registry, so the first part is merged before they run
-- (_cycle_signals); the rest waits for the cycle's one merge. A candidate equal to the stored
-- value changes nothing they read, whichever value wins; one that differs is merged first even
-- when it cannot win (a signal_time an event gave, seconds after the trade_id's): its merge
-- writes nothing then. The first part is usually empty: a Tier 3 value from the trade_id is
-- needed only while no event has given it (and after a change of the timezone setting).
CREATE OR REPLACE FUNCTION sigsync._split_rule_inputs(p_cands sigsync._candidate[],
                                                      OUT rule_inputs sigsync._candidate[],
                                                      OUT rest sigsync._candidate[])
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(c) FILTER (WHERE x.changes), '{}'),
           coalesce(array_agg(c) FILTER (WHERE NOT x.changes), '{}')
      FROM unnest(p_cands) c
      LEFT JOIN sigsync.signals s
             ON c.field IN ('signal_time', 'direction') AND s.symbol = c.symbol AND s.trade_id = c.trade_id
     CROSS JOIN LATERAL (
            SELECT c.field IN ('signal_time', 'direction')
                   AND c.value IS DISTINCT FROM CASE c.field WHEN 'signal_time' THEN to_jsonb(s.signal_time)
                                                             ELSE to_jsonb(s.direction) END AS changes) x
$$;
COMMENT ON FUNCTION sigsync._split_rule_inputs(sigsync._candidate[]) IS
    'Internal: Tier 0/3 candidates split into those that would change signal_time or direction (the values the '
    'alternation rule and the bar walk read: merged before those rules run) and the rest.';
REVOKE ALL ON FUNCTION sigsync._split_rule_inputs(sigsync._candidate[]) FROM PUBLIC;
