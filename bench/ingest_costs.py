"""Costs an ingest caller can blow up (issue "trust under hostile input", item 6).

Each cost is measured at two sizes in one run, side by side, and printed as the ratio of the
per-element cost at the large size to that at the small one: about 1x is linear, 10x (for a
10x larger input) quadratic. On the code before the fix, one 63 KB MFE_UPDATE_BATCH of 21,000
items took 37 s, ingest_many of N rejected elements was quadratic (1 s at 20k, 125 s at 100k),
and one internal_error element made a call 13x slower.

    python -m bench            runs it as section 5 (figures in docs/benchmarks.md)
    python -m bench.ingest_costs --dsn URL [--quick]   on its own, against a migrated database
      (it creates and drops its own tables' rows in a transaction it rolls back)
"""

from __future__ import annotations

import json
import time
from typing import Callable

import click
import psycopg

TRADE = "20251212_104200000_BULLISH"
POISON = """
CREATE FUNCTION pg_temp.poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN IF NEW.symbol = 'POISON' THEN RAISE EXCEPTION 'poisoned element'; END IF; RETURN NEW; END $$;
CREATE TRIGGER bench_poison BEFORE INSERT ON sigsync.automated_signals FOR EACH ROW EXECUTE FUNCTION pg_temp.poison();
"""


def _batch(items: int) -> str:
    updates = ",".join(f'{{"trade_id":"{TRADE}","no_be_mfe":{i / 100000:.5f},"timestamp":{1765554360000 + i}}}'
                       for i in range(items))
    return f'{{"event_type":"MFE_UPDATE_BATCH","symbol":"COST","updates":[{updates}]}}'


def _mfe(i: int, symbol: str = "COST") -> str:
    return json.dumps({"event_type": "MFE_UPDATE", "symbol": symbol, "trade_id": TRADE, "be_mfe": i / 10000,
                       "timestamp": 1765554360000 + i * 1000})


def _timed(conn: psycopg.Connection, setup: Callable[[psycopg.Connection], None], payloads: list[str]) -> float:
    """Seconds for one ingest_many call, in a transaction that is rolled back."""
    with conn.transaction(force_rollback=True):
        conn.execute("UPDATE sigsync.settings SET value = '100000000' WHERE key = 'max_payload_bytes'")
        conn.execute("UPDATE sigsync.settings SET value = '1000000' WHERE key IN ('max_batch_items', 'max_payloads_per_call')")
        setup(conn)
        start = time.perf_counter()
        rows = conn.execute("SELECT status, error ->> 'code' FROM sigsync.ingest_many(%s::text[])", (payloads,)).fetchall()
        elapsed = time.perf_counter() - start
    if len(rows) != len(payloads):
        raise RuntimeError(f"{len(payloads)} payloads gave {len(rows)} results")
    return elapsed


def measure(conn: psycopg.Connection, quick: bool, runs: int, add: Callable[..., None]) -> None:
    """Measure and report through add(key, label, unit, values, target=..., met=...)."""
    nothing = lambda _conn: None  # noqa: E731
    small, large = (500, 5000) if quick else (2100, 21000)
    per_item = {n: [_timed(conn, nothing, [_batch(n)]) / n * 1e6 for _ in range(runs)] for n in (small, large)}
    add("cost_batch_small", f"MFE_UPDATE_BATCH of {small:,} items, per item", "µs", per_item[small])
    add("cost_batch_large", f"MFE_UPDATE_BATCH of {large:,} items, per item", "µs", per_item[large])
    ratio = min(per_item[large]) / min(per_item[small])
    add("cost_batch_ratio", f"  per-item cost, {large // small}x the items", "x", [ratio], stat="once",
        target="≈ 1x (linear)", met=ratio < 2)

    small, large = (2000, 20000) if quick else (10000, 100000)
    per_element = {n: [_timed(conn, nothing, ["not json"] * n) / n * 1e6 for _ in range(runs)] for n in (small, large)}
    add("cost_rejected_small", f"ingest_many of {small:,} rejected elements, per element", "µs", per_element[small])
    add("cost_rejected_large", f"ingest_many of {large:,} rejected elements, per element", "µs", per_element[large])
    ratio = min(per_element[large]) / min(per_element[small])
    add("cost_rejected_ratio", f"  per-element cost, {large // small}x the elements", "x", [ratio], stat="once",
        target="≈ 1x (linear)", met=ratio < 2)

    good = [_mfe(i) for i in range(1000)]
    poisoned = good[:500] + [_mfe(0, "POISON")] + good[500:]
    plain = [_timed(conn, nothing, good) for _ in range(runs)]
    bad = [_timed(conn, lambda c: c.execute(POISON), poisoned) for _ in range(runs)]
    add("cost_internal_plain", "1,000 good elements", "ms", [t * 1000 for t in plain])
    add("cost_internal_poison", "the same with one element failing (internal_error)", "ms", [t * 1000 for t in bad])
    ratio = min(bad) / min(plain)
    add("cost_internal_ratio", "  slowdown of one internal_error element", "x", [ratio], stat="once",
        target="≤ 5x (was 13x)", met=ratio <= 5)


@click.command()
@click.option("--dsn", required=True, help="A migrated sigsync database (nothing is kept: every call is rolled back).")
@click.option("--quick", is_flag=True, help="Smaller sizes (seconds).")
@click.option("--runs", default=3, show_default=True, type=click.IntRange(1, 20))
def main(dsn: str, quick: bool, runs: int) -> None:
    """Measure the ingest costs a caller could blow up, at two sizes each."""
    def add(key, label, unit, values, target="", met=None, stat="min"):
        value = values[0] if stat == "once" else min(values)
        click.echo(f"  {label:<58} {value:>12,.2f} {unit}{'  target ' + target if target else ''}"
                   f"{'' if met is None else ('  met' if met else '  MISSED')}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        measure(conn, quick, runs, add)


if __name__ == "__main__":
    main()
