"""`sigsync run` as a real process against real PostgreSQL: reacts to events within 1 s,
stops cleanly on signals (cancelling a cycle in flight), never overlaps another runner,
and survives its database going away.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from datetime import timedelta

import psycopg
import pytest
from psycopg.rows import namedtuple_row

from sigsync.cluster import Cluster
from support import child, cli_env, make_tmp_dir, migrated_private_cluster, queued_backlog, sigsync, sigsync_cmd

TRADE = "20251212_104200000_BULLISH"
ENTRY = {"event_type": "ENTRY", "trade_id": TRADE, "entry_price": 25680, "stop_loss": 25645, "timestamp": 1765554300000}


def running(*args: str):
    """A `sigsync ... run` child for the block (see support.Child)."""
    return child(*args)


def is_cycle_line(line: str) -> bool:
    return line.startswith("cycle ") or line.startswith('{"ts"')


def ingest_entry(dsn: str, event: dict = ENTRY):
    """Ingest one event (committed on return); returns the database time just after the commit."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        status = conn.execute("SELECT sigsync.ingest(%s::text) ->> 'status'", (json.dumps(event),)).fetchone()[0]
        assert status == "accepted"
        return conn.execute("SELECT clock_timestamp()").fetchone()[0]


def wait_reconciled(dsn: str, after, trade_id: str = TRADE, timeout: float = 5):
    """The first ok 'runner' cycle that started after `after`, once the trade has its health row."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True, row_factory=namedtuple_row) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT r.id, r.started_at, r.finished_at FROM sigsync.sync_runs r"
                " WHERE r.trigger = 'runner' AND r.status = 'ok' AND r.started_at > %s"
                "   AND EXISTS (SELECT 1 FROM sigsync.signal_health_metrics m WHERE m.trade_id = %s)"
                " ORDER BY r.id LIMIT 1", (after, trade_id)).fetchone()  # fmt: skip
            if row:
                return row
            time.sleep(0.02)
    raise AssertionError(f"{trade_id} not reconciled by the runner within {timeout}s")


# -- reacting to events, stopping ----------------------------------------------------------------


def test_an_ingested_event_is_reconciled_within_a_second(db):
    with running("--dsn", db, "run", "--interval", "60", "--log-format", "json") as loop:
        first = json.loads(loop.wait_line("stdout", is_cycle_line))  # the catch-up cycle at start
        assert first["status"] == "ok" and first["trigger"] == "runner" and first["ts"]

        committed = ingest_entry(db)
        run = wait_reconciled(db, committed)
        assert run.finished_at - committed < timedelta(seconds=1), (committed, run)

        line = loop.wait_line("stdout", lambda l: json.loads(l)["run_id"] == run.id)
        summary = json.loads(line)
        assert summary["signals_processed"] >= 1 and summary["trigger"] == "runner"
        assert len(loop.stdout) == 2  # nothing else ran: the 60 s timer is far away

        returncode, took = loop.stop(signal.SIGTERM)
    assert returncode == 0 and took < 2, (returncode, took, loop.lines)
    assert "stopped" in loop.stderr[-1] and "Traceback" not in "\n".join(loop.stderr)


def test_a_burst_of_events_is_one_cycle(db):
    with running("--dsn", db, "run", "--interval", "60", "--debounce", "0.5") as loop:
        loop.wait_line("stdout", is_cycle_line)
        with psycopg.connect(db, autocommit=True) as conn:
            for i in range(5):  # five transactions, five notifications, within the debounce window
                event = {**ENTRY, "timestamp": ENTRY["timestamp"] + i}
                conn.execute("SELECT sigsync.ingest(%s::text)", (json.dumps(event),))
        loop.wait_line("stdout", lambda l: ": ok, 1 signals" in l)
        time.sleep(0.8)
        assert len(loop.stdout) == 2, loop.stdout
        returncode, _ = loop.stop(signal.SIGINT)
    assert returncode == 0


def test_sigterm_cancels_a_cycle_in_flight(db):
    with running("--dsn", db, "run", "--interval", "60") as loop:
        loop.wait_line("stdout", is_cycle_line)
        with psycopg.connect(db) as locker, psycopg.connect(db, autocommit=True) as other:
            # the next cycle blocks on its first write to sync_runs, with the cycle lock held
            locker.execute("LOCK TABLE sigsync.sync_runs IN ACCESS EXCLUSIVE MODE")
            other.execute("NOTIFY sigsync_event")
            deadline = time.monotonic() + 10
            while not other.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'sigsync run' AND wait_event_type = 'Lock'").fetchone()[0]:  # fmt: skip
                assert time.monotonic() < deadline, "the cycle never blocked"
                time.sleep(0.02)
            returncode, took = loop.stop(signal.SIGTERM)
            locker.rollback()
            assert returncode == 0 and took < 2, (returncode, took, loop.lines)
            assert "cancelled" in loop.stderr[-1], loop.stderr
            # rolled back: no run left 'running', and the single-flight lock is free
            assert other.execute("SELECT count(*) FROM sigsync.sync_runs WHERE status <> 'ok'").fetchone()[0] == 0
            assert other.execute("SELECT sigsync.reconcile() ->> 'status'").fetchone()[0] == "ok"
    assert len(loop.stdout) == 1 and "Traceback" not in "\n".join(loop.stderr)


# -- --once, --max-cycles -----------------------------------------------------------------------


def test_once_and_max_cycles(db):
    once = sigsync("--dsn", db, "run", "--once")
    assert once.returncode == 0, once.stderr
    assert len(once.stdout.splitlines()) == 1 and once.stdout.startswith("cycle ") and ": ok, " in once.stdout

    started = time.monotonic()
    many = sigsync("--dsn", db, "run", "--interval", "0.1", "--max-cycles", "3", "--log-format", "json")
    assert many.returncode == 0, many.stderr
    assert time.monotonic() - started < 10
    summaries = [json.loads(line) for line in many.stdout.splitlines()]
    assert [s["status"] for s in summaries] == ["ok"] * 3
    assert json.loads(many.stderr.splitlines()[-1])["message"] == "stopped"  # notes are JSON lines too
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM sigsync.sync_runs WHERE trigger = 'runner'").fetchone()[0] == 4


def test_once_on_an_unmigrated_database_is_a_clean_error(empty_db):
    result = sigsync("--dsn", empty_db, "run", "--once")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "run `sigsync migrate` first" in result.stderr


def test_two_runners_never_overlap(db):
    args = ("--dsn", db, "run", "--interval", "0.02", "--debounce", "0", "--max-cycles", "25", "--log-format", "json")
    procs = [subprocess.Popen(sigsync_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=cli_env(), cwd="/tmp") for _ in range(2)]  # fmt: skip
    try:
        with psycopg.connect(db, autocommit=True) as conn:  # give the cycles work while they run
            for i in range(40):
                event = {**ENTRY, "trade_id": f"20251212_1042{i:02d}000_BULLISH", "timestamp": ENTRY["timestamp"] + i}
                conn.execute("SELECT sigsync.ingest(%s::text)", (json.dumps(event),))
                time.sleep(0.01)
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], outputs
    logged = [json.loads(line)["status"] for out, _ in outputs for line in out.splitlines()]
    assert len(logged) == 50 and set(logged) <= {"ok", "skipped"}
    with psycopg.connect(db, row_factory=namedtuple_row) as conn:
        runs = conn.execute("SELECT id, started_at, finished_at FROM sigsync.sync_runs"
                            " WHERE trigger = 'runner' AND status = 'ok' ORDER BY started_at").fetchall()  # fmt: skip
        assert conn.execute("SELECT count(*) FROM sigsync.sync_runs WHERE trigger = 'runner'").fetchone()[0] == 50
    assert len(runs) == logged.count("ok")
    for earlier, later in zip(runs, runs[1:]):
        assert later.started_at >= earlier.finished_at, (earlier, later)


# -- the database goes away --------------------------------------------------------------------


@pytest.fixture
def private_cluster():
    """A migrated embedded cluster of this test's own, which it may stop and start."""
    with migrated_private_cluster("sigsync-loop-") as cluster:
        yield cluster


def test_the_loop_survives_a_database_restart(private_cluster):
    url = private_cluster.url()
    with running("--dsn", url, "run", "--interval", "60") as loop:
        loop.wait_line("stdout", is_cycle_line)

        private_cluster.stop()
        loop.wait_line("stderr", lambda l: "database unavailable" in l, timeout=10)
        time.sleep(2)  # several silent retries meanwhile
        assert loop.proc.poll() is None
        unavailable = [l for l in loop.stderr if "unavailable" in l]
        assert len(unavailable) == 1 and "retrying in 0.5s" in unavailable[0], loop.stderr
        assert "Traceback" not in "\n".join(loop.stderr)

        private_cluster.start()
        loop.wait_line("stderr", lambda l: "available again" in l, timeout=20)
        committed = ingest_entry(url)
        run = wait_reconciled(url, committed)
        assert run.finished_at - committed < timedelta(seconds=1)

        returncode, took = loop.stop(signal.SIGTERM)
    assert returncode == 0 and took < 2, (returncode, took, loop.lines)
    assert "Traceback" not in "\n".join(loop.stderr) and len([l for l in loop.stderr if "unavailable" in l]) == 1


def test_without_dsn_the_loop_runs_the_embedded_cluster_and_stops_it():
    root = make_tmp_dir("sigsync-loop-")
    cluster = Cluster(root)
    try:
        assert sigsync("--data-dir", root, "migrate").returncode == 0
        with running("--data-dir", str(root), "run", "--interval", "60") as loop:
            loop.wait_line("stdout", is_cycle_line)
            assert cluster.is_running()
            returncode, took = loop.stop(signal.SIGTERM)
        assert returncode == 0 and took < 5, (returncode, took, loop.lines)  # includes stopping the server
        assert "stopped" in loop.stderr[-1]
        assert cluster.processes() == [] and not cluster.pid_file.exists()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_backlog_of_queued_updates_is_worked_off_in_cycles_one_after_another(db):
    """A cycle projects about 5,000 queued MFE updates at most; the loop does not wait its
    --interval (60 s here) for the next one while its summary says updates are left."""
    bodies = queued_backlog("BACKLOG", 8)
    with psycopg.connect(db, autocommit=True) as conn:
        statuses = conn.execute("SELECT status FROM sigsync.ingest_many(%s::text[])", (bodies,)).fetchall()
        assert {s for (s,) in statuses} == {"accepted"}
        queued = conn.execute("SELECT sum(cardinality(queued_events)) FROM sigsync.signals"
                              " WHERE symbol = 'BACKLOG'").fetchone()[0]
    assert queued == 12000
    with running("--dsn", db, "run", "--interval", "60", "--log-format", "json") as loop:
        loop.wait_line("stdout", lambda l: is_cycle_line(l) and json.loads(l).get("mfe_updates_left") == 0,
                       timeout=30)
        lefts = [json.loads(line).get("mfe_updates_left") for line in loop.stdout if is_cycle_line(line)]
    assert lefts == [4000, 0], lefts   # the second cycle came at once, not after the 60 s interval
    with psycopg.connect(db, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM sigsync.signals WHERE symbol = 'BACKLOG'"
                            " AND (queued_events IS NOT NULL OR be_mfe IS DISTINCT FROM 0.5)").fetchone()[0] == 0
