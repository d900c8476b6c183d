"""`sigsync reconcile` (one cycle) and `sigsync report` (gap breakdown and health).

Both are a SELECT or two: the cycle is sigsync.reconcile(), the report reads the views
sigsync.gap_summary and sigsync.system_health.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from sigsync import spool
from sigsync.app import App, pass_app
from sigsync.output import format_table
from sigsync.errors import SigsyncError

BAR_WIDTH = 40


def run_cycle(conn, now: datetime | None = None, full: bool = False, trigger: str = "cli") -> dict:
    """One reconcile cycle in its own transaction; returns its summary."""
    with conn.transaction():
        conn.execute("SELECT set_config('sigsync.trigger', %s, true)", (trigger,))
        if now is None:
            (summary,) = conn.execute("SELECT sigsync.reconcile(p_full => %s)", (full,)).fetchone()
        else:
            (summary,) = conn.execute("SELECT sigsync.reconcile(%s, %s)", (now, full)).fetchone()
    return summary


def describe_cycle(summary: dict) -> str:
    """One line per cycle: status, signals, fills by tier, gaps, mean health of the signals
    it processed, cancellations, anomalies, duration."""
    if summary.get("status") != "ok":
        return f"cycle {summary.get('run_id')}: {summary.get('status')}: {summary.get('error') or summary.get('reason')}"
    fills = summary.get("fills_by_tier") or {}
    fill_text = ", ".join(f"tier {t}: {n}" for t, n in sorted(fills.items())) or "none"
    before = sum((summary.get("gaps_before") or {}).values())
    after = sum((summary.get("gaps_after") or {}).values())
    failed = summary.get("failed") or []
    failed_text = "".join(f", FAILED {f['symbol']} {f['trade_id']}: {f['error']}" for f in failed[:3])
    if len(failed) > 3:
        failed_text += f" (and {len(failed) - 3} more set aside)"
    if summary.get("signals_deferred"):
        failed_text += f", {summary['signals_deferred']} left for the next cycle"
    if summary.get("mfe_updates_left"):
        failed_text += f", {summary['mfe_updates_left']} queued MFE updates left for the next cycle"
    return (f"cycle {summary['run_id']}: ok, {summary['signals_processed']} signals, fills {fill_text}, "
            f"gaps {before} -> {after}, health {summary.get('mean_health')}, "
            f"cancellations +{summary['cancellations_inferred']}"
            f"/-{summary['cancellations_reverted']}, anomalies {summary['anomalies']}, "
            f"{summary['duration_ms']} ms{failed_text}")


@click.command("reconcile")
@click.option("--now", "now", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z",
                                                              "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
              help="Evaluate the cycle at this time instead of now() (p_now).")
@click.option("--full", is_flag=True, help="Re-check every signal, not only the changed and active ones.")
@click.option("--json", "as_json", is_flag=True, help="Print the cycle summary as JSON.")
@pass_app
def reconcile_cmd(app: App, now: datetime | None, full: bool, as_json: bool):
    """Run one reconcile cycle (SELECT sigsync.reconcile()) and print its summary.

    Exit status 1 when the cycle failed (the failure is recorded in sigsync.sync_runs).
    """
    with app.connect() as conn:
        summary = run_cycle(conn, now, full)
    click.echo(json.dumps(summary, indent=2, sort_keys=True) if as_json else describe_cycle(summary))
    if summary.get("status") == "error":
        raise SigsyncError(f"the reconcile cycle failed: {summary.get('error')}")


CYCLE_COLUMNS = ["id", "trigger", "started_at", "status", "signals_processed", "duration_ms"]


# what the backend holding the reconcile lock is doing (visible in full to its own user and to
# members of pg_read_all_stats; others see only the pid, which system_health already gives)
LOCK_HOLDER_SQL = """
SELECT pid, usename, application_name, state, now() - state_change AS for, left(query, 80) AS query
  FROM pg_stat_activity WHERE pid = %s
"""


def gap_report(conn, cycles: int = 5) -> dict:
    gaps = conn.execute("SELECT gap_type, open_count FROM sigsync.gap_summary").fetchall()
    cur = conn.execute("SELECT * FROM sigsync.system_health")
    health = dict(zip([d.name for d in cur.description], cur.fetchone()))
    last = conn.execute(f"SELECT {', '.join(CYCLE_COLUMNS)} FROM sigsync.sync_runs ORDER BY id DESC LIMIT %s",
                        (cycles,)).fetchall()
    holder = None
    if health.get("cycle_lock_holder"):
        cur = conn.execute(LOCK_HOLDER_SQL, (health["cycle_lock_holder"],))
        row = cur.fetchone()
        holder = dict(zip([d.name for d in cur.description], row)) if row else None
    return {"gaps": {g: n for g, n in gaps}, "health": health, "lock_holder": holder,
            "last_cycles": [dict(zip(CYCLE_COLUMNS, row)) for row in last]}


def format_report(report: dict) -> str:
    gaps, health = report["gaps"], report["health"]
    total = sum(gaps.values())
    widest = max(gaps.values(), default=0) or 1
    rows = [(g, n, "█" * round(BAR_WIDTH * n / widest)) for g, n in gaps.items()]
    mean = health.get("mean_health")
    lines = [
        "GAP DETECTION REPORT",
        f"Total gaps: {total}",
        f"Health score: {'n/a' if mean is None else f'{mean}/100'}   alert level: {health.get('alert_level')}",
        f"Signals: {health.get('signals')} ({health.get('active_signals')} active), "
        f"complete: {health.get('pct_complete')}%",
        f"Indicator: {'online' if health.get('indicator_online') else 'offline'}"
        f" (last heartbeat {health.get('last_heartbeat_at') or 'never'})",
        f"Last cycle: {health.get('last_cycle_at') or 'never'}"
        f" ({health.get('last_cycle_status') or '-'}, {health.get('last_cycle_duration_ms') or '-'} ms)",
    ]
    lines += [f"  why {health.get('alert_level')}: {reason}" for reason in health.get("alert_reasons") or []]
    if holder := report.get("lock_holder"):
        lines.append(f"  the reconcile lock is held by pid {holder['pid']} ({holder['usename']}, "
                     f"{holder['application_name'] or 'no application name'}): {holder['state']} for {holder['for']}; "
                     f"last query: {holder['query']}")
    lines += [
        "",
        "Gaps by type:",
        format_table(["gap_type", "open", ""], rows),
    ]
    if (waiting := report.get("spool")) is not None:
        lines += ["", _spool_line(waiting)]
    if report.get("last_cycles"):
        lines += ["", "Last cycles:",
                  format_table(CYCLE_COLUMNS, [[c[k] for k in CYCLE_COLUMNS] for c in report["last_cycles"]])]
    return "\n".join(lines)


def _spool_line(waiting: dict) -> str:
    """The spool of sigsync serve: bodies received while the database was away, not yet stored."""
    if not waiting["records"]:
        text = f"Spool (sigsync serve): empty ({waiting['dir']})"
    else:
        text = (f"Spool (sigsync serve): {waiting['records']} bodies wait ({waiting['bytes']} bytes, the oldest "
                f"received {waiting['oldest_received_at']}) in {waiting['dir']}")
    if waiting["torn_files"]:
        text += f"; {waiting['torn_files']} torn records set aside in torn/ (never replayed)"
    return text


@click.command("report")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--spool-dir", envvar="SIGSYNC_SPOOL_DIR", type=click.Path(file_okay=False, path_type=Path),
              help="The spool of sigsync serve to count [env SIGSYNC_SPOOL_DIR; default: the data directory's spool/].")
@pass_app
def report_cmd(app: App, as_json: bool, spool_dir: Path | None):
    """Print the gap breakdown, system health, indicator link and the last cycles
    (sigsync.gap_summary, sigsync.system_health, sigsync.sync_runs), and the bodies waiting
    in the spool of sigsync serve on this machine."""
    with app.connect() as conn:
        report = gap_report(conn)
    report["spool"] = spool.inspect(spool.spool_dir_for(app.data_dir, spool_dir))
    click.echo(json.dumps(report, indent=2, default=str) if as_json else format_report(report))


COMMANDS = [reconcile_cmd, report_cmd]
