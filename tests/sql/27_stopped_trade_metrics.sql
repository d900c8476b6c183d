-- A trade stopped on its first bar whose MFE updates were all lost: with the indicator online
-- (no Tier 1 gap applies to a closed trade), the bar walk still fixes be_mfe, no_be_mfe and
-- MAE as of the stop bar (before BE triggers, be_mfe equals no_be_mfe; DESIGN §4, §6).
BEGIN;
SELECT plan(4);
SELECT sigsync.ingest('{"event_type":"SIGNAL_CREATED","trade_id":"20251212_101500000_BEARISH","signal_time":"2025-12-12T10:15:00-05:00","direction":"Bearish","session":"NY AM","htf_alignment":{"m1":"Bearish"},"signal_price":24686,"timestamp":1765552500000}');
SELECT sigsync.ingest('{"event_type":"ENTRY","trade_id":"20251212_101500000_BEARISH","entry_price":24696,"stop_loss":24706,"session":"NY AM","confirmation_time":"2025-12-12T10:17:00-05:00","bars_to_confirmation":2,"htf_alignment":{"m1":"Bearish"},"timestamp":1765552620000}');
SELECT sigsync.ingest('{"event_type":"EXIT_SL","trade_id":"20251212_101500000_BEARISH","exit_price":24706,"final_mfe":0,"timestamp":1765552680000}');
SELECT sigsync.ingest('{"type":"HEARTBEAT","tracked_signals":0,"indicator_version":"1.0.0","timestamp":1765552680000}');
INSERT INTO sigsync.price_bars VALUES ('NQ1!', '2025-12-12T10:17:00-05:00', 24690, 24697, 24689, 24696),
                                      ('NQ1!', '2025-12-12T10:18:00-05:00', 24696, 24707, 24694, 24705);
SELECT is(sigsync.reconcile('2025-12-12T10:19:00-05:00') ->> 'status', 'ok', 'cycle ok with the indicator online');
SELECT is((SELECT status FROM sigsync.signals), 'closed', 'closed by the real EXIT_SL');
SELECT is((SELECT ARRAY[be_mfe, no_be_mfe, mae_global_r] FROM sigsync.signals), ARRAY[0, 0, -1]::numeric[],
          'be_mfe is fixed as of the stop bar too (0, as no_be_mfe before BE triggers)');
SELECT is((SELECT p.tier FROM sigsync.signal_provenance p WHERE p.field = 'be_mfe'), '2', 'from the Tier 2 walk');
SELECT * FROM finish();
ROLLBACK;
