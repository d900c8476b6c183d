"""Data for the benchmarks, built with the sample generator (`sigsync sample`).

A registry of N signals is several generated symbols (at most DAYS_PER_SYMBOL trading days
each, ~33 signals and ~2,900 events a day), so memory stays bounded at any scale. Files
are cached under the data directory: a second run at the same scale reuses them.
"""

from __future__ import annotations

import json
import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sigsync import sample

SIGNALS_PER_DAY = 33  # what the generator draws on average (measured: 166 signals in 5 days)
DAYS_PER_SYMBOL = 60
FAULTS = {"lose": 0.02}  # a realistic feed: 2% of events never arrive, so cycles have gaps to fill


@dataclass
class Chunk:
    symbol: str
    directory: Path

    @property
    def events(self) -> Path:
        return self.directory / "events.jsonl"

    @property
    def bars(self) -> Path:
        return self.directory / "bars.csv"

    def summary(self) -> dict:
        return json.loads((self.directory / "summary.json").read_text())


def _build_chunk(args: tuple[Path, str, int, int, dict]) -> None:
    directory, symbol, seed, days, faults = args
    summary = sample.write(directory, seed=seed, days=days, symbol=symbol, **faults)
    summary["p_now"] = json.loads((directory / "truth.json").read_text())["p_now"]
    (directory / "truth.json").unlink()  # not needed here, and large
    (directory / "summary.json").write_text(json.dumps(summary))


def chunks(data_dir: Path, prefix: str, signals: int, faults: dict | None = None, workers: int = 2) -> list[Chunk]:
    """Generated symbols that together hold about `signals` signals (cached)."""
    faults = FAULTS if faults is None else faults
    days = max(1, math.ceil(signals / SIGNALS_PER_DAY))
    plan, seed = [], 0
    while days > 0:
        n = min(days, DAYS_PER_SYMBOL)
        seed += 1
        symbol = f"{prefix}{seed:03d}"
        tag = "-".join(f"{k}{v}" for k, v in sorted(faults.items())) or "clean"
        plan.append((data_dir / f"{symbol}-d{n}-{tag}", symbol, seed, n, faults))
        days -= n
    todo = [p for p in plan if not (p[0] / "summary.json").exists()]
    if todo:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_build_chunk, todo))
    return [Chunk(symbol, directory) for directory, symbol, *_ in plan]


def lines(chunk: Chunk) -> list[str]:
    return chunk.events.read_text().splitlines()


def event_count(payloads: list[str]) -> int:
    """Events these payloads become (an MFE_UPDATE_BATCH is one event per update)."""
    return sum(len(json.loads(p).get("updates", [None])) for p in payloads)


def distinct_events(payloads: list[str]) -> int:
    """Distinct events these payloads stand for: each item of a MFE_UPDATE_BATCH over the
    batch's other fields, as ingest reads it (so a single MFE_UPDATE and the same update in a
    batch are one event), and a body sent twice once."""
    seen = set()
    for p in payloads:
        body = json.loads(p)
        for event in sample.single_updates(body) if body.get("event_type") == "MFE_UPDATE_BATCH" else [body]:
            seen.add(json.dumps(event, sort_keys=True))
    return len(seen)
