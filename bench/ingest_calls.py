"""ingest_many by call size, on two databases side by side (before and after a change).

Each database is a template: every run copies it to a fresh database, stores the sample
stream (`sigsync sample --days 5`: 7,689 payloads, 14,626 events) through `ingest_many` in
calls of 1, 40 (what `sigsync serve`'s group commit sends under load) and 1000 bodies, and
drops the copy. Runs alternate between the two templates, so both see the same machine; the
best run of each is printed with the ratio after / before.

    .venv/bin/python -m bench.ingest_calls --admin URL --before TEMPLATE --after TEMPLATE [--runs 3]

Make the templates by migrating two empty databases, one with each version of sql/ (for a
repeatable function, `git show REV:sql/functions/F.sql | psql` on a migrated copy is enough).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click
import psycopg
from psycopg import sql

from sigsync import sample

CALL_SIZES = (1, 40, 1000)
SINGLE_BODIES = slice(2000, 2600)   # calls of 1: 600 bodies of the trading day (alerts, not only heartbeats)


def _stream() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        sample.write(Path(tmp), seed=1, days=5, symbol="CALLS")
        return (Path(tmp) / "events.jsonl").read_text().splitlines()


def _run(admin: str, template: str, bodies: list[str], size: int) -> tuple[float, float]:
    """(events/s, payloads/s) of one run on a fresh copy of template."""
    name = "bench_ingest_calls"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    try:
        with psycopg.connect(admin, dbname=name, autocommit=True) as conn:
            start = time.perf_counter()
            for i in range(0, len(bodies), size):
                conn.execute("SELECT count(*) FROM sigsync.ingest_many(%s::text[])", (bodies[i:i + size],))
            elapsed = time.perf_counter() - start
            events = conn.execute("SELECT count(*) FROM sigsync.automated_signals").fetchone()[0]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return events / elapsed, len(bodies) / elapsed


@click.command()
@click.option("--admin", required=True, help="DSN of a database on the cluster, as a role that may create databases.")
@click.option("--before", required=True, help="Template database of the version before the change.")
@click.option("--after", required=True, help="Template database of the version after it.")
@click.option("--runs", default=3, show_default=True, type=click.IntRange(1, 20), help="Runs of each, alternating.")
def main(admin: str, before: str, after: str, runs: int) -> None:
    """ingest_many in calls of 1, 40 and 1000 bodies, before and after, side by side."""
    stream = _stream()
    click.echo(f"stream: {len(stream):,} payloads; runs: {runs} of each, alternating")
    click.echo("| call size | before: events/s (payloads/s) | after: events/s (payloads/s) | after / before |")
    click.echo("|---:|---:|---:|---:|")
    for size in CALL_SIZES:
        bodies = stream[SINGLE_BODIES] if size == 1 else stream
        best = {before: (0.0, 0.0), after: (0.0, 0.0)}
        for _ in range(runs):
            for template in (before, after):
                best[template] = max(best[template], _run(admin, template, bodies, size))
        (b_ev, b_pl), (a_ev, a_pl) = best[before], best[after]
        click.echo(f"| {size} | {b_ev:,.0f} ({b_pl:,.0f}) | {a_ev:,.0f} ({a_pl:,.0f}) | {a_ev / b_ev:.2f}x |")


if __name__ == "__main__":
    main()
