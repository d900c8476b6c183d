"""Group commit and the spool path of `sigsync serve` (DESIGN §14).

Requests that arrive together go to the database in one `ingest_many(bytea[], source)` call
(one per token source in the batch), and each request is answered from its own result row:
row idx = the request's position among its source's bodies. A batch starts when its first
request has waited --batch-window (counted from the end of the previous batch when that is
later, so that the requests its answers bring back join the next one), or when --batch-max
requests wait; at most --db-connections batches are in flight: while they are, new requests
gather into the next batch, so batches grow with the load instead of queueing.

Where a batch goes:

- the database, unless the spool holds bodies (then it joins the spool's end, so that
  bodies reach the log in the order they arrived), or unless the replayer is replaying the
  spool's last segment with the database there: then the batch waits for it (up to HOLD of its
  oldest request's arrival, else it joins the spool), and goes to the database after it, so
  that under a steady stream the spool drains instead of each new body joining it;
- the spool, when the database call fails (cannot connect, connection lost, any error after
  two retries of a deadlock or serialization failure) or gives no answer within
  --answer-timeout of the batch's oldest request (TradingView abandons a request after 3 s;
  the statement is cancelled, and if it committed anyway the replay is a duplicate): each
  request is answered 202 after the append is fsync()ed. A spooled body keeps its arrival
  time to the tenth of a second (STAMP, rounded down): it is replayed with it
  (ingest_many(bytea[], source, received_at) takes one time per call), so the bodies of one
  tenth of a second and one source are replayed in one call;
- nowhere, when the spool cannot take it either (full, disk error): 503, so that
  TradingView sends it again.

Each call holds at most max_payloads_per_call bodies (and --batch-max): the limit serve read
last (tokens.py, every few seconds). When the database's limit is lower (it was lowered since),
a call that it answers too_many_payloads for is rolled back, split at the limit the database
showed, and sent again: a body is never refused for a limit a smaller call meets.

The replayer sends the spool's oldest segment to the database in groups of up to --batch-max
records, each group one transaction of one ingest_many call per (received_at, source), in
arrival order; a transient error rolls the group back and sends it again. A segment is removed
once its last group committed (a crash before that replays it whole again: dedupe makes that
harmless). Bytes of a segment that are not a whole record are set aside (spool.py), counted
(sigsync_spool_torn_records) and reported at warning level, never dropped silently. While the
database is away it retries with backoff (0.2 s doubling, up to 1 s; bodies spooled meanwhile
do not wake it).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import psycopg

from sigsync.spool import SEGMENT_MAX_BYTES, SEGMENT_MAX_RECORDS, Record, Segment, Spool, SpoolFull
from sigsync.tokens import Token

INGEST_SQL = "SELECT idx, status, event_ids, error FROM sigsync.ingest_many(%s::bytea[], %s)"
REPLAY_SQL = "SELECT idx, status, event_ids, error FROM sigsync.ingest_many(%s::bytea[], %s, %s::timestamptz)"
RETRYABLE = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure, psycopg.errors.LockNotAvailable)
RETRIES = 2
CONNECT_WAIT = 0.5  # longest wait for a pool connection (one is free unless the database is away)
REPLAY_START, REPLAY_MAX = 0.2, 1.0
STAMP_MICROS = 100_000  # a spooled body's received_at, rounded down to this (see the module's docstring)
HOLD = 0.5  # seconds a batch may wait for the replay of the spool's last segment (at most answer-timeout/2)
TOO_MANY = "too_many_payloads"


@dataclass
class Outcome:
    status: str  # accepted | duplicate | rejected | spooled | unavailable
    event_ids: list[int] = field(default_factory=list)
    error: dict | None = None


@dataclass(eq=False)
class Item:
    token: Token
    body: bytes
    received_at: float  # wall clock (kept in the spool)
    arrived: float  # loop time
    future: asyncio.Future


class _TooMany(Exception):
    """The database answered too_many_payloads: its max_payloads_per_call is `limit`."""

    def __init__(self, limit: int):
        super().__init__(limit)
        self.limit = limit


def _resolve(item: Item, outcome: Outcome) -> None:
    if not item.future.done():
        item.future.set_result(outcome)


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def stamp(received_at: float) -> float:
    """The received_at a spooled body keeps: its arrival, rounded down to STAMP_MICROS."""
    micros = int(received_at * 1_000_000)
    return (micros - micros % STAMP_MICROS) / 1_000_000


def _groups(items: list, source_of: Callable, limit: int) -> list[tuple[str, list]]:
    """Items by source, in arrival order within each source, in chunks of at most `limit`."""
    by_source: dict[str, list] = collections.defaultdict(list)
    for item in items:
        by_source[source_of(item)].append(item)
    return [(source, group[i:i + limit]) for source, group in by_source.items() for i in range(0, len(group), limit)]


def _replay_calls(records: list[Record], limit: int) -> list[tuple[str, float, list[Record]]]:
    """The ingest_many calls of a replay group: records of the same received_at and source
    together, at most `limit` per call, in arrival order within each source."""
    calls = []
    start = 0
    while start < len(records):
        end = start
        when = round(records[start].received_at * 1_000_000)
        while end < len(records) and round(records[end].received_at * 1_000_000) == when:
            end += 1
        for source, group in _groups(records[start:end], lambda r: r.source, limit):
            calls.append((source, records[start].received_at, group))
        start = end
    return calls


def _limit_shown(rows) -> int | None:
    """The database's max_payloads_per_call when it answered too_many_payloads for some rows."""
    over = [idx for idx, status, _ids, error in rows if status == "rejected" and (error or {}).get("code") == TOO_MANY]
    return max(1, min(over) - 1) if over else None


class Batcher:
    def __init__(self, pool, spool: Spool, metrics, *, window: float, max_items: int, max_inflight: int,
                 answer_timeout: float, limits: Callable[[], int], note: Callable[[str, str], None]):
        self.pool = pool
        self.spool = spool
        self.metrics = metrics
        self.window = window
        self.max_items = max_items
        self.max_inflight = max_inflight
        self.answer_timeout = answer_timeout
        self.limits = limits  # () -> max_payloads_per_call, as serve read it last
        self.note = note
        self.database_ok: bool | None = None  # None: not tried yet
        self.last_error: str | None = None
        self._learned: tuple[int, int] | None = None  # (limits() then, the lower limit the database showed)
        self._pending: collections.deque[Item] = collections.deque()
        self._pending_bytes = 0
        self._inflight = 0
        self._freed = 0.0  # loop time when a batch last finished
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._tasks: set[asyncio.Task] = set()
        self._replay_wake = asyncio.Event()  # bodies were spooled
        self._stopping = asyncio.Event()
        self._replayer: asyncio.Task | None = None
        self._replaying: Segment | None = None
        self._torn_counted = spool.torn_records
        self._closing = False
        self._spool_refused = False
        self._loop = asyncio.get_running_loop()
        self._hold = min(HOLD, answer_timeout / 2)
        self._update_spool_metrics()

    # -- requests -----------------------------------------------------------------------------

    async def submit(self, token: Token, body: bytes) -> Outcome:
        item = Item(token, body, time.time(), self._loop.time(), self._loop.create_future())
        self._pending.append(item)
        self._pending_bytes += len(body)
        self._kick()
        return await asyncio.shield(item.future)

    def _batch_limit(self) -> int:
        known = self.limits()
        if self._learned is not None and self._learned[0] != known:
            self._learned = None  # serve read the setting again: that is the database's limit now
        limit = min(self.max_items, known, SEGMENT_MAX_RECORDS)
        if self._learned is not None:
            limit = min(limit, self._learned[1])
        return max(1, limit)

    def _learn(self, limit: int) -> None:
        if self._learned is None or limit < self._learned[1]:
            self.note(f"the database takes at most {limit} payloads per call (max_payloads_per_call was lowered): "
                      "calls are split at that", "info")
        self._learned = (self.limits(), limit)

    def _holding(self) -> bool:
        """Whether new batches wait for the replayer: it is replaying the spool's only segment
        and the database takes it."""
        return (not self._closing and self.database_ok is True and self._replaying is not None
                and len(self.spool.segments) == 1 and self.spool.segments[0] is self._replaying)

    def _kick(self) -> None:
        """Start the batches that may start now; else make sure a timer will."""
        while self._pending and self._inflight < self.max_inflight:
            # the window runs from the first request's arrival, or from when a batch last finished
            # if that is later: the requests its answers bring back join the next batch
            now = self._loop.time()
            due = max(self._pending[0].arrived, self._freed) + self.window
            full = len(self._pending) >= self._batch_limit() or self._pending_bytes >= SEGMENT_MAX_BYTES
            if not (full or self._closing) and now < due:
                self._wake_at(due)
                return
            if self._holding() and now < self._pending[0].arrived + self._hold:
                self._wake_at(self._pending[0].arrived + self._hold)
                return
            batch = self._take()
            self._inflight += 1
            self._track(asyncio.create_task(self._run(batch)))

    def _wake_at(self, when: float) -> None:
        if self._timer is not None:
            if self._timer_at <= when:
                return
            self._timer.cancel()
        self._timer, self._timer_at = self._loop.call_at(when, self._on_timer), when  # (uvloop's has no when())

    def _on_timer(self) -> None:
        self._timer = None
        self._kick()

    def _take(self) -> list[Item]:
        limit = self._batch_limit()
        batch: list[Item] = []
        size = 0
        while self._pending and len(batch) < limit:
            if batch and size + len(self._pending[0].body) > SEGMENT_MAX_BYTES:
                break
            item = self._pending.popleft()
            batch.append(item)
            size += len(item.body)
        self._pending_bytes -= size
        return batch

    def _track(self, task: asyncio.Task) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[Item]) -> None:
        try:
            self.metrics.batch_size.observe(len(batch))
            if self.spool.records:
                await self._to_spool(batch)  # behind the bodies already waiting, in arrival order
            else:
                await self._to_database(batch)
        finally:
            for item in batch:  # never leave a request without an answer
                _resolve(item, Outcome("unavailable", error={"code": "internal_error",
                                                             "message": "the body could not be kept"}))
            self._inflight -= 1
            self._freed = self._loop.time()
            self._kick()

    async def _to_database(self, batch: list[Item]) -> None:
        deadline = batch[0].arrived + self.answer_timeout
        task = asyncio.create_task(self._ingest(batch, deadline))
        done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - self._loop.time()))
        if task in done:
            exc = task.exception()
            reason = None if exc is None else describe(exc)
        else:
            reason = f"no answer within --answer-timeout {self.answer_timeout:g}s"
            task.cancel()  # psycopg cancels the statement on the server; a commit that wins is deduped on replay
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            self._track(task)
        rest = [item for item in batch if not item.future.done()]
        if reason is None and not rest:
            self._database_ok()
            return
        self._database_failed(reason or "a result row was missing")
        if rest:
            await self._to_spool(rest)

    async def _ingest(self, batch: list[Item], deadline: float) -> None:
        chunks = collections.deque(_groups(batch, lambda i: i.token.source, self._batch_limit()))
        while chunks:
            source, items = chunks.popleft()
            try:
                rows = await self._call(INGEST_SQL, ([item.body for item in items], source), deadline)
            except _TooMany as exc:  # rolled back: the same bodies again, in calls the database takes
                self._learn(exc.limit)
                limit = self._batch_limit()
                chunks.extendleft(reversed([(source, items[i:i + limit]) for i in range(0, len(items), limit)]))
                continue
            for idx, status, event_ids, error in rows:
                if 1 <= idx <= len(items):
                    self.metrics.ingested(status)
                    _resolve(items[idx - 1], Outcome(status, list(event_ids or []), error))

    async def _call(self, sql: str, params: tuple, deadline: float) -> list:
        """One ingest_many call in a transaction of its own; _TooMany (rolled back) when the
        database's max_payloads_per_call is below the call's size; transient errors retried."""
        for attempt in range(RETRIES + 1):
            try:
                wait = min(CONNECT_WAIT, max(0.05, deadline - self._loop.time()))
                async with self.pool.connection(timeout=wait) as conn:
                    async with conn.transaction():
                        cur = await conn.execute(sql, params)
                        rows = await cur.fetchall()
                        if (limit := _limit_shown(rows)) is not None:
                            raise _TooMany(limit)
                return rows
            except RETRYABLE:
                if attempt == RETRIES:
                    raise
                await asyncio.sleep(0.005 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _to_spool(self, items: list[Item]) -> None:
        records = [Record(stamp(i.received_at), i.token.id, i.token.source, i.body) for i in items]
        try:
            await self.spool.append(records)
        except SpoolFull as exc:
            if not self._spool_refused:
                self.note(f"the spool refuses bodies ({exc}): requests are answered 503 until it can take them",
                          "error")
                self._spool_refused = True
            for item in items:
                _resolve(item, Outcome("unavailable", error={"code": "unavailable",
                                                             "message": "the body could not be kept; send it again"}))
            self._update_spool_metrics()
            return
        if self._spool_refused:
            self.note("the spool takes bodies again", "info")
            self._spool_refused = False
        self.metrics.spooled.inc(len(records))
        self._update_spool_metrics()
        for item in items:
            _resolve(item, Outcome("spooled"))
        self._replay_wake.set()

    # -- database state -------------------------------------------------------------------------

    def _database_ok(self) -> None:
        if self.database_ok is False:
            self.note("database available again", "info")
        self.database_ok, self.last_error = True, None
        self.metrics.database_up.set(1)

    def _database_failed(self, reason: str) -> None:
        if self.database_ok is not False:
            self.note(f"database unavailable ({reason}): bodies are spooled in {self.spool.directory} "
                      "and replayed when it returns", "warning")
        self.database_ok, self.last_error = False, reason
        self.metrics.database_up.set(0)
        self._kick()  # what waited for the replayer goes to the spool now

    def _update_spool_metrics(self) -> None:
        self.metrics.spool_records.set(self.spool.records)
        self.metrics.spool_bytes.set(self.spool.bytes)
        self.metrics.spool_disk_bytes.set(self.spool.disk_bytes)
        torn, self._torn_counted = self.spool.torn_records - self._torn_counted, self.spool.torn_records
        if torn > 0:
            self.metrics.torn.inc(torn)

    # -- replay ---------------------------------------------------------------------------------

    def start(self) -> None:
        self._replayer = asyncio.create_task(self._replay_loop(), name="sigsync-replay")
        if self.spool.records:
            self._replay_wake.set()

    async def _replay_loop(self) -> None:
        delay = REPLAY_START
        while not self._closing:
            if not self.spool.records and not self.spool.segments:
                self._replaying = None
                self._kick()  # what waited for the replayer goes to the database now
                self._replay_wake.clear()
                await self._replay_wake.wait()
                continue
            segment = await self.spool.oldest()
            if segment is None:
                continue
            self._replaying = segment
            try:
                records = await asyncio.to_thread(self.spool.read, segment)
            except OSError as exc:  # kept where it is for the next start; the others go on
                self.note(f"spool: cannot read {segment.path} ({describe(exc)}): left in place for the next start",
                          "error")
                await self.spool.forget(segment)
                self._update_spool_metrics()
                continue
            self._update_spool_metrics()  # torn ranges it found (set aside, or kept with the segment)
            try:
                counts = await self._replay(segment, records)
            except Exception as exc:  # the database is away or refuses: keep the rest, try again
                self._database_failed(describe(exc))
                # (new bodies do not wake it: each try closes the segment they are appended to)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                delay = min(delay * 2, REPLAY_MAX)
                continue
            await self.spool.remove(segment)
            self._replaying = None
            self._update_spool_metrics()
            delay = REPLAY_START
            summary = ", ".join(f"{s} {counts.get(s, 0)}" for s in ("accepted", "duplicate", "rejected"))
            self.note(f"replayed {len(records)} spooled bodies ({summary}); {self.spool.records} still waiting",
                      "info")

    async def _replay(self, segment: Segment, records: list[Record]) -> collections.Counter:
        """A segment's records from where its replay stopped, in groups of up to the batch
        limit, each group in one transaction (every body with the time it was received: it
        stands in for a missing timestamp and bounds the future ones)."""
        counts: collections.Counter = collections.Counter()
        while segment.replayed < len(records):
            limit = self._batch_limit()
            group: list[Record] = []
            size = 0
            for record in records[segment.replayed:segment.replayed + limit]:
                if group and size + len(record.body) > SEGMENT_MAX_BYTES:
                    break
                group.append(record)
                size += len(record.body)
            try:
                done = await self._replay_group(_replay_calls(group, limit))
            except _TooMany as exc:  # rolled back: again, in calls the database takes
                self._learn(exc.limit)
                continue
            segment.replayed += len(group)
            counts += done
            for status, n in done.items():
                self.metrics.ingested(status, n)
            self.metrics.replayed.inc(len(group))
            self._database_ok()
            self._update_spool_metrics()
        return counts

    async def _replay_group(self, calls: list[tuple[str, float, list[Record]]]) -> collections.Counter:
        for attempt in range(RETRIES + 1):
            counts: collections.Counter = collections.Counter()
            try:
                async with self.pool.connection(timeout=CONNECT_WAIT) as conn:
                    async with conn.transaction():
                        for source, received_at, records in calls:
                            when = datetime.fromtimestamp(received_at, timezone.utc)
                            cur = await conn.execute(REPLAY_SQL, ([r.body for r in records], source, when))
                            rows = await cur.fetchall()
                            if (limit := _limit_shown(rows)) is not None:
                                raise _TooMany(limit)
                            for _idx, status, _ids, _error in rows:
                                counts[status] += 1
                return counts
            except RETRYABLE:
                if attempt == RETRIES:
                    raise
                await asyncio.sleep(0.005 * (attempt + 1))
        raise AssertionError("unreachable")

    # -- stopping -------------------------------------------------------------------------------

    async def close(self, grace: float = 1.0) -> None:
        """Send what waits, let the batches in flight finish, stop the replayer (a group it is
        replaying is finished within `grace` or rolled back and kept for the next start)."""
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._kick()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.answer_timeout + 1)
        if self._replayer is not None:
            self._replay_wake.set()
            self._stopping.set()
            done, _ = await asyncio.wait({self._replayer}, timeout=grace)
            if not done:
                self._replayer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._replayer
