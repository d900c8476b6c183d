-- 0007: the alternation rule finds its own conflicts by the opposite signal they name.
--
-- A conflict the rule audited ("confirmed after the opposite signal N") keeps its signal's
-- anomaly gap open only while it holds (sigsync._alternation_conflict). When N changes (its
-- SIGNAL_CREATED corrects its signal_time, say), the rule must find the signals whose
-- conflicts name N, which nothing else links to N once their ENTRY cleared cancelled_by:
-- these rows are few, and this index finds them per symbol and opposite signal.
CREATE INDEX sync_audit_log_alternation_conflict_idx
    ON sigsync.sync_audit_log (symbol, (old_value ->> 'cancelled_by'))
    WHERE action_type = 'conflict' AND source = 'rule:alternation';
