-- Inverse of 0010_tiers.
COMMENT ON COLUMN sigsync._candidate.confidence IS NULL;
DROP TABLE sigsync.tiers;
