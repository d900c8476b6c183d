"""`sigsync serve` against what a client, a proxy or a changed setting can do (DESIGN §14),
a real serve over real HTTP on a real cluster: a lowered max_payloads_per_call splits a batch
instead of refusing bodies that a smaller call takes."""

from __future__ import annotations

import threading
import uuid

import httpx
import psycopg

from test_serve_helpers import create_token, events_with, heartbeat, serving


def marker() -> str:
    return uuid.uuid4().hex[:12]


def test_a_lowered_max_payloads_per_call_splits_the_batch_and_refuses_nothing_a_smaller_call_takes(db):
    token = create_token(db)
    with serving(db, "--batch-window", "300", "--no-dashboard") as serve:
        with psycopg.connect(db, autocommit=True) as conn:  # serve reads it again within 5 s: not yet
            conn.execute("UPDATE sigsync.settings SET value = '2' WHERE key = 'max_payloads_per_call'")
        markers = [marker() for _ in range(8)]
        answers: dict[str, int] = {}
        go = threading.Barrier(len(markers))

        def send(m: str) -> None:
            with httpx.Client(timeout=10) as client:
                go.wait()  # together: one batch of 8
                answers[m] = client.post(f"{serve.url}/webhook/{token}", content=heartbeat(m)).status_code

        threads = [threading.Thread(target=send, args=(m,)) for m in markers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == {m: 200 for m in markers}
        assert [len(events_with(db, m)) for m in markers] == [1] * len(markers)
        assert any("at most 2 payloads per call" in line for line in serve.stderr), serve.stderr
    with psycopg.connect(db) as conn:  # the calls refused were rolled back: no body kept as rejected
        assert conn.execute("SELECT count(*) FROM sigsync.rejected_events").fetchone() == (0,)
