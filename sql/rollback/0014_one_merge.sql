-- Inverse of 0014_one_merge, which changes no table: the function it drops is re-created from its
-- file with every other one after a rollback.
SELECT 1;
