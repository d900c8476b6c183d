-- Public: accept many webhook bodies, one result per element (DESIGN §3, §10).
-- Never raises for bad input: a payload that cannot be accepted is stored in
-- sigsync.rejected_events and reported with its error code. Each element is independent of
-- the others: an element that makes any step fail (projection included) is rejected alone as
-- internal_error (_ingest_slice). Accepted events are projected into sigsync.signals and
-- marked for the next reconcile cycle in this same transaction; one NOTIFY sigsync_event is
-- sent per transaction. Elements past max_payloads_per_call are rejected (too_many_payloads)
-- and kept.
--
-- Three forms: ingest_many(text[]); ingest_many(text[], p_source [, p_received_at]), where
-- p_source is the source the caller vouches for (a webhook token's): it becomes the source of
-- payloads that name none, and a payload naming another one is rejected (source_mismatch);
-- and ingest_many(bytea[], p_source [, p_received_at]) for bodies exactly as received on the
-- wire: one that is not valid UTF-8 (or holds a NUL byte) is rejected as invalid_encoding and
-- kept as bytes. p_received_at: when a receiver that kept the bodies (serve's spool) got them;
-- it stands in for a missing timestamp and bounds future ones; never later than now (default);
-- one before 2000 or infinite raises (_received_at).
--
-- Every public function pins the session settings its results could depend on
-- (_pin_session_settings), so they are the same whatever the caller's settings.
CREATE OR REPLACE FUNCTION sigsync.ingest_many(p_payloads text[], p_source text, p_received_at timestamptz DEFAULT NULL)
RETURNS TABLE (idx integer, status text, event_ids bigint[], error jsonb)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_received timestamptz := sigsync._received_at(p_received_at);
    v_n integer := coalesce(cardinality(p_payloads), 0);
    v_max integer := sigsync._setting_numeric('max_payloads_per_call')::integer;
    v_results jsonb;
BEGIN
    IF v_n = 0 THEN
        RETURN;
    END IF;
    PERFORM sigsync._check_source(p_source);
    IF array_ndims(p_payloads) > 1 OR array_lower(p_payloads, 1) <> 1 THEN
        p_payloads := ARRAY(SELECT u.p FROM unnest(p_payloads) u(p));   -- one element per result, idx from 1
    END IF;
    IF v_n <= v_max THEN
        v_results := sigsync._ingest_slice(p_payloads, 0, v_received, p_source);
    ELSE
        v_results := sigsync._ingest_slice(p_payloads[1:v_max], 0, v_received, p_source);
        PERFORM sigsync._store_rejected(p_payloads[v_max + 1:v_n], NULL,
                                        array_fill('too_many_payloads'::text, ARRAY[v_n - v_max]),
                                        array_fill(format('one call takes at most %s payloads (max_payloads_per_call)',
                                                          v_max), ARRAY[v_n - v_max]),
                                        v_received, p_source);
        v_results := v_results || (
            SELECT jsonb_agg(jsonb_build_object(
                       'idx', i, 'status', 'rejected', 'event_ids', '[]'::jsonb,
                       'error', jsonb_build_object('code', 'too_many_payloads',
                                                   'message', format('one call takes at most %s payloads '
                                                                     '(max_payloads_per_call)', v_max)))
                       ORDER BY i)
              FROM generate_series(v_max + 1, v_n) i);
    END IF;

    IF jsonb_path_exists(v_results, '$[*] ? (@.status == "accepted")') THEN
        PERFORM pg_notify('sigsync_event', '');   -- identical notifications of one transaction fold into one
    END IF;

    RETURN QUERY
        SELECT r.idx, r.status, r.event_ids, r.error
          FROM jsonb_to_recordset(v_results) AS r(idx integer, status text, event_ids bigint[], error jsonb)
         ORDER BY r.idx;
END
$$;
COMMENT ON FUNCTION sigsync.ingest_many(text[], text, timestamptz) IS
    'Accept many webhook bodies (text as received) sent for the source p_source (NULL: each payload''s own); one row '
    'per element: idx (1-based), status accepted|duplicate|rejected, event_ids, error {code, message}. Never raises for '
    'bad input; rejected payloads go to sigsync.rejected_events. A payload naming another source than p_source is '
    'rejected (source_mismatch). Example: SELECT * FROM sigsync.ingest_many(ARRAY[''{"type":"HEARTBEAT"}''], ''indicator'');';
REVOKE ALL ON FUNCTION sigsync.ingest_many(text[], text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync.ingest_many(text[], text, timestamptz) TO sigsync_ingest, sigsync_admin;
SELECT sigsync._pin_session_settings('sigsync.ingest_many(text[], text, timestamptz)');
SELECT sigsync._definer_owns('sigsync.ingest_many(text[], text, timestamptz)');

CREATE OR REPLACE FUNCTION sigsync.ingest_many(p_payloads text[])
RETURNS TABLE (idx integer, status text, event_ids bigint[], error jsonb)
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM sigsync.ingest_many(p_payloads, NULL::text)
$$;
COMMENT ON FUNCTION sigsync.ingest_many(text[]) IS
    'Accept many webhook bodies (text as received); one row per element: idx (1-based), status accepted|duplicate|rejected, '
    'event_ids, error {code, message}. Never raises for bad input; rejected payloads go to sigsync.rejected_events. '
    'Example: SELECT * FROM sigsync.ingest_many(ARRAY[''{"type":"HEARTBEAT","tracked_signals":3}'']);';
REVOKE ALL ON FUNCTION sigsync.ingest_many(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync.ingest_many(text[]) TO sigsync_ingest, sigsync_admin;
SELECT sigsync._pin_session_settings('sigsync.ingest_many(text[])');
SELECT sigsync._definer_owns('sigsync.ingest_many(text[])');

CREATE OR REPLACE FUNCTION sigsync.ingest_many(p_payloads bytea[], p_source text, p_received_at timestamptz DEFAULT NULL)
RETURNS TABLE (idx integer, status text, event_ids bigint[], error jsonb)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_received timestamptz := sigsync._received_at(p_received_at);   -- (one time for every element)
    v_texts text[];
    v_body bytea;
    v_text text;
    v_good integer[] := '{}'::integer[];    -- positions of the bodies that decode, in order
    v_bad integer[] := '{}'::integer[];
    v_bad_raws bytea[] := '{}'::bytea[];
    v_decoded boolean := true;
    v_i integer := 0;
    v_message constant text := 'the body is not valid UTF-8 text (or holds a NUL byte)';
BEGIN
    IF p_payloads IS NULL OR cardinality(p_payloads) = 0 THEN
        RETURN;
    END IF;
    PERFORM sigsync._check_source(p_source);
    IF array_ndims(p_payloads) > 1 OR array_lower(p_payloads, 1) <> 1 THEN
        p_payloads := ARRAY(SELECT u.b FROM unnest(p_payloads) u(b));   -- one element per result, idx from 1
    END IF;
    -- Decode. Fast path: every body at once; when one does not decode, one by one.
    BEGIN
        SELECT array_agg(convert_from(u.b, 'UTF8') ORDER BY u.o) INTO v_texts
          FROM unnest(p_payloads) WITH ORDINALITY u(b, o);
    EXCEPTION WHEN others THEN
        v_decoded := false;
    END;
    IF v_decoded THEN
        RETURN QUERY SELECT * FROM sigsync.ingest_many(v_texts, p_source, v_received);
        RETURN;
    END IF;

    v_texts := '{}'::text[];
    FOREACH v_body IN ARRAY p_payloads LOOP   -- (not p_payloads[i]: a subscript walks the array)
        v_i := v_i + 1;
        BEGIN
            v_text := convert_from(v_body, 'UTF8');
            v_texts := array_append(v_texts, v_text);
            v_good := array_append(v_good, v_i);
        EXCEPTION WHEN others THEN
            v_bad := array_append(v_bad, v_i);
            v_bad_raws := array_append(v_bad_raws, v_body);
        END;
    END LOOP;
    PERFORM sigsync._store_rejected(NULL, v_bad_raws, array_fill('invalid_encoding'::text, ARRAY[cardinality(v_bad)]),
                                    array_fill(v_message, ARRAY[cardinality(v_bad)]),
                                    v_received, p_source);
    RETURN QUERY
        SELECT x.idx, x.status, x.event_ids, x.error
          FROM (SELECT g.pos AS idx, r.status, r.event_ids, r.error
                  FROM sigsync.ingest_many(v_texts, p_source, v_received) r
                  JOIN unnest(v_good) WITH ORDINALITY g(pos, k) ON g.k = r.idx
                UNION ALL
                SELECT b.pos, 'rejected', '{}'::bigint[],
                       jsonb_build_object('code', 'invalid_encoding', 'message', v_message)
                  FROM unnest(v_bad) b(pos)) x
         ORDER BY x.idx;
END
$$;
COMMENT ON FUNCTION sigsync.ingest_many(bytea[], text, timestamptz) IS
    'Accept many webhook bodies as the bytes received, for the source p_source (NULL: each payload''s own); the same '
    'results as ingest_many(text[], text, timestamptz), and a body that is not valid UTF-8 is rejected (invalid_encoding) and kept '
    'as bytes. Example: SELECT * FROM sigsync.ingest_many(ARRAY[convert_to(''{"type":"HEARTBEAT"}'', ''UTF8'')], NULL);';
REVOKE ALL ON FUNCTION sigsync.ingest_many(bytea[], text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync.ingest_many(bytea[], text, timestamptz) TO sigsync_ingest, sigsync_admin;
SELECT sigsync._pin_session_settings('sigsync.ingest_many(bytea[], text, timestamptz)');
SELECT sigsync._definer_owns('sigsync.ingest_many(bytea[], text, timestamptz)');
