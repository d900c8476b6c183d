-- Internal: the parts of one trade_id `YYYYMMDD_HHMMSSmmm_BULLISH|BEARISH` (suffix in any case):
-- _trade_ids_parts, the home of the parse, for one text (a malformed or NULL one gives NULLs).
-- Never raises. For a set of trade_ids, call _trade_ids_parts once.
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
    SELECT p.trade_id, p.signal_time, p.signal_date, p.direction
      FROM (SELECT 1) one
      LEFT JOIN sigsync._trade_ids_parts(ARRAY[p_trade_id], p_tz) p ON true
$$;
COMMENT ON FUNCTION sigsync._trade_id_parts(text, text) IS
    'Internal: canonical trade_id, signal_time, signal_date and direction of a trade_id in time zone p_tz; NULLs when malformed.';
REVOKE ALL ON FUNCTION sigsync._trade_id_parts(text,text) FROM PUBLIC;
