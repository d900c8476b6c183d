"""9. messy: ingest of an in-order and a messy stream (DESIGN §12), next to raw COPY; with
--before REF, every figure also for another version of sql/, side by side in the same run.

From one generator seed (the same symbols, days and trades) two streams of the same events:

  in-order  the indicator's bodies as it sends them, in event-time order
  messy     reordered within 5-minute windows of event time, 10 % of the bodies sent twice, half
            of the per-minute MFE_UPDATE_BATCH bodies sent as single MFE_UPDATE bodies
            (`sigsync sample --reorder-within 5 --duplicate 0.1 --single-mfe 0.5`)

Each run stores each stream through sigsync.ingest_many(text[]) in calls of 1000 bodies into a
fresh copy of an empty migrated database. Events/s counts the rows stored in
sigsync.automated_signals (a duplicate is work, not an event), and every run checks that the
distinct events sent are all stored, once. Beside each, the rows it stored (COPY ... TO) are
COPY'd into a plain table (LIKE sigsync.automated_signals): the physical limit.

With --before REF, REF's sql/ tree (`git archive REF sql`) migrates a second empty database and
every figure is measured on both, run by run (before, after, before, after, ...), with the ratio
after / before of each run (their median printed; the raw COPY's ratio shows the machine's own
drift). The cycle figures join them: a registry of --cycle-signals signals loaded through
ingest_many and reconciled with the before tree, copied and migrated forward to the after tree
(a database migrated by a newer tree cannot be migrated back); on each, an idle incremental
cycle, an incremental cycle after 100 signals changed (also with the ingest of those changes:
a tree may leave their projection to the cycle) and a full cycle. The same data is also loaded
with the after tree, once: each side's loading time, first full cycle after it, and their sum.
The first full cycle is also measured run by run on copies of the before side's registry as
loaded (the after side's copy migrated forward): the same queued rows on both sides.
"After" is this checkout's sql/, or --after REF's.

    python -m bench.messy [--signals 330] [--runs 3] [--before REF [--after REF] [--cycle-signals 1000]]

`python -m bench` runs it as its section 9 (`--before` there too).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click

from . import data
from .common import (CYCLE_STEPS, EMPTY, Bench, BenchError, bench_root, change_signals, fmt, ingest, load_registry,
                     raw_copy_rate, step_times, stored_rows, timed_cycle)

REPO = Path(__file__).resolve().parents[1]
MESSY = {"reorder_within_minutes": 5, "duplicate": 0.1, "single_mfe": 0.5}   # sample.apply_options
CALL = 1000
WORK = "bench_messy"
CYCLE_KINDS = (("idle", "idle incremental cycle"), ("inc", "incremental cycle, 100 changed"),
               ("inc_total", "ingest of the 100 changes + that incremental cycle"), ("full", "full cycle"))
# loading each side's own registry (ingest_many(1000), 2 connections), then its first full cycle
LOAD_KINDS = (("load", "loading through ingest_many(1000), 2 connections"),
              ("first_full", "first full cycle after loading"), ("load_first", "ingest + first full cycle"))
# the first full cycle again, run by run, on copies of the before side's registry as loaded (the
# after side's copy migrated to its tree): the one figure above, with a median and a ratio
FIRST_FULL_RUNS = ("first_full_runs", "first full cycle after loading, on copies of the before load")
# on the loaded registry, after the cycle figures: rebuild(), then a full cycle
REBUILD_KINDS = (("rebuild", "rebuild()"), ("rebuild_full", "rebuild() + the full cycle after it"))


@dataclass
class Stream:
    key: str
    name: str
    label: str
    payloads: list[str]
    events: int   # distinct events sent


@dataclass
class Side:
    name: str            # "before" | "after"
    version: str         # what it runs, for the labels
    template: str        # its empty migrated database
    tree: Path | None    # its sql/ tree (None: this checkout's)


def streams(bench: Bench, signals: int) -> list[Stream]:
    """The in-order and the messy stream of the same generated symbols (cached chunks)."""
    def payloads(faults: dict) -> list[str]:
        return [p for c in data.chunks(bench.data_dir, "M", signals, faults=faults) for p in data.lines(c)]

    clean, messy = payloads({}), payloads(MESSY)
    events = data.event_count(clean)
    if data.distinct_events(clean) != events or data.distinct_events(messy) != events:
        raise BenchError(f"the messy stream does not hold the in-order stream's {events:,} events")
    return [Stream("inorder", "in-order stream", "in-order stream", clean, events),
            Stream("messy", "messy stream", "messy stream (5-min reorder, 10 % duplicates, single + batched MFE)",
                   messy, events)]


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def resolve(ref: str) -> str:
    """REF's short commit (a BenchError when it names none)."""
    return _git("rev-parse", "--short", "--verify", f"{ref}^{{commit}}")


def export_tree(ref: str, into: Path) -> tuple[Path, str]:
    """REF's sql/ tree, written under `into`; returns it and REF's short commit."""
    commit = resolve(ref)
    target = into / commit
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "sql"], capture_output=True)
    if archive.returncode != 0:
        raise BenchError(f"git archive {ref} sql: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "sql", commit


def checkout_version() -> str:
    try:
        head = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--", "sql")
    except (BenchError, OSError):
        return "this checkout"
    return f"checkout {head}{' + uncommitted sql/' if dirty else ''}"


def sides(bench: Bench, before: str | None, after: str | None) -> list[Side]:
    """The versions to measure, before first; their empty templates migrated (EMPTY is this
    checkout's, made by the caller)."""
    out = []
    for name, ref in (("before", before), ("after", after)):
        if ref is None:
            if name == "after":
                out.append(Side(name, checkout_version(), EMPTY, None))
            continue
        tree, commit = export_tree(ref, bench.work_dir / "trees")
        template = f"bench_messy_{name}_empty"
        bench.empty_template(template, tree)
        out.append(Side(name, commit, template, tree))
    return out


def ingest_run(bench: Bench, side: Side, stream: Stream) -> dict:
    """One run: the stream into a fresh copy of the side's empty database, then the raw COPY."""
    bench.create(WORK, side.template)
    with bench.connect(WORK) as conn:
        t0 = time.perf_counter()
        _, statuses = ingest(conn, stream.payloads, CALL)
        elapsed = time.perf_counter() - t0
        stored = conn.execute("SELECT count(*) FROM sigsync.automated_signals").fetchone()[0]
        if "rejected" in statuses:
            raise BenchError(f"{side.name}, {stream.key}: some payloads were rejected")
        copy = raw_copy_rate(conn, stored_rows(conn), stored)
    return {"rate": stored / elapsed, "payloads": len(stream.payloads) / elapsed, "copy": copy,
            "wrong": abs(stream.events - stored)}


def add_figures(bench: Bench, by_side: dict[str, list[float]], sides_: list[Side], key: str, label: str, unit: str,
                target: str = "", meets=None, stat: str = "median") -> None:
    """The figure of each side (the after one keeps the plain key) and, with two, after / before."""
    two = len(sides_) == 2
    for side in sides_:
        values = by_side[side.name]
        bench.figures.add(key + ("_before" if side.name == "before" else ""),
                          f"{label} [{side.name}: {side.version}]" if two else label, unit, values,
                          target=target, met=None if meets is None else meets(values), stat=stat)
    if two:
        ratios = [a / b for a, b in zip(by_side["after"], by_side["before"])]
        bench.figures.add(key + "_ratio", f"{label}: after / before", "x", ratios, stat=stat)


def bench_messy(bench: Bench, signals: int, before: str | None = None, after: str | None = None,
                cycle_signals: int = 1000) -> list[Side]:
    click.echo(f"\n9. messy stream: ingest_many({CALL}) in-order and messy, next to raw COPY"
               + (", before vs after" if before else ""))
    stream_list = streams(bench, signals)
    for s in stream_list:
        click.echo(f"  {s.key}: {len(s.payloads):,} payloads = {s.events:,} distinct events")
    side_list = sides(bench, before, after)
    for side in side_list:
        click.echo(f"  {side.name}: {side.version}")
    results: dict[tuple[str, str], list[dict]] = {(side.name, s.key): [] for side in side_list for s in stream_list}
    for run in range(bench.runs):
        for s in stream_list:
            for side in side_list:   # before, after: run by run
                results[(side.name, s.key)].append(ingest_run(bench, side, s))
        click.echo(f"  run {run + 1}/{bench.runs}: " + "; ".join(
            f"{s.key} {side.name} {results[(side.name, s.key)][-1]['rate']:,.0f} events/s"
            for s in stream_list for side in side_list))
    bench.drop(WORK)
    for s in stream_list:
        target = 20000 if s.key == "inorder" else 10000
        add_figures(bench, {side.name: [r["rate"] for r in results[(side.name, s.key)]] for side in side_list},
                    side_list, f"messy_{s.key}", f"ingest_many({CALL}), {s.label}", "events/s",
                    target=f"≥ {target:,} events/s", meets=lambda v, t=target: statistics.median(v) >= t)
        add_figures(bench, {side.name: [r["copy"] for r in results[(side.name, s.key)]] for side in side_list},
                    side_list, f"messy_{s.key}_copy", f"raw COPY of the same rows ({s.name})", "events/s")
    for side in side_list:
        wrong = sum(r["wrong"] for s in stream_list for r in results[(side.name, s.key)])
        bench.figures.add("messy_lost" + ("_before" if side.name == "before" else ""),
                          "events lost or stored twice (distinct sent vs stored), all runs"
                          + (f" [{side.name}: {side.version}]" if len(side_list) == 2 else ""),
                          "", [wrong], stat="once", target="0", met=wrong == 0)
    if len(side_list) == 2:
        cycles(bench, side_list, cycle_signals)
    for side in side_list:
        if side.template != EMPTY:
            bench.drop(side.template)
    shutil.rmtree(bench.work_dir / "trees", ignore_errors=True)
    return side_list


def cycles(bench: Bench, side_list: list[Side], signals: int) -> None:
    """The cycle figures on one registry: loaded with the before tree, copied, the copy
    migrated forward to the after tree; measured on both, run by run. The same data is also
    loaded with the after tree, right after the before load: each side's loading and the first
    full cycle after it (a tree that leaves work of ingest to the next cycle pays for it
    there), once each; and the first full cycle again, run by run, on copies of the before
    load (first_full_runs)."""
    before, after = side_list
    click.echo(f"  cycles: a registry of {signals:,} signals loaded with {before.version}, "
               f"a copy migrated to {after.version}")
    dbs = {"before": "bench_messy_reg_before", "after": "bench_messy_reg_after"}
    loaded = "bench_messy_reg_loaded"
    info = load_registry(bench, dbs["before"], data.chunks(bench.data_dir, "S", signals), before.template,
                         loaded_copy=loaded)
    loads = {"before": info, "after": load_after(bench, after, signals, info)}   # right after: the same machine
    first_full = first_full_runs(bench, side_list, loaded, info["p_now"])
    bench.drop(loaded)
    bench.create(dbs["after"], dbs["before"])
    bench.migrate(dbs["after"], after.tree)
    times: dict[str, dict[str, list[float]]] = {kind: {"before": [], "after": []} for kind, _ in CYCLE_KINDS}
    conns = {name: bench.connect(db) for name, db in dbs.items()}
    steps: dict[str, dict[str, dict]] = {}
    rebuilt: dict[str, dict[str, float]] = {}
    try:
        for conn in conns.values():
            timed_cycle(conn, info["p_now"], False)   # nothing left over from loading
        for run in range(bench.runs):
            for side in side_list:
                conn = conns[side.name]
                times["idle"][side.name].append(timed_cycle(conn, info["p_now"], False)[0])
                t0 = time.perf_counter()
                changed = change_signals(conn, run)
                ingest_ms = (time.perf_counter() - t0) * 1000
                ms, summary = timed_cycle(conn, info["p_now"], False)
                if summary["signals_processed"] < changed:
                    raise BenchError(f"{side.name}: the cycle after {changed} changes processed {summary}")
                times["inc"][side.name].append(ms)
                times["inc_total"][side.name].append(ingest_ms + ms)
                times["full"][side.name].append(timed_cycle(conn, info["p_now"], True)[0])
            click.echo(f"  run {run + 1}/{bench.runs}: incremental before {times['inc']['before'][-1]:,.1f} ms, "
                       f"after {times['inc']['after'][-1]:,.1f} ms")
        for side in side_list:   # each step's time in a full cycle; then rebuild() and a full cycle, once
            conn = conns[side.name]
            steps[side.name] = step_times(conn, info["p_now"])
            t0 = time.perf_counter()
            conn.execute("SELECT sigsync.rebuild()")
            rebuild_ms = (time.perf_counter() - t0) * 1000
            rebuilt[side.name] = {"rebuild": rebuild_ms,
                                  "rebuild_full": rebuild_ms + timed_cycle(conn, info["p_now"], True)[0]}
    finally:
        for conn in conns.values():
            conn.close()
    for db in dbs.values():
        bench.drop(db)
    n = f"{info['signals']:,} signals / {info['events']:,} events"
    for kind, what in CYCLE_KINDS:
        add_figures(bench, times[kind], side_list, f"messy_cycle_{kind}", f"{what}, {n}", "ms")
    load_ms = {name: {"load": i["load_s"] * 1000, "first_full": i["first_full_ms"],
                      "load_first": i["load_s"] * 1000 + i["first_full_ms"]} for name, i in loads.items()}
    for kind, what in LOAD_KINDS:
        add_figures(bench, {name: [ms[kind]] for name, ms in load_ms.items()}, side_list, f"messy_cycle_{kind}",
                    f"{what}, {n}", "ms", stat="once")
    add_figures(bench, first_full, side_list, f"messy_cycle_{FIRST_FULL_RUNS[0]}", f"{FIRST_FULL_RUNS[1]}, {n}", "ms")
    for kind, what in REBUILD_KINDS:
        add_figures(bench, {name: [ms[kind]] for name, ms in rebuilt.items()}, side_list, f"messy_cycle_{kind}",
                    f"{what}, {n}", "ms", stat="once")
    # each step's time in one full cycle (its callees included), and its share of the cycle
    for step in CYCLE_STEPS:
        if all(step in steps[side.name] for side in side_list):
            add_figures(bench, {side.name: [steps[side.name][step]["ms"]] for side in side_list}, side_list,
                        f"messy_step_{step}", f"in a full cycle: {step}, {n}", "ms", stat="once")
            for side in side_list:
                bench.figures.add(f"messy_share_{step}" + ("_before" if side.name == "before" else ""),
                                  f"share of the full cycle: {step} ({steps[side.name][step]['calls']} calls) "
                                  f"[{side.name}: {side.version}]", "%",
                                  [100 * steps[side.name][step]["ms"] / steps[side.name]["reconcile"]["ms"]],
                                  stat="once")


def first_full_runs(bench: Bench, side_list: list[Side], loaded: str, p_now: str) -> dict[str, list[float]]:
    """The first full cycle after loading, run by run (before, after, before, ...): each on a fresh
    copy of the registry as the before tree loaded it, the after side's copy migrated forward
    (untimed). Both start from the same rows, queues included."""
    db = "bench_messy_reg_first"
    times: dict[str, list[float]] = {side.name: [] for side in side_list}
    for run in range(bench.runs):
        for side in side_list:
            bench.create(db, loaded)
            if side.name == "after":
                bench.migrate(db, side.tree)
            with bench.connect(db) as conn:
                times[side.name].append(timed_cycle(conn, p_now, True)[0])
        click.echo(f"  first full cycle, run {run + 1}/{bench.runs}: before {times['before'][-1]:,.0f} ms, "
                   f"after {times['after'][-1]:,.0f} ms")
    bench.drop(db)
    return times


def load_after(bench: Bench, after: Side, signals: int, before_info: dict) -> dict:
    """The registry's data loaded with the after tree (load_registry: timed, then its first full
    cycle, timed); it must hold what the before load holds, and no queued projection left."""
    db = "bench_messy_reg_after_load"
    info = load_registry(bench, db, data.chunks(bench.data_dir, "S", signals), after.template)
    with bench.connect(db) as conn:
        queues = conn.execute("SELECT FROM information_schema.columns WHERE table_schema = 'sigsync' "
                              "AND table_name = 'signals' AND column_name = 'queued_events'").fetchone()
        queued = conn.execute("SELECT count(*) FROM sigsync.signals WHERE queued_events IS NOT NULL"
                              ).fetchone()[0] if queues else 0
    bench.drop(db)
    if (info["signals"], info["events"], queued) != (before_info["signals"], before_info["events"], 0):
        raise BenchError(f"loading with {after.version}: {info['signals']:,} signals, {info['events']:,} events, "
                         f"{queued} signals still queued after the first full cycle (before: "
                         f"{before_info['signals']:,} signals, {before_info['events']:,} events)")
    return info


def side_by_side(rows: list[dict], prefix: str = "messy_") -> str:
    """The section's figures (keys starting with prefix) as one table: before | after | after / before."""
    by_key = {r["key"]: r for r in rows}
    out = ["| figure | before | after | after / before |", "|---|---:|---:|---:|"]
    for key, r in by_key.items():
        if not key.startswith(prefix) or key.endswith(("_before", "_ratio")):
            continue
        b, ratio = by_key.get(key + "_before"), by_key.get(key + "_ratio")
        label = r["label"].split(" [after:")[0]
        out.append(f"| {label} | {fmt(b['value'], b['unit']) if b else ''} | {fmt(r['value'], r['unit'])} | "
                   f"{fmt(ratio['value'], 'x') if ratio else ''} |")
    return "\n".join(out)


def report(bench: Bench, side_list: list, started: float, json_path: Path | None, module: str, prefix: str,
           extra: dict) -> None:
    """The end of a section run on its own (python -m <module>): its time, the side-by-side table
    (with --before), every figure, and the JSON file (the command, the sides, `extra`, the figures)."""
    elapsed = time.perf_counter() - started
    click.echo(f"\ndone in {elapsed:,.0f} s\n")
    if len(side_list) == 2:
        click.echo(" vs ".join(f"{s.name}: {s.version}" for s in side_list) + "\n")
        click.echo(side_by_side(bench.figures.rows, prefix=prefix) + "\n")
    click.echo(bench.figures.markdown())
    if json_path:
        json_path.write_text(json.dumps({"command": f"python -m {module} " + " ".join(sys.argv[1:]),
                                         "sides": [{"name": s.name, "version": s.version} for s in side_list],
                                         **extra, "elapsed_s": round(elapsed, 1),
                                         "figures": bench.figures.rows}, indent=1, default=str) + "\n")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--signals", type=click.IntRange(min=20), default=330, show_default=True,
              help="Signals' worth of generated events in each stream (~190 events a signal).")
@click.option("--runs", type=click.IntRange(min=1), default=3, show_default=True,
              help="Runs of each figure (on each version, alternating); each figure is their median.")
@click.option("--before", metavar="REF",
              help="A git ref: its sql/ tree is measured side by side with the after one (and the cycles too).")
@click.option("--after", metavar="REF", help="A git ref for the after side (default: this checkout's sql/).")
@click.option("--cycle-signals", type=click.IntRange(min=20), default=1000, show_default=True,
              help="With --before: signals in the registry of the cycle figures.")
@click.option("--quick", is_flag=True, help="A small smoke run (1 day's stream, a 60-signal registry, 3 runs).")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the cluster and the generated streams here (default: a temporary directory, removed).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every figure as JSON here.")
def main(signals, runs, before, after, cycle_signals, quick, work_dir, json_path):
    """ingest_many(1000) of an in-order and a messy stream next to raw COPY; with --before,
    side by side with another version of sql/ (and the cycle figures)."""
    if after and not before:
        raise click.UsageError("--after needs --before")
    if quick:
        signals, cycle_signals, runs = 33, 60, 3
    try:
        for ref in (before, after):
            if ref:
                resolve(ref)
    except BenchError as exc:
        raise click.BadParameter(str(exc)) from None
    with bench_root(work_dir, "sigsync-bench-messy-") as root:
        bench = Bench(root, runs)
        started = time.perf_counter()
        try:
            with bench.cluster.running():
                bench.empty_template()
                side_list = bench_messy(bench, signals, before, after, cycle_signals)
        except BenchError as exc:
            raise click.ClickException(str(exc)) from None
    report(bench, side_list, started, json_path, "bench.messy", "messy_", {"runs": runs})
    lost = [r["label"] for r in bench.figures.rows if r["key"] == "messy_lost" and not r["met"]]
    if lost:
        raise click.ClickException("events lost: " + "; ".join(lost))


if __name__ == "__main__":
    main()
