"""The `sigsync` command line: a click group whose commands live in their own modules.

To add a command (reconcile, report, run, schedule, ...): write a module that defines
click commands using `pass_app` and lists them in `COMMANDS`, then add the module to
COMMAND_MODULES below.
"""

from __future__ import annotations

from pathlib import Path

import click
import psycopg

from sigsync import __version__, cluster, demo, ingest, loop, migrate, reconcile, sample, schedule, serve, tokens
from sigsync.app import App
from sigsync.errors import Interrupted, SigsyncError

COMMAND_MODULES = [cluster, migrate, ingest, reconcile, demo, loop, schedule, sample, serve, tokens]


class SigsyncGroup(click.Group):
    """Turns expected failures into one-line messages instead of tracebacks."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Interrupted as exc:
            click.echo(f"sigsync: stopped by {exc.name}", err=True)
            ctx.exit(128 + exc.signum)
        except SigsyncError as exc:
            raise click.ClickException(str(exc)) from None
        except psycopg.Error as exc:
            text = str(exc).strip() or type(exc).__name__
            raise click.ClickException(f"database error: {text.splitlines()[0]}") from None


@click.group(cls=SigsyncGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dsn", envvar="DATABASE_URL", metavar="URL",
              help="PostgreSQL connection string [env DATABASE_URL]. Without it, the embedded cluster is used.")
@click.option("--data-dir", envvar="SIGSYNC_DATA_DIR", type=click.Path(file_okay=False, path_type=Path),
              help="Data directory of the embedded cluster [env SIGSYNC_DATA_DIR; default "
                   "~/.local/share/sigsync, /var/lib/sigsync as root].")
@click.option("--sql-dir", envvar="SIGSYNC_SQL_DIR", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="SQL tree to migrate from [env SIGSYNC_SQL_DIR; default: the one installed with sigsync].")
@click.version_option(__version__, "--version", prog_name="sigsync")
@click.pass_context
def cli(ctx: click.Context, dsn: str | None, data_dir: Path | None, sql_dir: Path | None):
    """sigsync: a complete, audited trading-signal event log inside PostgreSQL.

    The logic is SQL in schema `sigsync`; this runner migrates it, ingests events, runs
    reconcile cycles (once, on a loop, or scheduled with pg_cron), reports, and runs an
    embedded PostgreSQL when no --dsn / DATABASE_URL is given.
    """
    ctx.obj = App(dsn=dsn or None, data_dir=data_dir, sql_dir_override=sql_dir)


for _module in COMMAND_MODULES:
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main() -> None:
    cli(prog_name="sigsync")
