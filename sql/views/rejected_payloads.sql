-- rejected_payloads: the payloads ingest rejected (sigsync.rejected_events), for a reader, each
-- with its error code and a bounded look at the body: payload_prefix is its first 500
-- characters (a body that was not UTF-8 is shown as stored, escaped); message is at most 300
-- characters. The body itself (and its bytes) stay in the table, for sigsync_admin to replay.
-- received_at is when the body was received (a replayed one: when its receiver got it),
-- stored_at when sigsync stored the row; rejected_retention counts from stored_at.
CREATE VIEW sigsync.rejected_payloads AS
SELECT x.id,
       x.received_at,
       x.error_code,
       left(x.message, 300)                                  AS message,
       x.source,
       x.payload_bytes,
       x.payload_sha256,
       left(x.payload, 500)                                  AS payload_prefix,
       x.payload_truncated OR length(x.payload) > 500        AS prefix_only,
       x.raw IS NOT NULL                                     AS not_utf8,
       x.stored_at
  FROM sigsync.rejected_events x;

COMMENT ON VIEW sigsync.rejected_payloads IS
    'Rejected payloads (rejected_events, within rejected_retention): id, received_at, error_code, message (300 '
    'characters), source, payload_bytes, payload_sha256, payload_prefix (the first 500 characters of the body), '
    'prefix_only (the body is longer than the prefix), not_utf8, stored_at (retention counts from it). Example: '
    'SELECT error_code, count(*), max(received_at) FROM sigsync.rejected_payloads GROUP BY 1 ORDER BY 2 DESC;';

GRANT SELECT ON sigsync.rejected_payloads TO sigsync_reader, sigsync_admin;
