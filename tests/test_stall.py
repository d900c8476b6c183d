"""A silent stall is an alert (issue "trust under hostile input", item 11).

A session left idle in transaction after `SELECT sigsync.reconcile()` keeps the cycle's lock:
every later cycle is 'skipped' while system_health.alert_level used to stay 'ok'. Now a
skipped cycle names the backend holding the lock, the alert level becomes critical once no
cycle has succeeded for cycle_stall_after, and `sigsync report` says why.
"""

from __future__ import annotations

import time

import psycopg
import psycopg.conninfo
import pytest

from support import sigsync


def test_an_idle_transaction_after_reconcile_is_reported(db):
    with psycopg.connect(db, autocommit=True) as conn, psycopg.connect(db) as forgotten:
        assert conn.execute("SELECT sigsync.ingest(%s::text) ->> 'status'",
                            ('{"event_type":"SIGNAL_CREATED","trade_id":"20251212_104200000_BULLISH"}',)).fetchone()[0] \
            == "accepted"
        assert conn.execute("SELECT sigsync.reconcile() ->> 'status'").fetchone()[0] == "ok"
        conn.execute("UPDATE sigsync.settings SET value = '\"1 second\"' WHERE key = 'cycle_stall_after'")

        # somebody's psql: BEGIN; SELECT sigsync.reconcile(); ... and then nothing
        forgotten.execute("SELECT sigsync.reconcile()")
        pid = forgotten.info.backend_pid

        skipped = conn.execute("SELECT sigsync.reconcile()").fetchone()[0]
        assert skipped["status"] == "skipped"
        assert skipped["reason"] == f"another reconcile cycle is running (backend pid {pid} holds the lock)"

        time.sleep(1.2)  # past cycle_stall_after
        level, reasons, holder = conn.execute(
            "SELECT alert_level, alert_reasons, cycle_lock_holder FROM sigsync.system_health").fetchone()
        assert (level, holder) == ("critical", pid)
        assert reasons[0].startswith("no reconcile cycle has succeeded for 00:00:01")
        assert f"1 cycles were skipped since; backend pid {pid} holds the reconcile lock" in reasons[0]

        report = sigsync("--dsn", db, "report")
        assert report.returncode == 0, report.stderr
        assert "alert level: critical" in report.stdout
        assert "why critical: no reconcile cycle has succeeded for" in report.stdout
        assert f"the reconcile lock is held by pid {pid}" in report.stdout
        assert "idle in transaction" in report.stdout and "SELECT sigsync.reconcile()" in report.stdout

        forgotten.rollback()  # the lock is released: cycles run again, the alert clears
        assert conn.execute("SELECT sigsync.reconcile() ->> 'status'").fetchone()[0] == "ok"
        assert conn.execute("SELECT alert_level, cycle_lock_holder FROM sigsync.system_health").fetchone() == ("ok", None)


def test_no_role_below_admin_can_stop_the_cycles(db):
    """The single-flight lock used to be a predictable advisory key that any role that can
    connect (the reader, the webhook's ingest role) could take, skipping every cycle. It is
    now a row only a role that may run cycles can lock."""
    with psycopg.connect(db, autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS stall_rita")
        admin.execute("CREATE ROLE stall_rita LOGIN IN ROLE sigsync_reader, sigsync_ingest")
    try:
        rita = psycopg.conninfo.make_conninfo(db, user="stall_rita")
        with psycopg.connect(rita) as reader, psycopg.connect(db, autocommit=True) as conn:
            reader.execute("SELECT pg_advisory_lock(hashtext('sigsync.reconcile')::bigint)")  # what stopped them before
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute("SELECT 1 FROM sigsync.cycle_lock FOR UPDATE")
            reader.rollback()
            assert conn.execute("SELECT sigsync.reconcile() ->> 'status'").fetchone()[0] == "ok"
    finally:
        with psycopg.connect(db, autocommit=True) as admin:
            admin.execute("DROP ROLE IF EXISTS stall_rita")
