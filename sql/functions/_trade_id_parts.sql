-- Internal: the parts of a trade_id `YYYYMMDD_HHMMSSmmm_BULLISH|BEARISH` (suffix in any case),
-- the signal's bar time in time zone p_tz, years 2000..2099 (like timestamps). All outputs are
-- NULL when the id is malformed (wrong shape, or a date/time that does not exist). Never raises.
-- The suffix is folded to upper case in ASCII only (COLLATE "C"): look-alike letters such as
-- 'ı' or 'ſ' never fold into BULLISH, whatever the database's locale.
-- It runs per event at ingest and per signal in every cycle (Tier 3 fills), so it is cheap:
-- the shape is checked by one match without captures and the fixed-width parts are cut out
-- with substr (a regexp_match with eight captures costs about ten times as much).
CREATE OR REPLACE FUNCTION sigsync._trade_id_parts(
    p_trade_id text,
    p_tz text,
    OUT trade_id text,
    OUT signal_time timestamptz,
    OUT signal_date date,
    OUT direction text)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT v.id, make_timestamptz(v.y, v.mo, v.d, v.h, v.mi, v.s + v.ms / 1000.0, p_tz), make_date(v.y, v.mo, v.d),
           CASE WHEN right(v.id, 7) = 'BULLISH' THEN 'Bullish' ELSE 'Bearish' END
      FROM (SELECT u.id, substr(u.id, 1, 4)::int AS y, substr(u.id, 5, 2)::int AS mo, substr(u.id, 7, 2)::int AS d,
                   substr(u.id, 10, 2)::int AS h, substr(u.id, 12, 2)::int AS mi, substr(u.id, 14, 2)::int AS s,
                   substr(u.id, 16, 3)::int AS ms
              FROM (SELECT upper(p_trade_id COLLATE "C") AS id) u
             WHERE u.id ~ '^[0-9]{8}_[0-9]{9}_(BULLISH|BEARISH)$'
            OFFSET 0) v   -- (a fence: the casts run only on ids of the right shape)
     WHERE CASE WHEN v.y < 2000 OR v.y > 2099 OR v.mo NOT BETWEEN 1 AND 12 OR v.d < 1 OR v.h > 23 OR v.mi > 59 OR v.s > 59 THEN false
                ELSE v.d <= extract(day FROM make_date(v.y, v.mo, 1) + interval '1 month - 1 day') END
$$;
COMMENT ON FUNCTION sigsync._trade_id_parts(text, text) IS
    'Internal: canonical trade_id, signal_time, signal_date and direction of a trade_id in time zone p_tz; NULLs when malformed.';
REVOKE ALL ON FUNCTION sigsync._trade_id_parts(text,text) FROM PUBLIC;
