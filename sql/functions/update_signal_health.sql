-- Public: refresh sigsync.signal_health_metrics for one trade_id (every symbol that has it), at
-- now(), from the registry as its events say: the MFE updates ingest queued for the next cycle
-- are projected first (_project_queued; the signal stays marked, so the next cycle fills it).
CREATE OR REPLACE FUNCTION sigsync.update_signal_health(p_trade_id text)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_syms text[];
    v_tids text[];
BEGIN
    SELECT array_agg(s.symbol ORDER BY s.symbol), array_agg(s.trade_id ORDER BY s.symbol)
      INTO v_syms, v_tids
      FROM sigsync.signals s
     WHERE s.trade_id = coalesce((SELECT p.trade_id FROM sigsync._trade_id_parts(p_trade_id, 'UTC') p), p_trade_id);
    IF v_syms IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM sigsync._project_queued(NULL, v_syms, v_tids);
    RETURN (SELECT min(h.health_score) FROM sigsync._store_health(now(), v_syms, v_tids) h);
END
$$;
COMMENT ON FUNCTION sigsync.update_signal_health(text) IS
    'Recompute the open gaps and health score of one trade_id now (after projecting the MFE updates ingest queued for '
    'it) and store them in sigsync.signal_health_metrics; returns the (lowest) health score, NULL when no such signal. '
    'Example: SELECT sigsync.update_signal_health(''20251212_104200000_BULLISH'');';
REVOKE ALL ON FUNCTION sigsync.update_signal_health(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync.update_signal_health(text) TO sigsync_admin;
SELECT sigsync._pin_session_settings('sigsync.update_signal_health(text)');
