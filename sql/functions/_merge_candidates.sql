-- Internal: apply candidate values to the registry (DESIGN §6 rules), the single place where
-- "which value wins" is decided, for events (ingest projection) and fills (reconcile) alike.
--
-- Per (signal, field) the best candidate of the batch is compared with the current value
-- and its provenance:
--   static  : higher confidence wins; at equal confidence the earlier event time wins
--             (tie: smaller key), so the registry does not depend on arrival order.
--   latest  : the later as-of time wins; at equal time the higher confidence, then smaller key.
--   running : like latest, but a candidate of the current value's own tier always replaces
--             it (it is that tier's complete aggregate: running max / min).
--   derived : a value computed from other fields (targets, session, the bar walk's inferences):
--             higher confidence wins, and the same tier's recomputation replaces it; a JSON
--             null candidate clears a value of its own tier (the inference no longer holds).
--   replace : the caller already chose the winner (reconcile's running metrics): written
--             when value, as-of time or tier differ.
--   set     : bookkeeping columns, written when different, no provenance.
-- Writes one audit row per fill (p_audit_fills), per overwrite of a lower-tier value,
-- and per conflict (two confidence-1.0 sources disagreeing on a static field; noticed once
-- per signal and field, so a rebuild re-reading the events does not re-open it).
-- p_run_id: the cycle whose audit rows these are (NULL: an event's). p_outside_cycle: the write
-- is not a cycle's (it counts in dirty_gen). Returns the number of fields written. Callers lock
-- the target signals first.
-- The registry columns a candidate can name are the columns of sigsync.signals but the ones
-- declared here: the keys, the generated status, and the bookkeeping of the cycle (marks,
-- queue, write times). The function is written from that list and the catalog, so the merge
-- names each column once, where it is declared (in sigsync.signals), and follows a column a
-- schema version adds (the migrator re-applies every function file after a schema version).
DO $generate$
DECLARE
    c_not_candidates CONSTANT text[] := ARRAY['symbol', 'trade_id', 'status', 'dirty', 'dirty_gen', 'queued_events',
                                              'next_check_at', 'set_aside_at', 'created_at', 'updated_at'];
    v_columns text;          -- the UPDATE's column list
    v_record_columns text;   -- ... and the same columns of the record it reads them from
    v_current_value text;    -- the CASE that converts the named column only
BEGIN
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum),
           string_agg('r.' || quote_ident(a.attname), ', ' ORDER BY a.attnum),
           string_agg(format('                   WHEN %L THEN to_jsonb((t.r).%I)', a.attname, a.attname),
                      chr(10) ORDER BY a.attnum)
      INTO v_columns, v_record_columns, v_current_value
      FROM pg_attribute a
     WHERE a.attrelid = 'sigsync.signals'::regclass AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attgenerated = '' AND a.attname <> ALL (c_not_candidates);

    EXECUTE replace(replace(replace($template$CREATE OR REPLACE FUNCTION sigsync._merge_candidates(
    p_cands sigsync._candidate[],
    p_run_id bigint,
    p_audit_fills boolean,
    p_outside_cycle boolean)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_written integer;
    v_cleared_symbols text[];
    v_cleared_trade_ids text[];
    v_cleared_fields text[];
BEGIN
    IF p_cands IS NULL OR cardinality(p_cands) = 0 THEN
        RETURN 0;
    END IF;

    WITH c AS (   -- each candidate with its tier's confidence (sigsync.tiers: declared there, once)
        SELECT u.symbol, u.trade_id, u.field, u.value, u.kind, u.tier, t.confidence, u.at, u.key, u.source,
               u.event_type, u.event_id
          FROM unnest(p_cands) u
          JOIN sigsync.tiers t ON t.tier = u.tier
    ),
    best AS (
        SELECT DISTINCT ON (c.symbol, c.trade_id, c.field) c.*
          FROM c
         ORDER BY c.symbol, c.trade_id, c.field,
                  CASE WHEN c.kind IN ('latest', 'running') THEN c.at END DESC NULLS LAST,
                  c.confidence DESC,
                  CASE WHEN c.kind = 'static' THEN c.at END ASC NULLS LAST,
                  c.key ASC
    ),
    keys AS (
        SELECT DISTINCT c.symbol, c.trade_id FROM c
    ),
    target AS MATERIALIZED (   -- each target row read once, not once per candidate field
        SELECT s.symbol, s.trade_id, s AS r
          FROM keys k
          JOIN sigsync.signals s ON s.symbol = k.symbol AND s.trade_id = k.trade_id
    ),
    cur AS (
        SELECT b.*,
               -- the current value as jsonb, SQL NULL when empty: only the named column is
               -- converted (the columns a candidate can name: the registry columns below)
               nullif(CASE b.field
@current_value@
                   END, 'null'::jsonb)                            AS cur_val,
               p.field IS NOT NULL                                AS has_prov,
               p.confidence                                       AS cur_conf,
               p.at                                               AS cur_at,
               p.key                                              AS cur_key,
               p.tier                                             AS cur_tier,
               p.event_type                                       AS cur_event_type
          FROM best b
          JOIN target t ON t.symbol = b.symbol AND t.trade_id = b.trade_id
          -- the provenance of the candidates' fields only, each row through its key
          LEFT JOIN sigsync.signal_provenance p
                 ON p.symbol = b.symbol AND p.trade_id = b.trade_id AND p.field = b.field
    ),
    judged AS (
        SELECT cur.*,
               CASE
                 WHEN cur.kind = 'set' THEN cur.cur_val IS DISTINCT FROM cur.value
                 WHEN cur.value = 'null'::jsonb THEN           -- a recomputation that no longer yields a value
                      cur.kind = 'derived' AND cur.cur_val IS NOT NULL AND cur.tier = cur.cur_tier
                 WHEN cur.cur_val IS NULL OR NOT cur.has_prov THEN true
                 WHEN cur.kind = 'static' THEN
                      cur.confidence > cur.cur_conf
                      OR (cur.confidence = cur.cur_conf AND (cur.at, cur.key) < (cur.cur_at, cur.cur_key))
                 WHEN cur.kind = 'running' AND cur.tier = cur.cur_tier THEN
                      cur.value IS DISTINCT FROM cur.cur_val OR cur.at IS DISTINCT FROM cur.cur_at
                 WHEN cur.kind = 'replace' THEN
                      cur.value IS DISTINCT FROM cur.cur_val OR cur.at IS DISTINCT FROM cur.cur_at
                      OR cur.tier IS DISTINCT FROM cur.cur_tier
                 WHEN cur.kind = 'derived' THEN
                      cur.confidence > cur.cur_conf
                      OR (cur.tier = cur.cur_tier
                          AND (cur.value IS DISTINCT FROM cur.cur_val OR cur.at IS DISTINCT FROM cur.cur_at))
                 ELSE
                      cur.at > cur.cur_at
                      OR (cur.at = cur.cur_at AND cur.confidence > cur.cur_conf)
                      OR (cur.at = cur.cur_at AND cur.confidence = cur.cur_conf AND cur.key < cur.cur_key)
               END AS wins,
               (cur.kind = 'static' AND cur.cur_val IS NOT NULL AND cur.cur_val <> cur.value
                AND cur.confidence = 1 AND cur.cur_conf = 1
                AND (cur.field NOT IN ('session', 'htf_alignment', 'source')
                     OR cur.event_type = cur.cur_event_type)) AS conflicts
          FROM cur
    ),
    decided AS MATERIALIZED (   -- what every step below reads: the candidates that win or conflict
                                -- (kept once; most of a full cycle's candidates do neither)
        SELECT j.* FROM judged j WHERE j.wins OR j.conflicts
    ),
    batch_conflicts AS (
        -- two events of one batch disagreeing on a static field
        SELECT c.symbol, c.trade_id, c.field,
               jsonb_agg(DISTINCT c.value) AS vals
          FROM c
         WHERE c.kind = 'static' AND c.confidence = 1
         GROUP BY c.symbol, c.trade_id, c.field,
                  CASE WHEN c.field IN ('session', 'htf_alignment', 'source') THEN c.event_type END
        HAVING count(DISTINCT c.value) > 1
    ),
    audit AS (
        INSERT INTO sigsync.sync_audit_log
               (symbol, trade_id, run_id, action_type, field, old_value, new_value,
                tier, confidence_score, source, reason, event_id)
        SELECT d.symbol, d.trade_id, p_run_id,
               CASE WHEN d.cur_val IS NULL THEN 'fill'
                    WHEN d.value = 'null'::jsonb THEN 'revert'
                    WHEN d.confidence > d.cur_conf THEN 'upgrade'
                    ELSE 'refresh' END,
               d.field, d.cur_val, d.value, d.tier, d.confidence, d.source,
               CASE WHEN d.cur_val IS NULL THEN format('filled by tier %s', d.tier)
                    WHEN d.value = 'null'::jsonb THEN format('tier %s recomputation no longer yields a value', d.tier)
                    WHEN d.confidence > d.cur_conf
                         THEN format('tier %s (%s) replaces tier %s (%s)', d.tier, d.confidence, d.cur_tier, d.cur_conf)
                    ELSE format('tier %s value as of %s replaces tier %s value as of %s',
                                d.tier, d.at, d.cur_tier, d.cur_at) END,
               d.event_id
          FROM decided d
         WHERE d.wins AND d.kind <> 'set'
           AND ((p_audit_fills AND d.tier NOT IN ('event'))
                OR (d.cur_val IS NOT NULL AND d.cur_tier IS DISTINCT FROM d.tier
                    AND d.cur_tier NOT IN ('event', '0')))
        UNION ALL
        SELECT d.symbol, d.trade_id, p_run_id, 'conflict', d.field,
               d.cur_val, d.value, d.tier, d.confidence, d.source,
               format('%s disagrees with the current value; kept the %s (first by event time)',
                      d.source, CASE WHEN d.wins THEN 'new one' ELSE 'current one' END),
               d.event_id
          FROM decided d
         WHERE d.conflicts
           AND NOT EXISTS (SELECT 1 FROM sigsync.sync_audit_log a      -- noticed once per signal and field
                            WHERE a.symbol = d.symbol AND a.trade_id = d.trade_id  -- (rebuild re-reads the events)
                              AND a.action_type = 'conflict' AND a.field = d.field)
        UNION ALL
        SELECT bc.symbol, bc.trade_id, p_run_id, 'conflict', bc.field,
               NULL, bc.vals, 'event', sigsync._tier_confidence('event'), 'batch',
               'events disagree on this field; kept the first by event time', NULL
          FROM batch_conflicts bc
         WHERE NOT EXISTS (SELECT 1 FROM sigsync.sync_audit_log a
                            WHERE a.symbol = bc.symbol AND a.trade_id = bc.trade_id
                              AND a.action_type = 'conflict' AND a.field = bc.field)
        RETURNING 1
    ),
    changes AS (
        SELECT d.symbol, d.trade_id, jsonb_object_agg(d.field, d.value) AS vals, count(*) AS n
          FROM decided d
         WHERE d.wins
         GROUP BY d.symbol, d.trade_id
    ),
    provenance_written AS (   -- the written values' provenance: one narrow row per field
        INSERT INTO sigsync.signal_provenance AS p
               (symbol, trade_id, field, tier, confidence, source, event_type, at, key, filled_at)
        SELECT d.symbol, d.trade_id, d.field, d.tier, d.confidence, d.source, d.event_type, d.at, d.key, now()
          FROM decided d
         WHERE d.wins AND d.kind <> 'set' AND d.value <> 'null'::jsonb
            ON CONFLICT (symbol, trade_id, field) DO UPDATE
           SET (tier, confidence, source, event_type, at, key, filled_at)
             = (excluded.tier, excluded.confidence, excluded.source, excluded.event_type, excluded.at,
                excluded.key, excluded.filled_at)
    ),
    upd AS (
        UPDATE sigsync.signals s
           SET (@columns@)
             = (SELECT @record_columns@
                  FROM jsonb_populate_record(s, ch.vals) r),
               -- a written signal is marked for the next cycle; dirty_gen counts the changes
               -- from outside a cycle only (ingest, rebuild; not the events a cycle projects for
               -- ingest): a cycle compares it to clear the marks of what it processed (_cycle_signals)
               dirty = true,
               dirty_gen = s.dirty_gen + CASE WHEN p_outside_cycle THEN 1 ELSE 0 END,
               updated_at = now()
          FROM changes ch
         WHERE s.symbol = ch.symbol AND s.trade_id = ch.trade_id
        RETURNING ch.n
    )
    -- (the audit and provenance CTEs run to completion whether or not they are read)
    SELECT (SELECT coalesce(sum(upd.n), 0)::integer FROM upd),
           array_agg(d.symbol), array_agg(d.trade_id), array_agg(d.field)
      INTO v_written, v_cleared_symbols, v_cleared_trade_ids, v_cleared_fields
      FROM decided d
     WHERE d.wins AND d.value = 'null'::jsonb;

    -- ... and a value cleared keeps no provenance (a statement of its own: only a cycle's
    -- recomputation clears a value, and ingest, which never does, may delete nothing)
    IF v_cleared_fields IS NOT NULL THEN
        DELETE FROM sigsync.signal_provenance p
         USING unnest(v_cleared_symbols, v_cleared_trade_ids, v_cleared_fields) c(symbol, trade_id, field)
         WHERE p.symbol = c.symbol AND p.trade_id = c.trade_id AND p.field = c.field;
    END IF;

    RETURN v_written;
END
$$;
$template$, '@columns@', v_columns), '@record_columns@', v_record_columns), '@current_value@', v_current_value);
END
$generate$;
COMMENT ON FUNCTION sigsync._merge_candidates(sigsync._candidate[], bigint, boolean, boolean) IS
    'Internal: apply candidate field values to sigsync.signals by the DESIGN §6 precedence rules, with provenance and audit rows.';
REVOKE ALL ON FUNCTION sigsync._merge_candidates(sigsync._candidate[],bigint,boolean,boolean) FROM PUBLIC;
