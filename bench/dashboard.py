"""8. dashboard: the server time of each page and API route of `sigsync serve` (DESIGN §12, §15),
and what a browser loads for /signals.

A `sigsync serve` on a registry answers each route ROUNDS times in turn (after two warm-up
requests each); the server time is the dashboard's own Server-Timing header (from the request
reaching the handler to the answer ready: the queries, the rendering, the compression), the
median and the p99 over the rounds, next to the 200 ms target. What the browser loads for
/signals: the page and every asset it references (stylesheets, scripts, icon) as transferred
(gzip, as a browser asks), plus its live stream: requests and bytes.

Called from `python -m bench` on its smallest and largest registries, or on its own:

    python -m bench.dashboard --dsn postgresql://... [--runs 30]
    python -m bench.dashboard --work-dir /tmp/dashbench --base 1000 --sizes 10000,100000

The second form builds a base registry through ingest_many (the bench's own build_registry,
cached in --work-dir), then makes each size by copying its registry rows (signals, their health
rows and the price bars) under new symbols (bench_dash_n<size>, cached): minutes instead of the
hours that loading 100,000 signals through ingest takes. The event log is not copied: the
pages read it per signal by index (the timeline) or for the last 24 hours only.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path
from urllib.parse import quote

import click
import httpx
import psycopg

from .serve import ServeProcess

TARGET_MS = 200.0
ROUTES = ["overview", "signals", "signals_filtered", "signals_sorted", "signals_page2", "signal", "cancelled", "gaps",
          "runs", "rejected", "api_signals", "api_signal", "api_cancelled", "api_gaps", "api_health", "api_runs",
          "api_rejected"]


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[max(0, int(q * len(s) + 0.999999) - 1)]


def _paths(base: str, dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT symbol, trade_id FROM sigsync.completed_trades ORDER BY exit_time DESC NULLS LAST"
                           " LIMIT 1").fetchone() or conn.execute(
            "SELECT symbol, trade_id FROM sigsync.all_signals ORDER BY signal_time DESC LIMIT 1").fetchone()
    signal = f"{quote(row[0], safe='')}/{row[1]}"
    after = httpx.get(f"{base}/api/signals", timeout=30).json()["next"] or ""
    return {"overview": "/", "signals": "/signals", "signals_filtered": "/signals?status=closed&session=NY+AM",
            "signals_sorted": "/signals?sort=health&dir=asc", "signals_page2": f"/signals?after={after}",
            "signal": f"/signals/{signal}", "cancelled": "/cancelled", "gaps": "/gaps", "runs": "/runs",
            "rejected": "/rejected", "api_signals": "/api/signals", "api_signal": f"/api/signals/{signal}",
            "api_cancelled": "/api/cancelled", "api_gaps": "/api/gaps", "api_health": "/api/health",
            "api_runs": "/api/runs", "api_rejected": "/api/rejected"}


def _server_ms(response: httpx.Response) -> float:
    m = re.search(r"dur=([0-9.]+)", response.headers.get("server-timing", ""))
    if response.status_code != 200 or not m:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:200]}")
    return float(m.group(1))


def browser_load(base: str) -> dict:
    """Requests and bytes a browser loads for /signals (gzip as transferred; the live stream counted once)."""
    headers = {"Accept-Encoding": "gzip"}
    with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
        page = client.get("/signals")
        transferred = len(page.content) if "gzip" not in page.headers.get("content-encoding", "") else \
            int(page.headers["content-length"])
        raw = len(page.content)
        assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(/static/[^"]+)"', page.text)
        for asset in assets:
            r = client.get(asset)
            raw += len(r.content)
            transferred += int(r.headers.get("content-length", len(r.content)))
    return {"requests": 1 + len(assets) + 1, "bytes": transferred, "raw_bytes": raw, "assets": assets}


def measure(dsn: str, work: Path, label: str, size_key: int | str, rounds: int, add) -> None:
    """Time every route on the registry at `dsn`; add(key, label, unit, values, ...) records a figure."""
    serve = ServeProcess(dsn, work, f"dashboard-{size_key}")
    try:
        base = f"http://127.0.0.1:{serve.port}"
        paths = _paths(base, dsn)
        times: dict[str, list[float]] = {name: [] for name in ROUTES}
        with httpx.Client(base_url=base, timeout=60, headers={"Accept-Encoding": "gzip"}) as client:
            for name in ROUTES:  # warm-up: plans, caches
                for _ in range(2):
                    _server_ms(client.get(paths[name]))
            for _ in range(rounds):
                for name in ROUTES:
                    times[name].append(_server_ms(client.get(paths[name])))
        load = browser_load(base)
    finally:
        serve.stop()
    for name in ROUTES:
        values = times[name]
        add(f"dash_{name}_{size_key}", f"{name} ({paths_label(name)}), {label}: server time, median", "ms", values,
            target=f"≤ {TARGET_MS:g} ms", met=statistics.median(values) <= TARGET_MS)
        add(f"dash_{name}_{size_key}_p99", f"{name}, {label}: server time, p99 of {len(values)}", "ms",
            [pct(values, 0.99)], stat="once")
    add(f"dash_browser_requests_{size_key}", f"/signals in a browser, {label}: requests (page, assets, live stream)",
        "", [load["requests"]], stat="once")
    add(f"dash_browser_bytes_{size_key}", f"/signals in a browser, {label}: bytes transferred (gzip)", "B",
        [load["bytes"]], stat="once", note=f"{load['raw_bytes']:,} B uncompressed")


def paths_label(name: str) -> str:
    return {"overview": "/", "signals": "/signals", "signals_filtered": "/signals?status&session",
            "signals_sorted": "/signals?sort=health", "signals_page2": "/signals?after=...",
            "signal": "/signals/{symbol}/{trade_id}", "api_signal": "/api/signals/{symbol}/{trade_id}"}.get(
        name, "/" + name.replace("api_", "api/"))


def bench_dashboard(bench, infos: list[dict], quick: bool) -> None:
    """Section 8 of `python -m bench`: on the smallest and the largest registry."""
    click.echo("\n8. dashboard: server time of each page and API route (Server-Timing), and what /signals loads")
    rounds = bench.runs if quick else max(30, bench.runs)  # --quick: 3 rounds, as every other figure
    for info in ((infos[0], infos[-1]) if len(infos) > 1 else infos):
        db = f"bench_n{info['size']}"
        measure(bench.url(db), bench.work_dir / "dashboard", f"{info['signals']:,} signals", info["size"], rounds,
                bench.figures.add)


# -- on its own -------------------------------------------------------------------------------------

SIGNAL_COLUMNS_SQL = ("SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) FROM "
                      "information_schema.columns WHERE table_schema = 'sigsync' AND table_name = %s "
                      "AND is_generated = 'NEVER' AND column_name <> 'symbol'")


def clone(conn: psycopg.Connection, factor: int) -> None:
    """Copy the registry rows (signals, health rows, price bars) factor - 1 times under new symbols."""
    conn.execute("SET session_replication_role = replica")  # a copy: no trigger reacts to it
    for table in ("price_bars", "signals", "signal_health_metrics"):
        (columns,) = conn.execute(SIGNAL_COLUMNS_SQL, (table,)).fetchone()
        for i in range(1, factor):
            conn.execute(f"INSERT INTO sigsync.{table} (symbol, {columns}) SELECT symbol || 'c{i}', {columns}"
                         f" FROM sigsync.{table} WHERE symbol !~ 'c[0-9]+$'")
    conn.execute("UPDATE sigsync.signals SET dirty = false, next_check_at = NULL WHERE symbol ~ 'c[0-9]+$'")
    conn.execute("RESET session_replication_role")
    conn.execute("VACUUM ANALYZE")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dsn", metavar="URL", help="Measure this migrated database (as it is).")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Without --dsn: the bench's cluster and registries here (kept for the next run).")
@click.option("--base", type=click.IntRange(min=20), default=1000, show_default=True,
              help="Without --dsn: signals loaded through ingest_many, copied up to each of --sizes.")
@click.option("--sizes", default="10000,100000", show_default=True, help="Without --dsn: registry sizes to measure.")
@click.option("--runs", type=click.IntRange(min=1), default=30, show_default=True,
              help="Requests per route (after two warm-up requests each); median and p99 over them.")
def main(dsn, work_dir, base, sizes, runs):
    """The dashboard's server time per page and API route, and what /signals loads in a browser."""
    from .__main__ import build_registry
    from .common import Bench, Figures

    if dsn:
        figures = Figures()
        work = Path("/tmp/sigsync-bench-dashboard")
        work.mkdir(exist_ok=True)
        measure(dsn, work, "given database", "db", runs, figures.add)
        click.echo("\n" + figures.markdown())
        return
    if work_dir is None:
        raise click.UsageError("give --dsn, or --work-dir for the registries")
    targets = sorted({int(s) for s in sizes.split(",") if s.strip()})
    bench = Bench(work_dir.resolve(), runs)
    with bench.cluster.running():
        if not bench.exists("bench_empty"):
            bench.empty_template()
        info = build_registry(bench, base)
        for size in targets:
            db = f"bench_dash_n{size}"
            factor = max(1, round(size / info["signals"]))
            if not bench.exists(db):
                started = time.perf_counter()
                bench.create(db, f"bench_n{base}")
                with bench.connect(db) as conn:
                    clone(conn, factor)
                click.echo(f"  built {db}: {factor} x {info['signals']:,} signals in {time.perf_counter() - started:,.0f} s")
            with bench.connect(db) as conn:
                signals = conn.execute("SELECT count(*) FROM sigsync.signals").fetchone()[0]
            click.echo(f"\n{db}: {signals:,} signals")
            measure(bench.url(db), bench.work_dir / "dashboard", f"{signals:,} signals", size, runs, bench.figures.add)
    click.echo("\n" + bench.figures.markdown())


if __name__ == "__main__":
    main()
