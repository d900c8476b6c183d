"""The embedded cluster shared by concurrent sigsync processes, as real processes against a
real cluster: starts are serialised (cluster.lock), users are counted (shared flock on
users.lock) and the last user out stops an auto-started server, whichever process started it.

Every test gets a fresh data dir under /tmp (`data_dir`), whose server is stopped and whose
files are removed afterwards, with no postgres process left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import psycopg
import pytest

from sigsync.cluster import Cluster, signals_raise
from sigsync.errors import Interrupted
from support import Child, child, cli_env, private_data_dir, sigsync, sigsync_cmd

TRADE = "20251212_104200000_BULLISH"
ENTRY = {"event_type": "ENTRY", "trade_id": TRADE, "entry_price": 25680, "stop_loss": 25645, "timestamp": 1765554300000}
OTHER = {**ENTRY, "trade_id": "20251212_104300000_BULLISH", "timestamp": 1765554360000}


@pytest.fixture
def data_dir():
    with private_data_dir("sigsync-shared-") as path:
        yield path


@pytest.fixture
def migrated(data_dir):
    """A migrated data dir whose (auto-started) server is stopped again."""
    result = sigsync("--data-dir", data_dir, "migrate")
    assert result.returncode == 0, result.stderr
    assert Cluster(data_dir).processes() == []
    return data_dir


def is_cycle_line(line: str) -> bool:
    return line.startswith("cycle ")


def cycles(loop: Child) -> list[str]:
    return [line for line in loop.lines["stdout"] if is_cycle_line(line)]


def wait_for(predicate, timeout: float = 20, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def ingest_connected(cluster: Cluster) -> bool:
    """Whether an `ingest -` (a client other than the loop's and ours) is connected to `sigsync`."""
    if not cluster.is_running():
        return False
    try:
        with psycopg.connect(cluster.url(), connect_timeout=2) as conn:
            return conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                " AND datname = 'sigsync' AND pid <> pg_backend_pid() AND application_name <> 'sigsync run'"
            ).fetchone()[0] > 0
    except psycopg.OperationalError:
        return False


def at_once(n: int, *args) -> tuple[list[int], list[tuple[str, str]]]:
    """Launch n identical sigsync commands at the same instant; their exit statuses and (stdout, stderr)."""
    procs = [subprocess.Popen(sigsync_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=cli_env(), cwd="/tmp") for _ in range(n)]  # fmt: skip
    try:
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return [p.returncode for p in procs], outputs


def assert_stopped(cluster: Cluster) -> None:
    assert cluster.processes() == [] and not cluster.pid_file.exists()
    assert not cluster.auto_marker.exists()


# -- starting ------------------------------------------------------------------------------------


def test_simultaneous_commands_on_a_fresh_data_dir_share_one_start(data_dir):
    cluster = Cluster(data_dir)
    returncodes, outputs = at_once(3, "--data-dir", data_dir, "migrate")
    assert returncodes == [0, 0, 0], outputs
    stderr = "".join(err for _, err in outputs)
    assert "stale" not in stderr and "Traceback" not in stderr, stderr
    assert sum("applied schema/0001_core.sql" in out for out, _ in outputs) == 1, outputs  # one database
    # the lock files live beside pgdata, not in it (initdb wants an empty directory)
    assert {p.name for p in data_dir.iterdir()} >= {"pgdata", "run", "cluster.lock", "users.lock"}
    assert not list(cluster.pgdata.glob("*.lock"))
    assert_stopped(cluster)  # the last of them stopped it

    status = sigsync("--data-dir", data_dir, "status")  # and it starts again, migrated
    assert status.returncode == 0 and "applied  schema/0001_core.sql" in status.stdout, status
    assert_stopped(cluster)


def test_simultaneous_commands_on_a_stopped_cluster(migrated):
    cluster = Cluster(migrated)
    for _round in range(2):
        returncodes, outputs = at_once(4, "--data-dir", migrated, "status")
        assert returncodes == [0] * 4, outputs
        assert all(out.startswith("version ") and not err for out, err in outputs), outputs
        assert_stopped(cluster)


# -- sharing: the last user out stops an auto-started server ---------------------------------------


def test_a_loop_that_joined_keeps_the_cluster_a_command_started(migrated):
    cluster = Cluster(migrated)
    events = migrated / "events.jsonl"
    events.write_text(json.dumps(OTHER) + "\n")
    with child("--data-dir", migrated, "ingest", "-", stdin=True) as ingest:  # starts the cluster, then waits
        wait_for(lambda: ingest_connected(cluster), what="ingest to connect")
        pid = cluster.postmaster_pid()
        with child("--data-dir", migrated, "run", "--interval", "60") as loop:
            loop.wait_line("stdout", is_cycle_line)  # the catch-up cycle: the loop is in

            assert ingest.finish(input=json.dumps(ENTRY) + "\n") == 0, ingest.lines
            assert ingest.lines["stdout"][0] == "accepted 1, duplicate 0, rejected 0"
            assert cluster.is_running() and cluster.postmaster_pid() == pid  # the starter left, not the last user
            wait_for(lambda: len(cycles(loop)) >= 2, what="a cycle after the ingest")  # its NOTIFY reached the loop
            assert ": ok, 1 signals" in cycles(loop)[1], loop.lines

            again = sigsync("--data-dir", migrated, "ingest", events)  # a whole command comes and goes
            assert again.returncode == 0 and again.stdout.startswith("accepted 1,"), again
            assert cluster.is_running() and cluster.postmaster_pid() == pid
            wait_for(lambda: len(cycles(loop)) >= 3, what="a cycle after the second ingest")
            assert ": ok, " in cycles(loop)[2], loop.lines
            assert loop.proc.poll() is None
            assert not any("unavailable" in l for l in loop.lines["stderr"]), loop.lines

            assert loop.finish(signal.SIGTERM) == 0, loop.lines  # the last user out stops it
    assert "Traceback" not in "\n".join(loop.lines["stderr"])
    assert_stopped(cluster)


def test_the_last_user_out_stops_the_cluster_not_the_one_that_started_it(migrated):
    cluster = Cluster(migrated)
    with child("--data-dir", migrated, "run", "--interval", "60") as loop:  # starts the cluster
        loop.wait_line("stdout", is_cycle_line)
        pid = cluster.postmaster_pid()
        with child("--data-dir", migrated, "ingest", "-", stdin=True) as ingest:
            wait_for(lambda: ingest_connected(cluster), what="ingest to connect")

            assert loop.finish(signal.SIGTERM) == 0, loop.lines
            assert "stopped" in loop.lines["stderr"][-1]
            assert cluster.is_running() and cluster.postmaster_pid() == pid  # ingest still uses it

            assert ingest.finish(input=json.dumps(ENTRY) + "\n") == 0, ingest.lines
            assert ingest.lines["stdout"][0] == "accepted 1, duplicate 0, rejected 0", ingest.lines
    assert_stopped(cluster)


def test_a_killed_user_no_longer_counts(migrated):
    cluster = Cluster(migrated)
    with child("--data-dir", migrated, "run", "--interval", "60") as loop:  # starts the cluster
        loop.wait_line("stdout", is_cycle_line)
        loop.kill()  # SIGKILL: no cleanup at all, the server is left running
    assert cluster.is_running() and cluster.auto_marker.exists()
    wait_for(lambda: not cluster.in_use(), what="the killed loop's lock to go")

    status = sigsync("--data-dir", migrated, "status")  # the next user out is the last one
    assert status.returncode == 0 and status.stdout.startswith("version "), status
    assert_stopped(cluster)


# -- explicit db start / db stop ---------------------------------------------------------------


def test_db_start_makes_an_auto_started_cluster_manual(migrated):
    cluster = Cluster(migrated)
    with child("--data-dir", migrated, "ingest", "-", stdin=True) as ingest:  # starts the cluster
        wait_for(lambda: ingest_connected(cluster), what="ingest to connect")
        pid = cluster.postmaster_pid()
        start = sigsync("--data-dir", migrated, "db", "start")
        assert start.returncode == 0 and start.stdout.startswith("already running"), start
        assert ingest.finish(input=json.dumps(ENTRY) + "\n") == 0, ingest.lines
    assert cluster.is_running() and cluster.postmaster_pid() == pid  # left running: it is manual now
    assert sigsync("--data-dir", migrated, "status").returncode == 0
    assert cluster.is_running() and cluster.postmaster_pid() == pid

    stop = sigsync("--data-dir", migrated, "db", "stop")
    assert stop.returncode == 0 and stop.stdout.strip() == "stopped" and not stop.stderr, stop
    assert_stopped(cluster)


def test_db_stop_stops_a_cluster_in_use_and_says_so(migrated):
    cluster = Cluster(migrated)
    with child("--data-dir", migrated, "run", "--interval", "60") as loop:  # starts the cluster
        loop.wait_line("stdout", is_cycle_line)
        stop = sigsync("--data-dir", migrated, "db", "stop")
        assert stop.returncode == 0 and stop.stdout.strip() == "stopped", stop
        assert "other sigsync processes were still using the cluster" in stop.stderr
        assert cluster.processes() == []
        loop.wait_line("stderr", lambda l: "database unavailable" in l)
        assert loop.finish(signal.SIGTERM) == 0, loop.lines
    assert_stopped(cluster)
    assert sigsync("--data-dir", migrated, "db", "stop").stdout.strip() == "not running"


# -- signals during the cleanup -----------------------------------------------------------------


def test_a_signal_during_the_cleanup_is_raised_after_it():
    # leaving running() may wait for another process's start: a first SIGTERM meanwhile must not
    # abort the cleanup (the server would be left behind), but still end the command afterwards
    done = []
    with pytest.raises(Interrupted) as raised:
        with signals_raise() as guard:
            with guard.deferring():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)
                done.append("cleanup")
    assert done == ["cleanup"] and raised.value.signum == signal.SIGTERM
    with pytest.raises(Interrupted):  # outside a cleanup, the first signal raises at once
        with signals_raise():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
