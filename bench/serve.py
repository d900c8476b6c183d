"""6. serve: TradingView webhooks over HTTP (DESIGN §12, §14).

On loopback, --serve-clients concurrent clients send the sample stream as TradingView would,
one POST per alert (each client on its own keep-alive connection, as a reverse proxy in
front of serve keeps them), for --serve-seconds, to:

  a. `sigsync serve` with group commit (its defaults);
  b. the same server answering one transaction per request (--batch-max 1, same connections);
  c. `sigsync serve --reconcile` under the same load, with a probe that sends a new signal
     every 50 ms and times webhook request -> reconciled (its health row visible).

Figures: requests/s held, answer p50/p99/max, batch sizes (serve's /metrics), lost = sent -
stored - rejected - duplicates (every answer checked against the database afterwards), the
speed-up of a over b, and the reconciled p99 of c.

`python -m bench` runs it as its section 6. On its own, with --before REF (and --after REF;
default: this checkout's sql/), it runs the whole section once on a database migrated with each
version's sql/ tree (`git archive REF sql`, as bench/messy.py does), before then after, in one
session, and prints the figures side by side with after / before (each side measured once):

    python -m bench.serve [--seconds 20] [--clients 64] [--before REF [--after REF]] [--quick]
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
import psycopg

from sigsync import sample
from sigsync.tokens import new_token, token_hash

from . import data, messy
from .common import EMPTY, Bench, BenchError, bench_root

HOST = "127.0.0.1"
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


class ServeError(Exception):
    pass


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[max(0, int(q * len(s) + 0.999999) - 1)] if s else float("nan")


# -- a serve process -----------------------------------------------------------------------------

class ServeProcess:
    def __init__(self, dsn: str, work: Path, name: str, *args: str):
        self.work = work / name
        self.work.mkdir(parents=True, exist_ok=True)
        self.log = self.work / "serve.log"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SIGSYNC_DATA_DIR")}
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sigsync", "--dsn", dsn, "serve", "--port", "0",
                 "--spool-dir", str(self.work / "spool"), *args],
                stdout=subprocess.DEVNULL, stderr=out, env=env)
        deadline = time.monotonic() + 30
        while True:
            m = LISTENING.search(self.log.read_text())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise ServeError(f"serve did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise ServeError("serve did not stop within 15 s of SIGTERM") from None


# -- the clients ---------------------------------------------------------------------------------

@dataclass
class Load:
    sent: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds
    codes: Counter = field(default_factory=Counter)
    answers: list[tuple[int, dict]] = field(default_factory=list)
    failures: int = 0  # no answer (connection error)
    seconds: float = 0.0


async def _post(port: int, conn: list, path: bytes, body: bytes) -> tuple[int, bytes]:
    if conn[0] is None:
        conn[0] = await asyncio.open_connection(HOST, port)
    reader, writer = conn[0]
    writer.write(b"POST %s HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                 % (path, len(body), body))
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split(b" ", 2)[1])
    length, close = 0, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    answer = await reader.readexactly(length)
    if close:
        writer.close()
        conn[0] = None
    return status, answer


async def _client(port: int, path: bytes, bodies, load: Load, until: float) -> None:
    conn: list = [None]
    loop = asyncio.get_running_loop()
    try:
        while loop.time() < until:
            try:
                body = next(bodies)
            except StopIteration:
                return
            load.sent += 1
            t0 = time.perf_counter()
            try:
                status, answer = await _post(port, conn, path, body)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
                load.failures += 1
                if conn[0] is not None:
                    conn[0][1].close()
                conn[0] = None
                continue
            load.latencies.append(time.perf_counter() - t0)
            load.codes[status] += 1
            load.answers.append((status, json.loads(answer) if answer else {}))
    finally:
        if conn[0] is not None:
            conn[0][1].close()


async def run_load(port: int, token: str, bodies: list[bytes], clients: int, seconds: float) -> Load:
    load = Load()
    stream = iter(bodies)
    path = f"/webhook/{token}".encode()
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    until = loop.time() + seconds
    await asyncio.gather(*(_client(port, path, stream, load, until) for _ in range(clients)))
    load.seconds = time.perf_counter() - started
    return load


def metrics_of(port: int) -> dict[str, float]:
    async def get() -> bytes:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        answer = await reader.read()
        writer.close()
        return answer.split(b"\r\n\r\n", 1)[1]

    text = asyncio.run(get()).decode()
    figures = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            figures[name] = float(value)
    return figures


def batch_figures(metrics: dict[str, float]) -> tuple[float, float, float]:
    """(batches, mean size, p99 size as the histogram's bucket bound)."""
    count = metrics.get("sigsync_webhook_batch_size_count", 0)
    total = metrics.get("sigsync_webhook_batch_size_sum", 0)
    buckets = sorted((float(m.group(1)) if m.group(1) != "+Inf" else float("inf"), v)
                     for k, v in metrics.items()
                     if (m := re.fullmatch(r'sigsync_webhook_batch_size_bucket\{le="([^"]+)"\}', k)))
    p99 = next((le for le, v in buckets if count and v >= 0.99 * count), float("nan"))
    return count, (total / count if count else 0.0), p99


# -- checking what was stored --------------------------------------------------------------------

def lost_of(conn: psycopg.Connection, load: Load) -> dict:
    accepted_ids = [i for status, a in load.answers if status == 200 and a.get("status") == "accepted"
                    for i in a["event_ids"]]
    accepted = sum(1 for status, a in load.answers if status == 200 and a.get("status") == "accepted")
    duplicates = [a for status, a in load.answers if status == 200 and a.get("status") == "duplicate"]
    found = conn.execute("SELECT count(*) FROM sigsync.automated_signals WHERE id = ANY(%s)",
                         (accepted_ids,)).fetchone()[0]
    dup_ids = [i for a in duplicates for i in a["event_ids"]]
    dup_found = conn.execute("SELECT count(DISTINCT id) FROM sigsync.automated_signals WHERE id = ANY(%s)",
                             (dup_ids,)).fetchone()[0]
    rejected_rows = conn.execute("SELECT count(*) FROM sigsync.rejected_events").fetchone()[0]
    stored = accepted if found == len(accepted_ids) else 0
    duplicate = len(duplicates) if dup_found == len(set(dup_ids)) else 0
    rejected = min(load.codes[422], rejected_rows)
    spooled = load.codes[202]
    return {"sent": load.sent, "stored": stored, "duplicates": duplicate, "rejected": rejected, "spooled": spooled,
            "lost": load.sent - stored - duplicate - rejected - spooled}


# -- the benchmark --------------------------------------------------------------------------------

def _stream(bench, signals: int) -> list[bytes]:
    chunks = data.chunks(bench.data_dir, "W", signals, faults={})
    return [line.encode() for c in chunks for line in data.lines(c)]


def _fresh(bench, name: str, template: str) -> tuple[str, str]:
    bench.create(name, template)
    token = new_token()
    with bench.connect(name) as conn:
        conn.execute("INSERT INTO sigsync.webhook_tokens (source, label, token_hash) VALUES ('indicator', 'bench', %s)",
                     (token_hash(token),))
    return bench.url(name), token


def _measure(bench, template: str, name: str, bodies: list[bytes], clients: int, seconds: float,
             *args: str) -> dict:
    dsn, token = _fresh(bench, f"bench_serve_{name}", template)
    serve = ServeProcess(dsn, bench.work_dir / "serve", name, *args)
    try:
        load = asyncio.run(run_load(serve.port, token, bodies, clients, seconds))
        metrics = metrics_of(serve.port)
    finally:
        code = serve.stop()
    if code != 0:
        raise ServeError(f"serve ({name}) exited {code} on SIGTERM:\n{serve.log.read_text()[-2000:]}")
    with bench.connect(f"bench_serve_{name}") as conn:
        lost = lost_of(conn, load)
    bench.drop(f"bench_serve_{name}")
    batches, mean, p99 = batch_figures(metrics)
    lat = [s * 1000 for s in load.latencies]
    result = {"rps": len(load.latencies) / load.seconds, "p50": pct(lat, 0.5), "p99": pct(lat, 0.99),
              "max": max(lat, default=float("nan")), "batches": batches, "batch_mean": mean, "batch_p99": p99,
              "codes": dict(load.codes), "failures": load.failures, **lost}
    click.echo(f"  {name}: {load.sent:,} requests in {load.seconds:.1f} s = {result['rps']:,.0f}/s; answers "
               f"{dict(sorted(load.codes.items()))}, no answer {load.failures}; p50 {result['p50']:.1f} ms, "
               f"p99 {result['p99']:.1f} ms, max {result['max']:.1f} ms; {batches:,.0f} batches, mean {mean:.1f}; "
               f"lost {lost['lost']}")
    return result


def _ceiling(bench, template: str, bodies: list[bytes], batch: int) -> float:
    """bodies/s of ingest_many alone (no HTTP), same bodies in the same order and batches of the
    same size, on one connection: the most any server in front of this database could do."""
    name = "bench_serve_ceiling"
    dsn, _token = _fresh(bench, name, template)
    with psycopg.connect(dsn, autocommit=True) as conn:
        started = time.perf_counter()
        for i in range(0, len(bodies), batch):
            conn.execute("SELECT count(*) FROM sigsync.ingest_many(%s::bytea[], 'indicator')",
                         (bodies[i:i + batch],)).fetchone()
        rate = len(bodies) / (time.perf_counter() - started)
    bench.drop(name)
    click.echo(f"  ingest_many alone: {len(bodies):,} bodies in batches of {batch}: {rate:,.0f}/s")
    return rate


def _probe_body(i: int, base: datetime) -> tuple[str, bytes]:
    ts = base + timedelta(minutes=i)
    direction = "BULLISH" if i % 2 == 0 else "BEARISH"
    trade_id = ts.astimezone(sample.NY).strftime("%Y%m%d_%H%M%S000_") + direction
    body = {"event_type": "SIGNAL_CREATED", "symbol": "PROBE", "trade_id": trade_id, "signal_time": ts.isoformat(),
            "direction": direction.title(), "signal_price": 100, "timestamp": int(ts.timestamp() * 1000)}
    return trade_id, json.dumps(body).encode()


async def _probe(port: int, token: str, dsn: str, until: float, samples: list[float], errors: list[str]) -> None:
    loop = asyncio.get_running_loop()
    base = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(days=30 + random.randrange(300))
    conn: list = [None]
    path = f"/webhook/{token}".encode()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as watch:
        i = 0
        while loop.time() < until:
            trade_id, body = _probe_body(i, base)
            i += 1
            t0 = time.perf_counter()
            status, answer = await _post(port, conn, path, body)
            if status != 200 or json.loads(answer).get("status") != "accepted":
                errors.append(f"probe {i}: {status} {answer[:200]!r}")
                continue
            while True:
                cur = await watch.execute("SELECT 1 FROM sigsync.signal_health_metrics WHERE symbol = 'PROBE' "
                                          "AND trade_id = %s", (trade_id,))
                if await cur.fetchone():
                    break
                if time.perf_counter() - t0 > 30:
                    errors.append(f"probe {i}: not reconciled within 30 s")
                    break
                await asyncio.sleep(0.005)
            samples.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(random.uniform(0.03, 0.07))
    if conn[0] is not None:
        conn[0][1].close()


def _measure_reconciled(bench, template: str, bodies: list[bytes], clients: int, seconds: float) -> dict:
    name = "reconcile"
    dsn, token = _fresh(bench, f"bench_serve_{name}", template)
    serve = ServeProcess(dsn, bench.work_dir / "serve", name, "--reconcile", "--interval", "60")
    samples: list[float] = []
    errors: list[str] = []

    async def both() -> Load:
        until = asyncio.get_running_loop().time() + seconds
        load, _ = await asyncio.gather(run_load(serve.port, token, bodies, clients, seconds),
                                       _probe(serve.port, token, dsn, until, samples, errors))
        return load

    try:
        load = asyncio.run(both())
    finally:
        code = serve.stop()
    bench.drop(f"bench_serve_{name}")
    if code != 0 or errors:
        raise ServeError(f"serve --reconcile: exit {code}; {errors[:5]}\n{serve.log.read_text()[-2000:]}")
    rps = len(load.latencies) / load.seconds
    click.echo(f"  reconcile: {load.sent:,} requests at {rps:,.0f}/s meanwhile; {len(samples)} probes: "
               f"p50 {pct(samples, 0.5):.0f} ms, p99 {pct(samples, 0.99):.0f} ms, max {max(samples):.0f} ms")
    return {"samples": samples, "rps": rps}


def base_database(bench, template: str, events: int) -> str:
    """A migrated database that already holds `events` events of other symbols, reconciled (one full
    cycle, as a running system's loop would have: a version that leaves the projection of MFE
    updates to the cycle would otherwise make run c's first cycle project the whole history) and
    analyzed: a running system, whose statistics autovacuum keeps (a fresh database has none for
    a minute)."""
    name = "bench_serve_base"
    bench.create(name, template)
    history = [line for c in data.chunks(bench.data_dir, "H", max(20, events // 90), faults={})
               for line in data.lines(c)][:events]
    with bench.connect(name) as conn:
        for i in range(0, len(history), 1000):
            conn.execute("SELECT count(*) FROM sigsync.ingest_many(%s)", (history[i:i + 1000],))
        summary = conn.execute("SELECT sigsync.reconcile(p_full => true)").fetchone()[0]
        if summary["status"] != "ok":
            raise ServeError(f"the first full cycle of {name}: {summary}")
        conn.execute("VACUUM ANALYZE")
    return name


def bench_serve(bench, template: str, clients: int, seconds: float, history: int) -> None:
    click.echo(f"\n6. serve: {clients} clients POSTing the sample stream for {seconds:g} s, on loopback")
    # enough of the stream for the group-commit server at full speed (~3,000/s at most)
    per_run = int(seconds * 3500)
    bodies = _stream(bench, max(40, per_run // 90))
    if len(bodies) < per_run:
        bodies = bodies * (per_run // len(bodies) + 1)  # repeats are duplicates (answered 200)
    template = base_database(bench, template, history)
    group = _measure(bench, template, "group", bodies, clients, seconds)
    ceiling = _ceiling(bench, template, bodies[:group["sent"]], max(1, round(group["batch_mean"])))
    # one transaction per request, with the connections that suit it best here (1: 160/s, 4: 150/s)
    single = _measure(bench, template, "single", bodies, clients, seconds, "--batch-max", "1",
                      "--db-connections", "2")
    reconciled = _measure_reconciled(bench, template, bodies, clients, seconds)
    f = bench.figures
    f.add("serve_rps", f"serve, group commit: requests/s held ({clients} clients)", "req/s", [group["rps"]],
          stat="once", target="≥ 2,000/s", met=group["rps"] >= 2000)
    f.add("serve_p50", "serve, group commit: answer p50", "ms", [group["p50"]], stat="once")
    f.add("serve_p99", "serve, group commit: answer p99", "ms", [group["p99"]], stat="once", target="≤ 250 ms",
          met=group["p99"] <= 250)
    f.add("serve_max", "serve, group commit: answer max", "ms", [group["max"]], stat="once")
    f.add("serve_batch_mean", "serve, group commit: bodies per ingest_many call, mean", "",
          [group["batch_mean"]], stat="once")
    f.add("serve_batch_p99", "serve, group commit: bodies per call, p99 (histogram bound)", "",
          [group["batch_p99"]], stat="once")
    f.add("serve_lost", "serve, group commit: lost (sent − stored − rejected − duplicates)", "", [group["lost"]],
          stat="once", target="0", met=group["lost"] == 0)
    f.add("serve_ceiling", "ingest_many alone, same bodies and batch size, no HTTP: bodies/s", "req/s", [ceiling],
          stat="once", note="the most any receiver could do on this database and stream")
    f.add("serve_of_ceiling", "serve, group commit ÷ ingest_many alone", "x", [group["rps"] / ceiling], stat="once")
    f.add("serve_single_rps", "same server, one transaction per request: requests/s", "req/s", [single["rps"]],
          stat="once")
    f.add("serve_single_p99", "same server, one transaction per request: answer p99", "ms", [single["p99"]],
          stat="once")
    f.add("serve_single_lost", "same server, one transaction per request: lost", "", [single["lost"]],
          stat="once", target="0", met=single["lost"] == 0)
    ratio = group["rps"] / single["rps"] if single["rps"] else float("inf")
    f.add("serve_speedup", "group commit ÷ one transaction per request", "x", [ratio], stat="once", target="≥ 5x",
          met=ratio >= 5)
    f.add("serve_reconciled_p99", f"webhook → reconciled with --reconcile, p99 of {len(reconciled['samples'])} "
          f"(load {reconciled['rps']:,.0f} req/s)", "ms", [pct(reconciled["samples"], 0.99)], stat="once",
          target="≤ 1 s", met=pct(reconciled["samples"], 0.99) <= 1000)
    bench.serve_results = {"group": group, "single": single}
    bench.drop(template)


def _tag(bench, start: int, side, two: bool) -> None:
    """The figures bench_serve added from rows[start] on, named for their side (the after ones keep
    their keys), and after / before of each once both sides are in."""
    if not two:
        return
    rows = bench.figures.rows
    for r in rows[start:]:
        r["label"] += f" [{side.name}: {side.version}]"
        if side.name == "before":
            r["key"] += "_before"
    if side.name == "after":
        before = {r["key"]: r for r in rows}
        for r in list(rows[start:]):
            b = before.get(r["key"] + "_before")
            if b and b["value"]:
                bench.figures.add(r["key"] + "_ratio", r["label"].split(" [after:")[0] + ": after / before", "x",
                                  [r["value"] / b["value"]], stat="once")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--seconds", type=click.FloatRange(min=1), default=20, show_default=True,
              help="How long the clients POST to each server.")
@click.option("--clients", type=click.IntRange(min=1, max=1000), default=64, show_default=True,
              help="Concurrent clients, each on its own keep-alive connection.")
@click.option("--history", type=click.IntRange(min=0), default=30000, show_default=True,
              help="Events of other symbols already in each database (analyzed).")
@click.option("--before", metavar="REF", help="A git ref: its sql/ tree is measured too, first.")
@click.option("--after", metavar="REF", help="A git ref for the after side (default: this checkout's sql/).")
@click.option("--quick", is_flag=True, help="A small smoke run (2 s per server, 3,000 events of history).")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the cluster and the generated streams here (default: a temporary directory, removed).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every figure as JSON here.")
def main(seconds, clients, history, before, after, quick, work_dir, json_path):
    """`sigsync serve` over HTTP (section 6); with --before, on two versions of sql/, one after the other."""
    if after and not before:
        raise click.UsageError("--after needs --before")
    if quick:
        seconds, history = 2, 3000
    try:
        for ref in (before, after):
            if ref:
                messy.resolve(ref)
    except BenchError as exc:
        raise click.BadParameter(str(exc)) from None
    with bench_root(work_dir, "sigsync-bench-serve-") as root:
        bench = Bench(root, 1)
        started = time.perf_counter()
        try:
            with bench.cluster.running():
                bench.empty_template()
                side_list = messy.sides(bench, before, after)
                for side in side_list:
                    click.echo(f"\n{side.name}: {side.version}")
                    start = len(bench.figures.rows)
                    bench_serve(bench, side.template, clients, seconds, history)
                    _tag(bench, start, side, len(side_list) == 2)
                for side in side_list:
                    if side.template != EMPTY:
                        bench.drop(side.template)
                shutil.rmtree(bench.work_dir / "trees", ignore_errors=True)
        except (BenchError, ServeError) as exc:
            raise click.ClickException(str(exc)) from None
    messy.report(bench, side_list, started, json_path, "bench.serve", "serve_", {"seconds": seconds, "clients": clients})
    lost = [r["label"] for r in bench.figures.rows if r["key"].startswith(("serve_lost", "serve_single_lost"))
            and not r["key"].endswith("_ratio") and not r["met"]]
    if lost:
        raise click.ClickException("events lost: " + "; ".join(lost))


if __name__ == "__main__":
    main()
