"""`sigsync schedule` / `sigsync unschedule`: the pg_cron alternative to `sigsync run`.

One named pg_cron job, `sigsync-reconcile`, runs the cycle inside PostgreSQL: no extra
process, minute granularity. Its command marks the cycle's trigger so sync_runs records
'pg_cron'. cron.schedule() upserts by name, so scheduling again changes the job rather
than adding one.
"""

from __future__ import annotations

import click
import psycopg

from sigsync.app import App, pass_app
from sigsync.errors import SigsyncError

JOB_NAME = "sigsync-reconcile"
JOB_COMMAND = "SELECT set_config('sigsync.trigger', 'pg_cron', true); SELECT sigsync.reconcile();"
DEFAULT_CRON = "*/2 * * * *"

# pg_cron.so installed? preloaded? which database does its scheduler serve? is sigsync migrated?
SETUP_SQL = """
SELECT current_database(),
       EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_cron'),
       'pg_cron' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')),
       current_setting('cron.database_name', true),
       to_regprocedure('sigsync.reconcile(timestamptz, boolean)') IS NOT NULL
"""


def _how_to_enable(db: str) -> str:
    return (f"to enable it, set shared_preload_libraries = 'pg_cron' and cron.database_name = '{db}' in "
            "postgresql.conf and restart PostgreSQL (the embedded cluster already does this for its "
            "database `sigsync`), or use `sigsync run` instead")  # fmt: skip


def check_pg_cron(conn: psycopg.Connection) -> str:
    """Refuse (SigsyncError) unless pg_cron can run jobs in this database; returns its name."""
    db, available, preloaded, cron_db, migrated = conn.execute(SETUP_SQL).fetchone()
    if not available:
        raise SigsyncError(f"pg_cron is not installed on this server (Debian: apt-get install "
                           f"postgresql-15-cron); {_how_to_enable(db)}")  # fmt: skip
    if not preloaded or cron_db is None:
        raise SigsyncError(f"pg_cron is not loaded by this server; {_how_to_enable(db)}")
    if cron_db != db:
        raise SigsyncError(f"pg_cron runs jobs in database {cron_db!r} (cron.database_name), not in {db!r}; "
                           f"{_how_to_enable(db)}")  # fmt: skip
    if not migrated:
        raise SigsyncError("sigsync.reconcile() is missing: run `sigsync migrate` first")
    return db


def current_job(conn: psycopg.Connection) -> tuple | None:
    """(jobid, schedule, command) of this user's job, or None (also when pg_cron is not set up here)."""
    if conn.execute("SELECT to_regclass('cron.job')").fetchone()[0] is None:
        return None
    return conn.execute(
        "SELECT jobid, schedule, command FROM cron.job WHERE jobname = %s AND username = current_user",
        (JOB_NAME,),
    ).fetchone()


@click.command("schedule")
@click.option("--cron", "expr", default=DEFAULT_CRON, show_default=True, metavar="EXPR",
              help="When to run, in cron syntax (pg_cron 1.4: minute granularity).")
@pass_app
def schedule_cmd(app: App, expr: str):
    """Schedule the reconcile cycle inside PostgreSQL with pg_cron (job `sigsync-reconcile`).

    Creates the pg_cron extension when missing. Idempotent: running it again keeps one job,
    with the given schedule. Refuses when pg_cron cannot run jobs in this database (not
    installed, not in shared_preload_libraries, or cron.database_name is another database).
    """
    with app.connect() as conn:
        check_pg_cron(conn)
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
        except psycopg.errors.InsufficientPrivilege:
            raise SigsyncError("creating the extension pg_cron needs a superuser: "
                               "run `CREATE EXTENSION pg_cron;` as one, then this again") from None  # fmt: skip
        before = current_job(conn)
        if before is not None and before[1:] == (expr, JOB_COMMAND):
            click.echo(f"unchanged: {JOB_NAME} (job {before[0]}) runs at '{expr}'")
            return
        try:
            (jobid,) = conn.execute("SELECT cron.schedule(%s, %s, %s)", (JOB_NAME, expr, JOB_COMMAND)).fetchone()
        except psycopg.errors.InvalidParameterValue as exc:
            raise SigsyncError(f"{str(exc).strip().splitlines()[0]} (cron syntax, e.g. '{DEFAULT_CRON}')") from None
    if before is None:
        click.echo(f"scheduled: {JOB_NAME} (job {jobid}) runs at '{expr}'")
    else:
        click.echo(f"updated: {JOB_NAME} (job {jobid}) runs at '{expr}' (was '{before[1]}')")


@click.command("unschedule")
@pass_app
def unschedule_cmd(app: App):
    """Remove the pg_cron job `sigsync-reconcile` (says so when there is none; exit status 0)."""
    with app.connect() as conn:
        job = current_job(conn)
        if job is None:
            click.echo(f"no job {JOB_NAME}: nothing to unschedule")
            return
        conn.execute("SELECT cron.unschedule(%s)", (JOB_NAME,))
    click.echo(f"unscheduled: {JOB_NAME} (job {job[0]})")


COMMANDS = [schedule_cmd, unschedule_cmd]
