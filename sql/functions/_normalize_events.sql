-- Internal: validate event bodies (JSON objects; for MFE_UPDATE_BATCH items, the item merged
-- over its batch) and return their typed fields, one row per element (ord = 1-based position).
-- Set-based: one statement for the whole batch, no per-row PL/pgSQL (ingest throughput,
-- DESIGN §12). PL/pgSQL only to keep that statement's plan for the session (a SQL function
-- is planned again on every call: 2-3 ms, most of the cost of a call with a few bodies); the
-- plan is generic (the planner cannot see into the array either way). Never raises: a body that cannot be accepted gets error_code/error_message;
-- the first failing rule, in the order DESIGN §3 lists them, is the one reported. Every
-- cast below is guarded by the check that makes it safe, so one bad body cannot fail the
-- statement for the others.
-- Bounds (issue "trust under hostile input"): a body nested deeper than 16 levels, a text
-- field longer than its bound (declared once below), a number beyond +-1e15 (or non-zero
-- below 1e-15 in magnitude: no float consumer could read it; anywhere in the body), a number
-- sigsync reads with more than 20 decimals (a stop 1e-42 from its entry), a time later than
-- p_received_at (or now(), when later) + p_max_skew (in a timestamp or in a trade_id) are each rejected with their
-- own code. Letters are folded to upper case in ASCII only (COLLATE "C"), so look-alikes
-- such as 'bullısh' never become BULLISH whatever the database's locale.
-- p_source: the source the caller vouches for (a webhook token's): it is the source of a
-- payload without one, and a payload naming another is rejected (source_mismatch).
CREATE OR REPLACE FUNCTION sigsync._normalize_events(
    p_bodies jsonb[],
    p_received_at timestamptz,
    p_tz text,
    p_default_symbol text,
    p_source text,
    p_max_skew interval)
RETURNS TABLE (
    ord integer,
    error_code text,
    error_message text,
    symbol text,
    trade_id text,
    event_type text,
    event_ts timestamptz,
    ts_from_received boolean,
    source text,
    direction text,
    signal_time timestamptz,
    session text,
    htf_alignment jsonb,
    signal_price numeric,
    entry_price numeric,
    stop_loss numeric,
    confirmation_time timestamptz,
    bars_to_confirmation integer,
    be_mfe numeric,
    no_be_mfe numeric,
    mae_global_r numeric,
    current_price numeric,
    exit_price numeric,
    final_mfe numeric,
    cancelled_time timestamptz,
    cancel_reason text,
    bars_pending integer,
    cancelled_by text,
    tracked_signals integer,
    indicator_version text,
    tracking text[],
    not_tracking text[],
    payload_checksum text)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH body AS (
    SELECT y.*,
           CASE WHEN upper(btrim(y.type_raw) COLLATE "C") IN ('SIGNAL_CREATED', 'ENTRY', 'MFE_UPDATE', 'BE_TRIGGERED', 'EXIT_SL',
                                                  'EXIT_BE', 'CANCELLED', 'HEARTBEAT', 'SYNC_STATUS')
                THEN upper(btrim(y.type_raw) COLLATE "C") END AS et
      FROM (SELECT u.o::integer AS ord,
                   CASE WHEN jsonb_typeof(u.body) = 'object' THEN jsonb_strip_nulls(u.body) END AS b,
                   coalesce(u.body ->> 'event_type', u.body ->> 'type') AS type_raw,
                   -- a container at level 16 (the body is level 0) is nested 17 deep
                   jsonb_path_exists(u.body, 'strict $.**{16} ? (@.type() == "object" || @.type() == "array")')
                       AS too_deep,
                   -- any JSON number anywhere (htf_alignment, fields sigsync does not read) within the bounds
                   -- (down to level 16: deeper is too_deep, and an unbounded descent would exhaust the stack)
                   jsonb_path_exists(u.body, 'strict $.**{0 to 16} ? (@.type() == "number" && (@ > 1e15 || @ < -1e15
                                                             || (@ != 0 && @ < 1e-15 && @ > -1e-15)))')
                       AS wild_number,
                   -- a number written with trailing zeros after its point (1.50) may be anywhere in the
                   -- text (in a string too: then the body is canonicalised for nothing, never wrongly)
                   u.body::text ~ '[0-9][.][0-9]*0([^0-9]|$)' AS has_trailing_zeros
              FROM unnest(p_bodies) WITH ORDINALITY u(body, o)) y
),
-- numbers: the first field (in this order) that is not a finite number, or out of range
num_keys (o, key, kind) AS (
    VALUES (1, 'signal_price', 'price'), (2, 'entry_price', 'price'), (3, 'stop_loss', 'price'),
           (4, 'current_price', 'price'), (5, 'exit_price', 'price'), (6, 'be_mfe', 'number'),
           (7, 'no_be_mfe', 'number'), (8, 'mae_global_r', 'number'), (9, 'final_mfe', 'number'),
           (10, 'bars_to_confirmation', 'count'), (11, 'bars_pending', 'count'), (12, 'tracked_signals', 'count')
),
num_err AS (
    SELECT DISTINCT ON (x.ord) x.ord,
           coalesce(x.ne, CASE WHEN x.kind <> 'count' AND x.out_of_range THEN 'number_out_of_range'
                               WHEN x.kind = 'price' THEN 'non_positive_price' ELSE 'invalid_field' END) AS code,
           CASE WHEN x.ne IS NOT NULL
                     THEN format('"%s" %s is not a %snumber', x.key, sigsync._excerpt(x.value),
                                 CASE WHEN x.ne = 'non_finite' THEN 'finite ' ELSE '' END)
                WHEN x.kind <> 'count' AND x.out_of_range
                     THEN format('"%s" %s is out of range: numbers must be 0 or between 1e-15 and 1e15 in magnitude, '
                                 'with at most 20 decimals', x.key, sigsync._excerpt(x.value))
                WHEN x.kind = 'price' THEN format('"%s" is %s; prices must be > 0', x.key, sigsync._excerpt(x.value))
                ELSE format('"%s" is %s; it must be a whole number >= 0', x.key, sigsync._excerpt(x.value)) END AS msg
      FROM (SELECT n.*, n.num <> 0 AND (abs(n.num) > 1e15 OR abs(n.num) < 1e-15) OR scale(n.num) > 20 AS out_of_range
              FROM (SELECT n.*, CASE WHEN jsonb_typeof(n.value) = 'number' THEN n.value::numeric
                                     WHEN n.ne IS NULL THEN (n.value #>> '{}')::numeric END AS num
                      FROM (SELECT kv.ord, kv.key, kv.value, kv.o, kv.kind,
                                   CASE WHEN jsonb_typeof(kv.value) <> 'number' THEN sigsync._num_error(kv.value) END AS ne
                              FROM (SELECT y.ord, k.key, y.b -> k.key AS value, k.o, k.kind
                                      FROM body y CROSS JOIN num_keys k
                                     WHERE y.b ? k.key) kv) n) n) x
     WHERE x.ne IS NOT NULL
        OR (x.kind <> 'count' AND x.out_of_range)
        OR (x.kind = 'price' AND x.num <= 0)
        OR (x.kind = 'count' AND (x.num < 0 OR x.num <> trunc(x.num) OR x.num > 2147483647))
     ORDER BY x.ord, x.o
),
-- text fields: the bound of each, declared once (the first field over its bound is reported)
text_keys (o, key, max_length) AS (
    VALUES (1, 'symbol', 40), (2, 'source', 64), (3, 'session', 64), (4, 'cancel_reason', 200),
           (5, 'indicator_version', 64)
),
text_err AS (
    SELECT DISTINCT ON (kv.ord) kv.ord,
           format('"%s" is %s characters long; the limit is %s', kv.key, length(btrim(kv.value #>> '{}')), kv.max_length)
               AS msg
      FROM (SELECT y.ord, k.o, k.key, k.max_length, y.b -> k.key AS value
              FROM body y CROSS JOIN text_keys k
             WHERE y.b ? k.key) kv
     WHERE jsonb_typeof(kv.value) IN ('string', 'number') AND length(btrim(kv.value #>> '{}')) > kv.max_length
     ORDER BY kv.ord, kv.o
),
-- canonical payload: duplicates are the same canonical payload; numbers compare by value
-- (1.5 and 1.50 are the same payload). Rebuilt only for a body with a number to trim: any other
-- body is its own canonical form (typed: canon). Either is the body without "type"; the fields
-- sigsync normalises are then written over it as normalised (the checksum, at the end)
canon AS (
    SELECT y.ord,
           jsonb_object_agg(kv.key, CASE WHEN jsonb_typeof(kv.value) = 'number'
                                         THEN to_jsonb(trim_scale((kv.value #>> '{}')::numeric))
                                         ELSE kv.value END) AS fields
      FROM body y
     CROSS JOIN LATERAL jsonb_each(y.b) kv
     WHERE y.has_trailing_zeros AND kv.key <> 'type'
     GROUP BY y.ord
),
-- times: parsed once per distinct text of the batch (a batch's items share its "timestamp").
-- Keyed by the JSON text, which _parse_ts reads: a body's time is read from its own text,
-- whatever the other bodies of its call hold (equal values written with and without
-- trailing zeros are one time since _parse_ts counts whole microseconds in numeric).
-- The four fields are those typed joins to it below; a field left out here would never be
-- parsed, and every body sending it would be rejected (bad_timestamp): loud, never silent.
-- (Read once into body's columns instead, they cost 4 % more: body is read by eight steps.)
times AS (
    SELECT d.k, sigsync._parse_ts(d.v, p_tz) AS at
      FROM (SELECT DISTINCT ON (x.v::text) x.v::text AS k, x.v
              FROM body y
             CROSS JOIN LATERAL (VALUES (y.b -> 'timestamp'), (y.b -> 'signal_time'), (y.b -> 'confirmation_time'),
                                        (y.b -> 'cancelled_time')) x(v)
             WHERE x.v IS NOT NULL) d
),
-- trade_ids: parsed once per distinct text of the batch, in one call
tid AS (
    SELECT p.raw, p.trade_id, p.direction, p.signal_time
      FROM sigsync._trade_ids_parts(ARRAY(SELECT DISTINCT btrim(y.b ->> 'trade_id')
                                            FROM body y WHERE jsonb_typeof(y.b -> 'trade_id') = 'string'), p_tz) p
),
cbid AS (   -- ... and so are the cancelled_by texts
    SELECT p.raw, p.trade_id, p.signal_time
      FROM sigsync._trade_ids_parts(ARRAY(SELECT DISTINCT y.b ->> 'cancelled_by'
                                            FROM body y WHERE jsonb_typeof(y.b -> 'cancelled_by') = 'string'), p_tz) p
),
typed AS MATERIALIZED (   -- (computed once: later steps read its columns several times)
    SELECT y.ord, y.b, y.type_raw, y.et, y.too_deep, y.wild_number,
           upper(btrim(coalesce(y.b ->> 'symbol', p_default_symbol)) COLLATE "C") AS symbol,
           coalesce(btrim(y.b ->> 'source'), p_source, 'indicator') AS source,
           t.trade_id AS tid, t.direction AS tid_direction, t.signal_time AS tid_time,
           CASE WHEN jsonb_typeof(y.b -> 'direction') <> 'string' THEN NULL
                WHEN upper(btrim(y.b ->> 'direction') COLLATE "C") IN ('BULLISH', 'LONG', 'BULL', 'BUY') THEN 'Bullish'
                WHEN upper(btrim(y.b ->> 'direction') COLLATE "C") IN ('BEARISH', 'SHORT', 'BEAR', 'SELL') THEN 'Bearish'
           END AS dir,
           ts.at AS ts, sig_ts.at AS sig_ts, conf_ts.at AS conf_ts, cancel_ts.at AS cancel_ts,
           ne.code AS num_code, ne.msg AS num_msg,
           CASE WHEN ne.code IS NULL THEN (y.b ->> 'entry_price')::numeric END AS entry,
           CASE WHEN ne.code IS NULL THEN (y.b ->> 'stop_loss')::numeric END AS stop,
           cb.trade_id AS cancelled_by, cb.signal_time AS cancelled_by_time,
           te.msg AS text_msg,
           CASE WHEN y.has_trailing_zeros THEN c.fields ELSE y.b - 'type' END AS canon
      FROM body y
      LEFT JOIN cbid cb ON jsonb_typeof(y.b -> 'cancelled_by') = 'string' AND cb.raw = y.b ->> 'cancelled_by'
      LEFT JOIN text_err te ON te.ord = y.ord
      LEFT JOIN tid t ON jsonb_typeof(y.b -> 'trade_id') = 'string' AND t.raw = btrim(y.b ->> 'trade_id')
                     AND y.et NOT IN ('HEARTBEAT', 'SYNC_STATUS')   -- (their trade_id is not read)
      LEFT JOIN num_err ne ON ne.ord = y.ord
      LEFT JOIN canon c ON c.ord = y.ord
      LEFT JOIN times ts ON ts.k = (y.b -> 'timestamp')::text
      LEFT JOIN times sig_ts ON sig_ts.k = (y.b -> 'signal_time')::text
      LEFT JOIN times conf_ts ON conf_ts.k = (y.b -> 'confirmation_time')::text
      LEFT JOIN times cancel_ts ON cancel_ts.k = (y.b -> 'cancelled_time')::text
),
lists AS (   -- the lists "tracking" and "not_tracking" (a SYNC_STATUS's, or any body's that has them), their
    -- texts parsed once for both the trade_ids and the first problem; the first
    -- unreadable timestamp; the first time to come (each a join, not a sub-query in the select
    -- list: the checks below read them twice, and a sub-query there would run once for each reading)
    SELECT t.*, ls.trk, ls.not_trk, ls.list_err,
           CASE WHEN t.b ? 'timestamp' AND t.ts IS NULL THEN 'timestamp'
                WHEN t.b ? 'signal_time' AND t.sig_ts IS NULL THEN 'signal_time'
                WHEN t.b ? 'confirmation_time' AND t.conf_ts IS NULL THEN 'confirmation_time'
                WHEN t.b ? 'cancelled_time' AND t.cancel_ts IS NULL THEN 'cancelled_time' END AS bad_ts_key,
           fw.future_what
      FROM typed t
      LEFT JOIN LATERAL (   -- (one row per list: min picks it; the first list with a problem is reported)
           SELECT min(x.ids) FILTER (WHERE k.key = 'tracking') AS trk,
                  min(x.ids) FILTER (WHERE k.key = 'not_tracking') AS not_trk,
                  (array_agg(CASE WHEN x.not_array THEN format('invalid_field|"%s" must be an array of trade_ids', k.key)
                                  ELSE format('malformed_trade_id|"%s" holds %s, which is not a trade_id', k.key,
                                              sigsync._excerpt(x.bad)) END ORDER BY k.o)
                       FILTER (WHERE x.not_array OR x.bad IS NOT NULL))[1] AS list_err
             FROM (VALUES (1, 'tracking'), (2, 'not_tracking')) k(o, key)
            CROSS JOIN LATERAL (SELECT CASE WHEN jsonb_typeof(t.b -> k.key) = 'array' THEN t.b -> k.key
                                            ELSE '[]' END AS arr) l
            CROSS JOIN LATERAL (
                  -- its elements in order, their distinct texts parsed in one call (a list may hold
                  -- thousands); an element that is not a string, or not a trade_id, is bad
                  SELECT jsonb_typeof(t.b -> k.key) <> 'array' AS not_array,
                         array_agg(p.trade_id ORDER BY el.n) AS ids,
                         (array_agg(el.v ORDER BY el.n) FILTER (WHERE p.trade_id IS NULL))[1] AS bad
                    FROM jsonb_array_elements(l.arr) WITH ORDINALITY el(v, n)
                    LEFT JOIN sigsync._trade_ids_parts(
                                  ARRAY(SELECT DISTINCT x.v #>> '{}' FROM jsonb_array_elements(l.arr) x(v)
                                         WHERE jsonb_typeof(x.v) = 'string'),
                                  p_tz) p ON jsonb_typeof(el.v) = 'string' AND p.raw = el.v #>> '{}') x
            WHERE (t.b ? 'tracking' OR t.b ? 'not_tracking')   -- (once per body: only one with a list reads them)
              AND t.b ? k.key) ls ON true
      -- the first time later than received_at + max_clock_skew: a sender's wrong clock (or a
      -- wrong timezone setting) must not pin state or cancel today's signals
      LEFT JOIN LATERAL (
           SELECT format('%s %s', f.what, to_char(f.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
                      AS future_what
             FROM (VALUES (1, '"timestamp"', t.ts), (2, '"signal_time"', t.sig_ts),
                          (3, '"confirmation_time"', t.conf_ts), (4, '"cancelled_time"', t.cancel_ts),
                          (5, 'the time of trade_id', t.tid_time), (6, 'the time of cancelled_by', t.cancelled_by_time)
                  ) f(o, what, at)
            WHERE f.at > greatest(p_received_at, now()) + p_max_skew   -- (a body kept by a receiver
                                                                        -- whose clock lags is not late)
            ORDER BY f.o LIMIT 1) fw ON true
),
checked AS MATERIALIZED (
    SELECT l.*,
           CASE
             WHEN l.too_deep THEN 'too_deep|the body is nested deeper than 16 levels'
             WHEN l.type_raw IS NULL THEN 'missing_event_type|no "event_type" (or "type") field'
             WHEN l.et IS NULL THEN 'unknown_event_type|' || format('unknown event type %s', sigsync._excerpt(to_jsonb(l.type_raw)))
             WHEN l.b ? 'symbol' AND (jsonb_typeof(l.b -> 'symbol') <> 'string' OR btrim(l.b ->> 'symbol') = '')
                  THEN 'invalid_field|"symbol" must be a non-empty string'
             WHEN l.b ? 'source' AND (jsonb_typeof(l.b -> 'source') <> 'string' OR btrim(l.b ->> 'source') = '')
                  THEN 'invalid_field|"source" must be a non-empty string'
             WHEN l.text_msg IS NOT NULL THEN 'text_too_long|' || l.text_msg
             WHEN l.source <> coalesce(p_source, l.source)
                  THEN 'source_mismatch|' || format('"source" %s is not %s, the source this payload was sent for',
                                                    sigsync._excerpt(to_jsonb(l.source)), to_jsonb(p_source))
             WHEN l.et IN ('HEARTBEAT', 'SYNC_STATUS') THEN NULL
             WHEN NOT l.b ? 'trade_id' THEN 'missing_trade_id|' || format('%s needs a "trade_id"', l.et)
             WHEN l.tid IS NULL
                  THEN 'malformed_trade_id|'
                       || format('trade_id %s is not YYYYMMDD_HHMMSSmmm_BULLISH|BEARISH with a real date and time (years 2000-2099)',
                                 sigsync._excerpt(l.b -> 'trade_id'))
           END AS id_err,
           CASE
             WHEN l.b ? 'direction' AND l.dir IS NULL
                  THEN 'invalid_direction|' || format('direction %s is not Bullish/Bearish (or LONG/SHORT)',
                                                      sigsync._excerpt(l.b -> 'direction'))
             WHEN l.b ? 'direction' AND l.dir <> l.tid_direction
                  THEN 'direction_mismatch|' || format('direction %s disagrees with trade_id %s', l.dir, l.tid)
             WHEN l.bad_ts_key IS NOT NULL THEN 'bad_timestamp|' || format(
                  '"%s" %s is neither epoch milliseconds nor an ISO-8601 date-time (years 2000-2099)', l.bad_ts_key,
                  sigsync._excerpt(l.b -> l.bad_ts_key))
             WHEN l.future_what IS NOT NULL THEN 'future_timestamp|' || format(
                  '%s is later than its receipt + max_clock_skew (%s): check the sender''s clock and the timezone setting',
                  l.future_what, p_max_skew)
             WHEN l.num_code IS NOT NULL THEN l.num_code || '|' || l.num_msg
             WHEN l.wild_number
                  THEN 'number_out_of_range|a number in the body is out of range: numbers must be 0 or between '
                       || '1e-15 and 1e15 in magnitude'
             WHEN l.stop = l.entry THEN 'stop_equals_entry|' || format('stop_loss %s equals entry_price (zero risk)', l.stop)
             WHEN (coalesce(l.dir, l.tid_direction) = 'Bullish' AND l.stop > l.entry)
                  OR (coalesce(l.dir, l.tid_direction) = 'Bearish' AND l.stop < l.entry)
                  THEN 'stop_wrong_side|' || format('a %s stop must be %s the entry: stop_loss %s, entry_price %s',
                                                    coalesce(l.dir, l.tid_direction),
                                                    CASE WHEN coalesce(l.dir, l.tid_direction) = 'Bullish'
                                                         THEN 'below' ELSE 'above' END,
                                                    l.stop, l.entry)
             WHEN l.b ? 'htf_alignment' AND jsonb_typeof(l.b -> 'htf_alignment') <> 'object'
                  THEN 'invalid_field|"htf_alignment" must be a JSON object'
             WHEN l.b ? 'session' AND jsonb_typeof(l.b -> 'session') NOT IN ('string', 'number')
                  THEN 'invalid_field|"session" must be a string'
             WHEN l.b ? 'cancel_reason' AND jsonb_typeof(l.b -> 'cancel_reason') NOT IN ('string', 'number')
                  THEN 'invalid_field|"cancel_reason" must be a string'
             WHEN l.b ? 'indicator_version' AND jsonb_typeof(l.b -> 'indicator_version') NOT IN ('string', 'number')
                  THEN 'invalid_field|"indicator_version" must be a string'
             WHEN l.b ? 'cancelled_by' AND l.cancelled_by IS NULL
                  THEN 'malformed_trade_id|' || format('cancelled_by %s is not a trade_id', sigsync._excerpt(l.b -> 'cancelled_by'))
             WHEN l.cancelled_by = l.tid
                  THEN 'invalid_field|"cancelled_by" is the signal itself: a signal is cancelled by another one' 
             WHEN l.list_err IS NOT NULL THEN l.list_err
             WHEN l.et = 'SYNC_STATUS' AND NOT (l.b ? 'tracking' OR l.b ? 'not_tracking')
                  THEN 'invalid_field|SYNC_STATUS needs "tracking" and/or "not_tracking"'
           END AS field_err
      FROM lists l
),
result AS (
    SELECT c.*, coalesce(c.id_err, c.field_err) AS err,
           coalesce(c.ts, CASE WHEN c.et = 'CANCELLED' THEN c.cancel_ts END) AS ev_ts
      FROM checked c
)
SELECT r.ord,
       split_part(r.err, '|', 1),
       nullif(substr(r.err, strpos(r.err, '|') + 1), r.err),
       r.symbol,
       r.tid,
       r.et,
       coalesce(r.ev_ts, p_received_at),
       r.ev_ts IS NULL,
       r.source,
       r.dir,
       r.sig_ts,
       nullif(btrim(r.b ->> 'session'), ''),
       r.b -> 'htf_alignment',
       CASE WHEN r.num_code IS NULL THEN (r.b ->> 'signal_price')::numeric END,
       r.entry,
       r.stop,
       CASE WHEN r.et = 'ENTRY' THEN coalesce(r.conf_ts, r.ev_ts, p_received_at) ELSE r.conf_ts END,
       CASE WHEN r.num_code IS NULL THEN (r.b ->> 'bars_to_confirmation')::numeric::integer END,
       CASE WHEN r.num_code IS NULL THEN (r.b ->> 'be_mfe')::numeric END,
       CASE WHEN r.num_code IS NULL THEN (r.b ->> 'no_be_mfe')::numeric END,
       CASE WHEN r.num_code IS NULL THEN (r.b ->> 'mae_global_r')::numeric END,
       CASE WHEN r.num_code IS NULL THEN (r.b ->> 'current_price')::numeric END,
       CASE WHEN r.num_code IS NULL THEN (r.b ->> 'exit_price')::numeric END,
       CASE WHEN r.num_code IS NULL THEN (r.b ->> 'final_mfe')::numeric END,
       r.cancel_ts,
       nullif(btrim(r.b ->> 'cancel_reason'), ''),
       CASE WHEN r.num_code IS NULL THEN (r.b ->> 'bars_pending')::numeric::integer END,
       r.cancelled_by,
       CASE WHEN r.num_code IS NULL THEN (r.b ->> 'tracked_signals')::numeric::integer END,
       nullif(btrim(r.b ->> 'indicator_version'), ''),
       CASE WHEN r.et = 'SYNC_STATUS' THEN coalesce(r.trk, '{}') ELSE r.trk END,
       CASE WHEN r.et = 'SYNC_STATUS' THEN coalesce(r.not_trk, '{}') ELSE r.not_trk END,
       CASE WHEN r.err IS NULL THEN
            -- (the small objects joined first: the body's copy is concatenated once)
            encode(sha256(convert_to((coalesce(r.canon, '{}')
                                      || (jsonb_build_object('event_type', r.et, 'symbol', r.symbol, 'source', r.source)
                                          || CASE WHEN r.tid IS NOT NULL
                                                  THEN jsonb_build_object('trade_id', r.tid) ELSE '{}' END
                                          -- a report of how things stand (liveness, tracking, excursion)
                                          -- without a timestamp is as of its receipt: the same body
                                          -- received later is a new report, not a duplicate (a resend
                                          -- is stored twice: harmless for a report)
                                          || CASE WHEN r.ev_ts IS NULL
                                                       AND r.et IN ('HEARTBEAT', 'SYNC_STATUS', 'MFE_UPDATE')
                                                  THEN jsonb_build_object('received_at', extract(epoch FROM p_received_at))
                                                  ELSE '{}' END))::text,
                                     'UTF8')), 'hex') END
  FROM result r
 ORDER BY r.ord;
END
$$;
COMMENT ON FUNCTION sigsync._normalize_events(jsonb[], timestamptz, text, text, text, interval) IS
    'Internal: validate event bodies set-based and return, per element, its typed fields and canonical checksum, '
    'or the error code and message of the first rule it breaks (never raises).';
REVOKE ALL ON FUNCTION sigsync._normalize_events(jsonb[], timestamptz, text, text, text, interval) FROM PUBLIC;
