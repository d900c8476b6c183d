-- Internal: how many chart bars lie between two times (bars_to_confirmation, bars_pending:
-- DESIGN §6, §7), rounded, for bars of p_bar_seconds (the bar_interval setting). NULL when it
-- is not a number of bars an integer column can hold (a stored value must never make a cycle
-- fail), or when a time is missing.
-- (PL/pgSQL: called once a row, it is evaluated without the executor a SQL function sets up at every call.)
CREATE OR REPLACE FUNCTION sigsync._bars_between(p_from timestamptz, p_to timestamptz, p_bar_seconds numeric)
RETURNS integer
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_bars numeric := round(extract(epoch FROM p_to - p_from) / nullif(p_bar_seconds, 0));
BEGIN
    RETURN CASE WHEN abs(v_bars) <= 2147483647 THEN v_bars::integer END;
END
$$;
COMMENT ON FUNCTION sigsync._bars_between(timestamptz, timestamptz, numeric) IS
    'Internal: bars of p_bar_seconds between two times, rounded; NULL when outside the integer range.';
REVOKE ALL ON FUNCTION sigsync._bars_between(timestamptz, timestamptz, numeric) FROM PUBLIC;
