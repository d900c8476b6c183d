"""Helpers shared by the test modules."""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from sigsync.cluster import Cluster

REPO = Path(__file__).resolve().parents[1]


_MADE_DIRS: list[Path] = []


def make_tmp_dir(prefix: str) -> Path:
    """A directory the `postgres` OS user can reach (pytest's tmp_path is private to root),
    removed when the test process exits (after the fixtures have stopped what used it)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    _MADE_DIRS.append(path)
    return path


@atexit.register
def _remove_made_dirs() -> None:
    for path in _MADE_DIRS:
        shutil.rmtree(path, ignore_errors=True)


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for a `python -m sigsync` child: this checkout's runner, no ambient DSN."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SIGSYNC_DATA_DIR", "SIGSYNC_SQL_DIR")}
    env["PYTHONPATH"] = str(REPO / "runner")
    env.update(extra)
    return env


# The first step of a reconcile cycle alone: project the MFE updates ingest queued
# (sigsync._queued), for a test that reads the registry as the events say, without fills.
# Every registry row (sigsync.signals) with its provenance rows (sigsync.signal_provenance) as one
# column, field -> {tier, confidence, source, event_type, at, key, filled_at}, the times as epoch
# seconds: the same text whatever the reading session's TimeZone or DateStyle.
REGISTRY_SQL = """
SELECT s.*,
       (SELECT coalesce(jsonb_object_agg(p.field, jsonb_build_object(
                   'tier', p.tier, 'confidence', p.confidence, 'source', p.source, 'event_type', p.event_type,
                   'at', extract(epoch FROM p.at), 'key', p.key, 'filled_at', extract(epoch FROM p.filled_at))), '{}')
          FROM sigsync.signal_provenance p
         WHERE p.symbol = s.symbol AND p.trade_id = s.trade_id) AS provenance
  FROM sigsync.signals s
 ORDER BY s.symbol, s.trade_id"""

PROJECT_QUEUED_SQL = ("SELECT sigsync._project_queued(NULL, array_agg(symbol), array_agg(trade_id))"
                      " FROM sigsync.signals WHERE queued_events IS NOT NULL")


def queued_backlog(symbol: str, batches: int) -> list[str]:
    """Webhook bodies for three signals of `symbol`: an ENTRY each, then `batches` MFE_UPDATE_BATCH
    bodies of 500 updates each (a body stays under 64 KiB): 1,500 x `batches` queued updates (up to
    10 batches: past 5,000 updates a signal's queue is projected by ingest itself)."""
    import json

    trade_ids = [f"20251212_15{m}00000_BULLISH" for m in ("10", "20", "30")]
    bodies = [json.dumps({"event_type": "ENTRY", "symbol": symbol, "trade_id": t, "entry_price": 100,
                          "stop_loss": 90, "timestamp": 1765570000000}) for t in trade_ids]
    bodies += [json.dumps({"event_type": "MFE_UPDATE_BATCH", "symbol": symbol,
                           "updates": [{"trade_id": t, "be_mfe": 0.5, "timestamp": 1765570000000 + (b * 500 + i) * 1000}
                                       for i in range(1, 501)]})
               for t in trade_ids for b in range(batches)]
    return bodies


def sigsync_cmd(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "sigsync", *map(str, args)]


def sigsync(*args: str | Path, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(sigsync_cmd(*args), input=input, capture_output=True, text=True, timeout=timeout,
                          env=cli_env(), cwd="/tmp")  # fmt: skip


@contextlib.contextmanager
def migrated_private_cluster(prefix: str) -> Iterator[Cluster]:
    """A migrated embedded cluster of the caller's own (its database `sigsync` is pg_cron's),
    which it may stop and start; stopped and removed afterwards, with no process left."""
    import psycopg

    from sigsync.cluster import Cluster
    from sigsync.migrate import Migrator, SqlTree
    from sigsync.paths import sql_dir

    root = make_tmp_dir(prefix)
    cluster = Cluster(root)
    try:
        cluster.start()
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            Migrator(conn, SqlTree(sql_dir()), echo=lambda _line: None).migrate()
        yield cluster
    finally:
        cluster.stop()
        leftovers = cluster.processes()
        shutil.rmtree(root, ignore_errors=True)
        assert leftovers == [], f"postgres processes left running for {root}: {leftovers}"


class Child:
    """A background `python -m sigsync ...` whose stdout/stderr lines are collected as they
    come (`lines`), for tests that watch a long-running command (run, serve, ingest -)."""

    def __init__(self, *args: str | Path, stdin: bool = False):
        self.proc = subprocess.Popen(sigsync_cmd(*args), stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=cli_env(), cwd="/tmp")  # fmt: skip
        self.lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._new: queue.Queue = queue.Queue()
        self._readers = [threading.Thread(target=self._read, args=(name,), daemon=True) for name in self.lines]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str) -> None:
        for line in getattr(self.proc, name):
            self.lines[name].append(line.rstrip("\n"))
            self._new.put(name)

    @property
    def stdout(self) -> list[str]:
        return self.lines["stdout"]

    @property
    def stderr(self) -> list[str]:
        return self.lines["stderr"]

    def wait_line(self, name: str, predicate, timeout: float = 15, start: int = 0) -> str:
        """The first line of stdout/stderr (from line `start` on) that satisfies predicate."""
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self.lines[name][start:]):
                if predicate(line):
                    return line
            if self.proc.poll() is not None and all(not r.is_alive() for r in self._readers):
                raise AssertionError(f"the child exited ({self.proc.returncode}): {self.lines}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no such {name} line within {timeout}s: {self.lines}")
            with contextlib.suppress(queue.Empty):
                self._new.get(timeout=min(remaining, 0.1))

    def finish(self, signum: int | None = None, input: str | None = None, timeout: float = 30) -> int:
        """Send a signal and/or feed and close stdin; wait for the exit status."""
        if signum is not None:
            self.proc.send_signal(signum)
        if self.proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                if input is not None:
                    self.proc.stdin.write(input)
                self.proc.stdin.close()
        returncode = self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return returncode

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, float]:
        """Send a signal; returns (exit status, seconds until the process ended)."""
        started = time.monotonic()
        returncode = self.finish(signum, timeout=timeout)
        return returncode, time.monotonic() - started

    def kill(self) -> None:
        """Kill it if it still runs; either way, its output is all read afterwards."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        for reader in self._readers:
            reader.join(timeout=5)


@contextlib.contextmanager
def child(*args: str | Path, stdin: bool = False) -> Iterator[Child]:
    """A Child for the block, killed at the end if it is still running."""
    c = Child(*args, stdin=stdin)
    try:
        yield c
    finally:
        c.kill()


@contextlib.contextmanager
def private_data_dir(prefix: str) -> Iterator[Path]:
    """A data dir under /tmp for an embedded cluster of the test's own; afterwards its server
    is stopped, its files removed, and no postgres process may be left running."""
    from sigsync.cluster import Cluster

    path = make_tmp_dir(prefix)
    try:
        yield path
    finally:
        cluster = Cluster(path)
        cluster.stop()
        leftovers = cluster.processes()
        shutil.rmtree(path, ignore_errors=True)
        assert leftovers == [], f"postgres processes left running for {path}: {leftovers}"
