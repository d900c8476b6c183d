-- 16_hostile_input: a validated body can never make ingest_many raise or cost the other
-- elements of its call (issue "trust under hostile input", items 1 and 6).
--   * every text field has a length bound with its own code (text_too_long); a 3 KB source
--     (which used to break the indicator_status key after validation) is rejected and kept;
--   * any failure of one element in any step after validation, projection included, rejects
--     that element alone (internal_error, kept) and stores the others; the caller's answer
--     holds no server internals; errors that are not the element's fault are raised;
--   * a MFE_UPDATE_BATCH has at most max_batch_items items, a call at most
--     max_payloads_per_call elements, each bound with its own code.
BEGIN;
SET LOCAL search_path = sigsync, public;
SELECT plan(39);

CREATE FUNCTION pg_temp.code(p text) RETURNS text
LANGUAGE sql AS $$ SELECT coalesce(r -> 'error' ->> 'code', r ->> 'status') FROM (SELECT sigsync.ingest(p) AS r) x $$;
CREATE FUNCTION pg_temp.kept(p text, p_code text) RETURNS boolean
LANGUAGE sql AS $$ SELECT EXISTS (SELECT 1 FROM sigsync.rejected_events e WHERE e.payload = p AND e.error_code = p_code) $$;

-- 1. text bounds, one per field, each at its limit and one past it ----------------------------
SELECT is(pg_temp.code(format('{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH","%s":"%s"}',
                              b.field, repeat('a', b.max_length))),
          'accepted', format('%s of %s characters is accepted', b.field, b.max_length))
  FROM (VALUES ('symbol', 40), ('source', 64), ('session', 64), ('cancel_reason', 200)) b(field, max_length);
SELECT is(pg_temp.code(format('{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104300000_BULLISH","%s":"%s"}',
                              b.field, repeat('a', b.max_length + 1))),
          'text_too_long', format('%s of %s characters is rejected: text_too_long', b.field, b.max_length + 1))
  FROM (VALUES ('symbol', 40), ('source', 64), ('session', 64), ('cancel_reason', 200)) b(field, max_length);
SELECT is(pg_temp.code('{"type":"HEARTBEAT","indicator_version":"' || repeat('9', 65) || '","timestamp":1765554300000}'),
          'text_too_long', 'indicator_version of 65 characters is rejected: text_too_long');
SELECT is(pg_temp.code('{"type":"HEARTBEAT","indicator_version":"' || repeat('9', 64) || '","timestamp":1765554300000}'),
          'accepted', 'indicator_version of 64 characters is accepted');

-- the reproduction: a HEARTBEAT / SYNC_STATUS with a 3 KB source amid good elements
CREATE TEMP TABLE big_source ON COMMIT DROP AS
SELECT * FROM sigsync.ingest_many(ARRAY[
    '{"event_type":"ENTRY","trade_id":"20251212_110000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":1765555200000}',
    '{"type":"HEARTBEAT","tracked_signals":1,"timestamp":1765555200000,"source":"' || repeat('s', 3000) || '"}',
    '{"type":"SYNC_STATUS","tracking":[],"source":"' || repeat('s', 3000) || '"}',
    '{"event_type":"BE_TRIGGERED","trade_id":"20251212_110000000_BULLISH","timestamp":1765555260000}']);
SELECT results_eq('SELECT idx, status, error ->> ''code'' FROM big_source ORDER BY idx',
                  $$VALUES (1, 'accepted', NULL::text), (2, 'rejected', 'text_too_long'), (3, 'rejected', 'text_too_long'),
                           (4, 'accepted', NULL)$$,
                  'a 3 KB source is rejected (text_too_long); the good elements of the call are stored');
SELECT is((SELECT count(*)::integer FROM sigsync.rejected_events WHERE error_code = 'text_too_long'
              AND payload LIKE '%' || repeat('s', 3000) || '%'), 2, 'both 3 KB bodies are kept');
SELECT ok((SELECT be_triggered_at IS NOT NULL AND entry_price = 100 FROM sigsync.signals
            WHERE trade_id = '20251212_110000000_BULLISH'), 'and the good events are projected');

-- 2. a failure of one element after validation rejects that element alone --------------------
-- (poison: a trigger makes the event insert fail for symbol BOOM, and the projection fail for a
-- signal of symbol PROJ; a third kind fails with a deadlock, which is not the element's fault)
CREATE FUNCTION public.t16_boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.symbol = 'BOOM' THEN RAISE EXCEPTION 'event insert failed for %', NEW.symbol; END IF;
    IF NEW.symbol = 'PROJ' AND TG_TABLE_NAME = 'signals' THEN RAISE EXCEPTION 'projection failed (check_violation)'; END IF;
    IF NEW.symbol = 'DEAD' THEN RAISE EXCEPTION 'simulated deadlock' USING ERRCODE = 'deadlock_detected'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER t16_boom BEFORE INSERT ON sigsync.automated_signals FOR EACH ROW EXECUTE FUNCTION public.t16_boom();
CREATE TRIGGER t16_boom BEFORE INSERT OR UPDATE ON sigsync.signals FOR EACH ROW EXECUTE FUNCTION public.t16_boom();

CREATE TEMP TABLE poisoned ON COMMIT DROP AS
SELECT * FROM sigsync.ingest_many(ARRAY[
    '{"event_type":"ENTRY","symbol":"OK1","trade_id":"20251212_110000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":1765555200000}',
    '{"event_type":"ENTRY","symbol":"BOOM","trade_id":"20251212_110000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":1765555200000}',
    '{"event_type":"MFE_UPDATE","symbol":"OK1","trade_id":"20251212_110000000_BULLISH","be_mfe":0.5,"timestamp":1765555260000}',
    '{"event_type":"ENTRY","symbol":"PROJ","trade_id":"20251212_110000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":1765555200000}',
    'not json',
    '{"event_type":"ENTRY","symbol":"OK2","trade_id":"20251212_110000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":1765555200000}']);
SELECT results_eq('SELECT idx, status, error ->> ''code'' FROM poisoned ORDER BY idx',
                  $$VALUES (1, 'accepted', NULL::text), (2, 'rejected', 'internal_error'), (3, 'accepted', NULL),
                           (4, 'rejected', 'internal_error'), (5, 'rejected', 'invalid_json'), (6, 'accepted', NULL)$$,
                  'an insert failure and a projection failure each reject their own element; the others are stored');
SELECT is((SELECT array_agg(symbol || ':' || event_type ORDER BY id) FROM sigsync.automated_signals
            WHERE symbol IN ('OK1', 'OK2', 'BOOM', 'PROJ')),
          ARRAY['OK1:ENTRY', 'OK1:MFE_UPDATE', 'OK2:ENTRY'], 'only the good events are in the log (nothing half-stored)');
SELECT is((SELECT array_agg(symbol ORDER BY symbol) FROM sigsync.signals WHERE symbol IN ('OK1', 'OK2', 'BOOM', 'PROJ')),
          ARRAY['OK1', 'OK2'], 'only the good signals are in the registry');
-- (ingest leaves MFE updates to the next cycle, sigsync._queued: projected here as its first step does)
CREATE FUNCTION pg_temp.project_queued() RETURNS integer
LANGUAGE sql AS $$
    SELECT coalesce(sigsync._project_queued(NULL, array_agg(symbol), array_agg(trade_id)), 0)
      FROM sigsync.signals WHERE queued_events IS NOT NULL $$;
SELECT pg_temp.project_queued();
SELECT is((SELECT be_mfe FROM sigsync.signals WHERE symbol = 'OK1'), 0.5, 'the good elements are projected');
SELECT is((SELECT array_agg(message ORDER BY id) FROM sigsync.rejected_events WHERE error_code = 'internal_error'),
          ARRAY['event insert failed for BOOM', 'projection failed (check_violation)'],
          'each failing element is kept with the server''s message');
SELECT ok(pg_temp.kept('{"event_type":"ENTRY","symbol":"BOOM","trade_id":"20251212_110000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":1765555200000}',
                       'internal_error'), 'the failing body is kept as received');
SELECT is((SELECT error ->> 'message' FROM poisoned WHERE idx = 2),
          'an unforeseen failure; the payload is kept in sigsync.rejected_events',
          'the caller''s answer names no server internals');
SELECT is((SELECT count(*)::integer FROM poisoned WHERE error ->> 'message' ~* 'insert|trigger|projection|sql'), 0,
          '... for either failing element');
SELECT is(sigsync.ingest('{"event_type":"ENTRY","symbol":"BOOM","trade_id":"20251212_111000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":1765555800000}')
              -> 'error' ->> 'code', 'internal_error', 'ingest(text) alone: internal_error too, no exception');
SELECT throws_ok($$SELECT * FROM sigsync.ingest_many(ARRAY[
    '{"event_type":"ENTRY","symbol":"OK3","trade_id":"20251212_110000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":1765555200000}',
    '{"event_type":"ENTRY","symbol":"DEAD","trade_id":"20251212_110000000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":1765555200000}'])$$,
    '40P01', NULL, 'a deadlock is not the element''s fault: it is raised (the caller retries), not rejected');
SELECT is((SELECT count(*)::integer FROM sigsync.rejected_events WHERE payload LIKE '%DEAD%'), 0,
          '... and nothing of that call was kept as rejected');
DROP TRIGGER t16_boom ON sigsync.automated_signals;
DROP TRIGGER t16_boom ON sigsync.signals;

-- 6. bounds on items per batch and elements per call --------------------------------------------
UPDATE sigsync.settings SET value = '3' WHERE key = 'max_batch_items';
SELECT is(pg_temp.code('{"event_type":"MFE_UPDATE_BATCH","symbol":"MB","timestamp":1765555300000,"updates":['
                       || '{"trade_id":"20251212_110000000_BULLISH","be_mfe":0.1},'
                       || '{"trade_id":"20251212_110000000_BULLISH","be_mfe":0.2},'
                       || '{"trade_id":"20251212_110000000_BULLISH","be_mfe":0.3}]}'),
          'accepted', 'a batch of max_batch_items items is accepted');
SELECT is(sigsync.ingest('{"event_type":"MFE_UPDATE_BATCH","symbol":"MB","timestamp":1765555400000,"updates":['
                         || '{"trade_id":"20251212_110000000_BULLISH","be_mfe":0.1},'
                         || '{"trade_id":"20251212_110000000_BULLISH","be_mfe":0.2},'
                         || '{"trade_id":"20251212_110000000_BULLISH","be_mfe":0.3},'
                         || '{"trade_id":"20251212_110000000_BULLISH","be_mfe":0.4}]}') -> 'error',
          '{"code": "too_many_items", "message": "MFE_UPDATE_BATCH has 4 items; the limit is 3 (max_batch_items)"}'::jsonb,
          'one more item: too_many_items, with the count and the limit');
SELECT is((SELECT count(*)::integer FROM sigsync.automated_signals WHERE symbol = 'MB'), 3,
          'the rejected batch stored no item');
UPDATE sigsync.settings SET value = '1000' WHERE key = 'max_batch_items';
UPDATE sigsync.settings SET value = '200000' WHERE key = 'max_payload_bytes';   -- (1000 items take more than 64 KiB)
SELECT is(pg_temp.code('{"event_type":"MFE_UPDATE_BATCH","symbol":"MC","timestamp":1765555300000,"updates":['
                       || (SELECT string_agg(format('{"trade_id":"20251212_110000000_BULLISH","no_be_mfe":%s,"timestamp":%s}',
                                                    i / 1000.0, 1765555300000 + i), ',')
                             FROM generate_series(1, 1001) i) || ']}'),
          'too_many_items', 'the default bound is 1000 items: 1001 are too many');
SELECT is(pg_temp.code('{"event_type":"MFE_UPDATE_BATCH","symbol":"MC","timestamp":1765555300000,"updates":['
                       || (SELECT string_agg(format('{"trade_id":"20251212_110000000_BULLISH","no_be_mfe":%s,"timestamp":%s}',
                                                    i / 1000.0, 1765555300000 + i), ',')
                             FROM generate_series(1, 1000) i) || ']}'),
          'accepted', '1000 items are accepted');
SELECT is((SELECT count(*)::integer FROM sigsync.automated_signals WHERE symbol = 'MC'), 1000, '... one event per item');
UPDATE sigsync.settings SET value = '65536' WHERE key = 'max_payload_bytes';

-- a batch's own fields are copied into each item: they are bounded (1 KiB)
SELECT is(sigsync.ingest('{"event_type":"MFE_UPDATE_BATCH","symbol":"MD","pad":"' || repeat('x', 1100)
                         || '","updates":[{"trade_id":"20251212_110000000_BULLISH","be_mfe":0.1}]}') -> 'error' ->> 'code',
          'payload_too_large', 'a batch whose own fields take over 1 KiB: payload_too_large');
SELECT is(pg_temp.code('{"event_type":"MFE_UPDATE_BATCH","symbol":"MD","pad":"' || repeat('x', 900)
                       || '","timestamp":1765555300000,"updates":[{"trade_id":"20251212_110000000_BULLISH","be_mfe":0.1}]}'),
          'accepted', '... 900 bytes of them are fine');

UPDATE sigsync.settings SET value = '3' WHERE key = 'max_payloads_per_call';
CREATE TEMP TABLE many ON COMMIT DROP AS
SELECT * FROM sigsync.ingest_many(ARRAY(
    SELECT format('{"type":"HEARTBEAT","symbol":"MP","tracked_signals":%s,"timestamp":%s}', i, 1765555300000 + i)
      FROM generate_series(1, 5) i ORDER BY i));
SELECT results_eq('SELECT idx, status, error ->> ''code'' FROM many ORDER BY idx',
                  $$VALUES (1, 'accepted', NULL::text), (2, 'accepted', NULL), (3, 'accepted', NULL),
                           (4, 'rejected', 'too_many_payloads'), (5, 'rejected', 'too_many_payloads')$$,
                  'elements past max_payloads_per_call are rejected: too_many_payloads');
SELECT is((SELECT error ->> 'message' FROM many WHERE idx = 4), 'one call takes at most 3 payloads (max_payloads_per_call)',
          'the message gives the limit');
SELECT is((SELECT count(*)::integer FROM sigsync.rejected_events WHERE error_code = 'too_many_payloads'
              AND payload LIKE '%"tracked_signals":_,%'), 2, 'and they are kept');
UPDATE sigsync.settings SET value = '10000' WHERE key = 'max_payloads_per_call';

-- an unfinished body past max_payload_bytes: a bounded prefix, its size and checksum are kept
SELECT is(pg_temp.code(repeat('x', 100000)), 'payload_too_large', '100 kB of garbage: payload_too_large');
SELECT ok((SELECT payload = repeat('x', 4096) AND payload_truncated AND payload_bytes = 100000
                  AND payload_sha256 = encode(sha256(convert_to(repeat('x', 100000), 'UTF8')), 'hex')
             FROM sigsync.rejected_events WHERE error_code = 'payload_too_large' ORDER BY id DESC LIMIT 1),
          'kept as its first 4096 characters, with the size and sha256 of the whole body');
SELECT is((SELECT count(*)::integer FROM sigsync.ingest_many(array_fill(repeat('y', 5000000), ARRAY[10])) r
            WHERE r.error ->> 'code' = 'payload_too_large'), 10, 'ten 5 MB bodies in one call: all payload_too_large');
SELECT cmp_ok((SELECT sum(octet_length(payload))::integer FROM sigsync.rejected_events WHERE payload LIKE 'yyyy%'),
              '<=', 10 * 4096, '... and they take at most 10 x 4 KiB in rejected_events, not 50 MB');

SELECT * FROM finish();
ROLLBACK;
