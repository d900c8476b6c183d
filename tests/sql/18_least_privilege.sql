-- 18_least_privilege: no role can become superuser through sigsync (issue "trust under hostile
-- input", item 3). sigsync_admin used to hold ALL (TRIGGER included) on the tables that the
-- SECURITY DEFINER ingest writes, and ingest ran as the migrating superuser: a trigger on
-- automated_signals plus one ingest call ran ALTER ROLE ... SUPERUSER. Now:
--   * no sigsync role holds TRIGGER, TRUNCATE or REFERENCES on any table of schema sigsync;
--   * every SECURITY DEFINER function is owned by sigsync_definer, a NOLOGIN role that is not a
--     superuser and holds only the table privileges those functions need;
--   * so even a trigger somebody attached runs as sigsync_definer, not as a superuser.
BEGIN;
SELECT plan(17);

-- the catalogue ------------------------------------------------------------------------------------
SELECT is_empty($$
    SELECT r.rolname, c.relname, p.privilege_type
      FROM pg_class c
     CROSS JOIN (VALUES ('TRIGGER'), ('TRUNCATE'), ('REFERENCES')) p(privilege_type)
     CROSS JOIN pg_roles r
     WHERE c.relnamespace = 'sigsync'::regnamespace AND c.relkind IN ('r', 'p', 'v')
       AND r.rolname LIKE 'sigsync\_%'
       AND has_table_privilege(r.oid, c.oid, p.privilege_type)$$,
    'no sigsync role holds TRIGGER, TRUNCATE or REFERENCES on any table or view of schema sigsync');
SELECT is_empty($$
    SELECT p.oid::regprocedure, pg_get_userbyid(p.proowner)
      FROM pg_proc p JOIN pg_roles o ON o.oid = p.proowner
     WHERE p.pronamespace = 'sigsync'::regnamespace AND p.prosecdef AND o.rolsuper$$,
    'no SECURITY DEFINER function of schema sigsync is owned by a superuser');
SELECT is(ARRAY(SELECT DISTINCT pg_get_userbyid(p.proowner)::text FROM pg_proc p
                 WHERE p.pronamespace = 'sigsync'::regnamespace AND p.prosecdef),
          ARRAY['sigsync_definer'], 'every SECURITY DEFINER function is owned by sigsync_definer');
SELECT cmp_ok((SELECT count(*)::integer FROM pg_proc p WHERE p.pronamespace = 'sigsync'::regnamespace AND p.prosecdef),
              '>=', 8, '... the ingest functions and the reader-callable ones among them');
SELECT ok((SELECT NOT rolsuper AND NOT rolcanlogin AND NOT rolcreaterole AND NOT rolcreatedb AND NOT rolbypassrls
             FROM pg_roles WHERE rolname = 'sigsync_definer'),
          'sigsync_definer: NOLOGIN, no superuser, no CREATEROLE, CREATEDB or BYPASSRLS');
SELECT ok(NOT has_schema_privilege('sigsync_definer', 'sigsync', 'CREATE'), 'sigsync_definer cannot create objects');
SELECT is(ARRAY(SELECT c.relname::text FROM pg_class c
                 WHERE c.relnamespace = 'sigsync'::regnamespace AND c.relkind = 'r'
                   AND has_table_privilege('sigsync_definer', c.oid, 'UPDATE')
                 ORDER BY 1),
          ARRAY['indicator_status', 'signal_provenance', 'signals'], 'sigsync_definer may update only what the projection writes');
SELECT is(ARRAY(SELECT c.relname::text FROM pg_class c
                 WHERE c.relnamespace = 'sigsync'::regnamespace AND c.relkind = 'r'
                   AND has_table_privilege('sigsync_definer', c.oid, 'DELETE')
                 ORDER BY 1),
          '{}'::text[], '... and delete nothing');
SELECT ok(NOT has_table_privilege('sigsync_admin', 'sigsync.automated_signals', 'INSERT')
          AND NOT has_table_privilege('sigsync_admin', 'sigsync.automated_signals', 'UPDATE')
          AND NOT has_table_privilege('sigsync_admin', 'sigsync.automated_signals', 'DELETE'),
          'sigsync_admin only reads the event log (events come in through ingest)');
SELECT ok(has_table_privilege('sigsync_admin', 'sigsync.price_bars', 'INSERT')
          AND has_table_privilege('sigsync_admin', 'sigsync.settings', 'UPDATE')
          AND has_table_privilege('sigsync_admin', 'sigsync.sync_audit_log', 'UPDATE')
          AND has_function_privilege('sigsync_admin', 'sigsync.reconcile(timestamptz, boolean)', 'EXECUTE'),
          'sigsync_admin still loads bars, changes settings, reviews anomalies and runs reconcile');

-- the exploit, step by step ------------------------------------------------------------------------
SET LOCAL ROLE sigsync_admin;
CREATE FUNCTION pg_temp.escalate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN EXECUTE 'ALTER ROLE sigsync_admin SUPERUSER'; RETURN NEW; END $$;
SELECT throws_ok($$CREATE TRIGGER escalate BEFORE INSERT ON sigsync.automated_signals
                   FOR EACH ROW EXECUTE FUNCTION pg_temp.escalate()$$, '42501', NULL,
                 'sigsync_admin cannot attach a trigger to the event log');
SELECT throws_ok($$CREATE TRIGGER escalate BEFORE INSERT ON sigsync.signals
                   FOR EACH ROW EXECUTE FUNCTION pg_temp.escalate()$$, '42501', NULL,
                 '... nor to the registry');
SELECT throws_ok($$TRUNCATE sigsync.price_bars$$, '42501', NULL, 'sigsync_admin cannot TRUNCATE');
SELECT throws_ok($$ALTER FUNCTION sigsync.ingest(text) OWNER TO sigsync_admin$$, '42501', NULL,
                 'sigsync_admin cannot take over a SECURITY DEFINER function');
RESET ROLE;

-- even a trigger that somebody with the power attached runs as sigsync_definer, not as superuser
CREATE TABLE public.t18_seen (who text, superuser boolean);
GRANT INSERT ON public.t18_seen TO sigsync_definer;
CREATE FUNCTION public.t18_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.t18_seen VALUES (current_user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user));
    RETURN NEW;
END $$;
CREATE TRIGGER t18_record BEFORE INSERT ON sigsync.automated_signals FOR EACH ROW EXECUTE FUNCTION public.t18_record();
SET LOCAL ROLE sigsync_ingest;
SELECT is(sigsync.ingest('{"event_type":"BE_TRIGGERED","trade_id":"20251212_104200000_BULLISH","timestamp":1765554300000}')
              ->> 'status', 'accepted', 'ingest as sigsync_ingest');
RESET ROLE;
SELECT is((SELECT array_agg(who || ' ' || superuser) FROM public.t18_seen), ARRAY['sigsync_definer false'],
          'a trigger fired by ingest runs as sigsync_definer, which is not a superuser');
DROP TRIGGER t18_record ON sigsync.automated_signals;
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'sigsync_admin'), 'sigsync_admin is still not a superuser');

SELECT * FROM finish();
ROLLBACK;
