"""The spool of `sigsync serve` with a real database going away (DESIGN §14): while it is
down every answer is 202 (fsync'd to the spool); when it returns the spool is replayed
without touching serve and every body is in the log exactly once; a serve killed with
SIGKILL mid-spool replays what it kept at its next start, reports the torn record and loses
nothing whole; a database that does not answer in time, a full spool, SIGTERM while spooling.
"""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import httpx
import psycopg
import pytest

from sigsync.cluster import find_bindir
from sigsync.spool import TORN_DIR, Record, parse, read_key
from support import make_tmp_dir, migrated_private_cluster
from test_serve_helpers import Serve, create_token, events_with, heartbeat, kept_running, rejected_with, serving


@pytest.fixture(scope="module")
def private_cluster():
    with migrated_private_cluster("sigsync-spool-") as cluster:
        yield cluster


@pytest.fixture
def database(private_cluster):
    """The private cluster, running at the start of each test (and after it)."""
    yield from kept_running(private_cluster)


def crash(cluster) -> None:
    """Stop the server like a crash (no shutdown checkpoint, connections cut)."""
    cluster._run([find_bindir() / "pg_ctl", "-D", cluster.pgdata, "-m", "immediate", "stop"])
    assert not cluster.is_running()


def post_all(serve: Serve, token: str, bodies: list[str], workers: int = 8) -> list[httpx.Response]:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda b: serve.post(token, b), bodies))


def stored_once(dsn: str, markers: list[str]) -> list[str]:
    """The markers that are not in the log exactly once."""
    return [m for m in markers if len(events_with(dsn, m)) != 1]


def run_id() -> str:
    return uuid.uuid4().hex[:8]


def test_while_the_database_is_down_every_answer_is_202_and_each_body_is_stored_once_when_it_returns(database):
    url = database.url()
    token = create_token(url)
    tag = run_id()
    with serving(url) as serve:
        assert serve.post(token, heartbeat(f"{tag}-before")).status_code == 200
        crash(database)
        markers = [f"{tag}-{i}" for i in range(40)]
        bodies = [heartbeat(m) for m in markers] + [f"not json {tag}-bad"]
        answers = post_all(serve, token, bodies)
        assert [(a.status_code, a.json()) for a in answers] == [(202, {"status": "spooled"})] * len(bodies)
        ready = serve.get("/readyz")
        assert ready.status_code == 503 and ready.json()["database"] == "unavailable"
        assert ready.json()["spool"]["records"] == len(bodies)
        metrics = serve.get("/metrics").text
        assert f"sigsync_spool_records {float(len(bodies))}" in metrics and "sigsync_database_up 0.0" in metrics

        restarted = datetime.now(timezone.utc)
        database.start()  # serve is not touched: it notices by itself
        serve.wait_spool_empty(timeout=30)
        assert stored_once(url, markers) == []
        with psycopg.connect(url) as conn:  # a replayed body keeps the time it was received
            late = conn.execute("SELECT count(*) FROM sigsync.automated_signals"
                                " WHERE indicator_version LIKE %s AND (received_at >= %s OR \"timestamp\" >= %s)",
                                (f"t-{tag}-%", restarted, restarted)).fetchone()[0]
        assert late == 0
        assert [row[0] for row in rejected_with(url, f"{tag}-bad")] == ["invalid_json"]  # kept, as received
        # while the spool held bodies, new ones joined its end; now they go straight in again
        assert serve.post(token, heartbeat(f"{tag}-after")).status_code == 200
        errors = "\n".join(serve.stderr)
        assert errors.count("database unavailable") == 1 and "replayed" in errors and "Traceback" not in errors


def test_serve_killed_mid_spool_replays_what_it_kept_reports_the_torn_record_and_loses_nothing_whole(database):
    url = database.url()
    token = create_token(url)
    tag = run_id()
    spool_dir = make_tmp_dir("sigsync-spool-kill-")
    try:
        serve = Serve(url, spool_dir=spool_dir)
        try:
            assert serve.post(token, heartbeat(f"{tag}-warm")).status_code == 200
            crash(database)
            answered: list[str] = []  # bodies answered 202
            stop = threading.Event()

            def sender(k: int) -> None:
                with httpx.Client(timeout=5) as client:
                    for i in range(1000):
                        if stop.is_set():
                            return
                        m = f"{tag}-{k}-{i}"
                        try:
                            r = client.post(f"{serve.url}/webhook/{token}", content=heartbeat(m))
                        except httpx.HTTPError:
                            return  # killed under us: no answer, nothing promised
                        if r.status_code == 202:
                            answered.append(m)

            threads = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 20
            while len(answered) < 30 and time.monotonic() < deadline:
                time.sleep(0.01)
            serve.proc.send_signal(signal.SIGKILL)  # mid-spool: requests are being written
            serve.proc.wait(timeout=10)
            stop.set()
            for t in threads:
                t.join()
        finally:
            serve.kill()
        assert len(answered) >= 30
        # a write cut short by the crash: half a record at the end of the newest segment
        newest = sorted(spool_dir.glob("*.spool"))[-1]
        torn = Record(time.time(), 1, "indicator", heartbeat(f"{tag}-torn").encode()).encode(read_key(spool_dir))
        with open(newest, "ab") as f:
            f.write(torn[: len(torn) // 2])

        with serving(url, spool_dir=spool_dir) as again:  # the database is still down
            assert any("not a whole record" in line and "crash" in line for line in again.stderr), again.stderr
            state = again.ready()
            assert state["spool"]["torn_records"] == 1 and state["spool"]["records"] >= len(answered)
            # the tokens it knew are kept next to the spool: it still tells a real token from a wrong one
            assert again.post(token, heartbeat(f"{tag}-offline")).status_code == 202
            assert again.post("sgs_" + "B" * 43, heartbeat(f"{tag}-intruder")).status_code == 401
            database.start()
            again.wait_spool_empty(timeout=30)
        assert stored_once(url, answered + [f"{tag}-offline"]) == []
        assert events_with(url, f"{tag}-torn") == [] and events_with(url, f"{tag}-intruder") == []
        assert len(list((spool_dir / TORN_DIR).glob("*.torn"))) == 1
    finally:
        shutil.rmtree(spool_dir, ignore_errors=True)


def test_a_database_that_does_not_answer_in_time_gets_the_body_spooled_and_stored_once(database):
    url = database.url()
    token = create_token(url)
    tag = run_id()
    with serving(url, "--answer-timeout", "0.5") as serve:
        assert serve.post(token, heartbeat(f"{tag}-warm")).status_code == 200
        with psycopg.connect(url) as blocker:  # inserts into the log wait for this transaction
            blocker.execute("LOCK TABLE sigsync.automated_signals IN EXCLUSIVE MODE")
            started = time.monotonic()
            answer = serve.post(token, heartbeat(f"{tag}-slow"))
            took = time.monotonic() - started
            assert answer.status_code == 202, answer.text
            assert took < 2.5, took  # well inside TradingView's 3 s
            blocker.rollback()
        serve.wait_spool_empty()
        assert stored_once(url, [f"{tag}-slow"]) == []


def test_a_full_spool_answers_503_so_that_tradingview_sends_it_again(database):
    url = database.url()
    token = create_token(url)
    tag = run_id()
    with serving(url, "--spool-max-mb", "1") as serve:
        crash(database)
        codes = []
        for i in range(25):  # 25 x 60 KB > 1 MB
            codes.append(serve.post(token, heartbeat(f"{tag}-{i}", padding="p" * 60_000)).status_code)
        assert set(codes) == {202, 503} and codes.index(503) > 10 and 202 not in codes[codes.index(503):]
        refused = serve.post(token, heartbeat(f"{tag}-refused", padding="p" * 60_000))
        assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
        assert refused.json()["code"] == "unavailable"
        database.start()
        serve.wait_spool_empty(timeout=30)
        kept = [f"{tag}-{i}" for i, c in enumerate(codes) if c == 202]
        assert stored_once(url, kept) == []
        assert events_with(url, f"{tag}-refused") == []


def test_sigterm_while_spooling_keeps_every_202_in_the_spool_for_the_next_start(database):
    url = database.url()
    token = create_token(url)
    tag = run_id()
    spool_dir = make_tmp_dir("sigsync-spool-term-")
    try:
        serve = Serve(url, spool_dir=spool_dir)
        try:
            crash(database)
            answered = [f"{tag}-{i}" for i in range(10)]
            assert {serve.post(token, heartbeat(m)).status_code for m in answered} == {202}
            code, took = serve.stop(signal.SIGTERM)
            assert code == 0 and took < 5, (code, took, serve.lines)
            assert "10 bodies wait in the spool" in serve.stderr[-1]
        finally:
            serve.kill()
        kept = [json.loads(r.body)["indicator_version"] for p in sorted(spool_dir.glob("*.spool"))
                for r in parse(p.read_bytes(), read_key(spool_dir))[0]]
        assert kept == [f"t-{m}" for m in answered]  # in arrival order
        database.start()
        with serving(url, spool_dir=spool_dir) as again:
            again.wait_spool_empty(timeout=30)
        assert stored_once(url, answered) == []
    finally:
        shutil.rmtree(spool_dir, ignore_errors=True)
