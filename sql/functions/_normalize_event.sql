-- Internal: validate one event body (a JSON object; for MFE_UPDATE_BATCH items, the item
-- merged over its batch) and return its typed fields. Never raises: a body that cannot be
-- accepted returns error_code/error_message and nothing else. DESIGN §3 lists the rules.
CREATE OR REPLACE FUNCTION sigsync._normalize_event(
    p_body jsonb,
    p_received_at timestamptz,
    p_tz text,
    p_default_symbol text,
    OUT error_code text,
    OUT error_message text,
    OUT symbol text,
    OUT trade_id text,
    OUT event_type text,
    OUT event_ts timestamptz,
    OUT ts_from_received boolean,
    OUT source text,
    OUT direction text,
    OUT signal_time timestamptz,
    OUT session text,
    OUT htf_alignment jsonb,
    OUT signal_price numeric,
    OUT entry_price numeric,
    OUT stop_loss numeric,
    OUT confirmation_time timestamptz,
    OUT bars_to_confirmation integer,
    OUT be_mfe numeric,
    OUT no_be_mfe numeric,
    OUT mae_global_r numeric,
    OUT current_price numeric,
    OUT exit_price numeric,
    OUT final_mfe numeric,
    OUT cancelled_time timestamptz,
    OUT cancel_reason text,
    OUT bars_pending integer,
    OUT cancelled_by text,
    OUT tracked_signals integer,
    OUT indicator_version text,
    OUT tracking text[],
    OUT not_tracking text[],
    OUT payload_checksum text)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b jsonb := jsonb_strip_nulls(p_body);
    v_type_raw text;
    v_parts record;
    v_dir_raw text;
    v_key text;
    v_err text;
    v_elem jsonb;
    v_num numeric;
    v_canonical jsonb;
BEGIN
    SELECT * INTO v_parts FROM sigsync._trade_id_parts(NULL, p_tz);   -- all NULL until a trade_id is read
    -- event type -------------------------------------------------------------------
    v_type_raw := coalesce(b ->> 'event_type', b ->> 'type');
    IF v_type_raw IS NULL THEN
        error_code := 'missing_event_type';
        error_message := 'no "event_type" (or "type") field';
        RETURN;
    END IF;
    event_type := upper(btrim(v_type_raw));
    IF event_type NOT IN ('SIGNAL_CREATED','ENTRY','MFE_UPDATE','BE_TRIGGERED','EXIT_SL','EXIT_BE',
                          'CANCELLED','HEARTBEAT','SYNC_STATUS') THEN
        error_code := 'unknown_event_type';
        error_message := format('unknown event type %s', to_jsonb(v_type_raw));
        event_type := NULL;
        RETURN;
    END IF;

    -- symbol, source ---------------------------------------------------------------
    IF b ? 'symbol' AND (jsonb_typeof(b -> 'symbol') <> 'string' OR btrim(b ->> 'symbol') = '') THEN
        error_code := 'invalid_field';
        error_message := '"symbol" must be a non-empty string';
        RETURN;
    END IF;
    IF b ? 'source' AND (jsonb_typeof(b -> 'source') <> 'string' OR btrim(b ->> 'source') = '') THEN
        error_code := 'invalid_field';
        error_message := '"source" must be a non-empty string';
        RETURN;
    END IF;
    symbol := upper(btrim(coalesce(b ->> 'symbol', p_default_symbol)));
    source := btrim(coalesce(b ->> 'source', 'indicator'));

    -- trade_id ---------------------------------------------------------------------
    IF event_type NOT IN ('HEARTBEAT', 'SYNC_STATUS') THEN
        IF NOT b ? 'trade_id' THEN
            error_code := 'missing_trade_id';
            error_message := format('%s needs a "trade_id"', event_type);
            RETURN;
        END IF;
        IF jsonb_typeof(b -> 'trade_id') = 'string' THEN
            SELECT * INTO v_parts FROM sigsync._trade_id_parts(btrim(b ->> 'trade_id'), p_tz);
        END IF;
        IF v_parts.trade_id IS NULL THEN
            error_code := 'malformed_trade_id';
            error_message := format('trade_id %s is not YYYYMMDD_HHMMSSmmm_BULLISH|BEARISH with a real date and time',
                                    b -> 'trade_id');
            RETURN;
        END IF;
        trade_id := v_parts.trade_id;
    END IF;

    -- direction --------------------------------------------------------------------
    IF b ? 'direction' THEN
        v_dir_raw := upper(btrim(b ->> 'direction'));
        direction := CASE WHEN jsonb_typeof(b -> 'direction') <> 'string' THEN NULL
                          WHEN v_dir_raw IN ('BULLISH', 'LONG', 'BULL', 'BUY') THEN 'Bullish'
                          WHEN v_dir_raw IN ('BEARISH', 'SHORT', 'BEAR', 'SELL') THEN 'Bearish' END;
        IF direction IS NULL THEN
            error_code := 'invalid_direction';
            error_message := format('direction %s is not Bullish/Bearish (or LONG/SHORT)', b -> 'direction');
            RETURN;
        END IF;
        IF trade_id IS NOT NULL AND direction <> v_parts.direction THEN
            error_code := 'direction_mismatch';
            error_message := format('direction %s disagrees with trade_id %s', direction, trade_id);
            RETURN;
        END IF;
    END IF;

    -- timestamps -------------------------------------------------------------------
    FOREACH v_key IN ARRAY ARRAY['timestamp', 'signal_time', 'confirmation_time', 'cancelled_time'] LOOP
        IF b ? v_key AND sigsync._parse_ts(b -> v_key, p_tz) IS NULL THEN
            error_code := 'bad_timestamp';
            error_message := format('"%s" %s is neither epoch milliseconds nor an ISO-8601 date-time', v_key, b -> v_key);
            RETURN;
        END IF;
    END LOOP;
    signal_time := sigsync._parse_ts(b -> 'signal_time', p_tz);
    confirmation_time := sigsync._parse_ts(b -> 'confirmation_time', p_tz);
    cancelled_time := sigsync._parse_ts(b -> 'cancelled_time', p_tz);
    event_ts := sigsync._parse_ts(b -> 'timestamp', p_tz);
    IF event_ts IS NULL AND event_type = 'CANCELLED' THEN
        event_ts := cancelled_time;
    END IF;
    ts_from_received := event_ts IS NULL;
    event_ts := coalesce(event_ts, p_received_at);

    -- numbers ----------------------------------------------------------------------
    FOREACH v_key IN ARRAY ARRAY['signal_price', 'entry_price', 'stop_loss', 'current_price', 'exit_price',
                                 'be_mfe', 'no_be_mfe', 'mae_global_r', 'final_mfe',
                                 'bars_to_confirmation', 'bars_pending', 'tracked_signals'] LOOP
        v_err := sigsync._num_error(b -> v_key);
        IF v_err IS NOT NULL THEN
            error_code := v_err;
            error_message := format('"%s" %s is not a %snumber', v_key, b -> v_key,
                                    CASE WHEN v_err = 'non_finite' THEN 'finite ' ELSE '' END);
            RETURN;
        END IF;
        IF b ? v_key THEN
            v_num := (b ->> v_key)::numeric;
            IF v_key IN ('signal_price', 'entry_price', 'stop_loss', 'current_price', 'exit_price') AND v_num <= 0 THEN
                error_code := 'non_positive_price';
                error_message := format('"%s" is %s; prices must be > 0', v_key, v_num);
                RETURN;
            END IF;
            IF v_key IN ('bars_to_confirmation', 'bars_pending', 'tracked_signals')
               AND (v_num < 0 OR v_num <> trunc(v_num) OR v_num > 2147483647) THEN
                error_code := 'invalid_field';
                error_message := format('"%s" is %s; it must be a whole number >= 0', v_key, v_num);
                RETURN;
            END IF;
        END IF;
    END LOOP;
    signal_price := (b ->> 'signal_price')::numeric;
    entry_price := (b ->> 'entry_price')::numeric;
    stop_loss := (b ->> 'stop_loss')::numeric;
    current_price := (b ->> 'current_price')::numeric;
    exit_price := (b ->> 'exit_price')::numeric;
    be_mfe := (b ->> 'be_mfe')::numeric;
    no_be_mfe := (b ->> 'no_be_mfe')::numeric;
    mae_global_r := (b ->> 'mae_global_r')::numeric;
    final_mfe := (b ->> 'final_mfe')::numeric;
    bars_to_confirmation := (b ->> 'bars_to_confirmation')::numeric::integer;
    bars_pending := (b ->> 'bars_pending')::numeric::integer;
    tracked_signals := (b ->> 'tracked_signals')::numeric::integer;

    -- stop on the right side of the entry --------------------------------------------
    IF entry_price IS NOT NULL AND stop_loss IS NOT NULL THEN
        IF stop_loss = entry_price THEN
            error_code := 'stop_equals_entry';
            error_message := format('stop_loss %s equals entry_price (zero risk)', stop_loss);
            RETURN;
        END IF;
        IF (coalesce(direction, v_parts.direction) = 'Bullish' AND stop_loss > entry_price)
           OR (coalesce(direction, v_parts.direction) = 'Bearish' AND stop_loss < entry_price) THEN
            error_code := 'stop_wrong_side';
            error_message := format('a %s stop must be %s the entry: stop_loss %s, entry_price %s',
                                    coalesce(direction, v_parts.direction),
                                    CASE WHEN coalesce(direction, v_parts.direction) = 'Bullish' THEN 'below' ELSE 'above' END,
                                    stop_loss, entry_price);
            RETURN;
        END IF;
    END IF;

    -- other typed fields -----------------------------------------------------------
    IF b ? 'htf_alignment' AND jsonb_typeof(b -> 'htf_alignment') <> 'object' THEN
        error_code := 'invalid_field';
        error_message := '"htf_alignment" must be a JSON object';
        RETURN;
    END IF;
    htf_alignment := b -> 'htf_alignment';
    FOREACH v_key IN ARRAY ARRAY['session', 'cancel_reason', 'indicator_version'] LOOP
        IF b ? v_key AND jsonb_typeof(b -> v_key) NOT IN ('string', 'number') THEN
            error_code := 'invalid_field';
            error_message := format('"%s" must be a string', v_key);
            RETURN;
        END IF;
    END LOOP;
    session := nullif(btrim(b ->> 'session'), '');
    cancel_reason := nullif(btrim(b ->> 'cancel_reason'), '');
    indicator_version := nullif(btrim(b ->> 'indicator_version'), '');
    IF b ? 'cancelled_by' THEN
        cancelled_by := (SELECT p.trade_id FROM sigsync._trade_id_parts(b ->> 'cancelled_by', p_tz) p
                          WHERE jsonb_typeof(b -> 'cancelled_by') = 'string');
        IF cancelled_by IS NULL THEN
            error_code := 'malformed_trade_id';
            error_message := format('cancelled_by %s is not a trade_id', b -> 'cancelled_by');
            RETURN;
        END IF;
    END IF;
    FOREACH v_key IN ARRAY ARRAY['tracking', 'not_tracking'] LOOP
        IF b ? v_key THEN
            IF jsonb_typeof(b -> v_key) <> 'array' THEN
                error_code := 'invalid_field';
                error_message := format('"%s" must be an array of trade_ids', v_key);
                RETURN;
            END IF;
            FOR v_elem IN SELECT value FROM jsonb_array_elements(b -> v_key) LOOP
                IF jsonb_typeof(v_elem) <> 'string'
                   OR (SELECT p.trade_id FROM sigsync._trade_id_parts(v_elem #>> '{}', p_tz) p) IS NULL THEN
                    error_code := 'malformed_trade_id';
                    error_message := format('"%s" holds %s, which is not a trade_id', v_key, v_elem);
                    RETURN;
                END IF;
            END LOOP;
        END IF;
    END LOOP;
    tracking := (SELECT array_agg(p.trade_id ORDER BY e.ord)
                   FROM jsonb_array_elements_text(b -> 'tracking') WITH ORDINALITY e(tid, ord),
                        sigsync._trade_id_parts(e.tid, p_tz) p);
    not_tracking := (SELECT array_agg(p.trade_id ORDER BY e.ord)
                       FROM jsonb_array_elements_text(b -> 'not_tracking') WITH ORDINALITY e(tid, ord),
                            sigsync._trade_id_parts(e.tid, p_tz) p);
    IF event_type = 'SYNC_STATUS' AND tracking IS NULL AND not_tracking IS NULL
       AND NOT (b ? 'tracking' OR b ? 'not_tracking') THEN
        error_code := 'invalid_field';
        error_message := 'SYNC_STATUS needs "tracking" and/or "not_tracking"';
        RETURN;
    END IF;
    IF event_type = 'SYNC_STATUS' THEN
        tracking := coalesce(tracking, '{}');
        not_tracking := coalesce(not_tracking, '{}');
    END IF;

    -- ENTRY: confirmation_time is its field, else its timestamp ----------------------
    IF event_type = 'ENTRY' THEN
        confirmation_time := coalesce(confirmation_time, event_ts);
    END IF;

    -- canonical payload: duplicates are the same canonical payload --------------------
    -- numbers are compared by value (1.5 and 1.50 are the same payload)
    v_canonical := (SELECT coalesce(jsonb_object_agg(kv.key,
                                        CASE WHEN jsonb_typeof(kv.value) = 'number'
                                             THEN to_jsonb(trim_scale((kv.value #>> '{}')::numeric))
                                             ELSE kv.value END), '{}')
                      FROM jsonb_each(b - 'type' - 'event_type' - 'symbol' - 'source') kv)
                   || jsonb_build_object('event_type', event_type, 'symbol', symbol, 'source', source);
    IF trade_id IS NOT NULL THEN
        v_canonical := v_canonical || jsonb_build_object('trade_id', trade_id);
    END IF;
    payload_checksum := encode(sha256(convert_to(v_canonical::text, 'UTF8')), 'hex');
END
$$;
COMMENT ON FUNCTION sigsync._normalize_event(jsonb, timestamptz, text, text) IS
    'Internal: validate one event body and return its typed fields and canonical checksum, or an error code (never raises).';
REVOKE ALL ON FUNCTION sigsync._normalize_event(jsonb,timestamp with time zone,text,text) FROM PUBLIC;
