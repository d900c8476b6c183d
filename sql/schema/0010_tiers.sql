-- 0010_tiers: the confidence of each tier (DESIGN §6) declared once, as data. A candidate value
-- names its tier; sigsync._merge_candidates reads the confidence here (the producers of
-- candidates no longer spell it: they leave sigsync._candidate.confidence NULL), and provenance
-- and audit rows record it as before.
CREATE TABLE sigsync.tiers (
    tier       text PRIMARY KEY,
    confidence numeric NOT NULL CHECK (confidence > 0 AND confidence <= 1),
    meaning    text NOT NULL
);
COMMENT ON TABLE sigsync.tiers IS
    'The tiers a registry value can come from, each with its confidence (DESIGN §6), declared once: '
    'the merge of candidate values reads the confidence here. Example: SELECT * FROM sigsync.tiers ORDER BY confidence DESC;';
COMMENT ON COLUMN sigsync.tiers.tier IS 'event | 0 | 1 | 2 | 3 | rule: as provenance and sync_audit_log.tier record it.';
COMMENT ON COLUMN sigsync.tiers.confidence IS 'Confidence of a value of this tier (1.0 = certain): a fill writes only over a lower one.';
COMMENT ON COLUMN sigsync.tiers.meaning IS 'Where a value of this tier comes from.';
INSERT INTO sigsync.tiers (tier, confidence, meaning) VALUES
    ('event', 1.0, 'the field arrived in an event for this signal'),
    ('0',     1.0, 'Tier 0: the signal''s SIGNAL_CREATED event (and bars_to_confirmation computed from event times)'),
    ('1',     1.0, 'Tier 1: asked of the indicator (a sync request), when answered'),
    ('2',     0.8, 'Tier 2: computed from entry, stop and price bars (targets, MFE/MAE, missed exits)'),
    ('3',     0.9, 'Tier 3: parsed from the trade_id; session from signal_time and sigsync.sessions'),
    ('rule',  0.9, 'the alternation rule (DESIGN §7): an inferred cancellation');
GRANT SELECT ON sigsync.tiers TO sigsync_admin, sigsync_definer;   -- (the definer: ingest merges; the reader reads views only)
COMMENT ON COLUMN sigsync._candidate.confidence IS
    'Left NULL by the producers of candidates: sigsync._merge_candidates takes it from sigsync.tiers.';
