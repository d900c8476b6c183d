-- Internal: step 3 of a reconcile cycle: the per-signal steps (_cycle_signals) over the working
-- set, isolating the signals that make them fail. A failing signal (_failing_signals) has its
-- work undone, is reported (audit 'error', signals.set_aside_at) and left alone until it changes
-- again or a full cycle; the others are reconciled. Past c_max_failed isolated signals in one
-- cycle, the rest waits, marked, for the next cycle ("deferred"), which sets aside the next ones:
-- no cycle halts for good. A failure that is not one signal's doing (every signal fails, or
-- none can be found) fails the cycle; a transient one (_transient) is raised.
-- The working set is four parallel arrays (symbol, trade_id, source, and dirty_gen as the cycle
-- took the row): the function files are re-applied at every schema version a rollback goes back
-- to, so their signatures use no type a later version adds.
-- Returns the steps' result, the isolated signals [{symbol, trade_id, error}], the number
-- deferred, and the part of the working set that was processed.
CREATE OR REPLACE FUNCTION sigsync._cycle_work_set(p_run_id bigint, p_now timestamptz, p_symbols text[],
                                                   p_trade_ids text[], p_sources text[], p_dirty_gens bigint[],
                                                   OUT steps jsonb, OUT failed jsonb, OUT deferred integer,
                                                   OUT symbols text[], OUT trade_ids text[], OUT sources text[],
                                                   OUT dirty_gens bigint[])
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_max_failed constant integer := 100;   -- signals one cycle isolates at most (the rest wait for the next)
    v_found jsonb;
    v_step_error text;
BEGIN
    failed := '[]'::jsonb;
    deferred := 0;
    symbols := p_symbols;
    trade_ids := p_trade_ids;
    sources := p_sources;
    dirty_gens := p_dirty_gens;
    LOOP
        BEGIN
            steps := sigsync._cycle_signals(p_run_id, p_now, symbols, trade_ids, sources, dirty_gens);
            EXIT;
        EXCEPTION
            WHEN others THEN
                IF sigsync._transient(SQLSTATE) THEN
                    RAISE;
                END IF;
                v_step_error := SQLERRM;
        END;
        v_found := sigsync._failing_signals(p_run_id, p_now, symbols, trade_ids, sources, dirty_gens,
                                            c_max_failed - jsonb_array_length(failed));
        IF jsonb_array_length(v_found) = 0 AND jsonb_array_length(failed) >= c_max_failed THEN
            deferred := cardinality(symbols);   -- as many set aside as one cycle isolates
            symbols := '{}';
            trade_ids := '{}';
            sources := '{}';
            dirty_gens := '{}';
            EXIT;
        ELSIF jsonb_array_length(v_found) = 0 THEN
            RAISE EXCEPTION '%', v_step_error;   -- not one signal's doing: the cycle fails
        END IF;
        failed := failed || v_found;
        SELECT coalesce(array_agg(k.symbol ORDER BY k.o), '{}'), coalesce(array_agg(k.trade_id ORDER BY k.o), '{}'),
               coalesce(array_agg(k.source ORDER BY k.o), '{}'), coalesce(array_agg(k.gen ORDER BY k.o), '{}')
          INTO symbols, trade_ids, sources, dirty_gens
          FROM unnest(symbols, trade_ids, sources, dirty_gens) WITH ORDINALITY k(symbol, trade_id, source, gen, o)
         WHERE NOT v_found @> jsonb_build_array(jsonb_build_object('symbol', k.symbol, 'trade_id', k.trade_id));
        IF cardinality(symbols) = 0 AND jsonb_array_length(failed) > 1 THEN
            -- every signal fails: a fault of the cycle, not of its signals (none is set aside)
            RAISE EXCEPTION 'every signal of the working set failed: %', v_step_error;
        END IF;
    END LOOP;

    -- the isolated signals: reported, and left alone until they change again (or a full cycle)
    WITH f AS (
        SELECT f.symbol, f.trade_id, f.error, k.gen
          FROM jsonb_to_recordset(failed) f(symbol text, trade_id text, error text)
          JOIN unnest(p_symbols, p_trade_ids, p_dirty_gens) k(symbol, trade_id, gen)
            ON k.symbol = f.symbol AND k.trade_id = f.trade_id
    ),
    audit AS (
        INSERT INTO sigsync.sync_audit_log (symbol, trade_id, run_id, action_type, reason)
        SELECT f.symbol, f.trade_id, p_run_id, 'error',
               'the cycle could not process this signal and left it alone until it changes again (or a full '
               || 'cycle): ' || f.error
          FROM f
        RETURNING 1
    )
    UPDATE sigsync.signals s
       SET dirty = false, next_check_at = NULL, set_aside_at = clock_timestamp()
      FROM f
     WHERE s.symbol = f.symbol AND s.trade_id = f.trade_id AND s.dirty_gen = f.gen;
END
$$;
COMMENT ON FUNCTION sigsync._cycle_work_set(bigint, timestamptz, text[], text[], text[], bigint[]) IS
    'Internal: a reconcile cycle''s per-signal steps over its working set, isolating (and reporting) the signals that '
    'make them fail.';
REVOKE ALL ON FUNCTION sigsync._cycle_work_set(bigint, timestamptz, text[], text[], text[], bigint[]) FROM PUBLIC;
