"""`sigsync demo`: the seeds' before/after story on generated data.

One trading day from the sample generator (fixed seed). "Before": what the original
system saw — no SIGNAL_CREATED, no CANCELLED, ENTRY without htf_alignment and
confirmation fields, plus two malformed payloads. "After the alert is configured": the
SIGNAL_CREATED and CANCELLED stream arrives. Each step is ingest + one reconcile cycle;
the comparison reads the views. Everything runs in a fresh database `sigsync_demo` on
the same server, so the demo never touches your data and can be run again.
"""

from __future__ import annotations

import random
from pathlib import Path

import click
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from sigsync.app import App, pass_app
from sigsync.errors import SigsyncError
from sigsync.ingest import Payloads, ingest
from sigsync.migrate import Migrator, SqlTree
from sigsync.output import format_table
from sigsync.reconcile import describe_cycle, format_report, gap_report, run_cycle
from sigsync.sample import _line, apply_options, generate, iso

DEMO_DB = "sigsync_demo"
SEED = 7
BEFORE_DROPS = ("signal_created", "cancelled", "entry_fields")
MALFORMED = ['{"event_type": "ENTRY", "trade_id": "20251212_0930', '{"event_type": "EXIT_SL", "trade_id": "nope"}']
QUERIES = [
    "SELECT trade_id, status, session, bars_to_confirmation, be_mfe, no_be_mfe, health_score, gaps\n"
    "  FROM sigsync.all_signals ORDER BY signal_time;",
    "SELECT trade_id, cancel_detection, cancelled_by, bars_pending FROM sigsync.cancelled_signals;",
    "SELECT at, kind, what FROM sigsync.signal_timeline\n"
    " WHERE trade_id = (SELECT min(trade_id) FROM sigsync.completed_trades) ORDER BY at;",
]


def _demo_dsn(server_dsn: str) -> str:
    return make_conninfo(server_dsn, dbname=DEMO_DB)


def _fresh_database(server_dsn: str) -> None:
    try:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DEMO_DB)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DEMO_DB)))
    except psycopg.errors.InsufficientPrivilege as exc:
        raise SigsyncError(f"the demo needs to create the database {DEMO_DB}: {exc}") from None


def _state(conn) -> dict:
    report = gap_report(conn)
    cancelled = dict(conn.execute(
        "SELECT cancel_detection, count(*) FROM sigsync.cancelled_signals GROUP BY 1").fetchall())
    return {**report, "cancelled": cancelled,
            "rejected": conn.execute("SELECT count(*) FROM sigsync.rejected_events").fetchone()[0]}


def _step(conn, title: str, lines: list[str], p_now, echo=click.echo) -> tuple[dict, dict]:
    echo(f"\n== {title}")
    result = ingest(conn, Payloads(unit="payload", items=list(enumerate(lines, 1))))
    echo(f"ingest: {result.summary()}")
    for position, code, message in result.rejections:
        echo(f"  payload {position}: {code}: {message}")
    summary = run_cycle(conn, p_now, trigger="demo")
    echo("reconcile: " + describe_cycle(summary))
    state = _state(conn)
    echo(format_report(state))
    return summary, state


def populate(conn, echo=click.echo) -> tuple[dict, dict, dict, dict]:
    """The demo's day in a migrated database: the bars, then the two steps, each ingest + one
    cycle. Returns (first cycle, state before, last cycle, state after). Tests load the demo
    data with this too."""
    sample = generate(seed=SEED)
    before_lines = apply_options(sample, random.Random(SEED), drop=BEFORE_DROPS) + MALFORMED
    after_lines = [_line(e) for e in sample.events if e["event_type"] in ("SIGNAL_CREATED", "CANCELLED")]
    echo(f"one trading day generated (seed {SEED}): {len(sample.bars)} one-minute bars, {len(sample.signals)} signals")
    with conn.cursor() as cur, cur.copy("COPY sigsync.price_bars (symbol, ts, open, high, low, close) FROM STDIN") as copy:
        for b in sample.bars:
            copy.write_row((sample.symbol, iso(b.ts), b.open, b.high, b.low, b.close))
    first, before = _step(conn, "Before: what the original system received", before_lines, sample.p_now, echo)
    cycle, after = _step(conn, "After the SIGNAL_CREATED / CANCELLED alerts are configured", after_lines,
                         sample.p_now, echo)
    return first, before, cycle, after


def comparison(raw: dict, before: dict, after: dict, after_cycle: dict) -> str:
    """raw: the gaps the first cycle detected before filling anything (what the original
    system reported); before / after: open gaps after each step's cycle."""
    gap_types = [g for g in after["gaps"] if raw.get(g) or before["gaps"].get(g) or after["gaps"].get(g)]
    rows = [(g, raw.get(g, 0), before["gaps"].get(g, 0), after["gaps"].get(g, 0)) for g in gap_types]
    total_raw = sum(raw.values())
    total_before, total_after = sum(before["gaps"].values()), sum(after["gaps"].values())
    reduction = f"{100 * (total_raw - total_after) / total_raw:.1f}%" if total_raw else "n/a"
    rows.append(("total", total_raw, total_before, total_after))
    hb, ha = before["health"], after["health"]
    fills = ", ".join(f"tier {t}: {n}" for t, n in sorted((after_cycle.get("fills_by_tier") or {}).items())) or "none"
    lines = [
        "\n== Before / after",
        format_table(["gap type", "detected before any fill", "before (after fills)", "after"], rows),
        f"gap reduction: {total_raw} -> {total_after} ({reduction})",
        f"mean health: {hb['mean_health']} -> {ha['mean_health']}   "
        f"complete signals: {hb['pct_complete']}% -> {ha['pct_complete']}%   "
        f"signals: {hb['signals']} -> {ha['signals']}",
        f"fills in the last cycle: {fills}",
        "cancellations: " + (", ".join(f"{n} {d}" for d, n in sorted(after["cancelled"].items())) or "none"),
        f"rejected payloads (kept in sigsync.rejected_events): {after['rejected']}",
    ]
    return "\n".join(lines)


@click.command("demo")
@click.option("--serve", "serve_it", is_flag=True,
              help="Then keep the demo data up in the dashboard: run `sigsync serve` on the demo database (with a "
                   "webhook token of its own) until Ctrl-C, and print its URL.")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --serve: the address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="With --serve: the port (0: any free port).")
@pass_app
def demo_cmd(app: App, serve_it: bool, host: str, port: int):
    """The seeds' story on one generated trading day, in a fresh database `sigsync_demo`.

    Ingests what the original system saw (no SIGNAL_CREATED / CANCELLED, bare ENTRY
    events) and reconciles; then ingests the SIGNAL_CREATED / CANCELLED stream "after the
    alert is configured", reconciles again, and prints gaps, health, fills by tier and
    cancellations before and after. With --serve, the dashboard then shows the same data.
    """
    if serve_it:
        with app.database() as server_dsn:  # the embedded cluster stays up for the dashboard
            _demo(app, server_dsn)
            _serve_demo(app, server_dsn, host, port)
        return
    with app.database() as server_dsn:
        _demo(app, server_dsn)
    _look_around(app, server_dsn)


def _demo(app: App, server_dsn: str) -> None:
    _fresh_database(server_dsn)
    dsn = _demo_dsn(server_dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        Migrator(conn, SqlTree(app.sql_dir()), echo=lambda *_: None).migrate()
        click.echo(f"database {DEMO_DB}: migrated", nl=False)
        first, before, cycle, after = populate(conn, echo=_after_first_line())
        click.echo(comparison(first.get("gaps_before") or {}, before, after, cycle))


def _after_first_line():
    """click.echo, whose first line continues the 'migrated' line ('; one trading day ...')."""
    state = {"first": True}

    def echo(text: str = "") -> None:
        if state["first"]:
            state["first"] = False
            click.echo(f"; {text}")
        else:
            click.echo(text)
    return echo


def _serve_demo(app: App, server_dsn: str, host: str, port: int) -> None:
    """`sigsync serve` on the demo database until Ctrl-C / SIGTERM, with a token for trying webhooks."""
    import tempfile

    from sigsync import access
    from sigsync.serve import Options, Service, ServeLog, _bind
    from sigsync.spool import Spool
    from sigsync.tokens import new_token, token_hash

    dsn = _demo_dsn(server_dsn)
    token = new_token()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO sigsync.webhook_tokens (source, label, token_hash) VALUES ('indicator', 'demo', %s)",
                     (token_hash(token),))
    log = ServeLog("text", name="sigsync demo")
    options = Options(host, port, False, 120.0, 0.2, "text", access.AllowList([]), [], 0.002, 500, 2.0, 1, 1024)
    with tempfile.TemporaryDirectory(prefix="sigsync-demo-spool-") as spool_dir:
        spool = Spool(Path(spool_dir), 64 * 1024 * 1024, report=lambda m: log.note(m, "warning"))
        spool.open()
        try:
            sock = _bind(host, port)
            bound = sock.getsockname()[1]
            shown = f"[{host}]" if ":" in host else host
            url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{bound}"
            click.echo(f"\nThe demo data is up in the dashboard: {url}/  (All Signals: {url}/signals)\n"
                       f"Send it an event and watch the page update by itself:\n"
                       f"  curl -d '{{\"type\":\"HEARTBEAT\",\"tracked_signals\":3}}' {url}/webhook/{token}\n"
                       f"Ctrl-C stops it (the data stays in the database {DEMO_DB}).")
            try:
                Service(dsn, options, spool, sock, log).run()
            finally:
                sock.close()
        finally:
            spool.close()


def _look_around(app: App, server_dsn: str) -> None:
    where = "sigsync db start; " if not app.dsn else ""
    click.echo(f"\nLook around: {where}psql \"{_demo_dsn(server_dsn)}\"")
    for query in QUERIES:
        click.echo("  " + query.replace("\n", "\n  "))
    demo_dsn = _demo_dsn(server_dsn)
    click.echo(f"\nOr open the same data through the webhook receiver, as TradingView would send to it:\n"
               f"  {where}TOKEN=$(sigsync --dsn \"{demo_dsn}\" token create --source indicator --label demo)\n"
               f"  sigsync --dsn \"{demo_dsn}\" serve --reconcile &      # http://127.0.0.1:8080\n"
               f"  curl -d '{{\"type\":\"HEARTBEAT\",\"tracked_signals\":8}}' http://127.0.0.1:8080/webhook/$TOKEN\n"
               f"  curl http://127.0.0.1:8080/readyz; curl http://127.0.0.1:8080/metrics\n"
               f"  (\"Connecting TradingView\" in README.md: the token, TLS on 443, the alert messages)\n"
               f"\nOr see it all in the dashboard: sigsync demo --serve  (http://127.0.0.1:8080/)")


COMMANDS = [demo_cmd]
