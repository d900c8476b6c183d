"""The benchmark runs end to end at a small scale (`python -m bench --quick`) and reports
every figure. A smoke run: it checks completeness and correctness (no lost event, no
deadlock, no error), never timing; the figures themselves are for docs/benchmarks.md."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from urllib.parse import unquote, urlsplit

import psycopg

from support import REPO, cli_env, make_tmp_dir

sys.path.insert(0, str(REPO))   # the bench package, beside runner/
from bench.common import CYCLE_STEPS  # noqa: E402

EXPECTED = (
    ["ingest_1", "ingest_100", "ingest_1000", "copy", "copy_ratio", "ingest_big_log"]
    + [f"{kind}_{size}" for size in (100, 300) for kind in ("cycle_idle", "cycle_inc", "cycle_full", "first_full")]
    + ["cycle_inc_flatness", "explain_seq_scans", "latency_median", "latency_p99", "concurrency_rate",
       "concurrency_cycles", "concurrency_lost", "concurrency_deadlocks", "concurrency_errors",
       "log_recent_100", "log_recent_300"]
    + ["serve_rps", "serve_p50", "serve_p99", "serve_max", "serve_batch_mean", "serve_batch_p99", "serve_lost",
       "serve_ceiling", "serve_of_ceiling", "serve_single_rps", "serve_single_p99", "serve_single_lost",
       "serve_speedup", "serve_reconciled_p99"]
    + ["cost_batch_small", "cost_batch_large", "cost_batch_ratio", "cost_rejected_small", "cost_rejected_large",
       "cost_rejected_ratio", "cost_late_small", "cost_late_large", "cost_late_ratio", "cost_internal_plain", "cost_internal_poison", "cost_internal_ratio"]
    # bench/dashboard.py: every page and API route at the smallest and largest size, median and p99
    + [f"dash_{route}_{size}{stat}" for size in (100, 300) for stat in ("", "_p99") for route in (
        "overview", "signals", "signals_filtered", "signals_sorted", "signals_page2", "signal", "cancelled", "gaps",
        "runs", "rejected", "api_signals", "api_signal", "api_cancelled", "api_gaps", "api_health", "api_runs",
        "api_rejected")]
    + [f"dash_browser_{what}_{size}" for size in (100, 300) for what in ("requests", "bytes")]
    # bench/messy.py: in-order and messy stream, each next to its raw COPY
    + ["messy_inorder", "messy_inorder_copy", "messy_messy", "messy_messy_copy", "messy_lost"]
)


def test_bench_quick_reports_every_figure():
    out = make_tmp_dir("sigsync-bench-smoke-")
    result = subprocess.run([sys.executable, "-m", "bench", "--quick", "--json", str(out / "r.json"),
                             "--explain", str(out / "explain.txt")],
                            cwd=REPO, env=cli_env(PYTHONPATH=f"{REPO}:{REPO / 'runner'}"),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "r.json").read_text())
    figures = {f["key"]: f for f in report["figures"]}
    assert sorted(figures) == sorted(EXPECTED)
    for key, f in figures.items():
        assert isinstance(f["value"], (int, float)) and math.isfinite(f["value"]), key
        if f["stat"] == "median" and not key.startswith("latency"):
            assert f["runs"] == 3, key  # --quick: the median of 3 runs
        assert f["label"] in result.stdout, key  # printed, not only written
    assert figures["latency_median"]["runs"] == 20
    # correctness under concurrency is a hard requirement even at smoke scale
    assert figures["concurrency_lost"]["value"] == 0
    assert figures["concurrency_deadlocks"]["value"] == 0
    assert figures["concurrency_errors"]["value"] == 0
    assert figures["serve_lost"]["value"] == 0 and figures["serve_single_lost"]["value"] == 0
    assert figures["messy_lost"]["value"] == 0
    assert report["machine"]["cores"] >= 1 and report["machine"]["postgresql"].startswith("15")
    assert report["command"].startswith("python -m bench --quick")
    explain = (out / "explain.txt").read_text()
    assert "Buffers:" in explain and "Index Scan" in explain  # EXPLAIN (ANALYZE, BUFFERS) evidence written
    # the registries were loaded through ingest_many and hold what was generated
    assert [r["size"] for r in report["registries"]] == [100, 300]
    assert all(r["signals"] >= 50 and r["events"] > r["signals"] for r in report["registries"])


def test_ingest_calls_compares_two_templates_side_by_side(cluster, template_db):
    """bench/ingest_calls.py: every call size measured on both templates, on copies it drops."""
    template = unquote(urlsplit(template_db).path.lstrip("/"))
    result = subprocess.run([sys.executable, "-m", "bench.ingest_calls", "--admin", cluster.url("postgres"),
                             "--before", template, "--after", template, "--runs", "1"],
                            cwd=REPO, env=cli_env(PYTHONPATH=f"{REPO}:{REPO / 'runner'}"),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and line.endswith("x |")]
    assert [row.split("|")[1].strip() for row in rows] == ["1", "40", "1000"]
    for row in rows:
        ratio = float(row.split("|")[4].strip().rstrip("x"))
        assert math.isfinite(ratio) and ratio > 0
    with psycopg.connect(cluster.url("postgres")) as conn:
        left = conn.execute("SELECT count(*) FROM pg_database WHERE datname = 'bench_ingest_calls'").fetchone()[0]
    assert left == 0   # its copies are dropped


MESSY_SIDE_BY_SIDE = ["messy_inorder", "messy_inorder_copy", "messy_messy", "messy_messy_copy"] + [
    f"messy_cycle_{kind}" for kind in ("idle", "inc", "inc_total", "full", "load", "first_full", "load_first",
                                       "first_full_runs", "rebuild", "rebuild_full")] + [f"messy_step_{step}" for step in CYCLE_STEPS]
# each step's share of the full cycle: per side, no ratio
MESSY_SHARES = [f"messy_share_{step}{side}" for step in CYCLE_STEPS for side in ("", "_before")]


def _section_before_head(section: str):
    """`python -m bench.<section> --quick --before HEAD --json ...`: its output and its JSON report."""
    out = make_tmp_dir(f"sigsync-bench-{section}-")
    result = subprocess.run([sys.executable, "-m", f"bench.{section}", "--quick", "--before", "HEAD",
                             "--json", str(out / "r.json")],
                            cwd=REPO, env=cli_env(PYTHONPATH=f"{REPO}:{REPO / 'runner'}"),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result, json.loads((out / "r.json").read_text())


def test_messy_before_after_reports_every_figure_on_both_and_loses_nothing():
    """bench/messy.py --before: every figure measured on REF's sql/ and on this checkout's, with
    the ratio; no event lost on either side. Never a timing."""
    result, report = _section_before_head("messy")
    figures = {f["key"]: f for f in report["figures"]}
    expected = [key + suffix for key in MESSY_SIDE_BY_SIDE for suffix in ("", "_before", "_ratio")]
    assert sorted(figures) == sorted(expected + MESSY_SHARES + ["messy_lost", "messy_lost_before"])
    assert all(math.isclose(figures[f"messy_share_reconcile{side}"]["value"], 100) for side in ("", "_before"))
    assert all(0 <= figures[key]["value"] <= 100 + 1e-9 for key in MESSY_SHARES), "a step takes part of the cycle"
    for key, f in figures.items():
        assert isinstance(f["value"], (int, float)) and math.isfinite(f["value"]), key
        assert f["label"] in result.stdout, key
        if f["stat"] == "median":
            assert f["runs"] == 3, key
    for key in ("messy_cycle_load", "messy_cycle_first_full", "messy_cycle_load_first"):   # each side loaded once
        assert figures[key]["stat"] == figures[key + "_before"]["stat"] == "once", key
        assert figures[key + "_before"]["value"] > 0 and figures[key]["value"] > 0, key
    assert figures["messy_cycle_load_first"]["value"] >= figures["messy_cycle_first_full"]["value"]
    # the first full cycle again, on copies of one load: a median of the runs on each side
    assert figures["messy_cycle_first_full_runs"]["runs"] == figures["messy_cycle_first_full_runs_before"]["runs"] == 3
    assert figures["messy_lost"]["value"] == 0 and figures["messy_lost_before"]["value"] == 0
    assert [s["name"] for s in report["sides"]] == ["before", "after"]
    assert "| figure | before | after | after / before |" in result.stdout
    bad = subprocess.run([sys.executable, "-m", "bench.messy", "--quick", "--before", "no-such-ref-xyz"],
                         cwd=REPO, env=cli_env(PYTHONPATH=f"{REPO}:{REPO / 'runner'}"),
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "no-such-ref-xyz" in bad.stderr


def test_serve_before_after_reports_every_figure_on_both_and_loses_nothing():
    """bench/serve.py --before: section 6 on REF's sql/ and on this checkout's, one after the
    other, with the ratio; nothing lost on either side. Never a timing."""
    result, report = _section_before_head("serve")
    figures = {f["key"]: f for f in report["figures"]}
    serve = [key for key in EXPECTED if key.startswith("serve_")]
    assert set(serve) <= set(figures) and {key + "_before" for key in serve} <= set(figures)
    assert {"serve_rps_ratio", "serve_p99_ratio", "serve_speedup_ratio"} <= set(figures)
    for key in ("serve_lost", "serve_lost_before", "serve_single_lost", "serve_single_lost_before"):
        assert figures[key]["value"] == 0, key
    assert [s["name"] for s in report["sides"]] == ["before", "after"]
    assert "| figure | before | after | after / before |" in result.stdout
