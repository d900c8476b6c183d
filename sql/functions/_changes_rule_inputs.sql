-- Internal: whether any of a cycle's Tier 0/3 candidates (_static_fills) would change a value
-- the cycle's later rules read: signal_time (the alternation rule, _infer_cancellations) or
-- direction (that rule and the bar walk, _bar_walk). Those rules compute their candidates from
-- the stored registry, so such a fill is written before they run (_cycle_signals); any other
-- fill waits for the cycle's one merge. A candidate equal to the stored value changes nothing
-- they read, whichever value wins. Usually false: a Tier 3 fill from the trade_id is needed only
-- while an event has not given the value.
CREATE OR REPLACE FUNCTION sigsync._changes_rule_inputs(p_cands sigsync._candidate[])
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1
          FROM unnest(p_cands) c
          JOIN sigsync.signals s ON s.symbol = c.symbol AND s.trade_id = c.trade_id
         WHERE c.field IN ('signal_time', 'direction')
           AND c.value IS DISTINCT FROM CASE c.field WHEN 'signal_time' THEN to_jsonb(s.signal_time)
                                                     ELSE to_jsonb(s.direction) END)
$$;
COMMENT ON FUNCTION sigsync._changes_rule_inputs(sigsync._candidate[]) IS
    'Internal: whether candidates would change signal_time or direction, the values the alternation rule and the bar '
    'walk read (such fills are written before those rules run).';
REVOKE ALL ON FUNCTION sigsync._changes_rule_inputs(sigsync._candidate[]) FROM PUBLIC;
