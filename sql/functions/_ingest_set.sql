-- Internal: the set-based path of ingest (DESIGN §3) for a slice of one call: parse, validate
-- (_normalize_events), store the accepted events and the rejected payloads, project the new
-- events into the registry or queue them for the next cycle (_project_events). One statement for the slice, no per-element
-- PL/pgSQL (ingest throughput, DESIGN §12); every step is linear in the slice (arrays are read
-- by unnest, never by subscript in a loop; a batch's own fields are split off once, not once
-- per item).
-- p_offset: position of the slice in the call (results carry idx = p_offset + position).
-- Raises on an unforeseen failure of any step: _ingest_slice then isolates the element.
-- Returns the results as a jsonb array of {idx, status, event_ids, error}.
CREATE OR REPLACE FUNCTION sigsync._ingest_set(p_payloads text[], p_offset integer, p_received_at timestamptz,
                                               p_source text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_batch_fields_max constant integer := 1024;   -- a batch's own fields, copied into each of its items
    v_tz text := sigsync._setting_text('timezone');
    v_symbol text := sigsync._setting_text('default_symbol');
    v_max_bytes integer := sigsync._setting_numeric('max_payload_bytes')::integer;
    v_max_items integer := sigsync._setting_numeric('max_batch_items')::integer;
    v_skew interval := sigsync._setting_interval('max_clock_skew');
    v_docs jsonb[];
    v_parse_errors text[];
    v_payload text;
    v_doc jsonb;
    v_parse_error text;
    v_parse_detail text;
    v_results jsonb;
    v_codes text[];
    v_messages text[];
    v_new_events sigsync.automated_signals[];
    v_unseen jsonb;
BEGIN
    -- Parse. Fast path: the whole slice at once; on any malformed element, one by one.
    BEGIN
        SELECT array_agg(CASE WHEN octet_length(u.p) <= v_max_bytes THEN u.p::jsonb END ORDER BY u.o)
          INTO v_docs
          FROM unnest(p_payloads) WITH ORDINALITY u(p, o);
    EXCEPTION WHEN others THEN
        v_docs := '{}'::jsonb[];
        v_parse_errors := '{}'::text[];
        FOREACH v_payload IN ARRAY p_payloads LOOP
            v_doc := NULL;
            v_parse_error := NULL;
            IF octet_length(v_payload) <= v_max_bytes THEN
                BEGIN
                    v_doc := v_payload::jsonb;
                EXCEPTION WHEN others THEN
                    IF sigsync._transient(SQLSTATE) THEN
                        RAISE;   -- (out of memory, say: not the body's fault, the caller retries)
                    END IF;
                    GET STACKED DIAGNOSTICS v_parse_detail = PG_EXCEPTION_DETAIL;
                    -- what is wrong with the body, in the parser's words (its detail: "Token
                    -- "x" is invalid."), never the server's own state
                    v_parse_error := CASE WHEN SQLSTATE = '54001' THEN 'nested too deep to read'
                                          ELSE coalesce(nullif(v_parse_detail, ''), 'parse error') END;
                END;
            END IF;
            v_docs := array_append(v_docs, v_doc);
            v_parse_errors := array_append(v_parse_errors, v_parse_error);
        END LOOP;
    END;

    WITH inp AS (
        SELECT (p_offset + u.o)::integer AS idx, u.raw, u.doc,
               CASE WHEN u.raw IS NULL THEN 'invalid_json'
                    WHEN octet_length(u.raw) > v_max_bytes THEN 'payload_too_large'
                    WHEN u.doc IS NULL THEN 'invalid_json'
                    WHEN jsonb_typeof(u.doc) <> 'object' THEN 'not_object' END AS pre_code,
               CASE WHEN u.raw IS NULL THEN 'payload is NULL'
                    WHEN octet_length(u.raw) > v_max_bytes
                         THEN format('payload is %s bytes; the limit is %s', octet_length(u.raw), v_max_bytes)
                    WHEN u.doc IS NULL THEN 'not JSON: ' || left(coalesce(u.parse_error, 'parse error'), 200)
                    WHEN jsonb_typeof(u.doc) <> 'object'
                         THEN format('a JSON %s is not an event object', jsonb_typeof(u.doc)) END AS pre_msg
          FROM unnest(p_payloads, v_docs, v_parse_errors) WITH ORDINALITY u(raw, doc, parse_error, o)
    ),
    is_batch AS MATERIALIZED (   -- (materialized: a batch's own fields are split off once, not per item)
        SELECT y.*, octet_length(y.base::text) AS base_bytes
          FROM (SELECT x.idx, x.doc, x.batch,
                       CASE WHEN x.batch THEN x.doc - 'updates' - 'event_type' - 'type' END AS base,
                       CASE WHEN x.batch THEN encode(sha256(convert_to(x.doc::text, 'UTF8')), 'hex') END AS checksum,
                       CASE WHEN x.batch AND jsonb_typeof(x.doc -> 'updates') = 'array'
                            THEN jsonb_array_length(x.doc -> 'updates') END AS n_items
                  FROM (SELECT i.idx, i.doc,
                               coalesce(upper(btrim(coalesce(i.doc ->> 'event_type', i.doc ->> 'type')) COLLATE "C")
                                        = 'MFE_UPDATE_BATCH', false) AS batch
                          FROM inp i
                         WHERE i.pre_code IS NULL) x) y
    ),
    items AS (
        -- a plain event is its own single item
        SELECT b.idx, 0 AS item, b.doc AS body, NULL::text AS batch_checksum, NULL::text AS item_code,
               NULL::text AS item_msg
          FROM is_batch b
         WHERE NOT b.batch
        UNION ALL
        -- a batch: one MFE_UPDATE per element of "updates", over the batch's other fields
        SELECT b.idx, u.ord::integer, b.base || u.item || '{"event_type": "MFE_UPDATE"}'::jsonb, b.checksum,
               CASE WHEN u.bad THEN 'invalid_field' END,
               CASE WHEN u.bad THEN format('updates[%s] must be a MFE_UPDATE object', u.ord - 1) END
          FROM is_batch b
         CROSS JOIN LATERAL (
                SELECT e.item, e.ord,
                       jsonb_typeof(e.item) <> 'object'
                       OR upper(coalesce(e.item ->> 'event_type', e.item ->> 'type', 'MFE_UPDATE') COLLATE "C")
                          <> 'MFE_UPDATE' AS bad
                  FROM jsonb_array_elements(CASE WHEN b.n_items BETWEEN 1 AND v_max_items
                                                      AND b.base_bytes <= c_batch_fields_max
                                                 THEN b.doc -> 'updates' ELSE '[]' END) WITH ORDINALITY e(item, ord)) u
         WHERE b.batch
        UNION ALL
        SELECT b.idx, 1, NULL, NULL,
               CASE WHEN coalesce(b.n_items, 0) = 0 THEN 'invalid_field'
                    WHEN b.n_items > v_max_items THEN 'too_many_items' ELSE 'payload_too_large' END,
               CASE WHEN coalesce(b.n_items, 0) = 0 THEN 'MFE_UPDATE_BATCH needs a non-empty "updates" array'
                    WHEN b.n_items > v_max_items
                         THEN format('MFE_UPDATE_BATCH has %s items; the limit is %s (max_batch_items)', b.n_items,
                                     v_max_items)
                    ELSE format('the fields of a MFE_UPDATE_BATCH besides "updates" take %s bytes; the limit is %s '
                                '(they are copied into each of its items)', b.base_bytes, c_batch_fields_max) END
          FROM is_batch b
         WHERE b.batch AND NOT coalesce(b.n_items BETWEEN 1 AND v_max_items AND b.base_bytes <= c_batch_fields_max, false)
    ),
    numbered AS (
        SELECT it.*, row_number() OVER (ORDER BY it.idx, it.item)::integer AS k
          FROM items it
    ),
    norm AS (
        SELECT it.idx, it.item, it.body, it.batch_checksum,
               coalesce(it.item_code, n.error_code) AS err_code,
               CASE WHEN it.item_code IS NOT NULL THEN it.item_msg
                    WHEN n.error_code IS NOT NULL AND it.batch_checksum IS NOT NULL
                         THEN format('updates[%s]: %s', it.item - 1, n.error_message)
                    ELSE n.error_message END AS err_msg,
               n.*
          FROM numbered it
          JOIN sigsync._normalize_events((SELECT array_agg(x.body ORDER BY x.k) FROM numbered x),
                                         p_received_at, v_tz, v_symbol, p_source, v_skew) n
            ON n.ord = it.k
    ),
    flagged AS (   -- an element is rejected whole when any of its items is
        SELECT n.*, bool_or(n.err_code IS NOT NULL) OVER (PARTITION BY n.idx) AS element_bad
          FROM norm n
    ),
    verdict AS (   -- per element: the first error (by item), NULL when it is good
        SELECT x.idx,
               (array_agg(x.code ORDER BY x.item) FILTER (WHERE x.code IS NOT NULL))[1] AS code,
               (array_agg(x.msg ORDER BY x.item) FILTER (WHERE x.code IS NOT NULL))[1] AS msg
          FROM (SELECT i.idx, i.pre_code AS code, i.pre_msg AS msg, 0 AS item FROM inp i
                UNION ALL
                SELECT f.idx, f.err_code, f.err_msg, f.item FROM flagged f WHERE f.err_code IS NOT NULL) x
         GROUP BY x.idx
    ),
    good AS (   -- ... and per event, whether it is the first copy of the call (by element, then item)
        SELECT f.*,
               row_number() OVER (PARTITION BY f.symbol, f.payload_checksum ORDER BY f.idx, f.item) = 1 AS first_copy
          FROM flagged f
         WHERE NOT f.element_bad
    ),
    ins AS (
        INSERT INTO sigsync.automated_signals AS a
               (symbol, trade_id, event_type, "timestamp", timestamp_from_received, source, direction,
                signal_time, session, htf_alignment, signal_price, entry_price, stop_loss,
                confirmation_time, bars_to_confirmation, be_mfe, no_be_mfe, mae_global_r,
                current_price, exit_price, final_mfe, cancelled_time, cancel_reason, bars_pending,
                cancelled_by, tracked_signals, indicator_version, tracking, not_tracking,
                batch_checksum, batch_item, payload, payload_checksum, received_at)
        SELECT d.symbol, d.trade_id, d.event_type, d.event_ts, d.ts_from_received, d.source, d.direction,
               d.signal_time, d.session, d.htf_alignment, d.signal_price, d.entry_price, d.stop_loss,
               d.confirmation_time, d.bars_to_confirmation, d.be_mfe, d.no_be_mfe, d.mae_global_r,
               d.current_price, d.exit_price, d.final_mfe, d.cancelled_time, d.cancel_reason, d.bars_pending,
               d.cancelled_by, d.tracked_signals, d.indicator_version, d.tracking, d.not_tracking,
               d.batch_checksum, nullif(d.item, 0), d.body, d.payload_checksum, p_received_at
          FROM good d
         WHERE d.first_copy
         ORDER BY d.idx, d.item          -- event ids follow the input order
        ON CONFLICT (symbol, payload_checksum) DO NOTHING
        RETURNING a.symbol, a.id, a.payload_checksum, a AS e
    ),
    per_item AS (
        SELECT g.idx, g.item,
               CASE WHEN g.first_copy THEN ins.id END AS new_id,   -- stored by this element
               coalesce(ins.id, old.id) AS any_id                  -- the stored copy, for duplicates
          FROM good g
          LEFT JOIN ins ON ins.symbol = g.symbol AND ins.payload_checksum = g.payload_checksum
          -- the stored copy of a duplicate: one key probe for each row this statement did not
          -- insert (LIMIT keeps it a probe: a join would read the whole table on every call)
          LEFT JOIN LATERAL (SELECT o.id FROM sigsync.automated_signals o
                              WHERE ins.id IS NULL AND o.symbol = g.symbol AND o.payload_checksum = g.payload_checksum
                              LIMIT 1) old ON true
    ),
    results AS (
        SELECT v.idx, 'rejected' AS status, '{}'::bigint[] AS event_ids,
               jsonb_build_object('code', v.code, 'message', v.msg) AS error
          FROM verdict v
         WHERE v.code IS NOT NULL
        UNION ALL
        SELECT p.idx,
               CASE WHEN bool_or(p.new_id IS NOT NULL) THEN 'accepted' ELSE 'duplicate' END,
               coalesce(array_agg(coalesce(p.new_id, p.any_id) ORDER BY p.item)
                            FILTER (WHERE coalesce(p.new_id, p.any_id) IS NOT NULL), '{}'),
               NULL
          FROM per_item p
         GROUP BY p.idx
    )
    SELECT (SELECT jsonb_agg(to_jsonb(r) ORDER BY r.idx) FROM results r),
           (SELECT array_agg(v.code ORDER BY v.idx) FROM verdict v),      -- one per element, NULL when good
           (SELECT array_agg(v.msg ORDER BY v.idx) FROM verdict v),
           (SELECT array_agg(ins.e ORDER BY ins.symbol, ins.id) FROM ins),
           -- the items of elements with a duplicate whose stored copy this statement could not
           -- see (a concurrent call stored it and committed meanwhile)
           (SELECT jsonb_agg(jsonb_build_object('idx', p.idx, 'item', p.item, 'id', coalesce(p.new_id, p.any_id),
                                                'symbol', g.symbol, 'checksum', g.payload_checksum))
              FROM per_item p
              JOIN good g ON g.idx = p.idx AND g.item = p.item
             WHERE p.idx IN (SELECT q.idx FROM per_item q WHERE q.any_id IS NULL))
      INTO v_results, v_codes, v_messages, v_new_events, v_unseen;

    IF v_unseen IS NOT NULL THEN
        -- a new snapshot sees them: their ids, in item order, in those elements' results
        v_results := (
            SELECT jsonb_agg(CASE WHEN f.ids IS NULL THEN r.value
                                  ELSE jsonb_set(r.value, '{event_ids}', f.ids) END
                             ORDER BY (r.value ->> 'idx')::integer)
              FROM jsonb_array_elements(v_results) r
              LEFT JOIN (SELECT (u.value ->> 'idx')::integer AS idx,
                                jsonb_agg(coalesce((u.value ->> 'id')::bigint, a.id) ORDER BY (u.value ->> 'item')::integer)
                                    FILTER (WHERE coalesce((u.value ->> 'id')::bigint, a.id) IS NOT NULL) AS ids
                           FROM jsonb_array_elements(v_unseen) u
                           LEFT JOIN sigsync.automated_signals a
                                  ON (u.value ->> 'id') IS NULL
                                 AND a.symbol = u.value ->> 'symbol' AND a.payload_checksum = u.value ->> 'checksum'
                          GROUP BY 1) f
                ON f.idx = (r.value ->> 'idx')::integer);
    END IF;

    IF array_remove(v_codes, NULL) <> '{}' THEN
        PERFORM sigsync._store_rejected(p_payloads, NULL, v_codes, v_messages, p_received_at, p_source);
    END IF;
    PERFORM sigsync._project_events(v_new_events, true, NULL, true);   -- (MFE updates: queued for the cycle)
    RETURN coalesce(v_results, '[]'::jsonb);
END
$$;
COMMENT ON FUNCTION sigsync._ingest_set(text[], integer, timestamptz, text) IS
    'Internal: validate, store and project a slice of one ingest call set-based; results as a jsonb array '
    '(raises on an unforeseen failure, which sigsync._ingest_slice isolates).';
REVOKE ALL ON FUNCTION sigsync._ingest_set(text[], integer, timestamptz, text) FROM PUBLIC;
