"""The test harness itself must not leave PostgreSQL servers behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from textwrap import dedent

from sigsync.cluster import Cluster
from support import REPO


def test_sigterm_to_a_test_run_stops_its_cluster(tmp_path):
    report = tmp_path / "root.txt"
    (tmp_path / "test_wait.py").write_text(dedent("""
        import os, time
        from pathlib import Path

        def test_wait(cluster):
            partial = Path(os.environ["REPORT"] + ".tmp")
            partial.write_text(str(cluster.root))
            partial.rename(os.environ["REPORT"])  # atomically: never read half-written
            time.sleep(120)
    """))
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'tests'}:{REPO / 'runner'}", "REPORT": str(report)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "conftest", "test_wait.py"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not report.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert report.exists(), proc.communicate(timeout=10)[0] if proc.poll() is not None else "no report"
        cluster = Cluster(report.read_text())
        assert cluster.is_running()
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=60)[0]
        assert cluster.processes() == [], output
        assert not Path(cluster.root).exists(), "the session's data dir is removed"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if report.exists():  # whatever happened above, leave no server behind
            leftover = Cluster(report.read_text())
            leftover.stop()
            shutil.rmtree(leftover.root, ignore_errors=True)
