"""`sigsync demo`: migrate, ingest the bundled sample events, show the registry."""

from __future__ import annotations

from pathlib import Path

import click

from sigsync.app import App, pass_app
from sigsync.ingest import ingest, read_payloads
from sigsync.migrate import Migrator, SqlTree

SAMPLE = Path(__file__).parent / "data" / "sample_events.jsonl"
COLUMNS = ["symbol", "trade_id", "status", "entry_price", "stop_loss", "be_mfe", "no_be_mfe"]


def format_table(columns: list[str], rows: list[tuple]) -> str:
    cells = [columns] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


@click.command("demo")
@pass_app
def demo_cmd(app: App):
    """Migrate, ingest the bundled sample events (one duplicate, one malformed line) and
    print the resulting sigsync.signals rows."""
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
    if not app.dsn:
        click.echo("\n(psql into the embedded database: `sigsync db start`, then `psql \"$(sigsync db url)\"`)")


COMMANDS = [demo_cmd]
