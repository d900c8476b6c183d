-- Internal: the events of the log named by (symbol, id), each once, read by the primary key (the
-- events a cycle projects for ingest: _project_queued). Joined to the log
-- directly, a plan made on stale statistics of a young, fast-growing log could instead scan
-- every event of a type (every MFE_UPDATE) to find them. p_symbols and p_ids are parallel.
-- (PL/pgSQL for its plan, generic and kept for the session: a SQL function makes it again at every call.)
CREATE OR REPLACE FUNCTION sigsync._events(p_symbols text[], p_ids bigint[])
RETURNS SETOF sigsync.automated_signals
LANGUAGE plpgsql
STABLE
ROWS 1000
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
    SELECT e.*
      FROM (SELECT k.symbol, array_agg(k.id) AS ids
              FROM unnest(p_symbols, p_ids) k(symbol, id)
             GROUP BY k.symbol) k
     CROSS JOIN LATERAL (SELECT a.* FROM sigsync.automated_signals a
                          WHERE a.symbol = k.symbol AND a.id = ANY (k.ids)
                         OFFSET 0) e;   -- (a fence: one primary-key scan per symbol for all its ids)
END
$$;
COMMENT ON FUNCTION sigsync._events(text[], bigint[]) IS
    'Internal: the events (symbol, id) of the log, each read by its primary key.';
REVOKE ALL ON FUNCTION sigsync._events(text[], bigint[]) FROM PUBLIC;
