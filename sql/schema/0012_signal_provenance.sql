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

-- The documents become rows. An entry no merge could have written (not an object, a key the
-- merge does not write, an unknown tier, a confidence out of range, a time not in the form the
-- merge wrote it: a hand edit) stops the migration, with where the first ones are: left out, the
-- field would have no provenance, and the next fill of any tier would take it; kept, it would
-- break the table's checks. rebuild() at the current version re-derives every document.
DO $$
DECLARE
    c_iso CONSTANT text := '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?[+-][0-9]{2}:[0-9]{2}$';
    v_bad bigint;
    v_where text;
BEGIN
    WITH entry AS (
        SELECT s.symbol, s.trade_id, p.key AS field, p.value AS v
          FROM sigsync.signals s CROSS JOIN LATERAL jsonb_each(s.provenance) p
    ),
    unsound AS (
        SELECT e.* FROM entry e
         WHERE NOT coalesce(CASE WHEN jsonb_typeof(e.v) = 'object' THEN
                   NOT EXISTS (SELECT 1 FROM jsonb_object_keys(e.v) k
                                WHERE k NOT IN ('tier', 'confidence', 'source', 'event_type', 'at', 'key', 'filled_at'))
                   AND e.v ->> 'tier' IN (SELECT t.tier FROM sigsync.tiers t)
                   AND jsonb_typeof(e.v -> 'source') = 'string'
                   AND coalesce(jsonb_typeof(e.v -> 'event_type'), 'null') IN ('string', 'null')
                   AND coalesce(jsonb_typeof(e.v -> 'key'), 'null') IN ('string', 'null')
                   AND coalesce(jsonb_typeof(e.v -> 'at'), 'null') IN ('string', 'null')
                   AND coalesce(e.v ->> 'at', '2000-01-01T00:00:00+00:00') ~ c_iso
                   AND jsonb_typeof(e.v -> 'filled_at') = 'string' AND e.v ->> 'filled_at' ~ c_iso
                   AND jsonb_typeof(e.v -> 'confidence') = 'number'
                   AND (e.v ->> 'confidence')::numeric > 0 AND (e.v ->> 'confidence')::numeric <= 1
               END, false)
    )
    SELECT count(*), string_agg(format('%s %s %s', u.symbol, u.trade_id, u.field), ', ')
               FILTER (WHERE u.rn <= 5)
      INTO v_bad, v_where
      FROM (SELECT u.*, row_number() OVER (ORDER BY u.symbol, u.trade_id, u.field) AS rn FROM unsound u) u;
    IF v_bad > 0 THEN
        RAISE EXCEPTION 'sigsync: signals.provenance holds % entries that sigsync did not write (%)', v_bad, v_where
            USING ERRCODE = 'check_violation',
                  HINT = 'Edited by hand: with the current version, SELECT sigsync.rebuild(); then '
                         'SELECT sigsync.reconcile(p_full => true); re-derives every document. Then migrate again.';
    END IF;
END
$$;
INSERT INTO sigsync.signal_provenance (symbol, trade_id, field, tier, confidence, source, event_type, at, key, filled_at)
SELECT s.symbol, s.trade_id, p.key, p.value ->> 'tier', (p.value ->> 'confidence')::numeric, p.value ->> 'source',
       p.value ->> 'event_type', (p.value ->> 'at')::timestamptz, p.value ->> 'key', (p.value ->> 'filled_at')::timestamptz
  FROM sigsync.signals s CROSS JOIN LATERAL jsonb_each(s.provenance) p;

ALTER TABLE sigsync.signals DROP COLUMN provenance;
