"""Stopping `sigsync serve`: SIGTERM under load stops accepting, finishes the requests in
flight and exits 0 within 5 s, and every request answered 200 or 202 is in the log or the
spool; without --dsn, serve runs the embedded cluster for as long as it runs."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import threading
import time

import httpx

from sigsync.cluster import Cluster
from sigsync.spool import parse, read_key
from support import cli_env, make_tmp_dir, sigsync, sigsync_cmd
from test_serve_helpers import Serve, create_token, events_with, heartbeat, serving


def test_sigterm_under_load_keeps_every_answered_request_and_exits_0_within_5_s(db):
    token = create_token(db)
    serve = Serve(db)
    answered: dict[str, int] = {}  # marker -> 200 / 202
    other: list[int] = []
    lock = threading.Lock()

    def sender(k: int) -> None:
        with httpx.Client(timeout=5) as client:
            for i in range(100_000):
                m = f"term-{k}-{i}"
                try:
                    r = client.post(f"{serve.url}/webhook/{token}", content=heartbeat(m))
                except httpx.HTTPError:
                    return  # the server stopped accepting: no answer, nothing promised
                with lock:
                    if r.status_code in (200, 202):
                        answered[m] = r.status_code
                    else:
                        other.append(r.status_code)

    try:
        threads = [threading.Thread(target=sender, args=(k,)) for k in range(16)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while len(answered) < 300 and time.monotonic() < deadline:
            time.sleep(0.01)
        code, took = serve.stop(signal.SIGTERM)
        for t in threads:
            t.join(timeout=10)
    finally:
        serve.kill()
    assert code == 0 and took < 5, (code, took, serve.lines)
    assert len(answered) >= 300 and other == []
    spooled = {json.loads(r.body)["indicator_version"][2:] for p in serve.spool_dir.glob("*.spool")
               for r in parse(p.read_bytes(), read_key(serve.spool_dir))[0]}
    missing = [m for m in answered if m not in spooled and len(events_with(db, m)) != 1]
    assert missing == []
    assert "stopped (SIGTERM)" in serve.stderr[-1] and "Traceback" not in "\n".join(serve.stderr)


def test_without_dsn_serve_runs_the_embedded_cluster_for_as_long_as_it_runs():
    root = make_tmp_dir("sigsync-serve-embedded-")
    cluster = Cluster(root)
    try:
        assert sigsync("--data-dir", root, "migrate").returncode == 0
        result = sigsync("--data-dir", root, "token", "create", "--source", "indicator")
        assert result.returncode == 0, result.stderr
        token = result.stdout.strip()
        assert not cluster.is_running()  # each command stopped the server it started
        with serving(None, global_args=("--data-dir", str(root)), spool_dir=root / "spool") as serve:
            assert cluster.is_running()
            assert serve.post(token, heartbeat("embedded")).status_code == 200
            code, took = serve.stop(signal.SIGTERM)
        assert code == 0 and took < 5, (code, took, serve.lines)  # includes stopping the server
        assert cluster.processes() == [] and not cluster.pid_file.exists()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_the_spool_defaults_to_the_data_directory_even_with_a_dsn(db):
    root = make_tmp_dir("sigsync-serve-datadir-")
    try:
        proc = subprocess.Popen(sigsync_cmd("--dsn", db, "--data-dir", root, "serve", "--port", "0"),
                                stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=cli_env())
        try:
            line = proc.stderr.readline()
            assert f"spool {root}/spool;" in line, line
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        assert (root / "spool" / "lock").exists()
    finally:
        shutil.rmtree(root, ignore_errors=True)
