"""`sigsync run` (reconcile cycles on a loop) and `sigsync requests` (the Tier 1 outbox).

The loop is plumbing only: every cycle is reconcile.run_cycle(), i.e. one
`SELECT sigsync.reconcile()`, whose single-flight lock keeps two runners (or a runner
and pg_cron) from overlapping. What the loop adds:

- when: at start, every --interval seconds, and --debounce seconds after the first
  `NOTIFY sigsync_event` (sent by ingest) not yet covered by a cycle, heard on a
  dedicated autocommit connection, or after a cycle that left queued MFE updates (its
  summary's mfe_updates_left: a backlog is worked off in short cycles, one after another);
- staying up: a lost database is one "database unavailable" line, then reconnects with
  exponential backoff, LISTEN again and a catch-up cycle (notifications sent while it
  was away are lost, the dirty marks are not);
- stopping: SIGTERM/SIGINT/SIGHUP end the loop; a cycle in flight is cancelled on the
  server (its transaction rolls back) unless it finishes first.

The same Runner runs inside `sigsync serve --reconcile`, in a thread: there serve owns the
signals (`run(own_signals=False)`) and ends the loop with `stop()`.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import threading
import time
from datetime import datetime, timezone
from typing import Iterator

import click
import psycopg
from psycopg.conninfo import conninfo_to_dict

from sigsync.app import App, pass_app
from sigsync.errors import SigsyncError
from sigsync.output import format_table
from sigsync.reconcile import describe_cycle, run_cycle

CHANNEL = "sigsync_event"
TRIGGER = "runner"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
BACKOFF_START = 0.5
BACKOFF_MAX = 10.0
CANCEL_TIMEOUT = 1.0
# unless the DSN says otherwise: give up a connection attempt after 5 s, notice a silently
# vanished server (TCP) within about a minute, and name ourselves in pg_stat_activity
CONNECT_DEFAULTS = {"connect_timeout": "5", "keepalives_idle": "30", "keepalives_interval": "10",
                    "keepalives_count": "3", "fallback_application_name": "sigsync run"}
NOT_MIGRATED = (psycopg.errors.UndefinedFunction, psycopg.errors.InvalidSchemaName, psycopg.errors.UndefinedTable)


class _StopNow(BaseException):
    """Raised by the signal handler to abandon a connection attempt (which may hang)."""


class Log:
    """Cycle lines on stdout, notes (unavailable, stopped...) on stderr; text or JSON lines."""

    def __init__(self, fmt: str, name: str = "sigsync run"):
        self.json = fmt == "json"
        self.name = name

    @staticmethod
    def _ts() -> str:
        return datetime.now(timezone.utc).isoformat(timespec="milliseconds")

    def cycle(self, summary: dict) -> None:
        click.echo(json.dumps({"ts": self._ts(), **summary}, default=str) if self.json else describe_cycle(summary))

    def note(self, message: str, level: str = "info") -> None:
        if self.json:
            click.echo(json.dumps({"ts": self._ts(), "level": level, "message": message}), err=True)
        else:
            click.echo(f"{self.name}: {message}", err=True)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Runner:
    def __init__(self, dsn: str, interval: float, debounce: float, max_cycles: int | None, once: bool, log: Log,
                 application_name: str = "sigsync run"):
        given = conninfo_to_dict(dsn)
        defaults = {**CONNECT_DEFAULTS, "fallback_application_name": application_name}
        self.connect_kwargs = {k: v for k, v in defaults.items() if k not in given}
        self.dsn = dsn
        self.interval = interval
        self.debounce = debounce
        self.max_cycles = 1 if once else max_cycles
        self.once = once
        self.log = log
        self.backoff_max = min(BACKOFF_MAX, interval)
        self.conn: psycopg.Connection | None = None  # runs the cycles
        self.listen: psycopg.Connection | None = None  # LISTEN sigsync_event, nothing else
        self.stop_signal: int | None = None
        self.phase: str | None = None  # "connecting" | "cycle" while the signal handler must act
        self.cancelled = False
        self.failed_cycle = False
        self._wake_r = self._wake_w = -1
        self._wake_lock = threading.RLock()

    # -- signals ------------------------------------------------------------------------

    def stop(self, signum: int = signal.SIGTERM) -> bool:
        """End the loop (from a signal handler or another thread): wake it, and cancel a cycle in
        flight. False if it was already stopping."""
        if self.stop_signal is not None:
            return False  # repeats are ignored: the first one's cleanup is running
        self.stop_signal = signum
        self._wake()
        if self.phase == "cycle" and self.conn is not None:
            # The server rolls the cycle's transaction back; run_cycle() then raises QueryCanceled.
            # Cancelling a cycle that just ended is a no-op (an idle backend ignores it).
            with contextlib.suppress(Exception):
                self.conn.cancel_safe(timeout=CANCEL_TIMEOUT)
        return True

    def _wake(self) -> None:
        # under the lock, so that the pipe is not closed (and its number reused) meanwhile; a
        # re-entrant one: a signal handler may interrupt the main thread while it holds it
        with self._wake_lock:
            if self._wake_w >= 0:
                with contextlib.suppress(OSError):
                    os.write(self._wake_w, b"\0")

    def _on_signal(self, signum, frame) -> None:
        if self.stop(signum) and self.phase == "connecting":
            raise _StopNow()

    @contextlib.contextmanager
    def _signals(self, own: bool) -> Iterator[None]:
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        previous = {s: signal.signal(s, self._on_signal) for s in STOP_SIGNALS} if own else {}
        try:
            yield
        finally:
            if self.stop_signal is None:
                for s, handler in previous.items():
                    signal.signal(s, handler)
            # else: keep ignoring repeats until the process ends (the embedded cluster may still stop)
            with self._wake_lock:
                wake_r, wake_w = self._wake_r, self._wake_w
                self._wake_r = self._wake_w = -1
                os.close(wake_r)
                os.close(wake_w)

    # -- connections --------------------------------------------------------------------

    def _connect(self) -> None:
        try:
            try:
                self.phase = "connecting"
                if self.stop_signal is not None:
                    raise _StopNow()
                self.conn = psycopg.connect(self.dsn, autocommit=True, **self.connect_kwargs)
                self.listen = psycopg.connect(self.dsn, autocommit=True, **self.connect_kwargs)
            finally:
                self.phase = None
            self.listen.execute(f"LISTEN {CHANNEL}")
            migrated = self.conn.execute("SELECT to_regprocedure('sigsync.reconcile(timestamptz, boolean)')")
            if migrated.fetchone()[0] is None:
                raise SigsyncError("sigsync.reconcile() is missing: run `sigsync migrate` first")
        except BaseException:
            self._close()
            raise

    def _close(self) -> None:
        for conn in (self.listen, self.conn):
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
        self.conn = self.listen = None

    # -- waiting ------------------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        """Sleep, returning early when a stop signal arrives."""
        with contextlib.suppress(InterruptedError):
            select.select([self._wake_r], [], [], max(0.0, seconds))

    def _wait(self, seconds: float) -> bool:
        """Wait up to `seconds` for a notification or a stop signal; True if notifications came."""
        fd = self.listen.fileno()
        ready, _, _ = select.select([fd, self._wake_r], [], [], max(0.0, seconds))
        if fd in ready:
            # a closed socket is readable too: consuming it raises OperationalError
            return bool(list(self.listen.notifies(timeout=0)))
        return False

    # -- the loop -----------------------------------------------------------------------

    def run(self, own_signals: bool = True) -> None:
        """Run the loop until a stop signal (own_signals: this process's SIGTERM/SIGINT/SIGHUP,
        in the main thread) or stop() (from the thread that owns the signals)."""
        with self._signals(own_signals):
            try:
                self._loop()
            except _StopNow:
                pass
            finally:
                self._close()
        if self.stop_signal is not None:
            detail = "; the cycle in flight was cancelled and rolled back" if self.cancelled else ""
            self.log.note(f"stopped ({signal.Signals(self.stop_signal).name}{detail})")
        elif not self.once:
            self.log.note("stopped")
        if self.once and self.failed_cycle:
            raise SigsyncError("the reconcile cycle failed (recorded in sigsync.sync_runs)")

    def _loop(self) -> None:
        cycles = 0
        delay = first_delay = min(BACKOFF_START, self.backoff_max)
        outage = False
        next_due = 0.0  # monotonic time of the next timed cycle
        pending: float | None = None  # when the first notification not yet covered by a cycle came
        while self.stop_signal is None:
            try:
                if self.conn is None:
                    self._connect()
                    if outage:
                        self.log.note("database available again: listening, catching up")
                    elif not self.once:
                        self.log.note(f"listening on {CHANNEL}; a cycle every {self.interval:g}s "
                                      f"and {self.debounce:g}s after events")  # fmt: skip
                    outage, delay = False, first_delay
                    next_due = 0.0  # catch up at once: notifications sent meanwhile are lost
                due = next_due if pending is None else min(next_due, pending + self.debounce)
                now = time.monotonic()
                if now < due:
                    if self._wait(due - now) and pending is None:
                        pending = time.monotonic()
                    continue
                pending = None  # this cycle covers every event committed so far
                summary = self._cycle()
                if summary is None:
                    break  # cancelled by a stop signal
                self.log.cycle(summary)
                self.failed_cycle = summary.get("status") == "error"
                cycles += 1
                # a cycle that left queued MFE updates (its budget: a backlog) is followed by the
                # next one after the debounce, not the interval
                left = summary.get("mfe_updates_left") or 0
                next_due = time.monotonic() + (self.debounce if left else self.interval)
                if self.max_cycles and cycles >= self.max_cycles:
                    break
            except psycopg.Error as exc:
                if self.stop_signal is not None:
                    break
                if isinstance(exc, NOT_MIGRATED):
                    raise SigsyncError(f"{first_line(exc)}: run `sigsync migrate` first") from None
                lost = self.conn is None or (isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))
                                             and not isinstance(exc, psycopg.errors.QueryCanceled))
                if not lost:
                    # the connection is fine, the cycle is not: say so, try again next time
                    self.log.note(f"cycle failed: {first_line(exc)}", level="error")
                    self.failed_cycle = True
                    cycles += 1
                    next_due = time.monotonic() + self.interval
                    if self.max_cycles and cycles >= self.max_cycles:
                        break
                    continue
                self._close()
                if self.once:
                    raise SigsyncError(f"database unavailable: {first_line(exc)}") from None
                if not outage:
                    self.log.note(f"database unavailable: {first_line(exc)}; retrying in {delay:g}s", level="warning")
                    outage = True
                self._sleep(delay)
                delay = min(delay * 2, self.backoff_max)

    def _cycle(self) -> dict | None:
        try:
            self.phase = "cycle"
            if self.stop_signal is not None:
                return None
            return run_cycle(self.conn, trigger=TRIGGER)
        except psycopg.errors.QueryCanceled:
            if self.stop_signal is not None:
                self.cancelled = True
                return None
            raise
        finally:
            self.phase = None


@click.command("run")
@click.option("--interval", type=click.FloatRange(min=0, min_open=True), default=120, show_default=True,
              metavar="SECONDS", help="Seconds between timed cycles.")
@click.option("--debounce", type=click.FloatRange(min=0), default=0.2, show_default=True, metavar="SECONDS",
              help="After a NOTIFY sigsync_event, wait this long (collecting a burst) before the cycle.")
@click.option("--once", is_flag=True, help="Run one cycle and exit (status 1 if it failed).")
@click.option("--max-cycles", type=click.IntRange(min=1), metavar="N", help="Exit after N cycles.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="One line per cycle on stdout: the `reconcile` summary line, or the summary as JSON with a ts.")
@pass_app
def run_cmd(app: App, interval: float, debounce: float, once: bool, max_cycles: int | None, log_format: str):
    """Run reconcile cycles continuously: every --interval seconds and at once on new events.

    Each cycle is `SELECT sigsync.reconcile()` (trigger 'runner'); new events are heard
    through LISTEN sigsync_event, and a burst becomes one cycle after --debounce seconds.
    A cycle that left queued MFE updates (a backlog) is followed by the next one after
    --debounce seconds too, until none is left. A lost database is reported once and reconnected with backoff (0.5 s doubling, up to
    10 s). SIGTERM/SIGINT stop it within 2 s (a cycle in flight is cancelled and rolled
    back), exit status 0. Two runners on one database never overlap: the second one's
    cycle is 'skipped'. Without --dsn, the embedded cluster runs for as long as the loop.
    """
    with app.database() as dsn:
        Runner(dsn, interval, debounce, max_cycles, once, Log(log_format)).run()


# -- sigsync requests ------------------------------------------------------------------------

OPEN_REQUESTS_SQL = """
SELECT id, created_at, reason, trade_ids
  FROM sigsync.sync_requests
 WHERE status = 'open'
 ORDER BY created_at, id
"""


@click.command("requests")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of {id, created_at, reason, trade_ids}.")
@pass_app
def requests_cmd(app: App, as_json: bool):
    """List the open Tier 1 sync requests (sigsync.sync_requests), for a bridge to the indicator.

    Each cycle writes at most one request for the signals only the indicator can fill
    (and sends NOTIFY sigsync_sync_request with its id); the indicator answers with
    ordinary MFE_UPDATE events, which close it. Unanswered ones time out (Tier 2 fills).
    """
    with app.connect() as conn:
        try:
            rows = conn.execute(OPEN_REQUESTS_SQL).fetchall()
        except NOT_MIGRATED:
            raise SigsyncError("sigsync.sync_requests is missing: run `sigsync migrate` first") from None
    if as_json:
        click.echo(json.dumps([{"id": i, "created_at": at.isoformat(), "reason": reason, "trade_ids": list(ids)}
                               for i, at, reason, ids in rows], indent=2))  # fmt: skip
    elif rows:
        click.echo(format_table(["id", "created_at", "reason", "trade_ids"], rows))
    else:
        click.echo("no open sync requests")


COMMANDS = [run_cmd, requests_cmd]
