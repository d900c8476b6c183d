-- Internal: the parts of a trade_id `YYYYMMDD_HHMMSSmmm_BULLISH|BEARISH` (suffix in any case),
-- the signal's bar time in time zone p_tz. All outputs are NULL when the id is malformed
-- (wrong shape, or a date/time that does not exist). Never raises.
CREATE OR REPLACE FUNCTION sigsync._trade_id_parts(
    p_trade_id text,
    p_tz text,
    OUT trade_id text,
    OUT signal_time timestamptz,
    OUT signal_date date,
    OUT direction text)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m text[];
    v_y int; v_mo int; v_d int; v_h int; v_mi int; v_s int; v_ms int;
BEGIN
    m := regexp_match(p_trade_id, '^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})(\d{3})_(BULLISH|BEARISH)$', 'i');
    IF m IS NULL THEN
        RETURN;
    END IF;
    v_y := m[1]::int; v_mo := m[2]::int; v_d := m[3]::int;
    v_h := m[4]::int; v_mi := m[5]::int; v_s := m[6]::int; v_ms := m[7]::int;
    IF v_y < 1900 OR v_mo NOT BETWEEN 1 AND 12 OR v_d < 1
       OR v_d > extract(day FROM (make_date(v_y, v_mo, 1) + interval '1 month - 1 day'))::int
       OR v_h > 23 OR v_mi > 59 OR v_s > 59 THEN
        RETURN;
    END IF;
    signal_date := make_date(v_y, v_mo, v_d);
    signal_time := make_timestamptz(v_y, v_mo, v_d, v_h, v_mi, v_s + v_ms / 1000.0, p_tz);
    direction := CASE WHEN upper(m[8]) = 'BULLISH' THEN 'Bullish' ELSE 'Bearish' END;
    trade_id := m[1] || m[2] || m[3] || '_' || m[4] || m[5] || m[6] || m[7] || '_' || upper(m[8]);
END
$$;
COMMENT ON FUNCTION sigsync._trade_id_parts(text, text) IS
    'Internal: canonical trade_id, signal_time, signal_date and direction of a trade_id in time zone p_tz; NULLs when malformed.';
REVOKE ALL ON FUNCTION sigsync._trade_id_parts(text,text) FROM PUBLIC;
