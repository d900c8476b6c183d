"""`sigsync serve --reconcile`: the reconcile loop of `sigsync run` (the same Runner) in the
same process; a webhook is reconciled by it, an answer never waits on a cycle, and SIGTERM
cancels a cycle in flight and still exits 0 within 5 s."""

from __future__ import annotations

import json
import signal
import time

import psycopg

from test_serve_helpers import create_token, serving

TRADE = "20251212_104200000_BULLISH"
ENTRY = {"event_type": "ENTRY", "trade_id": TRADE, "entry_price": 25680, "stop_loss": 25645, "timestamp": 1765554300000}


def is_cycle_line(line: str) -> bool:
    return line.startswith("cycle ") or (line.startswith('{"ts"') and '"run_id"' in line)


def reconciled(dsn: str, trade_id: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT EXISTS (SELECT 1 FROM sigsync.signal_health_metrics WHERE trade_id = %s)",
                            (trade_id,)).fetchone()[0]


def cycle_backends(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT state, wait_event_type, query FROM pg_stat_activity"
                            " WHERE application_name = 'sigsync serve reconcile' AND query LIKE '%%reconcile%%'"
                            "   AND state = 'active'").fetchall()


def test_with_reconcile_a_webhook_is_reconciled_by_the_loop_in_the_same_process(db):
    token = create_token(db)
    with serving(db, "--reconcile", "--interval", "60", "--log-format", "json") as serve:
        first = json.loads(serve.wait_line("stdout", is_cycle_line))  # the loop's catch-up cycle at start
        assert first["status"] == "ok" and first["trigger"] == "runner"
        assert serve.ready()["reconcile"] == "running"
        assert serve.post(token, json.dumps(ENTRY)).status_code == 200
        deadline = time.monotonic() + 10
        while not reconciled(db, TRADE):
            assert time.monotonic() < deadline, serve.lines
            time.sleep(0.02)
        requests = [json.loads(line) for line in serve.stdout if '"kind": "request"' in line]
        assert requests and requests[-1]["status"] == 200 and requests[-1]["result"] == "accepted"
        code, took = serve.stop(signal.SIGTERM)
    assert code == 0 and took < 5, (code, took, serve.lines)
    assert "Traceback" not in "\n".join(serve.stderr)


def test_an_answer_never_waits_on_a_reconcile_cycle(db):
    token = create_token(db)
    with serving(db, "--reconcile", "--interval", "60", "--debounce", "0") as serve:
        serve.wait_line("stdout", is_cycle_line)
        with psycopg.connect(db) as blocker:
            # a cycle records itself in sync_runs first: it now waits for this transaction
            blocker.execute("LOCK TABLE sigsync.sync_runs IN ACCESS EXCLUSIVE MODE")
            assert serve.post(token, json.dumps(ENTRY)).status_code == 200  # NOTIFY: the loop starts a cycle
            deadline = time.monotonic() + 10
            while not any(wait == "Lock" for _state, wait, _q in cycle_backends(db)):
                assert time.monotonic() < deadline, f"no cycle in flight: {serve.lines}"
                time.sleep(0.02)
            for i in range(20):  # answered while the cycle is stuck
                started = time.monotonic()
                body = {"type": "HEARTBEAT", "tracked_signals": i, "indicator_version": f"during-cycle-{i}"}
                answer = serve.post(token, json.dumps(body))
                assert answer.status_code == 200 and answer.json()["status"] == "accepted", answer.text
                assert time.monotonic() - started < 1.0
            assert any(wait == "Lock" for _state, wait, _q in cycle_backends(db)), "the cycle ended meanwhile"
            blocker.rollback()
        assert reconciled(db, TRADE) or serve.wait_line("stdout", is_cycle_line, start=1)


def test_sigterm_cancels_a_cycle_in_flight_and_exits_0(db):
    token = create_token(db)
    with serving(db, "--reconcile", "--interval", "60", "--debounce", "0") as serve:
        serve.wait_line("stdout", is_cycle_line)
        with psycopg.connect(db) as blocker:
            blocker.execute("LOCK TABLE sigsync.sync_runs IN ACCESS EXCLUSIVE MODE")
            assert serve.post(token, json.dumps(ENTRY)).status_code == 200
            deadline = time.monotonic() + 10
            while not cycle_backends(db):
                assert time.monotonic() < deadline
                time.sleep(0.02)
            code, took = serve.stop(signal.SIGTERM)
            blocker.rollback()
    assert code == 0 and took < 5, (code, took, serve.lines)
    assert any("cancelled and rolled back" in line for line in serve.stderr), serve.stderr
