-- Public: parse a trade_id (Tier 3 source) in the `timezone` setting.
CREATE OR REPLACE FUNCTION sigsync.parse_trade_id(
    p_trade_id text,
    OUT trade_id text,
    OUT signal_time timestamptz,
    OUT signal_date date,
    OUT direction text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER   -- sigsync_reader may call it without reading the tables it uses
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SELECT p.trade_id, p.signal_time, p.signal_date, p.direction
      INTO trade_id, signal_time, signal_date, direction
      FROM sigsync._trade_id_parts(p_trade_id, sigsync._setting_text('timezone')) p;
    IF trade_id IS NULL THEN
        RAISE EXCEPTION 'sigsync: malformed trade_id "%"', p_trade_id
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A trade_id looks like 20251212_104200000_BULLISH (YYYYMMDD_HHMMSSmmm_BULLISH|BEARISH).';
    END IF;
END
$$;
COMMENT ON FUNCTION sigsync.parse_trade_id(text) IS
    'Canonical trade_id, signal_time, signal_date and direction encoded in a trade_id (bar time in the timezone setting). '
    'Raises invalid_parameter_value for a malformed id. Example: SELECT * FROM sigsync.parse_trade_id(''20251212_104200000_BULLISH'').';
GRANT EXECUTE ON FUNCTION sigsync.parse_trade_id(text) TO sigsync_reader;
REVOKE ALL ON FUNCTION sigsync.parse_trade_id(text) FROM PUBLIC;
SELECT sigsync._pin_session_settings('sigsync.parse_trade_id(text)');
SELECT sigsync._definer_owns('sigsync.parse_trade_id(text)');
