"""What the benchmark's sections share: the figures, the private cluster and its databases,
loading through ingest_many, the raw COPY beside it, and timed reconcile cycles.

`python -m bench` (bench/__main__.py) and the sections that also run on their own
(bench/messy.py, bench/dashboard.py) import these from here, so each is written once.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import platform
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

import click
import psycopg
from psycopg import sql

from sigsync.cluster import Cluster
from sigsync.migrate import Migrator, SqlTree
from sigsync.paths import sql_dir

from . import data


EMPTY = "bench_empty"


@contextlib.contextmanager
def bench_root(work_dir: Path | None, prefix: str) -> Iterator[Path]:
    """A run's work directory: --work-dir (kept, for a second run), else a temporary one that the
    `postgres` OS user can reach, removed at the end."""
    temporary = work_dir is None
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp")) if temporary else work_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    try:
        yield root
    finally:
        if temporary:
            shutil.rmtree(root, ignore_errors=True)


class BenchError(Exception):
    pass


# -- figures ---------------------------------------------------------------------------------

class Figures:
    """Every measured figure, in the order measured."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, key: str, label: str, unit: str, values: list[float], target: str = "",
            met: bool | None = None, stat: str = "median", note: str = "") -> dict:
        if not values:
            raise BenchError(f"{key}: no measurement")
        value = statistics.median(values) if stat == "median" else values[0]
        row = {"key": key, "label": label, "unit": unit, "value": value, "stat": stat, "runs": len(values),
               "min": min(values), "max": max(values), "target": target, "met": met, "note": note}
        self.rows.append(row)
        click.echo(f"  {label:<58} {fmt(value, unit):>14}  (n={len(values)}, min {fmt(min(values), unit)}, "
                   f"max {fmt(max(values), unit)}){'  target ' + target if target else ''}"
                   f"{'' if met is None else ('  met' if met else '  MISSED')}")
        return row

    def markdown(self) -> str:
        out = ["| figure | value | stat | runs | min .. max | target | |", "|---|---:|---|---:|---|---|---|"]
        for r in self.rows:
            out.append(f"| {r['label']} | {fmt(r['value'], r['unit'])} | {r['stat']} | {r['runs']} | "
                       f"{fmt(r['min'], r['unit'])} .. {fmt(r['max'], r['unit'])} | {r['target']} | "
                       f"{'' if r['met'] is None else ('met' if r['met'] else '**missed**')} |")
        return "\n".join(out)


def fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:,.1f} ms"
    if unit == "x":
        return f"{value:,.2f}x"
    if unit in ("events/s", "payloads/s"):
        return f"{value:,.0f} {unit}"
    if unit == "%":
        return f"{value:,.1f} %"
    return f"{value:,.0f} {unit}".strip()


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)]


# -- the cluster and its databases -----------------------------------------------------------

class Bench:
    def __init__(self, work_dir: Path, runs: int):
        self.work_dir = work_dir
        self.data_dir = work_dir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cluster = Cluster(work_dir / "cluster")
        self.runs = runs
        self.figures = Figures()
        self.explain = ""

    def url(self, db: str) -> str:
        return self.cluster.url(db)

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def connect(self, db: str) -> psycopg.Connection:
        return psycopg.connect(self.url(db), autocommit=True)

    def exists(self, db: str) -> bool:
        with self.admin() as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone() is not None

    def create(self, db: str, template: str | None = None) -> None:
        q = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db))
        if template:
            q += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with self.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
            conn.execute(q)

    def drop(self, db: str) -> None:
        with self.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))

    def empty_template(self, db: str = EMPTY, tree: Path | None = None) -> None:
        """A migrated, empty database: every measurement on fresh data starts from a copy
        (migrated with this checkout's sql/, or with `tree`: another version's)."""
        self.create(db)
        self.migrate(db, tree)

    def migrate(self, db: str, tree: Path | None = None) -> None:
        """Migrate db to this checkout's sql/ (or to `tree`)."""
        with self.connect(db) as conn:
            Migrator(conn, SqlTree(tree or sql_dir()), echo=lambda _line: None).migrate()

    def machine(self) -> dict:
        with self.connect(EMPTY) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            settings = dict(conn.execute(   # current_setting: with its unit ('128MB', not 16384 × 8kB)
                "SELECT name, current_setting(name) FROM pg_settings "
                "WHERE name IN ('shared_buffers', 'work_mem', 'max_wal_size', 'synchronous_commit', 'fsync')"
            ).fetchall())
        mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                    if line.startswith("MemTotal")), 0)
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), platform.processor())
        return {"cores": os.cpu_count(), "memory_mib": mem, "cpu": cpu, "postgresql": version,
                "python": platform.python_version(), "settings": settings}


# -- loading ----------------------------------------------------------------------------------

def ingest(conn: psycopg.Connection, payloads: list[str], batch: int) -> tuple[int, dict]:
    """ingest_many in batches; returns (events stored, statuses)."""
    stored, statuses = 0, {}
    for i in range(0, len(payloads), batch):
        for status, n in conn.execute(
                "SELECT status, coalesce(sum(cardinality(event_ids)) FILTER (WHERE status = 'accepted'), 0) "
                "FROM sigsync.ingest_many(%s) GROUP BY status", (payloads[i:i + batch],)).fetchall():
            statuses[status] = statuses.get(status, 0) + 1
            stored += int(n)
    return stored, statuses


def load_bars(conn: psycopg.Connection, chunks: list[data.Chunk]) -> None:
    for chunk in chunks:
        with conn.cursor() as cur, cur.copy(
                "COPY sigsync.price_bars (symbol, ts, open, high, low, close) FROM STDIN (FORMAT csv, HEADER)") as cp:
            cp.write(chunk.bars.read_bytes())


def load_registry(bench: Bench, db: str, chunks: list[data.Chunk], template: str = EMPTY,
                  loaded_copy: str | None = None) -> dict:
    """A fresh copy of `template` loaded with the chunks' bars and events (ingest_many(1000) on
    2 connections), then one full cycle (timed: every walk from scratch) and VACUUM ANALYZE.
    With `loaded_copy`, the database as loaded, before that cycle, is also kept under that name
    (untimed): what a first full cycle after loading starts from, to measure it again."""
    bench.create(db, template)
    started = time.perf_counter()
    with bench.connect(db) as conn:
        load_bars(conn, chunks)
    errors: list[BaseException] = []

    def worker(part: list[data.Chunk]) -> None:
        try:
            with bench.connect(db) as conn:
                for chunk in part:
                    ingest(conn, data.lines(chunk), 1000)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(chunks[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise BenchError(f"loading {db} failed: {errors[0]}")
    load_s = time.perf_counter() - started
    if loaded_copy:
        bench.create(loaded_copy, db)
    p_now = max(c.summary()["p_now"] for c in chunks)
    with bench.connect(db) as conn:
        t0 = time.perf_counter()
        first = conn.execute("SELECT sigsync.reconcile(%s, true)", (p_now,)).fetchone()[0]
        first_ms = (time.perf_counter() - t0) * 1000
        if first["status"] != "ok":
            raise BenchError(f"first full cycle on {db}: {first}")
        conn.execute("VACUUM ANALYZE")
        signals, events = conn.execute(
            "SELECT (SELECT count(*) FROM sigsync.signals), (SELECT count(*) FROM sigsync.automated_signals)").fetchone()
    click.echo(f"  built {db}: {signals:,} signals, {events:,} events in {load_s:,.0f} s; "
               f"first full cycle {first_ms:,.0f} ms")
    return {"signals": signals, "events": events, "p_now": p_now, "load_s": round(load_s, 1),
            "first_full_ms": round(first_ms, 1), "symbols": len(chunks)}


def stored_rows(conn: psycopg.Connection) -> bytes:
    """The event log as COPY text (`COPY ... TO` of sigsync.automated_signals, in id order)."""
    buf = io.BytesIO()
    with conn.cursor() as cur, cur.copy("COPY (SELECT * FROM sigsync.automated_signals ORDER BY id) TO STDOUT") as cp:
        for block in cp:
            buf.write(block)
    return buf.getvalue()


def raw_copy_rate(conn: psycopg.Connection, rows: bytes, events: int) -> float:
    """Events/s of the same rows, raw: COPY into a new plain table with the log's columns
    (public.raw_copy, LIKE sigsync.automated_signals), in one transaction."""
    conn.execute("DROP TABLE IF EXISTS public.raw_copy")
    conn.execute("CREATE TABLE public.raw_copy (LIKE sigsync.automated_signals)")
    t0 = time.perf_counter()
    with conn.transaction(), conn.cursor() as cur, cur.copy("COPY public.raw_copy FROM STDIN") as cp:
        cp.write(rows)
    return events / (time.perf_counter() - t0)


# -- cycles ----------------------------------------------------------------------------------

def change_signals(conn: psycopg.Connection, run: int, count: int = 100) -> int:
    """One real new MFE_UPDATE for each of `count` random signals with MFE values (current
    values repeated, 1 ms after the signal's last event: no anomaly, a real change)."""
    rows = conn.execute(
        "SELECT symbol, trade_id, evt_be_mfe, evt_no_be_mfe, evt_mae_global_r, current_price, "
        "       (extract(epoch FROM last_event_at) * 1000)::bigint "
        "  FROM sigsync.signals WHERE evt_be_mfe IS NOT NULL AND evt_no_be_mfe IS NOT NULL "
        " ORDER BY md5(trade_id || %s) LIMIT %s", (str(run), count)).fetchall()
    payloads = []
    for symbol, trade_id, be, no_be, mae, price, last_ms in rows:
        body = {"event_type": "MFE_UPDATE", "symbol": symbol, "trade_id": trade_id, "be_mfe": float(be),
                "no_be_mfe": float(no_be), "timestamp": last_ms + 1}
        if mae is not None:
            body["mae_global_r"] = float(mae)
        if price is not None:
            body["current_price"] = float(price)
        payloads.append(json.dumps(body))
    stored, statuses = ingest(conn, payloads, len(payloads) or 1)
    if stored != len(payloads):
        raise BenchError(f"changing {count} signals: {statuses}")
    return len(payloads)


# the steps of a cycle whose time step_times reports (DESIGN order; reconcile is the whole)
CYCLE_STEPS = ("reconcile", "_expire_sync_requests", "_working_set", "_cycle_work_set", "_project_queued",
               "_open_gaps", "_static_fills", "_alternation_rule", "_tier2_candidates", "_bar_walk",
               "_merge_candidates", "_store_health", "_request_sync", "_prune_history", "_finish_run")


def step_times(conn: psycopg.Connection, p_now: str) -> dict[str, dict]:
    """One full cycle, rolled back, with function timing on (track_functions = all): per step of
    CYCLE_STEPS its calls and total time in ms (its callees included: _open_gaps, say, is also
    called by _store_health, so the steps do not add up to the whole)."""
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL track_functions = 'all'")
        summary = conn.execute("SELECT sigsync.reconcile(%s, true)", (p_now,)).fetchone()[0]
        if summary["status"] != "ok":
            raise BenchError(f"cycle failed: {summary}")
        rows = conn.execute("SELECT funcname, sum(calls), sum(total_time) FROM pg_stat_xact_user_functions"
                            " WHERE schemaname = 'sigsync' GROUP BY funcname").fetchall()
    found = {name: {"calls": int(calls), "ms": float(ms)} for name, calls, ms in rows}
    return {name: found[name] for name in CYCLE_STEPS if name in found}


def timed_cycle(conn: psycopg.Connection, p_now: str, full: bool) -> tuple[float, dict]:
    t0 = time.perf_counter()
    summary = conn.execute("SELECT sigsync.reconcile(%s, %s)", (p_now, full)).fetchone()[0]
    ms = (time.perf_counter() - t0) * 1000
    if summary["status"] != "ok":
        raise BenchError(f"cycle failed: {summary}")
    return ms, summary
