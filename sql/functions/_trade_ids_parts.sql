-- Internal: the parts of trade_ids `YYYYMMDD_HHMMSSmmm_BULLISH|BEARISH` (suffix in any case), the
-- one home of that parse: each given text (raw) with its canonical trade_id, the signal's bar
-- time in time zone p_tz, years 2000..2099 (like timestamps), its date and its direction. All
-- parts are NULL for a malformed text (wrong shape, or a date/time that does not exist); NULL
-- texts give no row. Never raises. The suffix is folded to upper case in ASCII only (COLLATE
-- "C"): look-alike letters such as 'ı' or 'ſ' never fold into BULLISH, whatever the database's
-- locale.
-- One call for a set: a cycle parses every signal's trade_id (Tier 3 fills, _static_fills), and
-- a call of a SQL function with a pinned search_path costs more than this body (about 10 µs:
-- it cannot be inlined). _trade_id_parts is the one-text form. The shape is checked by one match
-- without captures and the fixed-width parts are cut out with substr (a regexp_match with eight
-- captures costs about ten times as much).
CREATE OR REPLACE FUNCTION sigsync._trade_ids_parts(p_trade_ids text[], p_tz text)
RETURNS TABLE (raw text, trade_id text, signal_time timestamptz, signal_date date, direction text)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.raw, v.trade_id, v.signal_time, v.signal_date, v.direction
      FROM unnest(p_trade_ids) r(raw)
      LEFT JOIN LATERAL (   -- (no row for a malformed text: all its parts NULL)
            SELECT v.id AS trade_id, make_timestamptz(v.y, v.mo, v.d, v.h, v.mi, v.s + v.ms / 1000.0, p_tz) AS signal_time,
                   make_date(v.y, v.mo, v.d) AS signal_date,
                   CASE WHEN right(v.id, 7) = 'BULLISH' THEN 'Bullish' ELSE 'Bearish' END AS direction
              FROM (SELECT u.id, substr(u.id, 1, 4)::int AS y, substr(u.id, 5, 2)::int AS mo,
                           substr(u.id, 7, 2)::int AS d, substr(u.id, 10, 2)::int AS h,
                           substr(u.id, 12, 2)::int AS mi, substr(u.id, 14, 2)::int AS s,
                           substr(u.id, 16, 3)::int AS ms
                      FROM (SELECT upper(r.raw COLLATE "C") AS id) u
                     WHERE u.id ~ '^[0-9]{8}_[0-9]{9}_(BULLISH|BEARISH)$'
                    OFFSET 0) v   -- (a fence: the casts run only on ids of the right shape)
             WHERE CASE WHEN v.y < 2000 OR v.y > 2099 OR v.mo NOT BETWEEN 1 AND 12 OR v.d < 1 OR v.h > 23
                             OR v.mi > 59 OR v.s > 59 THEN false
                        ELSE v.d <= extract(day FROM make_date(v.y, v.mo, 1) + interval '1 month - 1 day') END
           ) v ON true
     WHERE r.raw IS NOT NULL
$$;
COMMENT ON FUNCTION sigsync._trade_ids_parts(text[], text) IS
    'Internal: each text with the canonical trade_id, signal_time, signal_date and direction it encodes in time zone '
    'p_tz; NULL parts when malformed.';
REVOKE ALL ON FUNCTION sigsync._trade_ids_parts(text[], text) FROM PUBLIC;
