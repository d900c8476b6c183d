-- Inverse of 0012_signal_provenance: the rows become one document per signal again.
ALTER TABLE sigsync.signals ADD COLUMN provenance jsonb NOT NULL DEFAULT '{}';
COMMENT ON COLUMN sigsync.signals.provenance IS
    'Per-field origin: tier, confidence, source, as-of time; exposed by the view field_provenance.';
ALTER TABLE sigsync.signals ADD CONSTRAINT signals_provenance_object CHECK (jsonb_typeof(provenance) = 'object');
UPDATE sigsync.signals s
   SET provenance = d.doc
  FROM (SELECT p.symbol, p.trade_id,
               jsonb_object_agg(p.field, jsonb_build_object('tier', p.tier, 'confidence', p.confidence,
                                                            'source', p.source, 'event_type', p.event_type,
                                                            'at', p.at, 'key', p.key, 'filled_at', p.filled_at)) AS doc
          FROM sigsync.signal_provenance p
         GROUP BY p.symbol, p.trade_id) d
 WHERE s.symbol = d.symbol AND s.trade_id = d.trade_id;
DROP TABLE sigsync.signal_provenance;
