-- Internal: _indicator_answers for one signal (the rule lives there): can the indicator
-- (p_source, NULL = 'indicator') still be asked for this signal's MFE/MAE (Tier 1)?
CREATE OR REPLACE FUNCTION sigsync._indicator_can_answer(p_source text, p_symbol text, p_trade_id text, p_now timestamptz)
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.can_answer FROM sigsync._indicator_answers(p_now, ARRAY[p_source], ARRAY[p_symbol], ARRAY[p_trade_id]) a
$$;
COMMENT ON FUNCTION sigsync._indicator_can_answer(text, text, text, timestamptz) IS
    'Internal: true when the indicator is online, tracks the signal and has not let a request for it time out.';
REVOKE ALL ON FUNCTION sigsync._indicator_can_answer(text, text, text, timestamp with time zone) FROM PUBLIC;
