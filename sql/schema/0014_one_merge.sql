-- 0014_one_merge: a reconcile cycle merges the fills of Tier 0/3, the alternation rule and
-- Tier 2 once (_cycle_signals), so the alternation rule returns its candidates instead of
-- merging them. Functions whose result changed: the old definitions go here, once (the function
-- files hold only the current one, re-created after this file).
DROP FUNCTION IF EXISTS sigsync._infer_cancellations(bigint, text[], text[]);   -- returned jsonb
