-- Inverse of 0014_one_merge, which changes no table: the function it drops is re-created from its
-- file by the older version's `sigsync migrate` (a rollback re-applies this version's function
-- files, _alternation_rule among them, which that version does not call).
SELECT 1;
