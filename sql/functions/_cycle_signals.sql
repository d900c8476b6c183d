-- Internal: the per-signal steps of a reconcile cycle (DESIGN §2, §5-9) for the working set
-- (parallel arrays: symbol, trade_id, source, and dirty_gen as the cycle took the row), in
-- DESIGN order:
--   the events ingest queued (MFE updates) -> gaps before any fill -> Tier 0 / Tier 3 / targets -> cancellations (alternation rule) ->
--   Tier 2 bar walk -> gaps and health -> clear the work marks and schedule the next check.
-- The fills of Tier 0/3, the alternation rule and Tier 2 are merged once (_merge_candidates: each
-- signal row read and written once for them). Their fields are disjoint, and the later rules read
-- none of the earlier ones' fields but signal_time and direction: a fill that would change those
-- is merged first (_split_rule_inputs; usually none), so each rule computes its candidates from
-- the values the earlier ones write.
-- Either every step succeeds for all the given signals or the call raises and writes nothing
-- (reconcile then isolates the signal that fails: _failing_signals). A work mark is cleared only
-- for a signal processed here and only when its dirty_gen is still the one the cycle took: a
-- signal changed from outside since (an ingest that committed meanwhile, say) stays marked.
-- Signals the alternation rule touches outside the set are not processed here; the merge marks
-- them when it writes, and the next cycle processes them.
-- Returns {gaps_before, gaps_after, mean_health, mfe_updates_left, cancellations_inferred,
-- cancellations_reverted}.
CREATE OR REPLACE FUNCTION sigsync._cycle_signals(p_run_id bigint, p_now timestamptz, p_symbols text[],
                                                  p_trade_ids text[], p_sources text[], p_dirty_gens bigint[])
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_left integer;   -- queued events left for the next cycle (_project_queued's budget)
    v_before jsonb;
    v_after jsonb;
    v_health numeric;
    v_static record;
    v_cancel record;
    v_inferred integer;
    v_check_syms text[];
    v_check_tids text[];
    v_check_at timestamptz[];
BEGIN
    -- the events ingest left to the cycle: the registry as the events say, before any fill
    v_left := sigsync._project_queued(p_run_id, p_symbols, p_trade_ids);

    -- gaps as found, before this cycle fills anything
    SELECT coalesce(jsonb_object_agg(t.gap_type, t.n), '{}') INTO v_before
      FROM (SELECT g.key AS gap_type, count(*) AS n
              FROM sigsync._open_gaps(p_now, p_symbols, p_trade_ids) o, jsonb_each(o.gaps) g
             GROUP BY g.key) t;

    -- Tier 0 / Tier 3 / targets (written at once: those that change what the rules below read)
    SELECT * INTO v_static FROM sigsync._split_rule_inputs(sigsync._static_fills(p_symbols, p_trade_ids));
    PERFORM sigsync._merge_candidates(v_static.rule_inputs, p_run_id, true, false);

    -- cancellations (their candidates may name signals just outside the working set)
    SELECT * INTO v_cancel FROM sigsync._alternation_rule(p_run_id, p_symbols, p_trade_ids);

    -- Tier 2 bar walk, and the one merge of the fills
    PERFORM sigsync._merge_candidates(v_static.rest || v_cancel.candidates
                                      || sigsync._tier2_candidates(p_now, p_sources, p_symbols, p_trade_ids),
                                      p_run_id, true, false);
    SELECT count(*) INTO v_inferred   -- (the rule's inferences this cycle wrote)
      FROM sigsync.sync_audit_log a
     WHERE a.run_id = p_run_id AND a.field = 'cancel_detection' AND a.source = 'rule:alternation'
       AND a.action_type = 'fill';

    -- gaps and health
    WITH h AS (
        SELECT * FROM sigsync._store_health(p_now, p_symbols, p_trade_ids)
    )
    SELECT coalesce((SELECT jsonb_object_agg(t.gap_type, t.n)
                       FROM (SELECT x.key AS gap_type, count(*) AS n
                               FROM h, jsonb_each(h.gaps) x GROUP BY x.key) t), '{}'),
           (SELECT round(avg(h.health_score), 1) FROM h),
           (SELECT coalesce(array_agg(h.symbol ORDER BY h.symbol, h.trade_id), '{}') FROM h WHERE h.next_check_at IS NOT NULL),
           (SELECT coalesce(array_agg(h.trade_id ORDER BY h.symbol, h.trade_id), '{}') FROM h WHERE h.next_check_at IS NOT NULL),
           (SELECT coalesce(array_agg(h.next_check_at ORDER BY h.symbol, h.trade_id), '{}') FROM h WHERE h.next_check_at IS NOT NULL)
      INTO v_after, v_health, v_check_syms, v_check_tids, v_check_at;

    -- ... and the signals outside the set whose alternation conflict began or ended (scored in
    -- the cycle that changed them, as if they were in the set; marked: the next one processes them)
    PERFORM count(*)
       FROM sigsync._store_health(p_now, v_cancel.rescore_symbols, v_cancel.rescore_trade_ids);

    -- the work is done: clear the marks of the signals processed here (unless changed from
    -- outside since the cycle took them), and schedule their next time-driven check: the
    -- earliest of the gap rules' and of the end of a timed-out sync request's hold
    UPDATE sigsync.signals s
       SET dirty = s.queued_events IS NOT NULL,   -- (events left queued: _project_queued's budget)
           next_check_at = n.at, set_aside_at = NULL
      FROM (SELECT k.symbol, k.trade_id, k.gen, least(h.at, q.at) AS at
              FROM unnest(p_symbols, p_trade_ids, p_dirty_gens) k(symbol, trade_id, gen)
              LEFT JOIN unnest(v_check_syms, v_check_tids, v_check_at) h(symbol, trade_id, at)
                     ON h.symbol = k.symbol AND h.trade_id = k.trade_id
              LEFT JOIN (SELECT o.symbol, o.trade_id, min(r.closed_at + sigsync._sync_request_hold()) AS at
                           FROM sigsync.sync_requests r
                          CROSS JOIN LATERAL unnest(r.symbols, r.trade_ids) o(symbol, trade_id)
                          WHERE r.status = 'timed_out' AND r.closed_at > p_now - sigsync._sync_request_hold()
                          GROUP BY o.symbol, o.trade_id) q
                     ON q.symbol = k.symbol AND q.trade_id = k.trade_id) n
     WHERE s.symbol = n.symbol AND s.trade_id = n.trade_id AND s.dirty_gen = n.gen
       AND (s.dirty OR s.next_check_at IS DISTINCT FROM n.at OR s.set_aside_at IS NOT NULL);

    RETURN jsonb_build_object('gaps_before', v_before, 'gaps_after', v_after, 'mean_health', v_health,
                              'mfe_updates_left', v_left,
                              'cancellations_inferred', v_inferred,
                              'cancellations_reverted', v_cancel.reverted);
END
$$;
COMMENT ON FUNCTION sigsync._cycle_signals(bigint, timestamptz, text[], text[], text[], bigint[]) IS
    'Internal: a reconcile cycle''s per-signal steps (fills, cancellations, Tier 2, gaps, health, marks) for a working '
    'set; all or nothing.';
REVOKE ALL ON FUNCTION sigsync._cycle_signals(bigint, timestamptz, text[], text[], text[], bigint[]) FROM PUBLIC;
