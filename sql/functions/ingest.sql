-- Public: accept one webhook body as received (DESIGN §3, §10).
CREATE OR REPLACE FUNCTION sigsync.ingest(p_payload text)
RETURNS jsonb
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('status', r.status, 'event_ids', to_jsonb(r.event_ids), 'error', r.error)
      FROM sigsync.ingest_many(ARRAY[p_payload]) r
$$;
COMMENT ON FUNCTION sigsync.ingest(text) IS
    'Accept one webhook body (text as received): {"status": accepted|duplicate|rejected, "event_ids": [...], '
    '"error": {"code", "message"} | null}. Never raises for bad input. '
    'Example: SELECT sigsync.ingest(''{"event_type":"BE_TRIGGERED","trade_id":"20251212_104200000_BULLISH","timestamp":1765554300000}'');';
REVOKE ALL ON FUNCTION sigsync.ingest(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync.ingest(text) TO sigsync_ingest, sigsync_admin;
SELECT sigsync._pin_session_settings('sigsync.ingest(text)');
SELECT sigsync._definer_owns('sigsync.ingest(text)');

-- The jsonb overload, for callers that already hold parsed JSON.
CREATE OR REPLACE FUNCTION sigsync.ingest(p_payload jsonb)
RETURNS jsonb
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT sigsync.ingest(p_payload::text)
$$;
COMMENT ON FUNCTION sigsync.ingest(jsonb) IS 'Accept one webhook body given as jsonb; same result as sigsync.ingest(text).';
REVOKE ALL ON FUNCTION sigsync.ingest(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync.ingest(jsonb) TO sigsync_ingest, sigsync_admin;
SELECT sigsync._pin_session_settings('sigsync.ingest(jsonb)');
SELECT sigsync._definer_owns('sigsync.ingest(jsonb)');
