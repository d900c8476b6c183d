-- 14_append_only_and_roles: the event log is append-only for everyone, and the roles get
-- exactly what DESIGN §2 and §10 give them: sigsync_ingest may only call the ingest
-- functions; sigsync_reader may not ingest nor modify tables.
-- (One NOTIFY per transaction is not observable from pgTAP; a Python test covers it.)
BEGIN;
SELECT plan(76);

-- an event to protect
SELECT is(sigsync.ingest('{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":21001.5,'
                         '"stop_loss":20990,"timestamp":1765554240000}') ->> 'status',
          'accepted', 'setup: one event stored');
CREATE TEMP TABLE before_rows ON COMMIT DROP AS SELECT * FROM sigsync.automated_signals;
GRANT SELECT ON before_rows TO PUBLIC;

-- append-only, even for the superuser ---------------------------------------------------
SELECT throws_ok($$UPDATE sigsync.automated_signals SET entry_price = 1$$, '42501', NULL,
                 'UPDATE of automated_signals is refused');
SELECT throws_ok($$DELETE FROM sigsync.automated_signals$$, '42501', NULL,
                 'DELETE from automated_signals is refused');
SELECT throws_ok($$TRUNCATE sigsync.automated_signals$$, '42501', NULL,
                 'TRUNCATE of automated_signals is refused');
SELECT throws_like($$UPDATE sigsync.automated_signals SET source = 'x'$$, '%append-only%',
                   'the refusal says the log is append-only');
SELECT throws_ok($$TRUNCATE sigsync.automated_signals, sigsync.signals, sigsync.signal_provenance$$, '42501', NULL,
                 'TRUNCATE together with another table is refused too');
SELECT results_eq($$SELECT id, payload_checksum, entry_price, source FROM sigsync.automated_signals ORDER BY id$$,
                  $$SELECT id, payload_checksum, entry_price, source FROM before_rows ORDER BY id$$,
                  'the event is unchanged after the refused statements');
SELECT lives_ok($$INSERT INTO sigsync.automated_signals (symbol, trade_id, event_type, "timestamp", source, payload, payload_checksum)
                  VALUES ('NQ1!', '20251212_110000000_BEARISH', 'BE_TRIGGERED', '2025-12-12 16:05:00+00', 'indicator',
                          '{}', 'test-checksum-14')$$,
                'appending is allowed');

-- sigsync_admin has table privileges, yet the log stays append-only
SET LOCAL ROLE sigsync_admin;
SELECT throws_ok($$UPDATE sigsync.automated_signals SET entry_price = 1$$, '42501', NULL,
                 'sigsync_admin: UPDATE of automated_signals is refused');
SELECT throws_ok($$DELETE FROM sigsync.automated_signals$$, '42501', NULL,
                 'sigsync_admin: DELETE from automated_signals is refused');
SELECT throws_ok($$TRUNCATE sigsync.automated_signals$$, '42501', NULL,
                 'sigsync_admin: TRUNCATE of automated_signals is refused');
RESET ROLE;
SELECT is((SELECT count(*)::integer FROM sigsync.automated_signals), 2, 'both events still there');

-- function catalogue ------------------------------------------------------------------------
SELECT has_function('sigsync', 'ingest', ARRAY['text'], 'sigsync.ingest(text) exists');
SELECT has_function('sigsync', 'ingest', ARRAY['jsonb'], 'sigsync.ingest(jsonb) exists');
SELECT has_function('sigsync', 'ingest_many', ARRAY['text[]'], 'sigsync.ingest_many(text[]) exists');
SELECT function_returns('sigsync', 'ingest', ARRAY['text'], 'jsonb', 'sigsync.ingest(text) returns jsonb');
SELECT is_definer('sigsync', 'ingest', ARRAY['text'], 'ingest(text) is SECURITY DEFINER');
SELECT is_definer('sigsync', 'ingest', ARRAY['jsonb'], 'ingest(jsonb) is SECURITY DEFINER');
SELECT is_definer('sigsync', 'ingest_many', ARRAY['text[]'], 'ingest_many(text[]) is SECURITY DEFINER');
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p
                   WHERE p.pronamespace = 'sigsync'::regnamespace AND p.prosecdef
                     AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%')$$,
                'every SECURITY DEFINER function in sigsync pins search_path');
SELECT function_privs_are('sigsync', 'ingest', ARRAY['text'], 'sigsync_ingest', ARRAY['EXECUTE'],
                          'sigsync_ingest may execute ingest(text)');
SELECT function_privs_are('sigsync', 'ingest', ARRAY['jsonb'], 'sigsync_ingest', ARRAY['EXECUTE'],
                          'sigsync_ingest may execute ingest(jsonb)');
SELECT function_privs_are('sigsync', 'ingest_many', ARRAY['text[]'], 'sigsync_ingest', ARRAY['EXECUTE'],
                          'sigsync_ingest may execute ingest_many(text[])');
SELECT function_privs_are('sigsync', 'ingest', ARRAY['text'], 'sigsync_reader', '{}'::text[],
                          'sigsync_reader may not execute ingest(text)');
SELECT function_privs_are('sigsync', 'ingest', ARRAY['jsonb'], 'sigsync_reader', '{}'::text[],
                          'sigsync_reader may not execute ingest(jsonb)');
SELECT function_privs_are('sigsync', 'ingest_many', ARRAY['text[]'], 'sigsync_reader', '{}'::text[],
                          'sigsync_reader may not execute ingest_many(text[])');
SELECT ok(NOT has_function_privilege('public', 'sigsync.ingest(text)', 'EXECUTE')
          AND NOT has_function_privilege('public', 'sigsync.ingest(jsonb)', 'EXECUTE')
          AND NOT has_function_privilege('public', 'sigsync.ingest_many(text[])', 'EXECUTE'),
          'PUBLIC may not execute the ingest functions');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'sigsync'::regnamespace
                   AND p.prorettype <> 'trigger'::regtype
                   AND has_function_privilege('sigsync_ingest', p.oid, 'EXECUTE')
                 ORDER BY 1),
          ARRAY['sigsync.ingest(jsonb)', 'sigsync.ingest(text)', 'sigsync.ingest_many(bytea[],text,timestamp with time zone)',
                'sigsync.ingest_many(text[])', 'sigsync.ingest_many(text[],text,timestamp with time zone)',
                'sigsync.webhook_refresh(bigint[])'],
          'sigsync_ingest may execute the ingest functions (and the webhook receiver''s token list) and no other '
          'sigsync function (DESIGN §10)');

-- sigsync_ingest in action ----------------------------------------------------------------
SET LOCAL ROLE sigsync_ingest;
SELECT is(sigsync.ingest('{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":0.5,"timestamp":1765554300000}') ->> 'status',
          'accepted', 'sigsync_ingest: ingest(text) works');
SELECT is(sigsync.ingest('{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":0.7,"timestamp":1765554360000}'::jsonb) ->> 'status',
          'accepted', 'sigsync_ingest: ingest(jsonb) works');
SELECT is(ARRAY(SELECT status FROM sigsync.ingest_many(ARRAY[
              '{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":0.9,"timestamp":1765554420000}',
              'not json'])),
          ARRAY['accepted', 'rejected'], 'sigsync_ingest: ingest_many(text[]) works, rejections included');
SELECT is(sigsync.ingest('{"event_type":"MFE_UPDATE","trade_id":"20251212_104200000_BULLISH","be_mfe":0.9,"timestamp":1765554420000}') ->> 'status',
          'duplicate', 'sigsync_ingest: dedupe works without read access');

SELECT throws_ok(format('SELECT count(*) FROM sigsync.%I', t), '42501', NULL, format('sigsync_ingest cannot SELECT %s', t))
  FROM unnest(ARRAY['automated_signals', 'signals', 'rejected_events', 'settings', 'sync_audit_log']) t;
SELECT throws_ok(format('INSERT INTO sigsync.%I DEFAULT VALUES', t), '42501', NULL, format('sigsync_ingest cannot INSERT into %s', t))
  FROM unnest(ARRAY['automated_signals', 'signals', 'rejected_events', 'settings', 'sync_audit_log']) t;
SELECT throws_ok(format('UPDATE sigsync.%I SET %I = %I', t, c, c), '42501', NULL, format('sigsync_ingest cannot UPDATE %s', t))
  FROM (VALUES ('automated_signals', 'source'), ('signals', 'source'), ('rejected_events', 'message'),
               ('settings', 'value'), ('sync_audit_log', 'reason')) v(t, c);
SELECT throws_ok(format('DELETE FROM sigsync.%I', t), '42501', NULL, format('sigsync_ingest cannot DELETE from %s', t))
  FROM unnest(ARRAY['automated_signals', 'signals', 'rejected_events', 'settings', 'sync_audit_log']) t;
SELECT throws_ok($$TRUNCATE sigsync.rejected_events$$, '42501', NULL, 'sigsync_ingest cannot TRUNCATE rejected_events');
RESET ROLE;
-- (ingest leaves MFE updates to the next cycle, sigsync._queued: projected here as its first step does)
CREATE FUNCTION pg_temp.project_queued() RETURNS integer
LANGUAGE sql AS $$
    SELECT coalesce(sigsync._project_queued(NULL, array_agg(symbol), array_agg(trade_id)), 0)
      FROM sigsync.signals WHERE queued_events IS NOT NULL $$;
SELECT is((SELECT count(*)::integer FROM sigsync.automated_signals WHERE event_type = 'MFE_UPDATE'), 3,
          'the three MFE updates sent as sigsync_ingest are stored');
SELECT pg_temp.project_queued();
SELECT is((SELECT be_mfe FROM sigsync.signals WHERE trade_id = '20251212_104200000_BULLISH'), 0.9,
          'and projected into the registry');
SELECT is((SELECT count(*)::integer FROM sigsync.rejected_events WHERE payload = 'not json'), 1,
          'the rejection made as sigsync_ingest is stored');

-- sigsync_reader --------------------------------------------------------------------------
SET LOCAL ROLE sigsync_reader;
SELECT throws_ok($$SELECT sigsync.ingest('{"event_type":"HEARTBEAT","timestamp":1765554300000}'::text)$$, '42501', NULL,
                 'sigsync_reader cannot call ingest(text)');
SELECT throws_ok($$SELECT sigsync.ingest('{"event_type":"HEARTBEAT","timestamp":1765554300000}'::jsonb)$$, '42501', NULL,
                 'sigsync_reader cannot call ingest(jsonb)');
SELECT throws_ok($$SELECT * FROM sigsync.ingest_many(ARRAY['{"event_type":"HEARTBEAT","timestamp":1765554300000}'])$$, '42501', NULL,
                 'sigsync_reader cannot call ingest_many(text[])');
SELECT throws_ok(format('INSERT INTO sigsync.%I DEFAULT VALUES', t), '42501', NULL, format('sigsync_reader cannot INSERT into %s', t))
  FROM unnest(ARRAY['automated_signals', 'signals', 'rejected_events', 'settings', 'sync_audit_log']) t;
SELECT throws_ok(format('UPDATE sigsync.%I SET %I = %I', t, c, c), '42501', NULL, format('sigsync_reader cannot UPDATE %s', t))
  FROM (VALUES ('automated_signals', 'source'), ('signals', 'source'), ('rejected_events', 'message'),
               ('settings', 'value'), ('sync_audit_log', 'reason')) v(t, c);
SELECT throws_ok(format('DELETE FROM sigsync.%I', t), '42501', NULL, format('sigsync_reader cannot DELETE from %s', t))
  FROM unnest(ARRAY['automated_signals', 'signals', 'rejected_events', 'settings', 'sync_audit_log']) t;
SELECT throws_ok($$TRUNCATE sigsync.signals$$, '42501', NULL, 'sigsync_reader cannot TRUNCATE signals');
RESET ROLE;
SELECT is((SELECT count(*)::integer FROM sigsync.automated_signals WHERE event_type = 'HEARTBEAT'), 0,
          'nothing was ingested as sigsync_reader');

SELECT * FROM finish();
ROLLBACK;
