-- field_provenance: where each registry value came from (DESIGN §2, §6). One row per
-- field of sigsync.signals that has a value and a provenance entry:
--   value      the field's current value as jsonb
--   tier       'event' (reported by an event) | '0' | '1' | '2' | '3' (fill tiers)
--   confidence 1.0 for events / Tier 0 / Tier 1, 0.8 Tier 2, 0.9 Tier 3 and inferred cancels
--   source     'event:<automated_signals.id>' or 'rule:<name>'
--   filled_at  when sigsync wrote the value
--   as_of      the value's own time (event time, or the last bar a computation used)
CREATE VIEW sigsync.field_provenance AS
SELECT s.symbol,
       s.trade_id,
       p.field,
       r.row_json -> p.field                      AS value,
       p.tier,
       p.confidence,
       p.source,
       p.filled_at,
       p.at                                       AS as_of
  FROM sigsync.signals s
  JOIN sigsync.signal_provenance p ON p.symbol = s.symbol AND p.trade_id = s.trade_id
 CROSS JOIN LATERAL (SELECT to_jsonb(s) AS row_json) r
 WHERE r.row_json -> p.field NOT IN ('null'::jsonb)   -- also false when the field is not a column (NULL)
   AND p.field NOT IN ('dirty', 'dirty_gen', 'has_entry', 'created_at', 'updated_at')
   AND p.field NOT LIKE 'evt\_%';

COMMENT ON VIEW sigsync.field_provenance IS
    'Provenance of every registry value: per (signal, field) the value (jsonb), tier (event|0|1|2|3), confidence, '
    'source (event:<id> or rule:<name>), filled_at (when written) and as_of (the value''s own time). Example: '
    'SELECT field, value, tier, confidence, source FROM sigsync.field_provenance '
    'WHERE trade_id = ''20251212_104200000_BULLISH'' ORDER BY field; or what was filled below confidence 1: '
    'SELECT field, tier, count(*) FROM sigsync.field_provenance WHERE confidence < 1 GROUP BY 1, 2;';

GRANT SELECT ON sigsync.field_provenance TO sigsync_reader, sigsync_admin;
