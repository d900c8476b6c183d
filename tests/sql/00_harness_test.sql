-- Proves the pgTAP harness runs these files against a migrated database.
BEGIN;
SELECT plan(2);
SELECT has_schema('sigsync', 'the template database is migrated');
SELECT has_table('sigsync', 'sigsync_migrations', 'migrations are recorded');
SELECT * FROM finish();
ROLLBACK;
