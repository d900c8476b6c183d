-- Internal: the indicator disagrees with the alternation rule (DESIGN §7) for a signal it
-- confirmed: an opposite signal of the same symbol appeared strictly after the signal and
-- before its confirmation, so the rule would have cancelled it first (the first such signal
-- is the one it would name). _open_gaps keeps the rule's conflict's anomaly gap open only
-- while this holds, so the gap follows the facts (a later upgrade of either signal_time can
-- end it), not the order in which the events came. _alternation_rule, which audits the
-- conflict, reads the same condition from the first later opposite signal it has looked up
-- already (confirmation_time > its signal_time): one look-up per signal, not two.
CREATE OR REPLACE FUNCTION sigsync._alternation_conflict(p_symbol text, p_direction text, p_signal_time timestamptz,
                                                         p_confirmation_time timestamptz)
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1
                     FROM sigsync.signals n
                    WHERE n.symbol = p_symbol
                      AND n.direction = CASE p_direction WHEN 'Bullish' THEN 'Bearish' WHEN 'Bearish' THEN 'Bullish' END
                      AND n.signal_time > p_signal_time
                      AND n.signal_time < p_confirmation_time)
$$;
COMMENT ON FUNCTION sigsync._alternation_conflict(text, text, timestamptz, timestamptz) IS
    'Internal: true when an opposite signal appeared after the signal and before its confirmation (the indicator '
    'disagrees with the alternation rule).';
REVOKE ALL ON FUNCTION sigsync._alternation_conflict(text, text, timestamptz, timestamptz) FROM PUBLIC;
