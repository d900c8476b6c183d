-- Public: refresh sigsync.signal_health_metrics for one trade_id (every symbol that has it), at now().
CREATE OR REPLACE FUNCTION sigsync.update_signal_health(p_trade_id text)
RETURNS integer
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    WITH k AS (
        SELECT array_agg(s.symbol) AS syms, array_agg(s.trade_id) AS tids
          FROM sigsync.signals s
         WHERE s.trade_id = coalesce((SELECT p.trade_id FROM sigsync._trade_id_parts(p_trade_id, 'UTC') p), p_trade_id)
    )
    SELECT min(h.health_score) FROM k, sigsync._store_health(now(), k.syms, k.tids) h
$$;
COMMENT ON FUNCTION sigsync.update_signal_health(text) IS
    'Recompute the open gaps and health score of one trade_id now and store them in sigsync.signal_health_metrics; '
    'returns the (lowest) health score, NULL when no such signal. Example: SELECT sigsync.update_signal_health(''20251212_104200000_BULLISH'');';
REVOKE ALL ON FUNCTION sigsync.update_signal_health(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigsync.update_signal_health(text) TO sigsync_admin;
SELECT sigsync._pin_session_settings('sigsync.update_signal_health(text)');
