"""`python -m bench`: sigsync's benchmarks, side by side in one run on one machine.

It starts a private PostgreSQL cluster (or reuses the one in --work-dir), builds data with
the sample generator, and measures (DESIGN §12):

  1. ingest     events/s through ingest_many with batches of 1, 100 and 1000, next to a raw
                COPY of the same rows into a plain table with the same columns; and
                ingest_many into the event log of the largest registry
  2. cycles     per registry size: an idle incremental cycle, an incremental cycle with 100
                changed signals, and a full cycle; EXPLAIN (ANALYZE, BUFFERS) of every
                statement of one incremental cycle at the largest size
  3. latency    ingest returning -> reconciled state visible, while `sigsync run` runs
  4. concurrency  8 connections ingesting while cycles run: throughput, lost events,
                deadlocks, errors
  5. event log  a time-range query on the smallest and the largest log
  6. serve      `sigsync serve` over HTTP: 64 clients POSTing the sample stream, with group
                commit and one transaction per request, side by side (bench/serve.py)
  7. costs      what one ingest call may cost, per element at two sizes 10x apart: a large
                MFE_UPDATE_BATCH, many rejected elements, one failing element
                (bench/ingest_costs.py)
  8. dashboard  server time (median, p99) of each dashboard page and API route of `sigsync serve`
                on the smallest and largest registry, and what /signals loads (bench/dashboard.py)
  9. messy      ingest_many(1000) of an in-order and a messy stream of the same events (reordered
                within minutes, 10 % duplicates, single and batched MFE updates), each next to a
                raw COPY of its rows; with --before REF, every figure also for REF's sql/, side by
                side, and the cycle figures on a registry of the smallest size (bench/messy.py)

Every figure is the median over --runs runs (latency: over its --latency-events samples).
Targets are printed next to the figures; the benchmark never fails on a missed target
(it does fail when an event is lost, a deadlock or an error happens, or a step breaks).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
import psycopg

from . import data, ingest_costs, messy
from .common import (EMPTY, Bench, BenchError, bench_root, change_signals, ingest, load_registry, pct, raw_copy_rate, stored_rows,
                     timed_cycle)
from .dashboard import bench_dashboard
from .serve import ServeError, bench_serve

LARGE_TABLES = ("signals", "automated_signals", "price_bars", "sync_audit_log", "signal_health_metrics")


def build_registry(bench: Bench, size: int) -> dict:
    """Database bench_n<size>: `size` signals loaded through ingest_many (cached in --work-dir)."""
    db = f"bench_n{size}"
    if bench.exists(db):
        with bench.connect(db) as conn:
            built = conn.execute("SELECT to_regclass('public.bench_built') IS NOT NULL").fetchone()[0]
        if built:
            bench.migrate(db)   # the registry stays; the schema and functions become this checkout's
            with bench.connect(db) as conn:
                info = conn.execute("SELECT info FROM public.bench_built").fetchone()[0]
            click.echo(f"  reusing {db}: {info['signals']:,} signals, {info['events']:,} events")
            return info
    info = {"size": size, **load_registry(bench, db, data.chunks(bench.data_dir, "S", size))}
    with bench.connect(db) as conn:
        conn.execute("CREATE TABLE public.bench_built (info jsonb)")
        conn.execute("INSERT INTO public.bench_built VALUES (%s)", (json.dumps(info),))
    return info


# -- 1. ingest ------------------------------------------------------------------------------

def bench_ingest(bench: Bench, payload_count: int, largest: dict | None) -> None:
    click.echo("\n1. ingest")
    chunk = data.chunks(bench.data_dir, "I", max(50, payload_count // 40), faults={})[0]  # ~1,500 payloads a day
    payloads = data.lines(chunk)[:payload_count]
    if len(payloads) < payload_count:
        raise BenchError(f"the ingest stream has {len(payloads)} payloads, fewer than {payload_count}")
    events = data.event_count(payloads)
    click.echo(f"  stream: {len(payloads):,} payloads = {events:,} events (symbol {chunk.symbol})")
    single = payloads[:max(1, min(len(payloads), payload_count // 10))]
    single_events = data.event_count(single)
    rates: dict[int, list[float]] = {1: [], 100: [], 1000: []}
    payload_rates: dict[int, list[float]] = {1: [], 100: [], 1000: []}
    copy_rates: list[float] = []
    rows: bytes | None = None
    for run in range(bench.runs):
        for batch in (1000, 100, 1):
            part, n_events = (single, single_events) if batch == 1 else (payloads, events)
            bench.create("bench_ingest", EMPTY)
            with bench.connect("bench_ingest") as conn:
                t0 = time.perf_counter()
                stored, statuses = ingest(conn, part, batch)
                dt = time.perf_counter() - t0
                if stored != n_events or set(statuses) != {"accepted"}:
                    raise BenchError(f"ingest batch {batch}: {stored} of {n_events} events stored, {statuses}")
                rates[batch].append(n_events / dt)
                payload_rates[batch].append(len(part) / dt)
                if batch == 1000:
                    stream_signals = conn.execute("SELECT count(*) FROM sigsync.signals").fetchone()[0]
                    # the same rows, raw: COPY into a plain table with the log's columns
                    if rows is None:
                        rows = stored_rows(conn)
                    copy_rates.append(raw_copy_rate(conn, rows, n_events))
        click.echo(f"  run {run + 1}/{bench.runs}: batch 1000 {rates[1000][-1]:,.0f} events/s, "
                   f"COPY {copy_rates[-1]:,.0f} events/s")
    bench.drop("bench_ingest")
    f = bench.figures
    for batch in (1, 100, 1000):
        f.add(f"ingest_{batch}", f"ingest_many, batches of {batch}", "events/s", rates[batch],
              target="≥ 20,000 events/s" if batch == 1000 else "",
              met=(statistics.median(rates[batch]) >= 20000) if batch == 1000 else None,
              note=f"{statistics.median(payload_rates[batch]):,.0f} payloads/s")
    f.add("copy", "raw COPY of the same rows into a plain table", "events/s", copy_rates)
    f.add("copy_ratio", "COPY / ingest_many(1000)", "x", [c / r for c, r in zip(copy_rates, rates[1000])])
    if largest:
        db = f"bench_n{largest['size']}"
        big: list[float] = []
        for run in range(bench.runs):
            symbol = f"{chunk.symbol}R{run}T{time.time_ns()}"   # one new symbol for the whole stream
            renamed = [p.replace(f'"symbol":"{chunk.symbol}"', f'"symbol":"{symbol}"') for p in payloads]
            with bench.connect(db) as conn:
                # committed per batch as in real use (one long transaction would measure its own
                # growing row-version chains); the cycle figures count the registry as it is then
                t0 = time.perf_counter()
                stored, _ = ingest(conn, renamed, 1000)
                big.append(stored / (time.perf_counter() - t0))
                added = conn.execute("SELECT count(*) FROM sigsync.signals WHERE symbol = %s", (symbol,)).fetchone()[0]
                if stored != events or added != stream_signals:
                    raise BenchError(f"ingest into {db}: {stored} events and {added} signals stored, "
                                     f"expected {events} and {stream_signals}")
                timed_cycle(conn, largest["p_now"], False)
        f.add("ingest_big_log", f"ingest_many(1000) into a log of {largest['events']:,} events", "events/s", big,
              note="same stream as above, under a new symbol each run")


# -- 2. cycles ------------------------------------------------------------------------------

def bench_cycles(bench: Bench, infos: list[dict]) -> None:
    click.echo("\n2. reconcile cycles")
    f = bench.figures
    incremental_medians = []
    for info in infos:
        db, p_now = f"bench_n{info['size']}", info["p_now"]
        with bench.connect(db) as conn:   # as it is now (the ingest figures add to the largest)
            info["signals"], info["events"] = conn.execute(
                "SELECT (SELECT count(*) FROM sigsync.signals), (SELECT count(*) FROM sigsync.automated_signals)").fetchone()
        idle, inc, full, processed = [], [], [], []
        with bench.connect(db) as conn:
            timed_cycle(conn, p_now, False)  # nothing left over from loading
            for run in range(bench.runs):
                idle.append(timed_cycle(conn, p_now, False)[0])
                changed = change_signals(conn, run)
                ms, summary = timed_cycle(conn, p_now, False)
                inc.append(ms)
                processed.append(summary["signals_processed"])
                if summary["signals_processed"] < changed:
                    raise BenchError(f"{db}: the cycle after {changed} changes processed {summary}")
                full.append(timed_cycle(conn, p_now, True)[0])
        n = f"{info['signals']:,} signals / {info['events']:,} events"
        f.add(f"cycle_idle_{info['size']}", f"idle incremental cycle, {n}", "ms", idle)
        row = f.add(f"cycle_inc_{info['size']}", f"incremental cycle, 100 changed, {n}", "ms", inc,
                    target="≤ 100 ms", met=statistics.median(inc) <= 100,
                    note=f"{statistics.median(processed):.0f} signals in the working set (changed + due)")
        incremental_medians.append(row["value"])
        f.add(f"cycle_full_{info['size']}", f"full cycle, {n}", "ms", full,
              target="≤ 10 s" if info is infos[-1] else "",
              met=(statistics.median(full) <= 10000) if info is infos[-1] else None)
        f.add(f"first_full_{info['size']}", f"first full cycle after loading, {n}", "ms", [info["first_full_ms"]],
              stat="once")
    if len(incremental_medians) > 1:
        f.add("cycle_inc_flatness", "incremental: largest / smallest registry", "x",
              [incremental_medians[-1] / incremental_medians[0]], stat="once",
              target="flat (≈ 1x)")
    bench.explain = explain_incremental(bench, infos[-1])


PLAN = re.compile(r"duration: ([\d.]+) ms\s+plan:\s*Query Text: (.*)", re.S)


def explain_incremental(bench: Bench, info: dict) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement of one incremental cycle (auto_explain)."""
    db = f"bench_n{info['size']}"
    plans: list[str] = []
    with bench.connect(db) as conn:
        change_signals(conn, 999)
        conn.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
        conn.execute("LOAD 'auto_explain'")
        for setting, value in (("log_min_duration", "0"), ("log_nested_statements", "on"), ("log_analyze", "on"),
                               ("log_buffers", "on"), ("log_timing", "on"), ("log_triggers", "on")):
            conn.execute(f"SET auto_explain.{setting} = {value}")
        conn.execute("SET client_min_messages = log")
        conn.execute("SELECT sigsync.reconcile(%s)", (info["p_now"],))
        conn.execute("SET client_min_messages = notice")
    seq = sorted({m for p in plans for m in re.findall(r"Seq Scan on (\w+)", p) if m in LARGE_TABLES})
    statements = [p for p in plans if "Query Text" in p]
    slow = sorted(statements, key=lambda p: -float(m.group(1)) if (m := PLAN.search(p)) else 0)[:5]
    summary = summarize_plans(statements)
    header = (f"-- one incremental cycle (100 changed signals) on {info['signals']:,} signals / {info['events']:,} events\n"
              f"-- {len(statements)} statements; sequential scans on the large tables ({', '.join(LARGE_TABLES)}): "
              f"{', '.join(seq) or 'none'}\n-- the statements by time spent (nested statements included in their callers):\n"
              + "\n".join(f"--   {line}" for line in summary) + "\n")
    click.echo(f"  EXPLAIN: {len(statements)} statements, seq scans on large tables: {', '.join(seq) or 'none'}")
    for line in summary[:8]:
        click.echo(f"    {line}")
    bench.figures.add("explain_seq_scans", "incremental cycle: seq scans on large tables", "", [len(seq)],
                      stat="once", target="0", met=not seq)
    return header + "\n\n".join(["-- the five slowest statements first"] + slow + ["-- all statements"] + statements)


def summarize_plans(statements: list[str], top: int = 15) -> list[str]:
    """One line per distinct statement: calls, total ms, and how it reads the large tables."""
    acc: dict[str, list] = {}   # statement -> [calls, total ms, scans]
    for p in statements:
        m = PLAN.search(p)
        if not m:
            continue
        key = " ".join(m.group(2).split())[:70]
        scans = {f"{kind} {table}" for kind, table in re.findall(
            r"(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan)(?: using \w+)? on (\w+)", p) if table in LARGE_TABLES}
        entry = acc.setdefault(key, [0, 0.0, set()])
        entry[0] += 1
        entry[1] += float(m.group(1))
        entry[2] |= scans
    rows = sorted(acc.items(), key=lambda kv: -kv[1][1])[:top]
    return [f"{total:9.1f} ms {calls:5d}x  {key[:70]:<70}  {', '.join(sorted(scans)) or '-'}"
            for key, (calls, total, scans) in rows]


# -- 3. latency -----------------------------------------------------------------------------

def bench_latency(bench: Bench, info: dict, count: int) -> None:
    click.echo(f"\n3. latency: {count} events while `sigsync run` runs")
    db = f"bench_n{info['size']}"
    log = bench.work_dir / "runner.log"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SIGSYNC_DATA_DIR")}
    with bench.connect(db) as conn:
        runs_before = conn.execute("SELECT count(*) FROM sigsync.sync_runs").fetchone()[0]
    with log.open("w") as out:
        runner = subprocess.Popen([sys.executable, "-m", "sigsync", "--dsn", bench.url(db), "run"],
                                  stdout=out, stderr=subprocess.STDOUT, env=env)
    samples: list[float] = []
    try:
        with bench.connect(db) as conn, bench.connect(db) as watch:
            deadline = time.monotonic() + 60
            while conn.execute("SELECT count(*) FROM sigsync.sync_runs").fetchone()[0] <= runs_before:
                if runner.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"the runner did not start a cycle:\n{log.read_text()[-2000:]}")
                time.sleep(0.05)
            # signals of the past two years (sigsync rejects events dated in the future), a new
            # stretch each run
            base = (datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(days=730)
                    + timedelta(minutes=random.randrange(10**6)))
            for i in range(count):
                ts = base + timedelta(minutes=i)
                direction = "BULLISH" if i % 2 == 0 else "BEARISH"
                trade_id = ts.astimezone(data.sample.NY).strftime("%Y%m%d_%H%M%S000_") + direction
                body = {"event_type": "SIGNAL_CREATED", "symbol": "LATENCY", "trade_id": trade_id,
                        "signal_time": ts.isoformat(), "direction": direction.title(), "signal_price": 100,
                        "timestamp": int(ts.timestamp() * 1000)}
                status = conn.execute("SELECT sigsync.ingest(%s::text) ->> 'status'", (json.dumps(body),)).fetchone()[0]
                t0 = time.perf_counter()
                if status != "accepted":
                    raise BenchError(f"latency event {i}: {status}")
                while not watch.execute("SELECT 1 FROM sigsync.signal_health_metrics WHERE symbol = 'LATENCY' "
                                        "AND trade_id = %s", (trade_id,)).fetchone():
                    if time.perf_counter() - t0 > 30 or runner.poll() is not None:
                        raise BenchError(f"event {i} not reconciled within 30 s; see {log}")
                    time.sleep(0.005)
                samples.append((time.perf_counter() - t0) * 1000)
                time.sleep(random.uniform(0, 0.05))
    finally:
        runner.send_signal(signal.SIGTERM)
        try:
            runner.wait(timeout=30)
        except subprocess.TimeoutExpired:
            runner.kill()
    ms = samples
    f = bench.figures
    f.add("latency_median", f"event → reconciled, median of {len(ms)} ({info['signals']:,} signals)", "ms", ms,
          note="sigsync run with its defaults (debounce 0.2 s)")
    f.add("latency_p99", f"event → reconciled, p99 of {len(ms)}", "ms", [pct(ms, 0.99)], stat="once",
          target="≤ 1 s", met=pct(ms, 0.99) <= 1000)


# -- 4. concurrency -------------------------------------------------------------------------

def bench_concurrency(bench: Bench, signals: int, connections: int) -> None:
    click.echo(f"\n4. concurrency: {connections} connections ingesting while cycles run")
    chunks = data.chunks(bench.data_dir, "C", signals, faults={})
    payloads = [p for c in chunks for p in data.lines(c)]
    expected = data.event_count(payloads)
    p_now = max(c.summary()["p_now"] for c in chunks)
    rates, lost, deadlocks, errors, cycles = [], 0, 0, [], []
    for run in range(bench.runs):
        bench.create("bench_concurrency", EMPTY)
        parts = [payloads[i::connections] for i in range(connections)]  # signals shared by all connections
        done = threading.Event()
        stats = {"deadlocks": 0, "errors": [], "cycles": 0, "skipped": 0}

        def ingester(part: list[str]) -> None:
            try:
                with bench.connect("bench_concurrency") as conn:
                    for i in range(0, len(part), 100):
                        conn.execute("SELECT count(*) FROM sigsync.ingest_many(%s)", (part[i:i + 100],))
            except psycopg.errors.DeadlockDetected:
                stats["deadlocks"] += 1
            except Exception as exc:  # counted and reported
                stats["errors"].append(repr(exc))

        def cycler() -> None:
            try:
                with bench.connect("bench_concurrency") as conn:
                    while not done.is_set():
                        summary = conn.execute("SELECT sigsync.reconcile(%s)", (p_now,)).fetchone()[0]
                        if summary["status"] == "ok":
                            stats["cycles"] += 1
                        elif summary["status"] == "skipped":
                            stats["skipped"] += 1
                        else:
                            stats["errors"].append(f"cycle: {summary}")
            except psycopg.errors.DeadlockDetected:
                stats["deadlocks"] += 1
            except Exception as exc:
                stats["errors"].append(repr(exc))

        threads = [threading.Thread(target=ingester, args=(p,)) for p in parts]
        cyc = threading.Thread(target=cycler)
        cyc.start()
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        dt = time.perf_counter() - t0
        done.set()
        cyc.join()
        with bench.connect("bench_concurrency") as conn:
            stored = conn.execute("SELECT count(*) FROM sigsync.automated_signals").fetchone()[0]
            final = conn.execute("SELECT sigsync.reconcile(%s)", (p_now,)).fetchone()[0]
            if final["status"] != "ok":
                stats["errors"].append(f"final cycle: {final}")
        rates.append(expected / dt)
        lost += expected - stored
        deadlocks += stats["deadlocks"]
        errors += stats["errors"]
        cycles.append(stats["cycles"])
        click.echo(f"  run {run + 1}/{bench.runs}: {expected:,} events in {dt:.1f} s, stored {stored:,}, "
                   f"{stats['cycles']} cycles, {stats['deadlocks']} deadlocks, {len(stats['errors'])} errors")
    bench.drop("bench_concurrency")
    f = bench.figures
    f.add("concurrency_rate", f"{connections} connections × ingest_many(100), cycles running", "events/s", rates)
    f.add("concurrency_cycles", "cycles completed meanwhile (per run)", "", cycles)
    f.add("concurrency_lost", "events lost (sent − stored), all runs", "", [lost], stat="once", target="0",
          met=lost == 0)
    f.add("concurrency_deadlocks", "deadlocks, all runs", "", [deadlocks], stat="once", target="0", met=deadlocks == 0)
    f.add("concurrency_errors", "errors, all runs", "", [len(errors)], stat="once", target="0", met=not errors)
    if errors:
        click.echo("  errors:\n    " + "\n    ".join(errors[:10]))


# -- 5. the event log as it grows ------------------------------------------------------------

def bench_log(bench: Bench, infos: list[dict]) -> None:
    """BRIN on received_at: a time-range query on the log costs the same at every size."""
    click.echo("\n5. the event log as it grows")
    for info in (infos[0], infos[-1]) if len(infos) > 1 else infos:
        db = f"bench_n{info['size']}"
        times = []
        with bench.connect(db) as conn:
            newest = conn.execute("SELECT max(received_at) FROM sigsync.automated_signals").fetchone()[0]
            for _ in range(bench.runs):
                t0 = time.perf_counter()
                conn.execute("SELECT count(*) FROM sigsync.automated_signals WHERE received_at > %s",
                             (newest - timedelta(seconds=5),)).fetchone()
                times.append((time.perf_counter() - t0) * 1000)
            plan = "\n".join(r[0] for r in conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT count(*) FROM sigsync.automated_signals "
                "WHERE received_at > %s", (newest - timedelta(seconds=5),)).fetchall())
            size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size('sigsync.automated_signals'))").fetchone()[0]
        bench.explain += f"\n\n-- event log of {info['events']:,} events ({size}): last 5 s received\n{plan}"
        bench.figures.add(f"log_recent_{info['size']}",
                          f"events received in the last 5 s, log of {info['events']:,} ({size})", "ms", times)


# -- main -----------------------------------------------------------------------------------

def bench_ingest_costs(bench: Bench, quick: bool) -> None:
    """7. What one ingest call may cost, at two sizes 10x apart (bench/ingest_costs.py)."""
    click.echo("\n7. ingest costs a caller can blow up (per element, two sizes 10x apart)")
    bench.create("bench_costs", EMPTY)
    with bench.connect("bench_costs") as conn:
        ingest_costs.measure(conn, quick, bench.runs, bench.figures.add)


def sizes_option(_ctx, _param, value: str) -> list[int]:
    try:
        sizes = sorted({int(v) for v in value.split(",") if v.strip()})
    except ValueError:
        raise click.BadParameter("a comma-separated list of signal counts, e.g. 1000,10000,100000") from None
    if not sizes or sizes[0] < 20:
        raise click.BadParameter("each size must be at least 20 signals")
    return sizes


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--sizes", default="1000,10000,100000", show_default=True, callback=sizes_option,
              help="Registry sizes (signals) for the cycle benchmarks; ~88 events per signal.")
@click.option("--runs", type=click.IntRange(min=1), default=5, show_default=True,
              help="Runs per figure; each figure is their median.")
@click.option("--ingest-payloads", type=click.IntRange(min=100), default=10000, show_default=True,
              help="Payloads in the ingest stream (batches of 1 use a tenth of them).")
@click.option("--latency-events", type=click.IntRange(min=1), default=200, show_default=True,
              help="Events timed from ingest to reconciled.")
@click.option("--concurrency-signals", type=click.IntRange(min=20), default=300, show_default=True,
              help="Signals in the stream the connections share, per run.")
@click.option("--connections", type=click.IntRange(min=1), default=8, show_default=True,
              help="Concurrent ingest connections.")
@click.option("--serve-seconds", type=click.FloatRange(min=1), default=20, show_default=True,
              help="How long the clients POST to each `sigsync serve` (group commit, one transaction per request, "
                   "--reconcile).")
@click.option("--serve-clients", type=click.IntRange(min=1, max=1000), default=64, show_default=True,
              help="Concurrent HTTP clients, each POSTing one alert at a time.")
@click.option("--messy-signals", type=click.IntRange(min=20), default=330, show_default=True,
              help="Signals' worth of events in the in-order and the messy stream of section 9.")
@click.option("--before", metavar="REF",
              help="Section 9 also measures a git ref's sql/ tree, side by side (and the cycles on a registry of "
                   "the smallest size, loaded with it, against a copy migrated to this checkout).")
@click.option("--quick", is_flag=True,
              help="A small smoke run (sizes 100,300; 3 runs; short streams): checks that every figure is produced.")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the cluster and the built registries here and reuse them next time "
                   "(default: a temporary directory, removed at the end).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every figure, the machine and the settings as JSON here.")
@click.option("--explain", "explain_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the EXPLAIN (ANALYZE, BUFFERS) plans of one incremental cycle here.")
def main(sizes, runs, ingest_payloads, latency_events, concurrency_signals, connections, serve_seconds,
         serve_clients, messy_signals, before, quick, work_dir, json_path, explain_path):
    """Measure sigsync's ingest throughput, cycle cost against registry size, event-to-reconciled
    latency and concurrent ingest, side by side in one run; print every figure with its median
    and its target. Run from the repository root: python -m bench."""
    if quick:
        sizes, runs, ingest_payloads, latency_events, concurrency_signals = [100, 300], 3, 400, 20, 60
        serve_seconds, messy_signals = 2, 33
    if before:
        try:
            messy.resolve(before)
        except BenchError as exc:
            raise click.BadParameter(str(exc), param_hint="--before") from None
    with bench_root(work_dir, "sigsync-bench-") as root:
        bench = Bench(root, runs)
        command = "python -m bench " + " ".join(sys.argv[1:])
        started = time.perf_counter()
        try:
            with bench.cluster.running():
                click.echo(f"sigsync benchmarks: sizes {', '.join(f'{s:,}' for s in sizes)}; {runs} runs each; work dir {root}")
                bench.empty_template()
                machine = bench.machine()
                click.echo(f"machine: {machine['cores']} cores, {machine['memory_mib']:,} MiB, {machine['cpu']}; "
                           f"PostgreSQL {machine['postgresql']}")
                click.echo("\n0. registries (loaded through ingest_many, then one full cycle)")
                infos = [build_registry(bench, size) for size in sizes]
                bench_ingest(bench, ingest_payloads, infos[-1])
                bench_cycles(bench, infos)
                bench_latency(bench, infos[-1], latency_events)
                bench_concurrency(bench, concurrency_signals, connections)
                bench_log(bench, infos)
                bench_serve(bench, EMPTY, serve_clients, serve_seconds, history=3000 if quick else 30000)
                bench_ingest_costs(bench, quick)
                bench_dashboard(bench, infos, quick)
                messy.bench_messy(bench, messy_signals, before, cycle_signals=sizes[0])
        except (BenchError, ServeError) as exc:
            raise click.ClickException(str(exc)) from None
    elapsed = time.perf_counter() - started
    click.echo(f"\ndone in {elapsed:,.0f} s\n\n{bench.figures.markdown()}")
    if json_path:
        json_path.write_text(json.dumps({"command": command, "machine": machine, "registries": infos,
                                         "runs": runs, "elapsed_s": round(elapsed, 1),
                                         "figures": bench.figures.rows}, indent=1, default=str) + "\n")
    if explain_path:
        explain_path.write_text(bench.explain + "\n")
    broken = [r["label"] for r in bench.figures.rows
              if r["key"] in ("concurrency_lost", "concurrency_deadlocks", "concurrency_errors", "serve_lost",
                              "serve_single_lost", "messy_lost") and not r["met"]]
    if broken:
        raise click.ClickException("correctness failure (events lost, deadlocks or errors): " + "; ".join(broken))


if __name__ == "__main__":
    main()
