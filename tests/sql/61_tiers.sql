-- 61_tiers: each tier's confidence is declared once, in sigsync.tiers (DESIGN §6), and every
-- value the merge writes records that confidence: a change of the table is a change of the
-- confidences the next writes record.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(9);

SELECT results_eq('SELECT tier, confidence FROM sigsync.tiers ORDER BY tier',
                  $$VALUES ('0', 1.0), ('1', 1.0), ('2', 0.8), ('3', 0.9), ('event', 1.0), ('rule', 0.9)$$,
                  'the tiers of DESIGN §6 with their confidences (and rule: an inferred cancellation)');

-- a signal with events, a Tier 3 fill, a Tier 2 target and an inferred cancellation
SELECT ok(sigsync.ingest('{"event_type":"ENTRY","symbol":"TT","trade_id":"20251212_100000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:00:00Z"}') ->> 'status' = 'accepted'
      AND sigsync.ingest('{"event_type":"SIGNAL_CREATED","symbol":"TT","trade_id":"20251212_101000000_BULLISH","timestamp":"2025-12-12T15:10:00Z"}') ->> 'status' = 'accepted'
      AND sigsync.ingest('{"event_type":"SIGNAL_CREATED","symbol":"TT","trade_id":"20251212_102000000_BEARISH","timestamp":"2025-12-12T15:20:00Z"}') ->> 'status' = 'accepted',
    'an ENTRY, and two opposite signals (the first one cancelled by the alternation rule)');
SELECT is(sigsync.reconcile('2025-12-12 15:30:00+00') ->> 'status', 'ok', 'a cycle');
SELECT is((SELECT count(*)::integer FROM sigsync.field_provenance p
            LEFT JOIN sigsync.tiers t ON t.tier = p.tier
           WHERE p.symbol = 'TT' AND p.confidence IS DISTINCT FROM t.confidence), 0,
          'every value records its tier''s confidence');
SELECT is((SELECT array_agg(DISTINCT p.tier ORDER BY p.tier) FROM sigsync.field_provenance p WHERE p.symbol = 'TT'),
          ARRAY['0', '2', '3', 'event', 'rule'], 'values of the tiers 0, 2, 3, event and rule were written');

-- ... and so does every audit row with a tier (fills, upgrades, anomalies, conflicts)
SELECT ok(sigsync.ingest('{"event_type":"MFE_UPDATE","symbol":"TT","trade_id":"20251212_100000000_BULLISH","be_mfe":-0.5,"timestamp":"2025-12-12T15:05:00Z"}') ->> 'status' = 'accepted'
          AND sigsync.reconcile('2025-12-12 15:30:00+00') ->> 'status' = 'ok',
          'an implausible MFE update (an anomaly), and a cycle');
SELECT is((SELECT count(*)::integer FROM sigsync.sync_audit_log a JOIN sigsync.tiers t ON t.tier = a.tier
            WHERE a.symbol = 'TT' AND a.confidence_score IS DISTINCT FROM t.confidence), 0,
          'every audit row records its tier''s confidence (the anomaly''s too)');

-- the table is the one declaration: a new confidence is what the next write records
UPDATE sigsync.tiers SET confidence = 0.85 WHERE tier = '3';
SELECT ok(sigsync.ingest('{"event_type":"ENTRY","symbol":"TT","trade_id":"20251212_103000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":"2025-12-12T15:30:00Z"}') ->> 'status' = 'accepted'
          AND sigsync.reconcile('2025-12-12 15:31:00+00') ->> 'status' = 'ok',
          'then an ENTRY of a new signal, and a cycle');
SELECT is((SELECT confidence FROM sigsync.field_provenance
            WHERE symbol = 'TT' AND trade_id = '20251212_103000000_BULLISH' AND field = 'signal_time'), 0.85,
          'its Tier 3 signal_time, written after the change, records 0.85');

SELECT * FROM finish();
ROLLBACK;
