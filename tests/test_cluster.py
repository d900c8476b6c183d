"""sigsync.cluster details that the CLI tests do not reach."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from sigsync import cluster as cluster_module
from sigsync.cluster import Cluster, default_data_dir
from support import make_tmp_dir


def test_default_data_dir(monkeypatch):
    monkeypatch.setattr(cluster_module.os, "geteuid", lambda: 0)
    assert default_data_dir() == Path("/var/lib/sigsync")
    monkeypatch.setattr(cluster_module.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_DATA_HOME", "/somewhere/data")
    assert default_data_dir() == Path("/somewhere/data/sigsync")
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", "/home/someone")
    assert default_data_dir() == Path("/home/someone/.local/share/sigsync")


def test_url_points_at_the_private_socket():
    c = Cluster("/tmp/a dir")
    assert c.url("x") == f"postgresql://{c.superuser}@/x?host=/tmp/a%20dir/run&port=5432"


def test_starts_without_pg_cron_when_it_is_missing(monkeypatch, capsys):
    root = make_tmp_dir("sigsync-nocron-")
    c = Cluster(root)
    monkeypatch.setattr(Cluster, "_pkglibdir", lambda self, bindir: root / "no-such-lib")
    try:
        assert c.start()
        assert "pg_cron not installed" in capsys.readouterr().err
        with psycopg.connect(c.url()) as conn:
            assert conn.execute("SHOW shared_preload_libraries").fetchone() == ("",)
    finally:
        c.stop()
        shutil.rmtree(root, ignore_errors=True)
    assert c.processes() == []


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs procfs")
def test_a_foreign_pid_in_postmaster_pid_is_stale(tmp_path):
    c = Cluster(tmp_path)
    c.pgdata.mkdir()
    c.pid_file.write_text("1\n")  # alive, but not a postgres working in our pgdata
    assert not c.is_running()
