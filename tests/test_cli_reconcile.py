"""`sigsync reconcile` and `sigsync report` as real processes against a real database."""

from __future__ import annotations

import json

import psycopg

from support import queued_backlog, sigsync

TRADE = "20251212_104200000_BULLISH"
EVENTS = [
    {"event_type": "ENTRY", "trade_id": TRADE, "entry_price": 25680, "stop_loss": 25645, "timestamp": 1765554300000},
    {"event_type": "SIGNAL_CREATED", "trade_id": "20251212_104400000_BEARISH", "timestamp": 1765554240000},
]


def _ingest(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT count(*) FROM sigsync.ingest_many(%s::text[])", ([json.dumps(e) for e in EVENTS],))


def test_reconcile_prints_the_cycle_and_records_it(db):
    _ingest(db)
    result = sigsync("--dsn", db, "reconcile", "--now", "2025-12-12 11:00:00+0000")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("cycle ") and ": ok, 2 signals" in result.stdout
    assert "tier 3:" in result.stdout  # trade_id parsing filled signal_time & co.
    assert ", health " in result.stdout and "health None" not in result.stdout
    with psycopg.connect(db) as conn:
        trigger, status, p_now = conn.execute(
            "SELECT trigger, status, p_now::text FROM sigsync.sync_runs ORDER BY id DESC LIMIT 1").fetchone()
    assert (trigger, status) == ("cli", "ok") and p_now.startswith("2025-12-12 11:00:00")


def test_reconcile_json_summary(db):
    _ingest(db)
    result = sigsync("--dsn", db, "reconcile", "--json", "--full")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "ok" and summary["full"] is True
    assert {"gaps_before", "gaps_after", "fills_by_tier", "cancellations_inferred", "duration_ms"} <= summary.keys()


def test_report_table_and_json(db):
    _ingest(db)
    assert sigsync("--dsn", db, "reconcile", "--now", "2025-12-12 11:00:00+0000").returncode == 0
    text = sigsync("--dsn", db, "report")
    assert text.returncode == 0, text.stderr
    assert "GAP DETECTION REPORT" in text.stdout and "no_htf_alignment" in text.stdout
    data = json.loads(sigsync("--dsn", db, "report", "--json").stdout)
    assert data["gaps"]["no_htf_alignment"] == 2   # neither signal has a SIGNAL_CREATED with htf_alignment
    assert data["health"]["signals"] == 2
    assert data["last_cycles"][0]["trigger"] == "cli" and data["last_cycles"][0]["status"] == "ok"
    assert "Last cycles:" in text.stdout
    total = int(next(l for l in text.stdout.splitlines() if l.startswith("Total gaps:")).split(":")[1])
    with psycopg.connect(db) as conn:  # the report shows what the views say
        assert total == conn.execute("SELECT count(*) FROM sigsync.signal_gaps").fetchone()[0] > 0


def test_reconcile_says_how_many_queued_updates_it_left(db):
    """A backlog of more queued MFE updates than a cycle projects (about 5,000) is reported."""
    bodies = queued_backlog("LEFT", 8)
    with psycopg.connect(db, autocommit=True) as conn:
        assert {s for (s,) in conn.execute("SELECT status FROM sigsync.ingest_many(%s::text[])", (bodies,))} == {"accepted"}
    result = sigsync("--dsn", db, "reconcile")
    assert result.returncode == 0, result.stderr
    assert "4000 queued MFE updates left for the next cycle" in result.stdout, result.stdout
    again = sigsync("--dsn", db, "reconcile")
    assert "queued MFE updates left" not in again.stdout, again.stdout
