"""What every command shares: where the database is and where the SQL is."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import click
import psycopg

from sigsync import paths
from sigsync.cluster import Cluster
from sigsync.errors import SigsyncError


@dataclass
class App:
    dsn: str | None = None
    data_dir: Path | None = None
    sql_dir_override: Path | None = None

    def sql_dir(self) -> Path:
        return paths.sql_dir(self.sql_dir_override)

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A DSN for the duration of one command.

        --dsn / DATABASE_URL when given; else the embedded cluster, started for this
        command (and stopped afterwards, also on SIGTERM/SIGINT) unless already running.
        """
        if self.dsn:
            yield self.dsn
            return
        cluster = Cluster(self.data_dir)
        with cluster.running():
            yield cluster.url()

    @contextlib.contextmanager
    def connect(self, autocommit: bool = True) -> Iterator[psycopg.Connection]:
        with self.database() as dsn:
            try:
                conn = psycopg.connect(dsn, autocommit=autocommit)
            except psycopg.OperationalError as exc:
                raise SigsyncError(f"cannot connect to the database: {_first_line(exc)}") from None
            with conn:
                yield conn


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


pass_app = click.make_pass_decorator(App)
