"""A full disk under the spool of `sigsync serve` (DESIGN §14): serve starts all the same,
replays the whole records, says that the torn range could not be set aside and keeps it (the
damaged segment goes whole into torn/ after its records committed), and never crash-loops.

With a real 1 MiB tmpfs as the spool (when the tests may mount one: root), and the same on any
machine with the disk's refusal stood in for by a monkeypatch of the spool's one writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import subprocess

import pytest

import sigsync.spool as spool_module
from sigsync.spool import TORN_DIR, TORN_SUFFIX, Record, Spool
from support import make_tmp_dir
from test_serve_helpers import create_token, events_with, heartbeat, serving


def records(tag: str, n: int) -> list[Record]:
    return [Record(1765554120.0 + i, 1, "indicator", heartbeat(f"{tag}-{i}").encode()) for i in range(n)]


def spool_with_a_torn_tail(directory, tag: str) -> bytes:
    """A spool of 4 whole records and half a fifth (a crash mid-write); returns the torn bytes."""
    spool = Spool(directory, 1 << 30)
    spool.open()
    asyncio.run(spool.append(records(tag, 4)))
    (segment,) = directory.glob("*.spool")
    torn = records(tag, 5)[4].encode(spool.key)[:60]
    spool.close()
    with open(segment, "ab") as f:
        f.write(torn)
    return torn


@contextlib.contextmanager
def tiny_filesystem(size: str = "1m"):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the monkeypatched test below covers the same without it)")
    path = make_tmp_dir("sigsync-full-disk-")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        shutil.rmtree(path, ignore_errors=True)
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
        shutil.rmtree(path, ignore_errors=True)


def fill(directory) -> None:
    with open(directory / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    with pytest.raises(OSError):  # nothing more fits: not even a small torn file
        (directory / "probe").write_bytes(b"x" * 4096)


def test_serve_starts_on_a_full_disk_replays_the_whole_records_and_keeps_the_torn_range(db):
    token = create_token(db)
    tag = "fulldisk"
    with tiny_filesystem() as spool_dir:
        torn = spool_with_a_torn_tail(spool_dir, tag)
        (segment,) = spool_dir.glob("*.spool")
        fill(spool_dir)
        with serving(db, spool_dir=spool_dir) as serve:  # (it exited 1 here, at every start)
            serve.wait_spool_empty(timeout=30)
            assert [len(events_with(db, f"{tag}-{i}")) for i in range(5)] == [1, 1, 1, 1, 0]
            errors = "\n".join(serve.stderr)
            assert "cannot be set aside in torn/ (No space left on device): kept in place" in errors, errors
            assert "Traceback" not in errors
            assert serve.ready()["spool"]["torn_records"] == 1
            assert serve.post(token, heartbeat(f"{tag}-live")).status_code == 200
        # replayed, then moved whole into torn/ (a rename needs no space): the torn bytes are kept
        assert list(spool_dir.glob("*.spool")) == []
        kept = spool_dir / TORN_DIR / (segment.name + TORN_SUFFIX)
        assert kept.read_bytes().endswith(torn)


def no_space(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_spool_that_cannot_set_its_torn_range_aside_opens_and_keeps_it(monkeypatch):
    directory = make_tmp_dir("sigsync-full-disk-unit-")
    try:
        torn = spool_with_a_torn_tail(directory, "unit")
        (segment_path,) = directory.glob("*.spool")
        before = segment_path.read_bytes()
        monkeypatch.setattr(spool_module, "_write_file", no_space)  # every file the spool writes whole
        reports: list[str] = []
        spool = Spool(directory, 1 << 30, report=reports.append)
        spool.open()  # (OSError ENOSPC, uncaught, before)
        try:
            (segment,) = spool.segments
            assert spool.records == 4 and spool.torn_records == 1 and segment.damaged
            assert segment_path.read_bytes() == before  # kept in place, torn bytes and all
            assert any("cannot be set aside in torn/" in r and "kept in place" in r for r in reports), reports
            assert [r.body for r in spool.read(segment)] == [r.body for r in records("unit", 4)]
            asyncio.run(spool.remove(segment))  # its records committed: moved whole into torn/
            assert not segment_path.exists()
            assert (directory / TORN_DIR / (segment_path.name + TORN_SUFFIX)).read_bytes() == before
            assert before.endswith(torn)
        finally:
            spool.close()
        # and when even the rename fails, the segment stays where it is for the next start
        spool_with_a_torn_tail(directory, "again")
        monkeypatch.setattr(spool_module.os, "replace", no_space)
        spool = Spool(directory, 1 << 30, report=reports.append)
        spool.open()
        try:
            (segment,) = spool.segments
            asyncio.run(spool.remove(segment))
            assert segment.path.exists() and spool.segments == []
        finally:
            spool.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
