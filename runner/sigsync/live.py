"""Live updates of the dashboard: server-sent events fed by `LISTEN sigsync_event`.

One task on a connection of its own (set up as the dashboard's: SET ROLE sigsync_reader)
listens to sigsync_event (each ingest transaction that stored events sends one) and looks at
the latest cycle of sigsync.cycle_history every POLL_SECONDS (a cycle changes gaps and
health without any NOTIFY). Each change is sent to every open page as one SSE message
(`event: change`, data {"kind": "events"|"cycle", "at": ...}), at most one per
MIN_GAP_SECONDS: under a webhook storm the pages refresh about once a second, not once per
batch. The page then fetches itself again and swaps its <main> (static/app.js). Reconnects
with backoff when the database goes away; stop() ends every stream at once (serve's
shutdown does not wait for them). A stream opened with a login session ends with it: at once
on its logout (end_session), else at the next check of the session (every keepalive).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import AsyncIterator, Callable

import psycopg

from sigsync.dashboard_data import SQL, configure

CHANNEL = "sigsync_event"
POLL_SECONDS = 2.0
MIN_GAP_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0   # also how often a stream checks that its session is still alive (<= 30 s)
MAX_SUBSCRIBERS = 200
BACKOFF_MAX = 10.0


class Live:
    def __init__(self, dsn: str, connect_kwargs: dict, note: Callable[[str, str], None]):
        self.dsn = dsn
        self.connect_kwargs = connect_kwargs
        self.note = note
        self.subscribers: dict[asyncio.Queue, str | None] = {}  # a stream's queue -> its login session
        self.stopped = asyncio.Event()
        self.changes = 0
        self._task: asyncio.Task | None = None
        self._pending: str | None = None
        self._last_sent = 0.0
        self._flusher: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sigsync-dashboard-live")

    def stop(self) -> None:
        self.stopped.set()
        for queue in list(self.subscribers):
            queue.put_nowait(None)

    async def close(self) -> None:
        self.stop()
        for task in (self._task, self._flusher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    # -- what the database says ------------------------------------------------------------------

    async def _run(self) -> None:
        delay = 0.5
        last_cycle = None
        reported = None
        while not self.stopped.is_set():
            conn = None
            try:
                conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True, **self.connect_kwargs)
                await configure(conn)
                await conn.execute(f"LISTEN {CHANNEL}")
                cur = await conn.execute(SQL["last_cycle"])
                row = await cur.fetchone()
                if last_cycle is not None and row != last_cycle:
                    self.changed("cycle")  # while it was away
                last_cycle = row
                if reported:
                    self.note("dashboard live updates: listening again", "info")
                reported = None
                delay = 0.5
                while not self.stopped.is_set():
                    async for _ in conn.notifies(timeout=POLL_SECONDS):
                        self.changed("events")
                    cur = await conn.execute(SQL["last_cycle"])
                    row = await cur.fetchone()
                    if row != last_cycle:
                        self.changed("cycle")
                        last_cycle = row
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away, or the view is missing: retry quietly
                text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                if not self.stopped.is_set() and text != reported:
                    self.note(f"dashboard live updates paused ({text}); retrying with backoff", "warning")
                    reported = text
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.stopped.wait(), timeout=delay)
                delay = min(delay * 2, BACKOFF_MAX)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()

    def changed(self, kind: str) -> None:
        """Tell the pages (at most once per MIN_GAP_SECONDS; a burst becomes one message)."""
        self.changes += 1
        self._pending = kind if self._pending in (None, kind) else "events"
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        wait = self._last_sent + MIN_GAP_SECONDS - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        kind, self._pending = self._pending, None
        if kind is None:
            return
        self._last_sent = time.monotonic()
        message = f"event: change\ndata: {json.dumps({'kind': kind, 'at': time.time()})}\n\n"
        for queue in list(self.subscribers):
            if queue.qsize() < 5:
                queue.put_nowait(message)

    # -- the stream of one page ------------------------------------------------------------------

    def full(self) -> bool:
        return len(self.subscribers) >= MAX_SUBSCRIBERS

    def end_session(self, session: str) -> None:
        """The streams of this login session end now (it logged out)."""
        for queue, owner in list(self.subscribers.items()):
            if owner == session:
                queue.put_nowait(None)

    async def stream(self, alive: Callable[[], bool] = lambda: True,
                     session: str | None = None) -> AsyncIterator[bytes]:
        """One page's stream; it ends when `alive()` (its login session) says no: checked at each
        message and keepalive, so at least every KEEPALIVE_SECONDS."""
        queue: asyncio.Queue = asyncio.Queue()
        self.subscribers[queue] = session
        try:
            yield b"retry: 3000\n: connected\n\n"
            while not self.stopped.is_set():
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_SECONDS)
                except asyncio.TimeoutError:
                    message = ": keepalive\n\n"
                if message is None or not alive():
                    return
                yield message.encode()
        finally:
            self.subscribers.pop(queue, None)
