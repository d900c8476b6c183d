-- Internal: which signals of a working set make the cycle's per-signal steps (_cycle_signals)
-- fail, found by halving: a set whose steps succeed holds none (the trial is rolled back);
-- one that fails is halved again, down to single signals. At most p_limit signals are
-- returned (the search stops there). Returns a jsonb array of {symbol, trade_id, error}.
-- Failures that are not the signals' fault (_transient: deadlock, serialization, lock,
-- resource or shutdown errors) are raised, as in _ingest_slice.
CREATE OR REPLACE FUNCTION sigsync._failing_signals(p_run_id bigint, p_now timestamptz, p_symbols text[],
                                                    p_trade_ids text[], p_sources text[], p_dirty_gens bigint[],
                                                    p_limit integer)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_n integer := cardinality(p_symbols);
    v_half integer := cardinality(p_symbols) / 2;
    v_error text;
    v_found jsonb;
    v_works boolean := false;
BEGIN
    IF v_n = 0 OR p_limit < 1 THEN
        RETURN '[]'::jsonb;
    END IF;
    BEGIN
        PERFORM sigsync._cycle_signals(p_run_id, p_now, p_symbols, p_trade_ids, p_sources, p_dirty_gens);
        v_works := true;
        RAISE EXCEPTION USING ERRCODE = 'SG001';   -- undo the trial
    EXCEPTION
        WHEN SQLSTATE 'SG001' THEN
            NULL;
        WHEN others THEN
            IF sigsync._transient(SQLSTATE) THEN
                RAISE;
            END IF;
            v_error := SQLERRM;
    END;
    IF v_works THEN
        RETURN '[]'::jsonb;   -- (a PL/pgSQL variable outlives the rolled-back trial)
    END IF;
    IF v_n = 1 THEN
        RETURN jsonb_build_array(jsonb_build_object('symbol', p_symbols[1], 'trade_id', p_trade_ids[1],
                                                    'error', left(v_error, 500)));
    END IF;
    v_found := sigsync._failing_signals(p_run_id, p_now, p_symbols[1:v_half], p_trade_ids[1:v_half],
                                        p_sources[1:v_half], p_dirty_gens[1:v_half], p_limit);
    RETURN v_found || sigsync._failing_signals(p_run_id, p_now, p_symbols[v_half + 1:v_n], p_trade_ids[v_half + 1:v_n],
                                               p_sources[v_half + 1:v_n], p_dirty_gens[v_half + 1:v_n],
                                               p_limit - jsonb_array_length(v_found));
END
$$;
COMMENT ON FUNCTION sigsync._failing_signals(bigint, timestamptz, text[], text[], text[], bigint[], integer) IS
    'Internal: the signals of a working set whose cycle steps fail (found by halving, trials rolled back), at most p_limit.';
REVOKE ALL ON FUNCTION sigsync._failing_signals(bigint, timestamptz, text[], text[], text[], bigint[], integer) FROM PUBLIC;
