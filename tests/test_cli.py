"""The `sigsync` command line, as real processes against real PostgreSQL.

Tests that need an embedded cluster of their own get a fresh data dir under /tmp
(`data_dir`), whose server is stopped and whose files are removed afterwards.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import signal
import subprocess
import time

import click
import psycopg
import pytest

from sigsync.cli import cli
from sigsync.cluster import Cluster
from sigsync.paths import sql_dir
from support import cli_env, private_data_dir, sigsync, sigsync_cmd

TRADE = "20251212_104200000_BULLISH"
ENTRY = {"event_type": "ENTRY", "trade_id": TRADE, "entry_price": 25680, "stop_loss": 25645, "timestamp": 1765554300000}
MFE = {"event_type": "MFE_UPDATE", "trade_id": TRADE, "be_mfe": 0.4, "no_be_mfe": 0.4, "timestamp": 1765554360000}
MALFORMED = '{"event_type": "ENTRY", "trade_id": '


@pytest.fixture
def data_dir():
    with private_data_dir("sigsync-cli-") as path:
        yield path


def assert_clean_error(result: subprocess.CompletedProcess, text: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert text in result.stderr, result.stderr


def wait_for(predicate, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# -- the embedded cluster ---------------------------------------------------------------------


def test_db_start_status_url_stop(data_dir):
    cluster = Cluster(data_dir)
    status = sigsync("--data-dir", data_dir, "db", "status")
    assert status.returncode == 3 and status.stdout.startswith("not initialised")

    first = sigsync("--data-dir", data_dir, "db", "start")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("started: postgresql://")
    pid = cluster.postmaster_pid()

    second = sigsync("--data-dir", data_dir, "db", "start")
    assert second.returncode == 0 and second.stdout.startswith("already running")
    assert cluster.postmaster_pid() == pid

    status = sigsync("--data-dir", data_dir, "db", "status")
    assert status.returncode == 0 and status.stdout.startswith(f"running (pid {pid})")

    url = sigsync("--data-dir", data_dir, "db", "url").stdout.strip()
    assert url == cluster.url() and f"host={data_dir}/run" in url
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == "sigsync"
        settings = dict(conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN"
            " ('listen_addresses', 'shared_preload_libraries', 'cron.host', 'cron.database_name', 'fsync')"
        ).fetchall())  # fmt: skip
    assert settings == {"listen_addresses": "", "shared_preload_libraries": "pg_cron", "cron.host": f"{data_dir}/run",
                        "cron.database_name": "sigsync", "fsync": "on"}  # fmt: skip
    assert oct((data_dir / "run").stat().st_mode & 0o777) == "0o700"

    stop = sigsync("--data-dir", data_dir, "db", "stop")
    assert stop.returncode == 0 and stop.stdout.strip() == "stopped"
    assert cluster.processes() == []
    assert sigsync("--data-dir", data_dir, "db", "status").returncode == 3
    assert sigsync("--data-dir", data_dir, "db", "stop").stdout.strip() == "not running"


def test_start_after_a_crash_clears_the_stale_pid_file(data_dir):
    cluster = Cluster(data_dir)
    assert sigsync("--data-dir", data_dir, "db", "start").returncode == 0
    crashed = cluster.postmaster_pid()
    os.kill(crashed, signal.SIGKILL)
    wait_for(lambda: not cluster.is_running(), what="the postmaster to die")
    assert cluster.pid_file.exists()

    again = sigsync("--data-dir", data_dir, "db", "start")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("started") and "stale" in again.stderr
    assert cluster.is_running() and cluster.postmaster_pid() != crashed
    with psycopg.connect(cluster.url()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_command_without_dsn_starts_and_stops_the_cluster(data_dir):
    cluster = Cluster(data_dir)
    result = sigsync("--data-dir", data_dir, "status")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("version 0")
    assert not cluster.pid_file.exists() and cluster.processes() == []


def test_command_leaves_a_cluster_started_by_db_start_running(data_dir):
    cluster = Cluster(data_dir)
    sigsync("--data-dir", data_dir, "db", "start")
    pid = cluster.postmaster_pid()
    assert sigsync("--data-dir", data_dir, "migrate").returncode == 0
    assert cluster.is_running() and cluster.postmaster_pid() == pid


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_signal_to_a_command_stops_the_cluster_it_started(data_dir, signum):
    cluster = Cluster(data_dir)
    # `ingest -` waits on its open stdin after connecting: a command caught mid-run
    proc = subprocess.Popen(sigsync_cmd("--data-dir", data_dir, "ingest", "-"), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd="/tmp")  # fmt: skip
    try:

        def connected():
            if not cluster.is_running():
                return False
            try:
                with psycopg.connect(cluster.url(), connect_timeout=2) as conn:
                    return conn.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                        " AND datname = 'sigsync' AND pid <> pg_backend_pid()"
                    ).fetchone()[0]
            except psycopg.OperationalError:
                return False

        wait_for(connected, what="the command to connect")
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, stderr
    assert f"stopped by {signal.Signals(signum).name}" in stderr and "Traceback" not in stderr
    assert cluster.processes() == [] and not cluster.pid_file.exists()


# -- migrations -------------------------------------------------------------------------------


def test_migrate_status_rollback(empty_db):
    migrated = sigsync("--dsn", empty_db, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "applied schema/0001_core.sql" in migrated.stdout

    again = sigsync("--dsn", empty_db, "migrate")
    assert again.returncode == 0 and "up to date" in again.stdout and "applied" not in again.stdout

    status = sigsync("--dsn", empty_db, "status")
    assert status.returncode == 0
    assert "applied  schema/0001_core.sql" in status.stdout and status.stdout.rstrip().endswith("up to date")

    # the seeded settings rows make a full rollback a data-dropping one
    refused = sigsync("--dsn", empty_db, "rollback", "--to", "0")
    assert_clean_error(refused, "refusing to roll back")
    assert "sigsync.settings" in refused.stderr

    rolled = sigsync("--dsn", empty_db, "rollback", "--to", "0", "--yes")
    assert rolled.returncode == 0, rolled.stderr
    assert "rolled back schema/0001_core.sql" in rolled.stdout
    status = sigsync("--dsn", empty_db, "status")
    assert status.stdout.startswith("version 0") and "pending  schema/0001_core.sql" in status.stdout


def test_edited_schema_file_is_a_clean_error(empty_db, tmp_path):
    root = tmp_path / "sql"
    shutil.copytree(sql_dir(), root)
    assert sigsync("--dsn", empty_db, "--sql-dir", root, "migrate").returncode == 0
    with (root / "schema" / "0001_core.sql").open("a") as f:
        f.write("\n-- edited\n")
    result = sigsync("--dsn", empty_db, "--sql-dir", root, "migrate")
    assert_clean_error(result, "schema/0001_core.sql: applied, but its file changed since")
    status = sigsync("--dsn", empty_db, "--sql-dir", root, "status")
    assert status.returncode == 0 and "checksum mismatch: schema/0001_core.sql" in status.stdout


def test_unreachable_database_is_a_clean_error(tmp_path):
    result = sigsync("--dsn", f"postgresql://nobody@/nowhere?host={tmp_path}", "migrate")
    assert_clean_error(result, "Error: cannot connect to the database:")
    assert len(result.stderr.strip().splitlines()) == 1


# -- ingest --------------------------------------------------------------------------------------


def test_ingest_json_lines(db, tmp_path):
    events = tmp_path / "events.jsonl"
    lines = [json.dumps(ENTRY), "", json.dumps(MFE), json.dumps(ENTRY), MALFORMED]
    events.write_text("\n".join(lines) + "\n")
    result = sigsync("--dsn", db, "ingest", events)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "accepted 2, duplicate 1, rejected 1, blank lines 1"
    assert "line 5: invalid_json:" in result.stdout
    assert "ingesting" not in result.stderr  # no progress bar when stderr is not a terminal
    with psycopg.connect(db) as conn:  # the malformed line reached the database as received
        assert conn.execute("SELECT payload FROM sigsync.rejected_events").fetchall() == [(MALFORMED,)]


def test_ingest_shows_progress_on_a_terminal(db, tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps({**MFE, "timestamp": MFE["timestamp"] + i}) for i in range(50)) + "\n")
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(sigsync_cmd("--dsn", db, "ingest", "--batch-size", "10", events), stdout=subprocess.PIPE,
                                stderr=terminal, text=True, env=cli_env(), cwd="/tmp", timeout=60)  # fmt: skip
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the terminal side is closed and drained
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    assert result.returncode == 0
    assert result.stdout == "accepted 50, duplicate 0, rejected 0\n"
    assert b"ingesting" in shown and b"100%" in shown


def test_ingest_json_array_from_stdin(db):
    body = json.dumps([ENTRY, {"event_type": "NOT_A_TYPE", "trade_id": TRADE}, MFE])
    result = sigsync("--dsn", db, "ingest", "-", input=body)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "accepted 2, duplicate 0, rejected 1"
    assert "item 2: unknown_event_type:" in result.stdout


def test_ingest_in_small_batches_keeps_line_numbers(db, tmp_path):
    events = tmp_path / "events.jsonl"
    mfe = [json.dumps({**MFE, "timestamp": MFE["timestamp"] + i * 60_000}) for i in range(4)]
    events.write_text("\n".join([json.dumps(ENTRY), *mfe, "not json", json.dumps(ENTRY)]) + "\n")
    result = sigsync("--dsn", db, "ingest", "--batch-size", "2", events)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["accepted 5, duplicate 1, rejected 1", "  line 6: invalid_json: "
                                          + result.stdout.splitlines()[1].split("invalid_json: ", 1)[1]]  # fmt: skip
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM sigsync.automated_signals").fetchone()[0] == 5


def test_ingest_missing_file_fails(db, tmp_path):
    result = sigsync("--dsn", db, "ingest", tmp_path / "nope.jsonl")
    assert_clean_error(result, "No such file or directory")


def test_ingest_before_migrate_is_a_clean_error(empty_db):
    result = sigsync("--dsn", empty_db, "ingest", "-", input=json.dumps(ENTRY))
    assert_clean_error(result, "run `sigsync migrate` first")


# -- demo, help -----------------------------------------------------------------------------------


def test_demo_on_a_fresh_embedded_cluster(data_dir):
    result = sigsync("--data-dir", data_dir, "demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    before, after = out.split("== After", 1)
    # before: no SIGNAL_CREATED / CANCELLED, bare ENTRY, two malformed payloads
    assert "rejected 2" in before and "invalid_json" in before and "malformed_trade_id" in before
    assert "cycle 1: ok" in before and "no_htf_alignment     | 23" in before
    # after: SIGNAL_CREATED fills the htf gaps (Tier 0), explicit cancellations appear
    assert "cycle 2: ok, 31 signals, fills tier 0: 23" in after
    comparison = after.split("== Before / after", 1)[1]
    assert "gap reduction: 92 -> 0 (100.0%)" in comparison
    assert "mean health: 86.0 -> 98.5" in comparison and "cancellations: 8 explicit" in comparison
    assert "rejected payloads (kept in sigsync.rejected_events): 2" in comparison
    assert 'psql "' in out and "sigsync_demo" in out
    # a second run starts from a fresh demo database and tells the same story
    again = sigsync("--data-dir", data_dir, "demo")
    assert again.returncode == 0 and "gap reduction: 92 -> 0 (100.0%)" in again.stdout
    assert Cluster(data_dir).processes() == []


def _commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


@pytest.mark.parametrize("path", [p for p, _ in _commands(cli)], ids=" ".join)
def test_every_command_has_help(path):
    result = sigsync(*path, "--help")
    assert result.returncode == 0
    usage, _, description = result.stdout.partition("\n\n")
    assert usage.startswith(f"Usage: sigsync {' '.join(path)}")
    assert len(description.split("\n\n")[0].strip()) > 20


def test_version():
    result = sigsync("--version")
    assert result.returncode == 0 and result.stdout.startswith("sigsync, version ")
