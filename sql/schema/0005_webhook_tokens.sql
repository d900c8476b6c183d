-- 0005: the webhook tokens of `sigsync serve` (DESIGN §14).
--
-- A token is the secret part of a webhook URL (POST /webhook/{token}). Only its SHA-256 is
-- stored; `sigsync token create` prints the token once. A token's source is the `source` of
-- the payloads sent with it (ingest_many's p_source). Tokens are never deleted: a revoked one
-- keeps its row (revoked_at) so that the record of who could send what stays complete.
--
-- Privileges: sigsync_admin may create, list and revoke tokens (`sigsync token`) but never
-- reads their hashes; sigsync_definer (the owner of sigsync.webhook_refresh, which
-- sigsync_ingest may call) reads the active tokens and records their last use. No one but
-- the migrating user may delete a row.

CREATE TABLE sigsync.webhook_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       text NOT NULL
                 CHECK (source = btrim(source) AND length(source) BETWEEN 1 AND 64 AND source !~ '[[:cntrl:]]'),
    label        text
                 CHECK (length(label) <= 200 AND label !~ '[[:cntrl:]]'),
    token_hash   text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CHECK (revoked_at IS NULL OR revoked_at >= created_at)
);
COMMENT ON TABLE sigsync.webhook_tokens IS
    'Webhook tokens of sigsync serve (POST /webhook/{token}): only the SHA-256 of each token is kept. '
    'Create, list and revoke them with `sigsync token create|list|revoke`.';
COMMENT ON COLUMN sigsync.webhook_tokens.source IS
    'The source of the payloads sent with this token: it becomes the "source" of a payload without one, and a '
    'payload naming another source is rejected (source_mismatch).';
COMMENT ON COLUMN sigsync.webhook_tokens.label IS 'Free text: where the token is used (an alert, a chart, a person).';
COMMENT ON COLUMN sigsync.webhook_tokens.token_hash IS 'SHA-256 (hex) of the token; the token itself is never stored.';
COMMENT ON COLUMN sigsync.webhook_tokens.last_used_at IS
    'When sigsync serve last accepted a request with this token (recorded every few seconds, not per request).';
COMMENT ON COLUMN sigsync.webhook_tokens.revoked_at IS 'When the token was revoked; a revoked token opens nothing.';

-- A running sigsync serve hears a change of the active tokens at once (it also re-reads them
-- every few seconds, so a change made while it was not listening is seen too).
CREATE FUNCTION sigsync._webhook_tokens_notify() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('sigsync_webhook_tokens', '');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sigsync._webhook_tokens_notify() IS
    'Trigger: a token created, revoked or changed sends NOTIFY sigsync_webhook_tokens (sigsync serve re-reads the tokens).';
REVOKE ALL ON FUNCTION sigsync._webhook_tokens_notify() FROM PUBLIC;
CREATE TRIGGER webhook_tokens_notify
    AFTER INSERT OR DELETE OR UPDATE OF source, token_hash, revoked_at OR TRUNCATE ON sigsync.webhook_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION sigsync._webhook_tokens_notify();

REVOKE ALL ON sigsync.webhook_tokens FROM PUBLIC;
-- sigsync token create | list | revoke (never the hashes, never DELETE)
GRANT SELECT (id, source, label, created_at, last_used_at, revoked_at) ON sigsync.webhook_tokens TO sigsync_admin;
GRANT INSERT (source, label, token_hash) ON sigsync.webhook_tokens TO sigsync_admin;
GRANT UPDATE (label, revoked_at) ON sigsync.webhook_tokens TO sigsync_admin;
-- sigsync.webhook_refresh (SECURITY DEFINER): the active tokens, and their last use
GRANT SELECT ON sigsync.webhook_tokens TO sigsync_definer;
GRANT UPDATE (last_used_at) ON sigsync.webhook_tokens TO sigsync_definer;
