-- 0014_one_merge: a reconcile cycle merges the fills of Tier 0/3, the alternation rule and
-- Tier 2 once (_cycle_signals), so the alternation rule returns its candidates instead of
-- merging them: sigsync._alternation_rule replaces sigsync._infer_cancellations. (A new name,
-- not a new result type under the old one: after a rollback to 0013 the older version's
-- `sigsync migrate` re-creates its own _infer_cancellations, which a function of that name and
-- another result type would refuse.) The old definition goes here, once (the function files
-- hold only the current ones, re-created after this file).
DROP FUNCTION IF EXISTS sigsync._infer_cancellations(bigint, text[], text[]);
