"""Group commit routes each result to its own request (DESIGN §14), for any interleaving.

The real Batcher of `sigsync serve`, in this process, on a real database: hypothesis draws a
mix of requests (new events, MFE batches, resends, invalid bodies, bodies naming another
source) for two tokens of different sources, when each arrives, and the batcher's window,
batch size and batches in flight. Every request must get its own answer: its own status, its
own error code, and event ids whose stored payloads are its own.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg_pool import AsyncConnectionPool

from sigsync.batcher import Batcher
from sigsync.metrics import Metrics
from sigsync.spool import Spool
from sigsync.tokens import Token
from support import make_tmp_dir

TOKENS = [Token(1, "indicator", b"\0" * 32), Token(2, "chart-b", b"\1" * 32)]
MARKERS = itertools.count(1)

KIND = st.sampled_from(["event", "batch", "resend", "invalid", "mismatch"])
REQUEST = st.tuples(KIND, st.integers(0, 1), st.integers(1, 3), st.floats(0, 0.004))
SCENARIO = st.fixed_dictionaries({
    "requests": st.lists(REQUEST, min_size=1, max_size=14),
    "window": st.sampled_from([0.0, 0.001, 0.003]),
    "max_items": st.integers(1, 6),
    "inflight": st.integers(1, 3),
})


def make_requests(drawn) -> list[dict]:
    """Bodies with a marker of their own (a resend repeats an earlier body, marker included)."""
    requests: list[dict] = []
    for kind, token, items, delay in drawn:
        marker = f"r{next(MARKERS)}"
        tok = TOKENS[token]
        if kind == "resend" and any(r["kind"] == "event" for r in requests):
            original = next(r for r in reversed(requests) if r["kind"] == "event")
            requests.append({**original, "kind": "resend", "delay": delay})
            continue
        if kind in ("event", "resend"):
            # (dated: a report without a timestamp is as of its receipt, so a resend of it is a new one)
            body = {"type": "HEARTBEAT", "tracked_signals": 1, "indicator_version": marker, "timestamp": 1765554300000}
            expect = ("accepted", None, 1)
            kind = "event"
        elif kind == "batch":
            body = {"event_type": "MFE_UPDATE_BATCH", "timestamp": 1765554420000, "updates": [
                {"trade_id": f"20251212_10{i:02d}00000_BULLISH", "be_mfe": 0.1 * i, "no_be_mfe": 0.1 * i,
                 "mark": marker} for i in range(items)]}
            expect = ("accepted", None, items)
        elif kind == "invalid":
            body = None
            expect = ("rejected", "invalid_json", 0)
        else:
            body = {"type": "HEARTBEAT", "tracked_signals": 1, "indicator_version": marker, "source": "nobody"}
            expect = ("rejected", "source_mismatch", 0)
        text = f"not json {marker}" if body is None else json.dumps(body)
        requests.append({"kind": kind, "token": tok, "body": text.encode(), "marker": marker, "expect": expect,
                         "delay": delay})
    return requests


async def run_scenario(dsn: str, scenario: dict, spool_dir) -> list:
    requests = make_requests(scenario["requests"])
    spool = Spool(spool_dir, 1 << 30)
    spool.open()
    async with AsyncConnectionPool(dsn, min_size=1, max_size=scenario["inflight"] + 1,
                                   kwargs={"autocommit": True}) as pool:
        batcher = Batcher(pool, spool, Metrics(), window=scenario["window"], max_items=scenario["max_items"],
                          max_inflight=scenario["inflight"], answer_timeout=10, limits=lambda: 10000,
                          note=lambda *_: None)
        batcher.start()

        async def one(request):
            await asyncio.sleep(request["delay"])
            return await batcher.submit(request["token"], request["body"])

        outcomes = await asyncio.gather(*(one(r) for r in requests))
        await batcher.close()
    spool.close()
    assert spool.records == 0  # the database was there: nothing went to the spool
    return list(zip(requests, outcomes))


def check(dsn: str, results: list) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        copies: dict[bytes, list] = {}
        for request, outcome in results:
            status, code, events = request["expect"]
            if request["kind"] in ("event", "resend"):
                copies.setdefault(request["body"], []).append(outcome)
                continue
            assert outcome.status == status, (request, outcome)
            assert (outcome.error or {}).get("code") == code, (request, outcome)
            assert len(outcome.event_ids) == events, (request, outcome)
            stored = conn.execute("SELECT payload::text FROM sigsync.automated_signals WHERE id = ANY(%s)",
                                  (outcome.event_ids,)).fetchall()
            assert len(stored) == events and all(request["marker"] in text for (text,) in stored), (request, stored)
            if status == "rejected":
                (kept,) = conn.execute("SELECT count(*) FROM sigsync.rejected_events WHERE payload = %s AND source = %s",
                                       (request["body"].decode(), request["token"].source)).fetchone()
                assert kept == 1, request
        for body, outcomes in copies.items():  # one copy stored, every resend answered with its id
            assert sorted(o.status for o in outcomes) == ["accepted"] + ["duplicate"] * (len(outcomes) - 1), outcomes
            (accepted,) = [o for o in outcomes if o.status == "accepted"]
            assert len(accepted.event_ids) == 1
            # a resend answered while its original was still committing in a concurrent call gets
            # no id (ingest_many's snapshot cannot see it yet); any id it gets is the original's
            assert all(o.event_ids in ([], accepted.event_ids) for o in outcomes), outcomes
            (text,) = conn.execute("SELECT payload::text FROM sigsync.automated_signals WHERE id = %s",
                                   (accepted.event_ids[0],)).fetchone()
            assert json.loads(body.decode())["indicator_version"] in text


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(scenario=SCENARIO)
def test_each_request_gets_its_own_result_for_any_interleaving(module_db, scenario):
    spool_dir = make_tmp_dir("sigsync-routing-")
    try:
        check(module_db, asyncio.run(run_scenario(module_db, scenario, spool_dir)))
    finally:
        shutil.rmtree(spool_dir, ignore_errors=True)


class _ShuffledRows:
    """A pool whose ingest_many answers come back in reverse order: routing must follow idx."""

    def __init__(self):
        self.calls: list[tuple[list[bytes], str]] = []

    def connection(self, timeout=None):
        pool = self

        class _Conn:
            async def __aenter__(self):
                return self

            async def __aexit__(self, *exc):
                return False

            def transaction(self):
                return self

            async def execute(self, _sql, params):
                bodies, source = params
                pool.calls.append((bodies, source))

                class _Cursor:
                    async def fetchall(self):
                        rows = [(i, "accepted", [1000 * len(pool.calls) + i], None) for i in range(1, len(bodies) + 1)]
                        return rows[::-1]

                return _Cursor()

        return _Conn()


def test_rows_are_routed_by_idx_not_by_their_order():
    async def scenario():
        spool_dir = make_tmp_dir("sigsync-routing-")
        spool = Spool(spool_dir, 1 << 20)
        spool.open()
        pool = _ShuffledRows()
        batcher = Batcher(pool, spool, Metrics(), window=0.01, max_items=10, max_inflight=1, answer_timeout=5,
                          limits=lambda: 10000, note=lambda *_: None)
        outcomes = await asyncio.gather(*(batcher.submit(TOKENS[i % 2], b"body %d" % i) for i in range(6)))
        await batcher.close()
        spool.close()
        shutil.rmtree(spool_dir, ignore_errors=True)
        return pool.calls, outcomes

    calls, outcomes = asyncio.run(scenario())
    # one call per source, bodies in arrival order within it; each request got the id of its own position
    assert [(source, bodies) for bodies, source in calls] == [
        ("indicator", [b"body 0", b"body 2", b"body 4"]), ("chart-b", [b"body 1", b"body 3", b"body 5"])]
    assert [o.event_ids for o in outcomes] == [[1001], [2001], [1002], [2002], [1003], [2003]]
