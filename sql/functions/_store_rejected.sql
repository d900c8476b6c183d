-- Internal: keep rejected payloads in sigsync.rejected_events (DESIGN §3: nothing is lost),
-- bounded: a body of at most max_payload_bytes is kept whole; a longer one keeps its first
-- 4096 characters (payload_truncated). Every row has the size and sha256 of the whole body,
-- so a kept prefix still identifies what was received. p_raws holds the bytes of bodies that
-- are not valid UTF-8 (p_payloads is NULL there): they are kept as bytes in raw (same bound)
-- and shown escaped in payload. Elements whose code is NULL were not rejected and are skipped.
-- The arrays are parallel (read with unnest: linear); messages are cut to 500 characters.
-- Returns the number of rows stored.
CREATE OR REPLACE FUNCTION sigsync._store_rejected(p_payloads text[], p_raws bytea[], p_codes text[],
                                                   p_messages text[], p_received_at timestamptz, p_source text)
RETURNS integer
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    WITH cfg AS MATERIALIZED (
        SELECT sigsync._setting_numeric('max_payload_bytes') AS max_bytes, 4096 AS prefix
    ),
    r AS (
        SELECT u.o, u.code, u.msg, u.raw, coalesce(u.payload, '') AS payload,
               coalesce(octet_length(u.raw), octet_length(u.payload), 0) AS bytes,
               coalesce(octet_length(u.raw), octet_length(u.payload), 0) > cfg.max_bytes AS truncated,
               cfg.prefix
          FROM unnest(p_payloads, p_raws, p_codes, p_messages) WITH ORDINALITY u(payload, raw, code, msg, o)
         CROSS JOIN cfg
         WHERE u.code IS NOT NULL
    ),
    stored AS (
        INSERT INTO sigsync.rejected_events
               (payload, payload_bytes, payload_sha256, payload_truncated, raw, error_code, message, received_at, source)
        SELECT CASE WHEN r.raw IS NOT NULL
                    THEN encode(CASE WHEN r.truncated THEN substring(r.raw FROM 1 FOR r.prefix) ELSE r.raw END, 'escape')
                    WHEN r.truncated THEN left(r.payload, r.prefix)
                    ELSE r.payload END,
               r.bytes,
               encode(sha256(coalesce(r.raw, convert_to(r.payload, 'UTF8'))), 'hex'),
               r.truncated,
               CASE WHEN r.truncated THEN substring(r.raw FROM 1 FOR r.prefix) ELSE r.raw END,
               r.code, left(coalesce(r.msg, r.code), 500), p_received_at, p_source
          FROM r
         ORDER BY r.o
        RETURNING 1
    )
    SELECT count(*)::integer FROM stored
$$;
COMMENT ON FUNCTION sigsync._store_rejected(text[], bytea[], text[], text[], timestamptz, text) IS
    'Internal: store rejected payloads (whole up to max_payload_bytes, else a 4096-character prefix) with size, '
    'sha256 and reason.';
REVOKE ALL ON FUNCTION sigsync._store_rejected(text[], bytea[], text[], text[], timestamptz, text) FROM PUBLIC;
