"""Helpers for the `sigsync serve` tests (no tests here): a real `python -m sigsync serve`
child on a free port, whose stderr/stdout lines are collected as they come, and tokens made
with the real `sigsync token create`."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import psycopg

from support import Child, make_tmp_dir, sigsync

LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


class Serve:
    """A running `sigsync --dsn DSN serve --port 0 ...` (or with `global_args` instead of --dsn)."""

    def __init__(self, dsn: str | None, *args: str, spool_dir: Path | None = None, global_args: tuple = (),
                 start: bool = True):
        self.dsn = dsn
        self.spool_dir = spool_dir or make_tmp_dir("sigsync-serve-spool-")
        self.args = args
        self.global_args = global_args
        self.lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self.proc: subprocess.Popen | None = None
        if start:
            self.start()

    def start(self) -> None:
        prefix = (["--dsn", self.dsn] if self.dsn else []) + list(self.global_args)
        self.child = Child(*prefix, "serve", "--port", "0", "--spool-dir", self.spool_dir, *self.args)
        self.proc = self.child.proc
        self.lines = self.child.lines
        line = self.wait_line("stderr", LISTENING.search, timeout=30)
        self.port = int(LISTENING.search(line).group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def stderr(self) -> list[str]:
        return self.lines["stderr"]

    @property
    def stdout(self) -> list[str]:
        return self.lines["stdout"]

    def wait_line(self, name: str, predicate, timeout: float = 15, start: int = 0) -> str:
        return self.child.wait_line(name, predicate, timeout, start)

    def post(self, token: str, body: bytes | str, headers: dict | None = None, **kwargs) -> httpx.Response:
        content = body.encode() if isinstance(body, str) else body
        return httpx.post(f"{self.url}/webhook/{token}", content=content, headers=headers, timeout=10, **kwargs)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=10)

    def ready(self) -> dict:
        return self.get("/readyz").json()

    def wait_spool_empty(self, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            state = self.ready()
            if state["spool"]["records"] == 0 and state["database"] == "ok":
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"spool not replayed within {timeout}s: {state}; {self.lines}")
            time.sleep(0.05)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, float]:
        """Send a signal; returns (exit status, seconds until the process ended)."""
        return self.child.stop(signum, timeout)

    def kill(self) -> None:
        if self.proc is not None:
            self.child.kill()


@contextlib.contextmanager
def serving(dsn: str | None, *args: str, **kwargs):
    server = Serve(dsn, *args, **kwargs)
    try:
        yield server
    finally:
        server.kill()


def create_token(dsn: str, source: str = "indicator", label: str | None = None) -> str:
    """A new token through the real `sigsync token create`; returns the token it printed."""
    args = ["--dsn", dsn, "token", "create", "--source", source] + (["--label", label] if label else [])
    result = sigsync(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def events_with(dsn: str, marker: str) -> list[tuple]:
    """(id, event_type, source, payload) of the stored events with a string value ending in `marker`."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT id, event_type, source, payload FROM sigsync.automated_signals"
                            " WHERE payload::text LIKE %s ORDER BY id", (f'%{marker}"%',)).fetchall()


def rejected_with(dsn: str, marker: str) -> list[tuple]:
    """(error_code, source, payload, raw) of the rejected bodies holding `marker`."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT error_code, source, payload, raw FROM sigsync.rejected_events"
                            " WHERE payload LIKE %s OR position(convert_to(%s, 'UTF8') in coalesce(raw, '')) > 0"
                            " ORDER BY id", (f"%{marker}%", marker)).fetchall()


def heartbeat(marker: int | str, **extra) -> str:
    """A valid body unique to `marker` (HEARTBEAT: no signal needed)."""
    return json.dumps({"type": "HEARTBEAT", "tracked_signals": 1, "indicator_version": f"t-{marker}", **extra})


def kept_running(cluster):
    """A fixture body: the private cluster, started if a test left it stopped, before and after."""
    if not cluster.is_running():
        cluster.start()
    yield cluster
    if not cluster.is_running():
        cluster.start()
