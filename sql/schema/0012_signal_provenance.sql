-- 0012_signal_provenance: each registry value's provenance in its own narrow row, keyed
-- (symbol, trade_id, field), instead of one JSON document per signal (signals.provenance).
-- A rule reads only the entries it needs, through the key, and a write rewrites the small
-- rows of the fields it changes, not the signal's whole (compressed) document. What users see
-- is unchanged: the view field_provenance and the audit rows read the same values.
CREATE TABLE sigsync.signal_provenance (
    symbol     text NOT NULL,
    trade_id   text NOT NULL,
    field      text NOT NULL,
    tier       text NOT NULL REFERENCES sigsync.tiers (tier),
    confidence numeric NOT NULL CHECK (confidence > 0 AND confidence <= 1),
    source     text NOT NULL,
    event_type text,
    at         timestamptz CHECK (isfinite(at)),
    key        text,
    filled_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, trade_id, field),
    FOREIGN KEY (symbol, trade_id) REFERENCES sigsync.signals (symbol, trade_id) ON DELETE CASCADE
);
COMMENT ON TABLE sigsync.signal_provenance IS
    'Internal: where each registry value came from, one row per (signal, field) that has a value; written by '
    'the merge only. Read it through the view field_provenance.';
COMMENT ON COLUMN sigsync.signal_provenance.tier IS 'event | 0 | 1 | 2 | 3 | rule (sigsync.tiers).';
COMMENT ON COLUMN sigsync.signal_provenance.confidence IS 'The tier''s confidence when the value was written.';
COMMENT ON COLUMN sigsync.signal_provenance.source IS 'event:<automated_signals.id> or rule:<name>.';
COMMENT ON COLUMN sigsync.signal_provenance.event_type IS 'The event type the value came from (NULL for a rule).';
COMMENT ON COLUMN sigsync.signal_provenance.at IS 'The value''s own time: event time, or the last bar a computation used.';
COMMENT ON COLUMN sigsync.signal_provenance.key IS 'Deterministic tie-break between candidates of equal rank (checksum or rule).';
COMMENT ON COLUMN sigsync.signal_provenance.filled_at IS 'When sigsync wrote the value.';
REVOKE ALL ON sigsync.signal_provenance FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON sigsync.signal_provenance TO sigsync_admin;
GRANT SELECT, INSERT, UPDATE ON sigsync.signal_provenance TO sigsync_definer;   -- (ingest's merge clears no value)

-- The documents become rows. An entry no merge could have written (not an object, an unknown
-- tier, a confidence out of range: a hand edit) is left out and its signal marked for the next
-- cycle, which writes that field's provenance again when a candidate names it (rebuild() then
-- restores all of it).
WITH entry AS (
    SELECT s.symbol, s.trade_id, p.key AS field, p.value AS v,
           coalesce(CASE WHEN jsonb_typeof(p.value) = 'object'
                          AND p.value ->> 'tier' IN (SELECT t.tier FROM sigsync.tiers t)
                          AND jsonb_typeof(p.value -> 'source') = 'string'
                          AND jsonb_typeof(p.value -> 'confidence') = 'number'
                          AND coalesce(jsonb_typeof(p.value -> 'at'), 'null') IN ('string', 'null')
                          AND coalesce(p.value ->> 'at', '') NOT LIKE '%infinity'
                          AND coalesce(jsonb_typeof(p.value -> 'filled_at'), 'null') IN ('string', 'null')
                         THEN (p.value ->> 'confidence')::numeric > 0 AND (p.value ->> 'confidence')::numeric <= 1
                    END, false) AS sound
      FROM sigsync.signals s CROSS JOIN LATERAL jsonb_each(s.provenance) p
),
kept AS (   -- (runs whether or not it is read)
    INSERT INTO sigsync.signal_provenance (symbol, trade_id, field, tier, confidence, source, event_type, at, key, filled_at)
    SELECT e.symbol, e.trade_id, e.field, e.v ->> 'tier', (e.v ->> 'confidence')::numeric, e.v ->> 'source',
           e.v ->> 'event_type', (e.v ->> 'at')::timestamptz, e.v ->> 'key',
           coalesce((e.v ->> 'filled_at')::timestamptz, now())
      FROM entry e
     WHERE e.sound
)
UPDATE sigsync.signals s
   SET dirty = true, dirty_gen = s.dirty_gen + 1
 WHERE (s.symbol, s.trade_id) IN (SELECT e.symbol, e.trade_id FROM entry e WHERE NOT e.sound);

ALTER TABLE sigsync.signals DROP COLUMN provenance;
