"""`sigsync schedule` / `unschedule` (the pg_cron job) and `sigsync requests` (the Tier 1
outbox), as real processes against real PostgreSQL.

pg_cron runs jobs only in its cron.database_name, so the job tests use a private embedded
cluster (database `sigsync`, which its configuration names); the session cluster's
per-test databases are not it, and `schedule` must refuse there.
"""

from __future__ import annotations

import json
import time

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from sigsync.cluster import Cluster
from sigsync.schedule import JOB_COMMAND, JOB_NAME
from support import migrated_private_cluster, sigsync

TRADE = "20251212_104200000_BULLISH"


@pytest.fixture(scope="module")
def cron_cluster():
    """A private, migrated embedded cluster whose database `sigsync` is pg_cron's."""
    with migrated_private_cluster("sigsync-cron-") as cluster:
        yield cluster


def jobs(cluster: Cluster) -> list[tuple]:
    with psycopg.connect(cluster.url()) as conn:
        if conn.execute("SELECT to_regclass('cron.job')").fetchone()[0] is None:
            return []
        return conn.execute("SELECT jobid, schedule, command, database FROM cron.job WHERE jobname = %s",
                            (JOB_NAME,)).fetchall()  # fmt: skip


def assert_clean_error(result, *texts: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for text in texts:
        assert text in result.stderr, result.stderr


# -- schedule / unschedule ----------------------------------------------------------------------


def test_schedule_refuses_where_pg_cron_does_not_run_jobs(db):
    result = sigsync("--dsn", db, "schedule")
    assert_clean_error(result, "pg_cron runs jobs in database 'sigsync' (cron.database_name)",
                       "shared_preload_libraries = 'pg_cron'", f"cron.database_name = '{conninfo_to_dict(db)['dbname']}'",
                       "restart", "embedded cluster already does this")  # fmt: skip
    with psycopg.connect(db) as conn:  # refused before creating anything
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'").fetchone()[0] == 0
    none = sigsync("--dsn", db, "unschedule")
    assert none.returncode == 0 and none.stdout.startswith(f"no job {JOB_NAME}")


def test_schedule_is_idempotent_and_unschedule_removes_the_job(cron_cluster):
    url = cron_cluster.url()
    try:
        first = sigsync("--dsn", url, "schedule")
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith(f"scheduled: {JOB_NAME}")
        [(jobid, schedule, command, database)] = jobs(cron_cluster)
        assert (schedule, command, database) == ("*/2 * * * *", JOB_COMMAND, "sigsync")

        again = sigsync("--dsn", url, "schedule")
        assert again.returncode == 0 and again.stdout.startswith("unchanged")
        assert jobs(cron_cluster) == [(jobid, schedule, command, database)]

        changed = sigsync("--dsn", url, "schedule", "--cron", "* * * * *")
        assert changed.returncode == 0 and changed.stdout.startswith("updated")
        assert "(was '*/2 * * * *')" in changed.stdout
        assert jobs(cron_cluster) == [(jobid, "* * * * *", command, database)]

        assert_clean_error(sigsync("--dsn", url, "schedule", "--cron", "every tuesday"), "invalid schedule")
        assert jobs(cron_cluster) == [(jobid, "* * * * *", command, database)]

        removed = sigsync("--dsn", url, "unschedule")
        assert removed.returncode == 0 and removed.stdout.startswith(f"unscheduled: {JOB_NAME} (job {jobid})")
        assert jobs(cron_cluster) == []
        none = sigsync("--dsn", url, "unschedule")
        assert none.returncode == 0 and none.stdout.startswith(f"no job {JOB_NAME}")
    finally:
        sigsync("--dsn", url, "unschedule")


@pytest.mark.slow
def test_pg_cron_runs_the_cycle(cron_cluster):
    root = cron_cluster.root  # through the embedded path (no --dsn): the running cluster is left running
    try:
        scheduled = sigsync("--data-dir", root, "schedule", "--cron", "* * * * *")
        assert scheduled.returncode == 0, scheduled.stderr
        assert cron_cluster.is_running()
        deadline = time.monotonic() + 75
        with psycopg.connect(cron_cluster.url(), autocommit=True) as conn:
            while True:
                row = conn.execute("SELECT id, summary FROM sigsync.sync_runs"
                                   " WHERE trigger = 'pg_cron' AND status = 'ok' LIMIT 1").fetchone()  # fmt: skip
                if row:
                    break
                assert time.monotonic() < deadline, conn.execute(
                    "SELECT status, return_message FROM cron.job_run_details ORDER BY runid DESC LIMIT 3").fetchall()
                time.sleep(0.5)
        assert row[1]["trigger"] == "pg_cron"
    finally:
        sigsync("--data-dir", root, "unschedule")


# -- requests ------------------------------------------------------------------------------------


def test_requests_lists_the_open_ones(db):
    empty = sigsync("--dsn", db, "requests")
    assert empty.returncode == 0 and empty.stdout.strip() == "no open sync requests"
    assert json.loads(sigsync("--dsn", db, "requests", "--json").stdout) == []

    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO sigsync.sync_requests (trade_ids, symbols, reason) VALUES"
                     " (%s, %s, 'no_mfe_update'), (%s, %s, 'no_mae')",
                     ([TRADE, "20251212_111000000_BEARISH"], ["NQ1!", "NQ1!"],
                      ["20251212_090000000_BULLISH"], ["NQ1!"]))
        conn.execute("UPDATE sigsync.sync_requests SET status = 'answered', closed_at = now() WHERE reason = 'no_mae'")
        (open_id,) = conn.execute("SELECT id FROM sigsync.sync_requests WHERE status = 'open'").fetchone()

    text = sigsync("--dsn", db, "requests")
    assert text.returncode == 0, text.stderr
    header, _, *rows = text.stdout.splitlines()
    assert [c.strip() for c in header.split("|")] == ["id", "created_at", "reason", "trade_ids"]
    assert len(rows) == 1 and f"{TRADE}, 20251212_111000000_BEARISH" in rows[0] and "no_mfe_update" in rows[0]

    listed = json.loads(sigsync("--dsn", db, "requests", "--json").stdout)
    assert [(r["id"], r["reason"], r["trade_ids"]) for r in listed] == [
        (open_id, "no_mfe_update", [TRADE, "20251212_111000000_BEARISH"])]
    assert listed[0]["created_at"]
