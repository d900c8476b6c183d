"""Helpers shared by the test modules."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from sigsync.cluster import Cluster

REPO = Path(__file__).resolve().parents[1]


def make_tmp_dir(prefix: str) -> Path:
    """A directory the `postgres` OS user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for a `python -m sigsync` child: this checkout's runner, no ambient DSN."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SIGSYNC_DATA_DIR", "SIGSYNC_SQL_DIR")}
    env["PYTHONPATH"] = str(REPO / "runner")
    env.update(extra)
    return env


def sigsync_cmd(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "sigsync", *map(str, args)]


def sigsync(*args: str | Path, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(sigsync_cmd(*args), input=input, capture_output=True, text=True, timeout=timeout,
                          env=cli_env(), cwd="/tmp")  # fmt: skip


@contextlib.contextmanager
def migrated_private_cluster(prefix: str) -> Iterator[Cluster]:
    """A migrated embedded cluster of the caller's own (its database `sigsync` is pg_cron's),
    which it may stop and start; stopped and removed afterwards, with no process left."""
    import psycopg

    from sigsync.cluster import Cluster
    from sigsync.migrate import Migrator, SqlTree
    from sigsync.paths import sql_dir

    root = make_tmp_dir(prefix)
    cluster = Cluster(root)
    try:
        cluster.start()
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            Migrator(conn, SqlTree(sql_dir()), echo=lambda _line: None).migrate()
        yield cluster
    finally:
        cluster.stop()
        leftovers = cluster.processes()
        shutil.rmtree(root, ignore_errors=True)
        assert leftovers == [], f"postgres processes left running for {root}: {leftovers}"
