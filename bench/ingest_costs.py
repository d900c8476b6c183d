"""Costs an ingest caller can blow up (issue "trust under hostile input", item 6).

Each cost is measured at two sizes in one run, side by side, and printed as the ratio of the
per-element cost at the large size to that at the small one: about 1x is linear, 10x (for a
10x larger input) quadratic. On the code before the fix, one 63 KB MFE_UPDATE_BATCH of 21,000
items took 37 s, ingest_many of N rejected elements was quadratic (1 s at 20k, 125 s at 100k),
one internal_error element made a call 13x slower, and each late MFE update looked up the
trade's whole history (1,000 late updates into a history of 30,000: 8.4 s).

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


def _two_sizes(add: Callable[..., None], key: str, what: str, unit: str, sizes: tuple[int, int], runs: int,
               cost: Callable[[int], float], target: str, bound: float) -> None:
    """A per-element cost at two sizes, and the ratio of the large one to the small one."""
    small, large = sizes
    costs = {n: [cost(n) for _ in range(runs)] for n in sizes}
    add(f"{key}_small", what.format(n=f"{small:,}"), unit, costs[small])
    add(f"{key}_large", what.format(n=f"{large:,}"), unit, costs[large])
    ratio = min(costs[large]) / min(costs[small])
    add(f"{key}_ratio", f"  per-element cost, {large // small}x the size", "x", [ratio], stat="once",
        target=target, met=ratio < bound)


def _history(n: int) -> Callable[[psycopg.Connection], None]:
    """n MFE updates of one trade, a second apart (even seconds), loaded before the timed call."""
    def load(conn: psycopg.Connection) -> None:
        updates = [_mfe(2 * i) for i in range(n)]
        for i in range(0, n, 1000):
            conn.execute("SELECT count(*) FROM sigsync.ingest_many(%s::text[])", (updates[i:i + 1000],))
    return load


def measure(conn: psycopg.Connection, quick: bool, runs: int, add: Callable[..., None]) -> None:
    """Measure and report through add(key, label, unit, values, target=..., met=...)."""
    nothing = lambda _conn: None  # noqa: E731
    linear = "≈ 1x (linear)"
    _two_sizes(add, "cost_batch", "MFE_UPDATE_BATCH of {n} items, per item", "µs",
               (500, 5000) if quick else (2100, 21000), runs,
               lambda n: _timed(conn, nothing, [_batch(n)]) / n * 1e6, linear, 2)
    _two_sizes(add, "cost_rejected", "ingest_many of {n} rejected elements, per element", "µs",
               (2000, 20000) if quick else (10000, 100000), runs,
               lambda n: _timed(conn, nothing, ["not json"] * n) / n * 1e6, linear, 2)
    # 1,000 updates dated between those of the middle of a trade's history: one pass over the
    # history after the earliest of them per batch (its later updates may become anomalies),
    # not one look-up of the history per update: well under 10x for 10x the history
    _two_sizes(add, "cost_late", "1,000 late MFE updates amid a history of {n}, per update", "µs",
               (2000, 20000) if quick else (3000, 30000), runs,
               lambda n: _timed(conn, _history(n), [_mfe(2 * (n // 2 + i) + 1) for i in range(1000)]) / 1000 * 1e6,
               "< 5x (one pass per batch)", 5)

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
