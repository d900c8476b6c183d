"""Migrations (DESIGN §1), against real databases.

Mechanics are tested on a small SQL tree written here; the round trip, the checksum
check and the wheel install use the project's own sql/ tree.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from textwrap import dedent

import psycopg
import pytest

from sigsync.migrate import MigrationError, Migrator, SqlTree, dropped_tables
from sigsync.paths import sql_dir
from sigsync.sample import apply_options, generate, iso
from support import REPO

OBJECTS_SQL = """
SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'sigsync'),
       (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'sigsync'),
       (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'sigsync'),
       (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'sigsync')
"""


def run(dsn: str, root: Path | None = None, action: str = "migrate", **kwargs):
    """Run one migrator action; returns (result, printed lines)."""
    lines: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        result = getattr(Migrator(conn, SqlTree(root or sql_dir()), echo=lines.append), action)(**kwargs)
    return result, lines


def query(dsn: str, text: str, *params):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(text, params or None)
        return cur.fetchall() if cur.description else []


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text))


TOY = {
    "schema/0001_base.sql": """
        CREATE SCHEMA IF NOT EXISTS sigsync;
        CREATE TABLE sigsync.items (id int PRIMARY KEY, name text, touched boolean DEFAULT false);
        CREATE FUNCTION sigsync._touch() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN NEW.touched := true; RETURN NEW; END $$;
        CREATE TRIGGER items_touch BEFORE INSERT ON sigsync.items FOR EACH ROW EXECUTE FUNCTION sigsync._touch();
    """,
    "rollback/0001_base.sql": """
        DROP TABLE IF EXISTS sigsync.items;
        DROP FUNCTION IF EXISTS sigsync._touch();
    """,
    "schema/0002_extra.sql": "CREATE TABLE sigsync.extra (id int);\n",
    "rollback/0002_extra.sql": "DROP TABLE sigsync.extra;\n",
    # uses a function from a later file: fine, bodies are not checked at creation
    "functions/a_caller.sql": """
        CREATE OR REPLACE FUNCTION sigsync.a_caller() RETURNS int LANGUAGE plpgsql AS
            $$ BEGIN RETURN sigsync.b_answer(); END $$;
    """,
    "functions/b_answer.sql": "CREATE OR REPLACE FUNCTION sigsync.b_answer() RETURNS int LANGUAGE sql AS $$ SELECT 42 $$;\n",
    # a_summary reads z_base: created only on a retry round
    "views/a_summary.sql": "CREATE VIEW sigsync.a_summary AS SELECT count(*) AS n FROM sigsync.z_base;\n",
    "views/z_base.sql": "CREATE VIEW sigsync.z_base AS SELECT id, name FROM sigsync.items;\n",
}


@pytest.fixture
def toy(tmp_path) -> Path:
    root = tmp_path / "sql"
    write(root, TOY)
    return root


def versions(dsn: str) -> list[str]:
    return [v for (v,) in query(dsn, "SELECT version FROM sigsync.sigsync_migrations WHERE version IS NOT NULL ORDER BY 1")]


# -- the project's own tree ------------------------------------------------------------------


def test_round_trip_leaves_no_sigsync_object(empty_db):
    applied, _ = run(empty_db)
    assert "schema/0001_core.sql" in applied
    counts = query(empty_db, OBJECTS_SQL)[0]
    assert counts[0] == 1 and counts[1] > 0 and counts[2] > 0

    undone, lines = run(empty_db, action="rollback", to="0", yes=True)
    every_version = [f.name for f in SqlTree(sql_dir()).versioned]
    assert len(every_version) >= 4 and every_version[0] == "schema/0001_core.sql"
    assert undone == every_version[::-1]  # newest first
    assert query(empty_db, OBJECTS_SQL)[0] == (0, 0, 0, 0)
    assert "now at version 0: schema sigsync removed" in lines

    run(empty_db)
    assert query(empty_db, OBJECTS_SQL)[0] == counts


def test_each_version_rolls_back_alone_and_migrates_again(empty_db):
    """`sigsync rollback` (the latest version only) works at every version: the current
    function files are re-applied below the version that introduced what they use."""
    run(empty_db)
    counts = query(empty_db, OBJECTS_SQL)[0]
    for expected in reversed(SqlTree(sql_dir()).versioned):
        undone, _ = run(empty_db, action="rollback", yes=True)
        assert undone == [expected.name]
    assert query(empty_db, OBJECTS_SQL)[0] == (0, 0, 0, 0)
    run(empty_db)
    assert query(empty_db, OBJECTS_SQL)[0] == counts


# What a schema version's rollback must restore: every relation (kind, privileges, comment), column
# (type, nullability, default, comment), constraint, index, trigger, function and type of schema sigsync.
CATALOG_SQL = """
SELECT 'relation', c.relname || ' ' || c.relkind::text || ' ' || coalesce(array_to_string(c.relacl, ','), '')
       || ' ' || coalesce(obj_description(c.oid, 'pg_class'), '')
  FROM pg_class c WHERE c.relnamespace = 'sigsync'::regnamespace
UNION ALL
SELECT 'column', c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '
       || a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' '
       || coalesce(col_description(c.oid, a.attnum), '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'sigsync'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint', conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'sigsync'::regnamespace
UNION ALL
SELECT 'index', pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = 'sigsync'::regnamespace
UNION ALL
SELECT 'trigger', pg_get_triggerdef(t.oid)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'sigsync'::regnamespace AND NOT t.tgisinternal
UNION ALL
SELECT 'function', p.oid::regprocedure::text || ' ' || md5(p.prosrc) || ' ' || pg_get_userbyid(p.proowner) || ' '
       || coalesce(array_to_string(p.proacl, ','), '') || ' ' || coalesce(array_to_string(p.proconfig, ','), '')
  FROM pg_proc p WHERE p.pronamespace = 'sigsync'::regnamespace
UNION ALL
SELECT 'type', t.typname FROM pg_type t WHERE t.typnamespace = 'sigsync'::regnamespace
ORDER BY 1, 2
"""


def tree_up_to(tmp_path: Path, version: str) -> Path:
    """A copy of the project's SQL tree without the schema versions after `version`, and without
    the view files: they read what the latest version makes (signal_provenance, say), so below it
    they cannot all be created, and a view is re-created from its file by the migrator, not
    restored by a rollback file. (The functions stay: their bodies are not checked until they run.)"""
    root = tmp_path / f"sql-{version}"
    if root.exists():
        return root
    shutil.copytree(sql_dir(), root)
    for folder in ("schema", "rollback"):
        for f in (root / folder).glob("*.sql"):
            if f.name[:4] > version:
                f.unlink()
    for f in (root / "views").glob("*.sql"):
        f.unlink()
    return root


# (from 0005: 0004 makes the roles, which are the cluster's, not the database's: what a function's
# owner and grants are below it depends on whether another database of the cluster made them)
@pytest.mark.parametrize("version", [f.version for f in SqlTree(sql_dir()).versioned if f.version >= "0005"])
def test_rolling_a_version_back_restores_the_catalog_of_the_version_below(empty_db, tmp_path, version):
    below = f"{int(version) - 1:04d}"
    run(empty_db, tree_up_to(tmp_path, below))
    before = query(empty_db, CATALOG_SQL)
    run(empty_db, tree_up_to(tmp_path, version))
    assert versions(empty_db)[-1] == version
    undone, _ = run(empty_db, tree_up_to(tmp_path, version), action="rollback", yes=True)
    assert undone == [f.name for f in SqlTree(sql_dir()).versioned if f.version == version]
    after = query(empty_db, CATALOG_SQL)
    assert [r for r in after if r not in before] == [] and [r for r in before if r not in after] == []


def tree_before(tmp_path: Path, schema_file: str) -> Path:
    """The sql/ tree as the project had it just before `schema_file` was added: the older version
    a downgrade installs after rolling that schema version back (from the git history)."""
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: the older version's files come from its history")
    shallow = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--is-shallow-repository"],
                             capture_output=True, text=True, check=True).stdout.strip()
    if shallow == "true":
        pytest.skip("a shallow clone: the older version's files come from the history it lacks")
    added = subprocess.run(["git", "-C", str(REPO), "log", "--diff-filter=A", "--format=%H", "--", f"sql/{schema_file}"],
                           capture_output=True, text=True, check=True).stdout.split()
    assert added, f"no commit adds sql/{schema_file} (a shallow clone? the test needs the history)"
    root = tmp_path / "older"
    root.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", f"{added[-1]}^", "sql"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    return root / "sql"


def test_downgrade_rolls_back_then_the_older_version_migrates(empty_db, tmp_path):
    """README's downgrade: `sigsync rollback` of the latest version, then the version before it
    installed and `sigsync migrate`d. The rollback leaves this version's function files applied at
    the older schema; the older version's files must apply over them (a function of the same name
    and arguments with another result type could not be: CREATE OR REPLACE refuses it), and its
    cycle runs. Then forward again."""
    latest = SqlTree(sql_dir()).versioned[-1]
    older = tree_before(tmp_path, latest.name)
    older_version = SqlTree(older).versioned[-1].version
    assert older_version < latest.version
    run(empty_db)
    undone, _ = run(empty_db, action="rollback", yes=True)
    assert undone == [latest.name]
    run(empty_db, older)
    assert versions(empty_db)[-1] == older_version
    assert query(empty_db, "SELECT sigsync.reconcile() ->> 'status'")[0][0] == "ok"
    run(empty_db)
    assert versions(empty_db)[-1] == latest.version
    assert query(empty_db, "SELECT sigsync.reconcile() ->> 'status'")[0][0] == "ok"


def test_0008_migrates_the_rows_it_finds(empty_db, tmp_path):
    """Words 0008 removes were never written by sigsync; rows of them made by hand are kept: an audit
    'cancel_inferred' is what sigsync calls a 'fill', a 'cancelled' sync request an 'answered' one."""
    run(empty_db, tree_up_to(tmp_path, "0007"))
    query(empty_db, """
        INSERT INTO sigsync.sync_audit_log (symbol, trade_id, action_type, field, reason)
        VALUES ('NQ1!', 'x', 'cancel_inferred', 'cancel_detection', 'noted by hand'), ('NQ1!', 'x', 'anomaly', 'be_mfe', 'r')""")
    query(empty_db, """
        INSERT INTO sigsync.sync_requests (trade_ids, symbols, reason, status)
        VALUES ('{a}', '{NQ1!}', 'no_mae', 'cancelled'), ('{b}', '{NQ1!}', 'no_mae', 'open')""")
    query(empty_db, """
        INSERT INTO sigsync.rejected_events (payload, payload_bytes, payload_sha256, error_code, message)
        VALUES ('x', 1, 'sha', 'invalid_json', 'm')""")
    run(empty_db, tree_up_to(tmp_path, "0008"))
    assert query(empty_db, "SELECT action_type, reason FROM sigsync.sync_audit_log ORDER BY id") == [
        ("fill", "noted by hand"), ("anomaly", "r")]
    assert query(empty_db, "SELECT trade_ids, status FROM sigsync.sync_requests ORDER BY id") == [
        (["a"], "answered"), (["b"], "open")]
    assert query(empty_db, "SELECT error_code FROM sigsync.rejected_events") == [("invalid_json",)]
    # and back: the rows stay (the restored CHECK lists allow their new values)
    run(empty_db, tree_up_to(tmp_path, "0008"), action="rollback", yes=True)
    assert query(empty_db, "SELECT count(*) FROM sigsync.sync_audit_log")[0][0] == 2


def test_0008_refuses_rejected_rows_whose_code_sigsync_never_wrote(empty_db, tmp_path):
    run(empty_db, tree_up_to(tmp_path, "0007"))
    query(empty_db, """
        INSERT INTO sigsync.rejected_events (payload, payload_bytes, payload_sha256, error_code, message)
        VALUES ('x', 1, 'sha', 'made_up', 'm'), ('y', 1, 'sha', 'made_up', 'm'), ('z', 1, 'sha', 'not_object', 'm')""")
    with pytest.raises(MigrationError, match=r"rejected_events holds error codes sigsync does not write: made_up \(2 rows\)"):
        run(empty_db, tree_up_to(tmp_path, "0008"))
    assert versions(empty_db)[-1] == "0007"  # nothing applied
    query(empty_db, "UPDATE sigsync.rejected_events SET error_code = 'internal_error' WHERE error_code = 'made_up'")
    run(empty_db, tree_up_to(tmp_path, "0008"))
    assert versions(empty_db)[-1] == "0008"


def test_0011_retypes_inferred_exits_and_refuses_notes(empty_db, tmp_path):
    run(empty_db, tree_up_to(tmp_path, "0008"))
    query(empty_db, """
        INSERT INTO sigsync.sync_audit_log (symbol, trade_id, action_type, field, reason)
        VALUES ('NQ1!', 'x', 'exit_inferred', 'exit_time', 'by hand'), ('NQ1!', 'x', 'info', NULL, 'a note')""")
    with pytest.raises(MigrationError, match="holds 1 rows of action type info"):
        run(empty_db, tree_up_to(tmp_path, "0011"))
    assert versions(empty_db)[-1] == "0008"
    query(empty_db, "DELETE FROM sigsync.sync_audit_log WHERE action_type = 'info'")
    run(empty_db, tree_up_to(tmp_path, "0011"))
    assert query(empty_db, "SELECT action_type, reason FROM sigsync.sync_audit_log") == [("fill", "by hand")]


# each registry value's provenance, as field_provenance and the merge read it (times as epoch)
PROVENANCE_SQL = """
SELECT p.symbol, p.trade_id, p.field, p.tier, p.confidence, p.source, p.event_type,
       extract(epoch FROM p.at), p.key, extract(epoch FROM p.filled_at)
  FROM sigsync.signal_provenance p ORDER BY 1, 2, 3"""
REGISTRY_VIEWS_SQL = """
SELECT to_jsonb(a) - 'health_updated_at' FROM sigsync.all_signals a ORDER BY symbol, trade_id"""


def test_0012_moves_provenance_into_rows_and_back_and_a_rebuild_writes_the_same(empty_db):
    """0012 turns each signal's provenance document into one row per field, and its rollback turns
    the rows back into the documents the merge of 0011 wrote: a registry rolled back and migrated
    again holds the same provenance, and it is the provenance rebuild() + a full cycle derive."""
    sample = generate(seed=5)
    lines = apply_options(sample, random.Random(5), drop=("cancelled",), missed_exits=0.3, lose=0.05)
    created = [line for line in lines if '"SIGNAL_CREATED"' in line]
    lines = [line for line in lines if line not in created[::3]]   # Tier 3 for a third of the signals
    run(empty_db)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        with conn.cursor() as cur, cur.copy("COPY sigsync.price_bars (symbol, ts, open, high, low, close) FROM STDIN") as cp:
            for b in sample.bars:
                cp.write_row((sample.symbol, iso(b.ts), b.open, b.high, b.low, b.close))
        conn.execute("SELECT count(*) FROM sigsync.ingest_many(%s::text[])", (lines,))
        assert conn.execute("SELECT sigsync.reconcile(%s, true) ->> 'status'", (sample.p_now,)).fetchone()[0] == "ok"
    written = query(empty_db, PROVENANCE_SQL)
    registry = query(empty_db, REGISTRY_VIEWS_SQL)
    assert len(written) > 500 and {r[3] for r in written} == {"event", "0", "2", "3", "rule"}

    run(empty_db, action="rollback", to="0011", yes=True)
    docs = query(empty_db, "SELECT count(*), sum((SELECT count(*) FROM jsonb_object_keys(provenance))) FROM sigsync.signals")
    assert docs == [(len(registry), len(written))]
    run(empty_db)
    assert query(empty_db, PROVENANCE_SQL) == written
    assert query(empty_db, REGISTRY_VIEWS_SQL) == registry

    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("SELECT sigsync.rebuild()")
        assert conn.execute("SELECT sigsync.reconcile(%s, true) ->> 'status'", (sample.p_now,)).fetchone()[0] == "ok"
    without_write_time = [r[:-1] for r in written]
    assert [r[:-1] for r in query(empty_db, PROVENANCE_SQL)] == without_write_time
    assert query(empty_db, REGISTRY_VIEWS_SQL) == registry


AT = datetime(2025, 12, 12, 15, 3, tzinfo=timezone.utc)
FILLED = datetime(2025, 12, 12, 15, 3, 1, tzinfo=timezone.utc)


def test_0012_refuses_a_provenance_document_edited_by_hand(empty_db, tmp_path):
    """An entry no merge could have written (not an object, an unknown tier, a confidence out of
    range, a time not as the merge wrote it, a key it does not write) stops 0012, naming where:
    left out, its field would have no provenance and the next fill of any tier would take it."""
    run(empty_db, tree_up_to(tmp_path, "0011"))
    entry = {"tier": "event", "confidence": 1.0, "source": "event:7", "event_type": "ENTRY",
             "at": "2025-12-12T15:03:00+00:00", "key": "k", "filled_at": "2025-12-12T15:03:01+00:00"}
    edited = {"stop_loss": "edited", "session": {**entry, "tier": "9"}, "direction": {**entry, "confidence": 1.5},
              "exit_time": {**entry, "at": "Infinity"}, "signal_date": {**entry, "note": "mine"}}
    documents = {"20251212_100000000_BULLISH": {"entry_price": entry, "stop_loss": {**entry, "key": "k2"}},
                 "20251212_110000000_BULLISH": {"entry_price": entry, **edited}}
    for trade_id, doc in documents.items():
        query(empty_db, "INSERT INTO sigsync.signals (symbol, trade_id, entry_price, stop_loss, session, direction,"
                        " dirty, provenance) VALUES ('NQ1!', %s, 100, 90, 'NY AM', 'Bullish', false, %s::jsonb)",
              trade_id, json.dumps(doc))
    with pytest.raises(MigrationError, match=r"signals.provenance holds 5 entries that sigsync did not write "
                                             r"\(NQ1! 20251212_110000000_BULLISH direction, .*stop_loss\)"):
        run(empty_db, tree_up_to(tmp_path, "0012"))
    assert versions(empty_db)[-1] == "0011"   # nothing applied
    query(empty_db, "UPDATE sigsync.signals SET provenance = provenance - %s::text[]"
                    " WHERE trade_id = '20251212_110000000_BULLISH'", list(edited))
    run(empty_db, tree_up_to(tmp_path, "0012"))
    assert query(empty_db, "SELECT trade_id, field, tier, confidence, source, event_type, at, key, filled_at"
                           " FROM sigsync.signal_provenance ORDER BY 1, 2") == [
        ("20251212_100000000_BULLISH", "entry_price", "event", Decimal("1.0"), "event:7", "ENTRY", AT, "k", FILLED),
        ("20251212_100000000_BULLISH", "stop_loss", "event", Decimal("1.0"), "event:7", "ENTRY", AT, "k2", FILLED),
        ("20251212_110000000_BULLISH", "entry_price", "event", Decimal("1.0"), "event:7", "ENTRY", AT, "k", FILLED)]
    assert query(empty_db, "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'sigsync'"
                           " AND table_name = 'signals' AND column_name = 'provenance'") == [(0,)]
    # and back: the documents as the merge of 0011 wrote them (every key, the times in UTC)
    run(empty_db, tree_up_to(tmp_path, "0012"), action="rollback", yes=True)
    assert query(empty_db, "SELECT trade_id, provenance FROM sigsync.signals ORDER BY 1") == [
        ("20251212_100000000_BULLISH", {"entry_price": entry, "stop_loss": {**entry, "key": "k2"}}),
        ("20251212_110000000_BULLISH", {"entry_price": entry})]


def test_0013_dates_stored_rejections_refuses_bars_out_of_range_and_marks_wrong_side_stops(empty_db, tmp_path):
    """0013 dates each rejected row's storage (stored_at, which retention reads) by the latest
    receipt time of the rows stored up to it: a replay stored before the upgrade is not dated by
    its own old received_at. It stops, saying how many, at bars outside 2000..2099. And it marks
    the signals whose stop is on the wrong side of the entry: their EXIT_SL is priced anew."""
    run(empty_db, tree_up_to(tmp_path, "0012"))
    query(empty_db, """
        INSERT INTO sigsync.rejected_events (payload, payload_bytes, payload_sha256, error_code, message, received_at)
        VALUES ('x', 1, 'sha', 'invalid_json', 'm', '2026-01-02 03:04:05+00'),
               ('replayed', 1, 'sha', 'invalid_json', 'm', '2025-01-01 00:00:00+00')""")
    query(empty_db, "INSERT INTO sigsync.price_bars VALUES ('NQ1!', 'infinity', 1, 1, 1, 1), "
                    "('NQ1!', '-infinity', 1, 1, 1, 1), ('NQ1!', '2100-01-01 00:00+00', 1, 1, 1, 1), "
                    "('NQ1!', '2026-01-02 03:00+00', 1, 1, 1, 1)")
    query(empty_db, "INSERT INTO sigsync.signals (symbol, trade_id, direction, entry_price, stop_loss, dirty) VALUES "
                    "('NQ1!', '20251212_100000000_BULLISH', 'Bullish', 100, 105, false), "
                    "('NQ1!', '20251212_110000000_BULLISH', 'Bullish', 100, 95, false), "
                    "('NQ1!', '20251212_120000000_BEARISH', 'Bearish', 100, 95, false)")
    with pytest.raises(MigrationError, match=r"price_bars holds 3 bars whose ts is not in the years 2000\.\.2099"):
        run(empty_db, tree_up_to(tmp_path, "0013"))
    assert versions(empty_db)[-1] == "0012"   # nothing applied
    query(empty_db, "DELETE FROM sigsync.price_bars WHERE ts > '2099-01-01' OR ts < '2000-01-01'")
    run(empty_db, tree_up_to(tmp_path, "0013"))
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert query(empty_db, "SELECT payload, received_at, stored_at FROM sigsync.rejected_events ORDER BY id") == [
        ("x", when, when), ("replayed", datetime(2025, 1, 1, tzinfo=timezone.utc), when)]
    assert query(empty_db, "SELECT count(*) FROM sigsync.price_bars") == [(1,)]
    assert query(empty_db, "SELECT trade_id, dirty FROM sigsync.signals ORDER BY 1") == [
        ("20251212_100000000_BULLISH", True), ("20251212_110000000_BULLISH", False),
        ("20251212_120000000_BEARISH", True)]


def test_0009_rollback_waits_for_the_queue_of_mfe_updates(empty_db):
    """Rolling back 0009 would drop updates ingest stored but no cycle projected yet: refused."""
    run(empty_db)
    query(empty_db, """SELECT sigsync.ingest('{"event_type": "MFE_UPDATE", "trade_id": "20251212_104200000_BULLISH",
                                             "be_mfe": 0.5, "timestamp": 1765554300000}')""")
    assert query(empty_db, "SELECT count(*) FROM sigsync.signals WHERE queued_events IS NOT NULL") == [(1,)]
    latest = versions(empty_db)
    with pytest.raises(MigrationError, match="run a reconcile cycle before rolling back 0009"):
        run(empty_db, action="rollback", to="0008", yes=True)
    assert versions(empty_db) == latest   # (one transaction: nothing was undone)
    assert query(empty_db, "SELECT sigsync.reconcile() ->> 'status'") == [("ok",)]
    undone, _ = run(empty_db, action="rollback", to="0008", yes=True)
    assert "schema/0009_queued_events.sql" in undone and versions(empty_db)[-1] == "0008"


def test_second_migrate_is_a_no_op(empty_db):
    run(empty_db)
    before = query(empty_db, "SELECT name, checksum, applied_at FROM sigsync.sigsync_migrations ORDER BY 1")
    applied, lines = run(empty_db)
    assert applied == []
    assert lines == [f"up to date (version {SqlTree(sql_dir()).versioned[-1].version}), nothing to apply"]
    assert query(empty_db, "SELECT name, checksum, applied_at FROM sigsync.sigsync_migrations ORDER BY 1") == before


def test_changed_applied_schema_file_is_refused(empty_db, tmp_path):
    root = tmp_path / "sql"
    shutil.copytree(sql_dir(), root)
    run(empty_db, root)
    with (root / "schema" / "0001_core.sql").open("a") as f:
        f.write("\n-- edited after it was applied\n")
    write(root, {"functions/zz_new.sql": "CREATE FUNCTION sigsync.zz_new() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n"})

    with pytest.raises(MigrationError) as error:
        run(empty_db, root)
    assert "schema/0001_core.sql: applied, but its file changed since" in str(error.value)
    assert "nothing was applied" in str(error.value)
    assert query(empty_db, "SELECT to_regprocedure('sigsync.zz_new()')") == [(None,)]

    status, _ = run(empty_db, root, action="status")
    assert status.mismatched == ["schema/0001_core.sql"] and status.new == ["functions/zz_new.sql"]


# -- mechanics, on a small tree ---------------------------------------------------------------


def test_migrate_applies_in_order_and_records_everything(empty_db, toy):
    applied, lines = run(empty_db, toy)
    assert applied == [
        "schema/0001_base.sql", "schema/0002_extra.sql", "functions/a_caller.sql", "functions/b_answer.sql",
        "views/z_base.sql", "views/a_summary.sql",
    ]  # fmt: skip
    assert lines[-1] == "migrated to version 0002"
    assert query(empty_db, "SELECT sigsync.a_caller()") == [(42,)]
    assert query(empty_db, "SELECT n FROM sigsync.a_summary") == [(0,)]
    rows = query(empty_db, "SELECT name, version, kind FROM sigsync.sigsync_migrations ORDER BY name")
    assert rows == [
        ("functions/a_caller.sql", None, "function"), ("functions/b_answer.sql", None, "function"),
        ("schema/0001_base.sql", "0001", "versioned"), ("schema/0002_extra.sql", "0002", "versioned"),
        ("views/a_summary.sql", None, "view"), ("views/z_base.sql", None, "view"),
    ]  # fmt: skip
    assert query(empty_db, "SELECT obj_description('sigsync.sigsync_migrations'::regclass)")[0][0]


def test_changed_function_is_reapplied_without_touching_schema(empty_db, toy):
    run(empty_db, toy)
    write(toy, {"functions/b_answer.sql": "CREATE OR REPLACE FUNCTION sigsync.b_answer() RETURNS int LANGUAGE sql AS $$ SELECT 7 $$;\n"})
    applied, _ = run(empty_db, toy)
    assert "functions/b_answer.sql" in applied
    assert not any(n.startswith("schema/") or n == "functions/a_caller.sql" for n in applied)
    assert query(empty_db, "SELECT sigsync.a_caller()") == [(7,)]
    assert run(empty_db, toy)[0] == []


def test_changed_view_recreates_views(empty_db, toy):
    run(empty_db, toy)
    write(toy, {"views/z_base.sql": "CREATE VIEW sigsync.z_base AS SELECT id, name FROM sigsync.items WHERE id > 10;\n"})
    query(empty_db, "INSERT INTO sigsync.items (id) VALUES (1), (11)")
    applied, _ = run(empty_db, toy)
    assert applied == ["views/z_base.sql", "views/a_summary.sql"]
    assert query(empty_db, "SELECT n FROM sigsync.a_summary") == [(1,)]


def test_view_that_cannot_be_created_raises_the_real_error(empty_db, toy):
    write(toy, {"views/m_broken.sql": "CREATE VIEW sigsync.m_broken AS SELECT nope FROM sigsync.items;\n"})
    with pytest.raises(MigrationError, match=r'views/m_broken.sql: column "nope" does not exist \(line 1\)'):
        run(empty_db, toy)
    assert query(empty_db, "SELECT to_regclass('sigsync.items')") == [(None,)]  # nothing applied


def test_failing_file_applies_nothing(empty_db, toy):
    run(empty_db, toy)
    write(toy, {
        "schema/0003_more.sql": "CREATE TABLE sigsync.more (id int);\n",
        "rollback/0003_more.sql": "DROP TABLE sigsync.more;\n",
        "functions/c_broken.sql": "CREATE OR REPLACE FUNCTION sigsync.c_broken() RETURNS int\n  LANGUAGE sql AS $$ SELECT 1 $$ garbage;\n",
    })  # fmt: skip
    with pytest.raises(MigrationError, match=r"functions/c_broken.sql: syntax error .*\(line 2\)"):
        run(empty_db, toy)
    assert query(empty_db, "SELECT to_regclass('sigsync.more')") == [(None,)]
    assert versions(empty_db) == ["0001", "0002"]


def test_versioned_file_without_rollback_is_refused(empty_db, toy):
    (toy / "rollback" / "0002_extra.sql").unlink()
    with pytest.raises(MigrationError, match=r"schema/0002_extra.sql: no inverse rollback/0002_extra.sql"):
        run(empty_db, toy)


def test_concurrent_migrations_apply_once(empty_db, toy):
    results, errors = [], []

    def migrate():
        try:
            results.append(run(empty_db, toy)[0])
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(len(r) for r in results) == [0, 0, 6]


def test_rollback_undoes_the_latest_version_only(empty_db, toy):
    run(empty_db, toy)
    undone, lines = run(empty_db, toy, action="rollback")
    assert undone == ["schema/0002_extra.sql"] and lines[-1] == "now at version 0001"
    assert versions(empty_db) == ["0001"]
    assert query(empty_db, "SELECT to_regclass('sigsync.extra')") == [(None,)]
    # repeatables are back, and 0001's trigger function survived the function sweep
    assert query(empty_db, "SELECT sigsync.a_caller()") == [(42,)]
    query(empty_db, "INSERT INTO sigsync.items (id) VALUES (1)")
    assert query(empty_db, "SELECT touched FROM sigsync.items") == [(True,)]
    assert query(empty_db, "SELECT n FROM sigsync.a_summary") == [(1,)]
    # and migrate brings 0002 back
    assert "schema/0002_extra.sql" in run(empty_db, toy)[0]


def test_rollback_refuses_to_drop_tables_holding_rows(empty_db, toy):
    run(empty_db, toy)
    query(empty_db, "INSERT INTO sigsync.items (id) VALUES (1), (2)")
    with pytest.raises(MigrationError) as error:
        run(empty_db, toy, action="rollback", to="0")
    assert "sigsync.items: 2 rows" in str(error.value) and "--yes" in str(error.value)
    assert "sigsync.extra" not in str(error.value)  # empty tables are fine
    assert versions(empty_db) == ["0001", "0002"]
    assert query(empty_db, "SELECT sigsync.a_caller()") == [(42,)]

    run(empty_db, toy, action="rollback", to="0", yes=True)
    assert query(empty_db, OBJECTS_SQL)[0] == (0, 0, 0, 0)


def test_rollback_to_zero_refuses_to_leave_objects_behind(empty_db, toy):
    write(toy, {"rollback/0002_extra.sql": "-- forgets to drop sigsync.extra\n"})
    run(empty_db, toy)
    with pytest.raises(MigrationError, match=r"(?s)left objects in schema sigsync.*table sigsync.extra"):
        run(empty_db, toy, action="rollback", to="0")
    assert versions(empty_db) == ["0001", "0002"]
    assert query(empty_db, "SELECT sigsync.a_caller()") == [(42,)]  # all of it was undone


def test_rollback_target_must_be_an_applied_version(empty_db, toy):
    (toy / "schema" / "0002_extra.sql").rename(toy / "schema" / "0003_extra.sql")
    (toy / "rollback" / "0002_extra.sql").rename(toy / "rollback" / "0003_extra.sql")
    run(empty_db, toy)
    with pytest.raises(MigrationError, match="version 0002 is not applied; applied: 0001, 0003"):
        run(empty_db, toy, action="rollback", to="2")
    with pytest.raises(MigrationError, match="--to takes a version number"):
        run(empty_db, toy, action="rollback", to="latest")
    assert run(empty_db, toy, action="rollback", to="3") == ([], ["nothing to roll back (at version 0003)"])
    assert versions(empty_db) == ["0001", "0003"]


def test_status_lists_pending_changed_and_new(empty_db, toy):
    status, _ = run(empty_db, toy, action="status")
    assert status.version == "0" and [f.name for f in status.pending] == ["schema/0001_base.sql", "schema/0002_extra.sql"]
    run(empty_db, toy)
    write(toy, {"functions/b_answer.sql": "-- changed\n" + TOY["functions/b_answer.sql"],
                "views/n_new.sql": "CREATE VIEW sigsync.n_new AS SELECT 1 AS one;\n"})  # fmt: skip
    (toy / "functions" / "a_caller.sql").unlink()
    status, _ = run(empty_db, toy, action="status")
    assert status.version == "0002" and status.pending == []
    assert status.changed == ["functions/b_answer.sql"]
    assert status.new == ["views/n_new.sql"]
    assert status.removed == ["functions/a_caller.sql"]
    assert status.mismatched == []


def test_dropped_tables_parser():
    text = """
        DROP TABLE IF EXISTS sigsync.a;  -- DROP TABLE sigsync.commented_out
        /* DROP TABLE sigsync.also_commented */
        drop table sigsync."Mixed Case", other.b,
            unqualified;
        DROP TABLESPACE nope;
    """
    assert dropped_tables(text) == [
        ("sigsync", "a"), ("sigsync", "Mixed Case"), ("other", "b"), ("sigsync", "unqualified"),
    ]  # fmt: skip


# -- a real install ------------------------------------------------------------------------------


@pytest.mark.slow
def test_wheel_install_can_migrate(tmp_path, empty_db):
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", str(REPO), "--no-deps", "-w", str(tmp_path / "dist")], check=True)
    (wheel,) = (tmp_path / "dist").glob("sigsync-*.whl")
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)

    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("SIGSYNC_SQL_DIR", None)
    where = subprocess.run(
        [sys.executable, "-c", "import sigsync, sigsync.paths; print(sigsync.__file__); print(sigsync.paths.sql_dir())"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert all(p.startswith(str(site)) for p in where), where

    done = subprocess.run([sys.executable, "-m", "sigsync", "--dsn", empty_db, "migrate"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "applied schema/0001_core.sql" in done.stdout
    assert query(empty_db, "SELECT count(*) FROM sigsync.sigsync_migrations WHERE kind = 'versioned'")[0][0] >= 1
