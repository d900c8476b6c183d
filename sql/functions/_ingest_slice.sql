-- Internal: ingest a slice of one call so that no element can cost the others (DESIGN §3:
-- each element independent). The whole slice goes through the set-based path (_ingest_set,
-- validation, storage and projection alike); when that fails in a way no rule foresaw, the
-- slice is halved and each half tried again, down to the element that fails, which is
-- rejected as internal_error and kept. One bad element among n costs about three passes
-- over the slice, not n. Failures that are not the elements' fault (deadlock, serialization,
-- lock, resource or shutdown errors: _transient) are raised, so the caller retries and nothing
-- is rejected for them.
CREATE OR REPLACE FUNCTION sigsync._ingest_slice(p_payloads text[], p_offset integer, p_received_at timestamptz,
                                                 p_source text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_n integer := cardinality(p_payloads);
    v_half integer := cardinality(p_payloads) / 2;
    v_error text;
BEGIN
    BEGIN
        RETURN sigsync._ingest_set(p_payloads, p_offset, p_received_at, p_source);
    EXCEPTION
        WHEN others THEN
            IF sigsync._transient(SQLSTATE) THEN
                RAISE;
            END IF;
            v_error := SQLERRM;
    END;
    IF v_n > 1 THEN
        RETURN sigsync._ingest_slice(p_payloads[1:v_half], p_offset, p_received_at, p_source)
            || sigsync._ingest_slice(p_payloads[v_half + 1:v_n], p_offset + v_half, p_received_at, p_source);
    END IF;
    -- the failure is this element's own: kept with the server's message; the caller gets no
    -- server internals
    PERFORM sigsync._store_rejected(p_payloads, NULL, ARRAY['internal_error'], ARRAY[v_error], p_received_at, p_source);
    RETURN jsonb_build_array(jsonb_build_object(
        'idx', p_offset + 1, 'status', 'rejected', 'event_ids', '[]'::jsonb,
        'error', jsonb_build_object('code', 'internal_error',
                                    'message', 'an unforeseen failure; the payload is kept in sigsync.rejected_events')));
END
$$;
COMMENT ON FUNCTION sigsync._ingest_slice(text[], integer, timestamptz, text) IS
    'Internal: ingest a slice set-based; on an unforeseen failure, halve it down to the failing element, which is '
    'rejected as internal_error (transient errors are raised).';
REVOKE ALL ON FUNCTION sigsync._ingest_slice(text[], integer, timestamptz, text) FROM PUBLIC;
