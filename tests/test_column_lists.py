"""Catalog check: every column of the registry and of the event log is handled where it must be.

The registry's writable columns are spelled in three places of `_merge_candidates` (the current
value of a named field, the UPDATE's column list and the record it is read from: all three
written from the catalog when the function file is applied), the event
columns in `_ingest_set`'s INSERT and `_project_events`, and the registry columns again in the
view `all_signals`. A column added to `sigsync.signals` or `sigsync.automated_signals` and
forgotten in one of them fails here, with the place it is missing from. The columns that are
deliberately not handled are declared below, once, each with its reason.
"""

import re
import shutil

import psycopg

from sigsync.migrate import Migrator, SqlTree
from sigsync.paths import sql_dir

# sigsync.signals --------------------------------------------------------------------------------
KEYS = {"symbol", "trade_id"}
# bookkeeping of the cycle and of the merge itself: never a candidate, never shown
SIGNAL_BOOKKEEPING = {"dirty", "dirty_gen", "created_at", "updated_at", "next_check_at", "set_aside_at",
                      "queued_events"}
# the registry columns all_signals does not show: the event-only running metrics and has_entry
# (status says it), as its header says
NOT_IN_ALL_SIGNALS = {"has_entry", "evt_be_mfe", "evt_be_mfe_at", "evt_no_be_mfe", "evt_no_be_mfe_at",
                      "evt_mae_global_r", "evt_mae_global_r_at"}

# sigsync.automated_signals ----------------------------------------------------------------------
# columns the log keeps for itself, which the projection does not read
EVENT_NOT_PROJECTED = {
    "id": "the event's key (read as event:<id> in provenance, through the row)",
    "timestamp_from_received": "whether the time is the receipt's (the time itself is projected)",
    "batch_checksum": "the MFE_UPDATE_BATCH an item came from",
    "batch_item": "its position in that batch",
    "payload": "the body as received",
    "received_at": "when it arrived (retention, events_per_minute)",
}


def _columns(conn, relation: str) -> list[tuple[str, bool]]:
    return conn.execute(
        "SELECT attname, attgenerated <> '' FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (relation,),
    ).fetchall()


def _source(conn, function: str) -> str:
    return conn.execute("SELECT prosrc FROM pg_proc WHERE oid = %s::regproc", (function,)).fetchone()[0]


def _merge_lists(source: str) -> dict[str, set[str]]:
    """The three spellings of the writable columns in _merge_candidates."""
    case = set(re.findall(r"WHEN '(\w+)' THEN to_jsonb\(\(t\.r\)\.(\w+)\)", source))
    assert case and all(a == b for a, b in case), "the CASE names each field as the column it converts"
    update = re.search(r"UPDATE sigsync\.signals s\s+SET \(([^)]*)\)\s*=\s*\(SELECT (.*?)\s+FROM jsonb_populate_record",
                       source, re.S)
    assert update, "the merge's UPDATE ... SET (columns) = (SELECT r.columns FROM jsonb_populate_record ...)"
    set_list = [c.strip() for c in update.group(1).split(",")]
    select_list = [c.strip().removeprefix("r.") for c in update.group(2).split(",")]
    assert set_list == select_list, "the UPDATE's column list and the record's list are the same, in the same order"
    return {"CASE of the current value": {a for a, _ in case}, "UPDATE SET list": set(set_list),
            "SELECT r.* list": set(select_list)}


def test_every_registry_column_is_merged_and_shown(db):
    with psycopg.connect(db) as conn:
        columns = _columns(conn, "sigsync.signals")
        merge = _merge_lists(_source(conn, "sigsync._merge_candidates"))
        shown = {name for name, _ in _columns(conn, "sigsync.all_signals")}
    generated = {name for name, gen in columns if gen}
    writable = {name for name, _ in columns} - KEYS - SIGNAL_BOOKKEEPING - generated
    assert writable, "the check must look at columns"
    for place, names in merge.items():
        assert names == writable, f"_merge_candidates, {place}: missing {sorted(writable - names)}, " \
                                  f"unknown {sorted(names - writable)}"
    expected_shown = ({name for name, _ in columns} - SIGNAL_BOOKKEEPING) - NOT_IN_ALL_SIGNALS
    assert expected_shown - shown == set(), f"all_signals does not show {sorted(expected_shown - shown)}"
    assert (NOT_IN_ALL_SIGNALS | SIGNAL_BOOKKEEPING) & shown == set(), "an internal column is exposed by all_signals"


def test_every_event_column_is_stored_and_projected(db):
    with psycopg.connect(db) as conn:
        columns = {name for name, _ in _columns(conn, "sigsync.automated_signals")}
        ingest = _source(conn, "sigsync._ingest_set")
        projection = _source(conn, "sigsync._project_events")
    insert = re.search(r"INSERT INTO sigsync\.automated_signals AS a\s*\(([^)]*)\)", ingest)
    assert insert, "_ingest_set inserts the events with a column list"
    inserted = {c.strip().strip('"') for c in insert.group(1).split(",")}
    assert columns - {"id"} == inserted, f"_ingest_set does not store {sorted(columns - {'id'} - inserted)}"
    read = {c.strip('"') for c in re.findall(r"\be\.(\"?\w+\"?)", projection)}
    projected = columns - set(EVENT_NOT_PROJECTED)
    assert projected - read == set(), f"_project_events does not read {sorted(projected - read)}"
    assert set(EVENT_NOT_PROJECTED) <= columns, "a declared column no longer exists"


def test_the_check_finds_a_forgotten_column(db):
    """Guard: a new registry column nobody merges fails the check."""
    with psycopg.connect(db) as conn:
        conn.execute("ALTER TABLE sigsync.signals ADD COLUMN forgotten_field text")
        columns = _columns(conn, "sigsync.signals")
        merge = _merge_lists(_source(conn, "sigsync._merge_candidates"))
        conn.rollback()
    writable = {name for name, gen in columns if not gen} - KEYS - SIGNAL_BOOKKEEPING
    assert "forgotten_field" in writable - merge["UPDATE SET list"]


def test_a_column_a_schema_version_adds_is_merged(empty_db, tmp_path):
    """The merge is written from the catalog: after a schema version that adds a registry column,
    the migration re-applies it, and a candidate naming the new column is written, with provenance."""
    root = tmp_path / "sql"
    shutil.copytree(sql_dir(), root)
    (root / "schema" / "9999_extra.sql").write_text("ALTER TABLE sigsync.signals ADD COLUMN extra_note text;\n")
    (root / "rollback" / "9999_extra.sql").write_text("ALTER TABLE sigsync.signals DROP COLUMN extra_note;\n")
    with psycopg.connect(empty_db, autocommit=True) as conn:
        Migrator(conn, SqlTree(sql_dir()), echo=lambda _line: None).migrate()
        assert "extra_note" not in _source(conn, "sigsync._merge_candidates")
        Migrator(conn, SqlTree(root), echo=lambda _line: None).migrate()
        merge = _merge_lists(_source(conn, "sigsync._merge_candidates"))
        assert all("extra_note" in names for names in merge.values()), merge
        conn.execute("INSERT INTO sigsync.signals (symbol, trade_id) VALUES ('NQ1!', '20251212_104200000_BULLISH')")
        written = conn.execute(
            "SELECT sigsync._merge_candidates(ARRAY[ROW('NQ1!', '20251212_104200000_BULLISH', 'extra_note',"
            " '\"noted\"'::jsonb, 'static', '3', NULL, now(), 'k', 'rule:test', NULL, NULL)::sigsync._candidate],"
            " NULL, false, true)").fetchone()[0]
        assert written == 1
        assert conn.execute("SELECT s.extra_note, p.tier, p.source FROM sigsync.signals s"
                            " JOIN sigsync.signal_provenance p USING (symbol, trade_id)"
                            " WHERE p.field = 'extra_note'").fetchall() == [("noted", "3", "rule:test")]
