"""Helpers shared by the test modules."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

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
