-- Public, for sigsync serve (DESIGN §14): what the webhook receiver needs to know, read in one
-- call every few seconds (and at once on NOTIFY sigsync_webhook_tokens), so that a request is
-- checked without a round trip and still while the database is away:
--   tokens                 the active (not revoked) tokens: id, source, token_hash (SHA-256 hex)
--   max_payload_bytes      bodies past this size are answered 413
--   max_payloads_per_call  the most elements one ingest_many call takes
-- It also records the last use of the tokens in p_used_token_ids (those serve accepted a
-- request with since its previous call). A hash opens nothing: serve needs the token itself.
-- SECURITY DEFINER, so that sigsync_ingest (the role serve logs in with) needs no table access.
CREATE OR REPLACE FUNCTION sigsync.webhook_refresh(p_used_token_ids bigint[] DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF cardinality(p_used_token_ids) > 10000 THEN
        RAISE EXCEPTION 'sigsync.webhook_refresh: at most 10000 token ids at once'
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    IF cardinality(p_used_token_ids) > 0 THEN
        UPDATE sigsync.webhook_tokens t
           SET last_used_at = now()
         WHERE t.id = ANY (p_used_token_ids)
           AND t.revoked_at IS NULL
           AND (t.last_used_at IS NULL OR t.last_used_at < now());
    END IF;
    RETURN jsonb_build_object(
        'tokens', coalesce((SELECT jsonb_agg(jsonb_build_object('id', t.id, 'source', t.source,
                                                                 'token_hash', t.token_hash) ORDER BY t.id)
                              FROM sigsync.webhook_tokens t
                             WHERE t.revoked_at IS NULL), '[]'::jsonb),
        'max_payload_bytes', sigsync._setting_numeric('max_payload_bytes'),
        'max_payloads_per_call', sigsync._setting_numeric('max_payloads_per_call'));
END
$$;
COMMENT ON FUNCTION sigsync.webhook_refresh(bigint[]) IS
    'For sigsync serve: the active webhook tokens (id, source, token_hash), max_payload_bytes and max_payloads_per_call, '
    'as jsonb; records the last use of the tokens given. Example: SELECT sigsync.webhook_refresh();';
REVOKE ALL ON FUNCTION sigsync.webhook_refresh(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync.webhook_refresh(bigint[]) TO sigsync_ingest, sigsync_admin;
SELECT sigsync._pin_session_settings('sigsync.webhook_refresh(bigint[])');
SELECT sigsync._definer_owns('sigsync.webhook_refresh(bigint[])');
