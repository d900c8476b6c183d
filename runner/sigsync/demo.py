"""`sigsync demo`: migrate, ingest the bundled sample events, show the registry."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from sigsync.app import App, pass_app
from sigsync.ingest import ingest, read_payloads
from sigsync.migrate import Migrator, SqlTree
from sigsync.output import format_table
from sigsync.reconcile import describe_cycle, format_report, gap_report, run_cycle

SAMPLE = Path(__file__).parent / "data" / "sample_events.jsonl"
COLUMNS = ["symbol", "trade_id", "status", "entry_price", "stop_loss", "be_mfe", "no_be_mfe"]
AFTER = ["trade_id", "status", "session", "bars_to_confirmation", "be_mfe", "no_be_mfe", "health_score", "gaps"]
DEMO_NOW = datetime(2025, 12, 12, 17, 0, tzinfo=timezone.utc)


@click.command("demo")
@pass_app
def demo_cmd(app: App):
    """Migrate, ingest the bundled sample events (one duplicate, one malformed line), print
    the registry, run one reconcile cycle and print the signals and the gap/health report."""
    with app.connect() as conn:
        Migrator(conn, SqlTree(app.sql_dir()), echo=click.echo).migrate()
        click.echo(f"\ningesting {SAMPLE.name}")
        with SAMPLE.open("rb") as sample:
            result = ingest(conn, read_payloads(sample))
        click.echo(result.summary())
        for position, code, message in result.rejections:
            click.echo(f"  line {position}: {code}: {message}")
        rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM sigsync.signals ORDER BY symbol, trade_id").fetchall()
        click.echo("\nsigsync.signals:\n" + format_table(COLUMNS, rows))
        # the sample's events happen on 2025-12-12; reconcile as of that afternoon
        summary = run_cycle(conn, DEMO_NOW, trigger="demo")
        click.echo("\nreconcile: " + describe_cycle(summary))
        rows = conn.execute(f"SELECT {', '.join(AFTER)} FROM sigsync.all_signals ORDER BY symbol, trade_id").fetchall()
        click.echo("\nsigsync.all_signals:\n" + format_table(AFTER, rows))
        click.echo("\n" + format_report(gap_report(conn)))
    if not app.dsn:
        click.echo("\n(psql into the embedded database: `sigsync db start`, then `psql \"$(sigsync db url)\"`)")


COMMANDS = [demo_cmd]
