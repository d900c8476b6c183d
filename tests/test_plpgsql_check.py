"""plpgsql_check must report nothing on our PL/pgSQL functions (errors and warnings alike)."""

import psycopg

CHECK = """
SELECT p.oid::regprocedure::text AS fn, c.lineno, c.level, c.message
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
 CROSS JOIN LATERAL plpgsql_check_function_tb(
           p.oid,
           -- trigger functions are checked against the table they are attached to
           relid => coalesce((SELECT t.tgrelid FROM pg_trigger t WHERE t.tgfoid = p.oid LIMIT 1), 0),
           -- transition tables (REFERENCING OLD/NEW TABLE) by the names the triggers give them
           oldtable => (SELECT t.tgoldtable FROM pg_trigger t WHERE t.tgfoid = p.oid AND t.tgoldtable IS NOT NULL LIMIT 1),
           newtable => (SELECT t.tgnewtable FROM pg_trigger t WHERE t.tgfoid = p.oid AND t.tgnewtable IS NOT NULL LIMIT 1),
           fatal_errors => false,
           extra_warnings => true) c
 WHERE n.nspname = 'sigsync'
   AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')
"""


def test_plpgsql_check_reports_nothing(db):
    with psycopg.connect(db) as conn:
        count = conn.execute(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'sigsync' AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')"
        ).fetchone()[0]
        assert count >= 5, "the check must actually look at our functions"
        findings = conn.execute(CHECK).fetchall()
    assert findings == [], "\n".join(f"{fn}:{line} {level}: {msg}" for fn, line, level, msg in findings)


def test_plpgsql_check_catches_a_broken_function(db):
    """Guard: the query above does report a real problem."""
    with psycopg.connect(db) as conn:
        conn.execute(
            "CREATE FUNCTION sigsync._broken() RETURNS int LANGUAGE plpgsql"
            " SET search_path = pg_catalog, pg_temp AS $$ BEGIN RETURN (SELECT nope FROM sigsync.signals); END $$"
        )
        findings = conn.execute(CHECK).fetchall()
        conn.rollback()
    assert any("_broken" in fn for fn, *_ in findings)


def test_every_function_pins_search_path(db):
    with psycopg.connect(db) as conn:
        unpinned = conn.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'sigsync'"
            "   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\\_path=%')"
        ).fetchall()
    assert unpinned == []


def test_security_definer_functions_pin_a_safe_search_path(db):
    with psycopg.connect(db) as conn:
        bad = conn.execute(
            "SELECT p.oid::regprocedure::text, p.proconfig FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'sigsync' AND p.prosecdef"
            "   AND NOT coalesce(p.proconfig, '{}') && ARRAY['search_path=pg_catalog, pg_temp']"
        ).fetchall()
        definers = conn.execute(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'sigsync' AND p.prosecdef"
        ).fetchone()[0]
    assert definers >= 3  # ingest(text), ingest(jsonb), ingest_many
    assert bad == []


def test_every_public_function_and_table_has_a_comment(db):
    with psycopg.connect(db) as conn:
        missing = conn.execute(
            "SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'sigsync' AND obj_description(p.oid, 'pg_proc') IS NULL"
            " UNION ALL"
            " SELECT 'relation ' || c.oid::regclass::text FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'sigsync' AND c.relkind IN ('r', 'v', 'p')"
            "   AND obj_description(c.oid, 'pg_class') IS NULL"
        ).fetchall()
    assert missing == []


# The session settings a public function's results could depend on (sigsync._pin_session_settings).
SESSION_PINS = {"search_path=pg_catalog, pg_temp", "TimeZone=UTC", "DateStyle=ISO, YMD", "IntervalStyle=postgres",
                "extra_float_digits=1", "standard_conforming_strings=on"}


def test_every_public_function_pins_the_session_settings(db):
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT p.oid::regprocedure::text, coalesce(p.proconfig, '{}') FROM pg_proc p"
            " WHERE p.pronamespace = 'sigsync'::regnamespace AND p.proname NOT LIKE '\\_%'"
            "   AND p.prorettype <> 'trigger'::regtype").fetchall()
    assert len(rows) >= 10
    unpinned = {fn: sorted(SESSION_PINS - set(config)) for fn, config in rows if not SESSION_PINS <= set(config)}
    assert unpinned == {}


def test_no_function_body_holds_a_backslash(db):
    """A backslash in a string literal means something else under standard_conforming_strings =
    off, and a plan cached then keeps the misreading: bodies use [0-9], [.], [[:space:]]."""
    with psycopg.connect(db) as conn:
        found = conn.execute("SELECT p.oid::regprocedure::text FROM pg_proc p"
                             " WHERE p.pronamespace = 'sigsync'::regnamespace AND strpos(p.prosrc, chr(92)) > 0"
                             ).fetchall()
    assert found == []
