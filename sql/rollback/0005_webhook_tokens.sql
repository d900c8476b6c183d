-- Inverse of schema/0005_webhook_tokens.sql.
DROP TABLE IF EXISTS sigsync.webhook_tokens;
DROP FUNCTION IF EXISTS sigsync._webhook_tokens_notify();
