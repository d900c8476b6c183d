"""The vocabulary is declared once, as data (sql/schema/0008_vocabulary.sql): sigsync.error_codes,
sigsync.action_types, sigsync.sync_request_statuses. These tests hold the other places that name
the words to those tables: README's error-code table (same codes, same meanings) and the SQL that
writes or compares the words (nothing undeclared, nothing declared that nothing writes).
tests/sql/60_vocabulary.sql checks the same at run time (one body per code, the foreign keys).
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from sigsync.paths import sql_dir

README = Path(__file__).resolve().parents[1] / "README.md"
FUNCTIONS = sql_dir() / "functions"
VIEWS = sql_dir() / "views"

# a whole lower-case snake_case literal ('too_deep'), and the code of a 'code|message' literal
SNAKE = r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+"
LITERAL = re.compile(rf"'({SNAKE})'")
CODE_AND_MESSAGE = re.compile(rf"'({SNAKE})\|")
# names that are not values of a column: a PostgreSQL condition and a NOTIFY channel
NOT_A_VALUE = re.compile(rf"ERRCODE\s*=\s*'{SNAKE}'|pg_notify\('{SNAKE}'")
# the ingest functions: every file that stores rejections, builds an answer's error or validates
INGEST_MARKERS = ("_store_rejected(", "'code'", "_normalize_events(", "_num_error(")

# audit action types sigsync itself never writes (rows of them can only be made by hand): none
# since 0011; a value here must be declared, and no function may write it.
HAND_WRITTEN_ACTIONS: set[str] = set()


def sql_text(path: Path) -> str:
    """The file without its `--` comments (a `--` inside a string literal is kept)."""
    lines = []
    for line in path.read_text().splitlines():
        cut = next((m.start() for m in re.finditer("--", line) if line[: m.start()].count("'") % 2 == 0), None)
        lines.append(line if cut is None else line[:cut])
    return "\n".join(lines)


def query(dsn: str, text: str) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(text).fetchall()


# -- error codes -------------------------------------------------------------------------------


def readme_error_codes() -> dict[str, str]:
    """README's "### Error codes" table: code -> meaning, markdown removed (backticks, `\\|`)."""
    section = README.read_text().split("### Error codes", 1)[1]
    table = re.search(r"\| code \| meaning \|\n\|---\|---\|\n((?:\|.*\n)+)", section)
    assert table, "README: no | code | meaning | table under ### Error codes"
    rows = {}
    for line in table[1].splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        assert len(cells) == 2, line
        code = re.fullmatch(r"`([a-z_]+)`", cells[0])
        assert code, f"README: not a code cell: {cells[0]!r}"
        assert code[1] not in rows, f"README lists {code[1]} twice"
        rows[code[1]] = cells[1].replace("`", "").replace("\\|", "|")
    return rows


def test_readme_lists_exactly_the_declared_error_codes_with_their_meanings(module_db):
    declared = dict(query(module_db, "SELECT code, meaning FROM sigsync.error_codes"))
    listed = readme_error_codes()
    assert sorted(listed) == sorted(declared), "README's error-code table and sigsync.error_codes differ in codes"
    assert {c: m for c, m in listed.items() if declared[c] != m} == {}, "... or in meanings"
    assert len(declared) >= 25


def ingest_files() -> list[Path]:
    return sorted(p for p in FUNCTIONS.glob("*.sql") if any(m in sql_text(p) for m in INGEST_MARKERS))


def test_every_code_the_ingest_functions_write_is_declared_and_every_declared_one_is_written(module_db):
    files = ingest_files()
    assert {p.name for p in files} >= {"_normalize_events.sql", "_num_error.sql", "_ingest_set.sql",
                                       "_ingest_slice.sql", "ingest_many.sql", "_store_rejected.sql"}
    # names the functions quote that are not codes: settings, columns, function arguments and results
    names = {n for (n,) in query(module_db, """
        SELECT key FROM sigsync.settings
        UNION SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               WHERE c.relnamespace = 'sigsync'::regnamespace AND a.attnum > 0
        UNION SELECT unnest(p.proargnames) FROM pg_proc p WHERE p.pronamespace = 'sigsync'::regnamespace""")}
    declared = {c for (c,) in query(module_db, "SELECT code FROM sigsync.error_codes")}
    written: dict[str, set[str]] = {}
    for path in files:
        text = NOT_A_VALUE.sub("", sql_text(path))
        codes = set(CODE_AND_MESSAGE.findall(text)) | (set(LITERAL.findall(text)) - names)
        for code in codes:
            written.setdefault(code, set()).add(path.name)
    undeclared = {c: sorted(f) for c, f in written.items() if c not in declared}
    assert undeclared == {}, "codes the ingest functions write that sigsync.error_codes does not declare"
    assert sorted(declared - set(written)) == [], "declared error codes that no ingest function writes"


# -- audit action types and sync request statuses ----------------------------------------------------

COMPARED_ACTION = re.compile(rf"action_type\s*(?:=|<>|!=)\s*'({SNAKE}|[a-z]+)'")
COMPARED_ACTIONS = re.compile(r"action_type\s+(?:NOT\s+)?IN\s*\(([^)]*)\)", re.I)


def test_every_action_type_the_sql_compares_with_is_declared(module_db):
    declared = {a for (a,) in query(module_db, "SELECT action_type FROM sigsync.action_types")}
    compared: dict[str, set[str]] = {}
    for path in sorted([*FUNCTIONS.glob("*.sql"), *VIEWS.glob("*.sql")]):
        text = sql_text(path)
        found = set(COMPARED_ACTION.findall(text))
        for group in COMPARED_ACTIONS.findall(text):
            found |= set(re.findall(r"'([a-z_]+)'", group))
        for action in found:
            compared.setdefault(action, set()).add(path.name)
    assert {"fill", "upgrade", "refresh", "anomaly", "conflict"} <= set(compared)
    assert {a: sorted(f) for a, f in compared.items() if a not in declared} == {}


def test_every_declared_action_type_is_written_by_a_function_but_the_hand_written_ones(module_db):
    declared = {a for (a,) in query(module_db, "SELECT action_type FROM sigsync.action_types")}
    assert HAND_WRITTEN_ACTIONS <= declared
    quoted: set[str] = set()
    for path in FUNCTIONS.glob("*.sql"):
        text = COMPARED_ACTIONS.sub("", COMPARED_ACTION.sub("", sql_text(path)))   # writes, not comparisons
        quoted |= set(re.findall(r"'([a-z_]+)'", text))
    assert sorted(declared - HAND_WRITTEN_ACTIONS - quoted) == [], "declared action types no function writes"
    assert sorted(HAND_WRITTEN_ACTIONS & quoted) == [], "a function writes these now: drop them from HAND_WRITTEN_ACTIONS"


def test_the_sync_request_statuses_are_exactly_the_ones_the_cycle_writes(module_db):
    declared = {s for (s,) in query(module_db, "SELECT status FROM sigsync.sync_request_statuses")}
    ((default,),) = query(module_db, """
        SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
          JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
         WHERE d.adrelid = 'sigsync.sync_requests'::regclass AND a.attname = 'status'""")
    written = set(re.findall(r"'([a-z_]+)'", default))
    for path in FUNCTIONS.glob("*.sql"):
        written |= set(re.findall(r"UPDATE\s+sigsync\.sync_requests\b[^;]*?\bSET\s+status\s*=\s*'([a-z_]+)'",
                                  sql_text(path), flags=re.I))
    assert written == {"open", "answered", "timed_out"}
    assert declared == written


@pytest.mark.parametrize("table, stored_in", [
    ("error_codes", ("sigsync.rejected_events", "error_code")),
    ("action_types", ("sigsync.sync_audit_log", "action_type")),
    ("sync_request_statuses", ("sigsync.sync_requests", "status")),
])
def test_each_vocabulary_is_referenced_by_the_column_that_stores_it(module_db, table, stored_in):
    referencing = query(module_db, f"""
        SELECT c.conrelid::regclass::text, a.attname
          FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
         WHERE c.contype = 'f' AND c.confrelid = 'sigsync.{table}'::regclass""")
    assert referencing == [stored_in]
    # ... and no CHECK on that column repeats the list
    checks = query(module_db, f"""
        SELECT c.conname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
         WHERE c.contype = 'c' AND c.conrelid = '{stored_in[0]}'::regclass AND a.attname = '{stored_in[1]}'""")
    assert checks == []
