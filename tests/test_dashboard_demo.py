"""`sigsync demo --serve` (what `make demo` runs) tells the story, then leaves the demo data up in
the dashboard, prints its URL and a webhook command that works, and stops cleanly on SIGTERM,
with the embedded cluster it started."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import threading
import time

import httpx

from sigsync.cluster import Cluster
from support import cli_env, make_tmp_dir, sigsync_cmd

UP = re.compile(r"The demo data is up in the dashboard: (http://127\.0\.0\.1:\d+)/")


def test_demo_serve_leaves_the_demo_data_up_in_the_dashboard():
    data_dir = make_tmp_dir("sigsync-demo-serve-")
    proc = subprocess.Popen(sigsync_cmd("--data-dir", data_dir, "demo", "--serve", "--port", "0"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=cli_env(), cwd="/tmp")
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not (found := UP.search("".join(lines))) or "listening on" not in "".join(lines):
            assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)[-3000:]
            time.sleep(0.1)
        url = found.group(1)
        text = "".join(lines)
        assert "gap reduction: 92 -> 0 (100.0%)" in text
        signals = httpx.get(f"{url}/api/signals", params={"limit": 100}, timeout=10).json()
        assert signals["count"] == 31
        assert "All Signals" in httpx.get(f"{url}/signals", timeout=10).text
        curl = re.search(r"curl -d '(.*)' (http://\S+/webhook/\S+)", text)
        answer = httpx.post(curl.group(2), content=curl.group(1), timeout=10)
        assert answer.status_code == 200 and answer.json()["status"] == "accepted"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert Cluster(data_dir).processes() == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
