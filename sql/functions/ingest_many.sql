-- Public: accept many webhook bodies, one result per element (DESIGN §3, §10).
-- Never raises for bad input: a payload that cannot be accepted is stored in
-- sigsync.rejected_events as received and reported with its error code. Each element is
-- independent of the others. Accepted events are projected into sigsync.signals and marked
-- for the next reconcile cycle in this same transaction; one NOTIFY sigsync_event is sent
-- per transaction.
CREATE OR REPLACE FUNCTION sigsync.ingest_many(p_payloads text[])
RETURNS TABLE (idx integer, status text, event_ids bigint[], error jsonb)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tz text := sigsync._setting_text('timezone');
    v_symbol text := sigsync._setting_text('default_symbol');
    v_max_bytes integer := sigsync._setting_numeric('max_payload_bytes')::integer;
    v_received timestamptz := clock_timestamp();
    v_docs jsonb[];
    v_parse_errors text[];
    v_results jsonb;
    v_new_symbols text[];
    v_new_ids bigint[];
    v_one record;
BEGIN
    IF p_payloads IS NULL OR cardinality(p_payloads) = 0 THEN
        RETURN;
    END IF;

    -- Parse. Fast path: the whole array at once; on any malformed element, one by one.
    BEGIN
        SELECT array_agg(CASE WHEN octet_length(p) <= v_max_bytes THEN p::jsonb END ORDER BY o)
          INTO v_docs
          FROM unnest(p_payloads) WITH ORDINALITY u(p, o);
    EXCEPTION WHEN others THEN
        v_docs := array_fill(NULL::jsonb, ARRAY[cardinality(p_payloads)]);
        v_parse_errors := array_fill(NULL::text, ARRAY[cardinality(p_payloads)]);
        FOR v_i IN 1 .. cardinality(p_payloads) LOOP
            IF octet_length(p_payloads[v_i]) <= v_max_bytes THEN
                BEGIN
                    v_docs[v_i] := p_payloads[v_i]::jsonb;
                EXCEPTION WHEN others THEN
                    v_parse_errors[v_i] := SQLERRM;
                END;
            END IF;
        END LOOP;
    END;

    BEGIN
        WITH inp AS (
            SELECT u.o::integer AS idx, u.raw, v_docs[u.o] AS doc,
                   CASE WHEN u.raw IS NULL THEN 'invalid_json'
                        WHEN octet_length(u.raw) > v_max_bytes THEN 'payload_too_large'
                        WHEN v_docs[u.o] IS NULL THEN 'invalid_json'
                        WHEN jsonb_typeof(v_docs[u.o]) <> 'object' THEN 'not_object' END AS pre_code,
                   CASE WHEN u.raw IS NULL THEN 'payload is NULL'
                        WHEN octet_length(u.raw) > v_max_bytes
                             THEN format('payload is %s bytes; the limit is %s', octet_length(u.raw), v_max_bytes)
                        WHEN v_docs[u.o] IS NULL THEN 'not JSON: ' || coalesce(v_parse_errors[u.o], 'parse error')
                        WHEN jsonb_typeof(v_docs[u.o]) <> 'object'
                             THEN format('a JSON %s is not an event object', jsonb_typeof(v_docs[u.o])) END AS pre_msg
              FROM unnest(p_payloads) WITH ORDINALITY u(raw, o)
        ),
        is_batch AS (
            SELECT i.*, coalesce(upper(btrim(coalesce(i.doc ->> 'event_type', i.doc ->> 'type'))) = 'MFE_UPDATE_BATCH', false) AS batch
              FROM inp i
             WHERE i.pre_code IS NULL
        ),
        items AS (
            -- a plain event is its own single item
            SELECT b.idx, 0 AS item, b.doc AS body, NULL::text AS batch_checksum, NULL::text AS item_code
              FROM is_batch b
             WHERE NOT b.batch
            UNION ALL
            -- a batch: one MFE_UPDATE per element of "updates", over the batch's other fields
            SELECT b.idx, u.ord::integer,
                   (b.doc - 'updates' - 'event_type' - 'type') || u.item || '{"event_type": "MFE_UPDATE"}'::jsonb,
                   encode(sha256(convert_to(b.doc::text, 'UTF8')), 'hex'),
                   CASE WHEN jsonb_typeof(u.item) <> 'object' THEN 'invalid_field'
                        WHEN upper(coalesce(u.item ->> 'event_type', u.item ->> 'type', 'MFE_UPDATE')) <> 'MFE_UPDATE'
                             THEN 'invalid_field' END
              FROM is_batch b
             CROSS JOIN LATERAL jsonb_array_elements(
                     CASE WHEN jsonb_typeof(b.doc -> 'updates') = 'array' THEN b.doc -> 'updates' ELSE '[]' END)
                   WITH ORDINALITY u(item, ord)
             WHERE b.batch
            UNION ALL
            SELECT b.idx, 1, NULL, NULL, 'invalid_field'
              FROM is_batch b
             WHERE b.batch
               AND (jsonb_typeof(b.doc -> 'updates') IS DISTINCT FROM 'array' OR jsonb_array_length(b.doc -> 'updates') = 0)
        ),
        numbered AS (
            SELECT it.*, row_number() OVER (ORDER BY it.idx, it.item)::integer AS k
              FROM items it
        ),
        norm AS (
            SELECT it.idx, it.item, it.body, it.batch_checksum,
                   coalesce(it.item_code, n.error_code) AS err_code,
                   CASE WHEN it.item_code IS NOT NULL AND it.body IS NULL
                             THEN 'MFE_UPDATE_BATCH needs a non-empty "updates" array'
                        WHEN it.item_code IS NOT NULL
                             THEN format('updates[%s] must be a MFE_UPDATE object', it.item - 1)
                        WHEN n.error_code IS NOT NULL AND it.batch_checksum IS NOT NULL
                             THEN format('updates[%s]: %s', it.item - 1, n.error_message)
                        ELSE n.error_message END AS err_msg,
                   n.*
              FROM numbered it
              JOIN sigsync._normalize_events((SELECT array_agg(x.body ORDER BY x.k) FROM numbered x),
                                             v_received, v_tz, v_symbol) n
                ON n.ord = it.k
        ),
        bad AS (
            SELECT DISTINCT ON (x.idx) x.idx, x.code, x.msg
              FROM (SELECT i.idx, i.pre_code AS code, i.pre_msg AS msg, 0 AS item
                      FROM inp i WHERE i.pre_code IS NOT NULL
                    UNION ALL
                    SELECT n.idx, n.err_code, n.err_msg, n.item
                      FROM norm n WHERE n.err_code IS NOT NULL) x
             ORDER BY x.idx, x.item
        ),
        good AS (
            SELECT n.*
              FROM norm n
             WHERE NOT EXISTS (SELECT 1 FROM bad WHERE bad.idx = n.idx)
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
                   d.batch_checksum, nullif(d.item, 0), d.body, d.payload_checksum, v_received
              FROM (SELECT DISTINCT ON (g.symbol, g.payload_checksum) g.*
                      FROM good g
                     ORDER BY g.symbol, g.payload_checksum, g.idx, g.item) d
             ORDER BY d.idx, d.item          -- event ids follow the input order
            ON CONFLICT (symbol, payload_checksum) DO NOTHING
            RETURNING a.symbol, a.id, a.payload_checksum
        ),
        rej AS (
            INSERT INTO sigsync.rejected_events (payload, error_code, message, received_at)
            SELECT coalesce(i.raw, ''), b.code, b.msg, v_received
              FROM bad b JOIN inp i ON i.idx = b.idx
             ORDER BY b.idx
            RETURNING 1
        ),
        per_item AS (
            SELECT g.idx, g.item,
                   CASE WHEN g.first_copy THEN ins.id END AS new_id,   -- stored by this element
                   coalesce(ins.id, old.id) AS any_id                  -- the stored copy, for duplicates
              FROM (SELECT g.idx, g.item, g.symbol, g.payload_checksum,
                           row_number() OVER (PARTITION BY g.symbol, g.payload_checksum ORDER BY g.idx, g.item) = 1
                               AS first_copy
                      FROM good g) g
              LEFT JOIN ins ON ins.symbol = g.symbol AND ins.payload_checksum = g.payload_checksum
              LEFT JOIN sigsync.automated_signals old
                     ON old.symbol = g.symbol AND old.payload_checksum = g.payload_checksum
        ),
        results AS (
            SELECT b.idx, 'rejected' AS status, '{}'::bigint[] AS event_ids,
                   jsonb_build_object('code', b.code, 'message', b.msg) AS error
              FROM bad b
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
               (SELECT array_agg(ins.symbol ORDER BY ins.id) FROM ins),
               (SELECT array_agg(ins.id ORDER BY ins.id) FROM ins)
          INTO v_results, v_new_symbols, v_new_ids;   -- (rej runs to completion unread)
    EXCEPTION WHEN others THEN
        -- Something unforeseen in the set-based path: isolate the elements one by one,
        -- so one bad element cannot cost the others; an element that still fails is stored
        -- as rejected with code internal_error.
        IF cardinality(p_payloads) = 1 THEN
            INSERT INTO sigsync.rejected_events (payload, error_code, message, received_at)
            VALUES (coalesce(p_payloads[1], ''), 'internal_error', SQLERRM, v_received);
            idx := 1; status := 'rejected'; event_ids := '{}';
            error := jsonb_build_object('code', 'internal_error', 'message', SQLERRM);
            RETURN NEXT;
            RETURN;
        END IF;
        FOR v_i IN 1 .. cardinality(p_payloads) LOOP
            SELECT * INTO v_one FROM sigsync.ingest_many(ARRAY[p_payloads[v_i]]);
            idx := v_i; status := v_one.status; event_ids := v_one.event_ids; error := v_one.error;
            RETURN NEXT;
        END LOOP;
        RETURN;
    END;

    PERFORM sigsync._project_events(v_new_symbols, v_new_ids, true);
    IF v_new_ids IS NOT NULL THEN
        PERFORM pg_notify('sigsync_event', '');   -- identical notifications of one transaction fold into one
    END IF;

    RETURN QUERY
        SELECT r.idx, r.status, r.event_ids, r.error
          FROM jsonb_to_recordset(v_results) AS r(idx integer, status text, event_ids bigint[], error jsonb)
         ORDER BY r.idx;
END
$$;
COMMENT ON FUNCTION sigsync.ingest_many(text[]) IS
    'Accept many webhook bodies (text as received); one row per element: idx (1-based), status accepted|duplicate|rejected, '
    'event_ids, error {code, message}. Never raises for bad input; rejected payloads go to sigsync.rejected_events. '
    'Example: SELECT * FROM sigsync.ingest_many(ARRAY[''{"type":"HEARTBEAT","tracked_signals":3}'']);';
REVOKE ALL ON FUNCTION sigsync.ingest_many(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync.ingest_many(text[]) TO sigsync_ingest, sigsync_admin;
