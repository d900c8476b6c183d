"""The spool file format on its own (sigsync.spool): records survive a restart in arrival
order, a torn last record is detected by its length/checksum, reported and set aside (never
replayed half), damage in the middle loses nothing whole after it, one process owns a spool,
and a full spool refuses appends."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import pytest

from sigsync.errors import SigsyncError
from sigsync.spool import SEGMENT_MAX_RECORDS, TORN_DIR, Record, Spool, SpoolFull, inspect, parse
from support import make_tmp_dir, sigsync_cmd, cli_env


@pytest.fixture
def spool_dir():
    path = make_tmp_dir("sigsync-spool-unit-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def records(n: int, start: int = 0) -> list[Record]:
    return [Record(1765554120.25 + i, 7, "indicator" if i % 2 else "chart-ß", b'{"n": %d}' % i)
            for i in range(start, start + n)]


def open_spool(directory, max_bytes: int = 1 << 30) -> tuple[Spool, list[str]]:
    reports: list[str] = []
    spool = Spool(directory, max_bytes, report=reports.append)
    spool.open()
    return spool, reports


def append(spool: Spool, recs: list[Record]) -> None:
    asyncio.run(spool.append(recs))


def replayable(directory) -> list[Record]:
    """What a new serve would replay, oldest first (and it takes the spool's lock meanwhile)."""
    spool, _ = open_spool(directory)
    try:
        return [r for segment in spool.segments for r in spool.read(segment)]
    finally:
        spool.close()


def test_records_survive_a_restart_in_arrival_order_with_their_source_and_time(spool_dir):
    spool, _ = open_spool(spool_dir)
    append(spool, records(3))
    append(spool, records(2, start=3))
    assert (spool.records, spool.bytes) == (5, sum(len(r.body) for r in records(5)))
    spool.close()
    assert replayable(spool_dir) == records(5)


def test_a_torn_last_record_is_reported_set_aside_and_never_replayed(spool_dir):
    spool, _ = open_spool(spool_dir)
    append(spool, records(4))
    segment = spool.segments[-1].path
    spool.close()
    whole = segment.read_bytes()
    torn = records(1, start=4)[0].encode()[:-3]  # a crash in the middle of the write
    segment.write_bytes(whole + torn)

    spool, reports = open_spool(spool_dir)
    assert spool.records == 4 and spool.torn_records == 1
    assert any("at its end (a write cut short by a crash)" in r for r in reports), reports
    assert segment.read_bytes() == whole  # the segment now ends at its last whole record
    set_aside = list((spool_dir / TORN_DIR).glob("*.torn"))
    assert [p.read_bytes() for p in set_aside] == [torn]
    spool.close()
    assert replayable(spool_dir) == records(4)


def test_a_torn_header_alone_is_detected_too(spool_dir):
    spool, _ = open_spool(spool_dir)
    append(spool, records(2))
    segment = spool.segments[-1].path
    spool.close()
    segment.write_bytes(segment.read_bytes() + b"SGS1\x00\x00")
    spool, reports = open_spool(spool_dir)
    assert spool.records == 2 and spool.torn_records == 1
    spool.close()


def test_damage_in_the_middle_loses_nothing_whole_after_it(spool_dir):
    data = b"".join(r.encode() for r in records(5))
    second = len(records(1)[0].encode())
    damaged = bytearray(data)
    damaged[second + 20] ^= 0xFF  # inside the second record's payload: its checksum fails
    got, bad = parse(bytes(damaged))
    assert got == [records(5)[i] for i in (0, 2, 3, 4)]
    assert len(bad) == 1 and bad[0][0] == second


def test_only_one_serve_owns_a_spool(spool_dir):
    spool, _ = open_spool(spool_dir)
    try:
        with pytest.raises(SigsyncError, match="another sigsync serve uses the spool"):
            open_spool(spool_dir)
    finally:
        spool.close()


def test_segments_rotate_and_the_oldest_is_replayed_first(spool_dir):
    spool, _ = open_spool(spool_dir)
    append(spool, records(SEGMENT_MAX_RECORDS - 1))
    append(spool, records(2, start=SEGMENT_MAX_RECORDS - 1))  # does not fit: a new segment
    assert [s.records for s in spool.segments] == [SEGMENT_MAX_RECORDS - 1, 2]
    oldest = asyncio.run(spool.oldest())
    assert oldest is spool.segments[0] and spool.read(oldest) == records(SEGMENT_MAX_RECORDS - 1)
    asyncio.run(spool.remove(oldest))
    assert spool.records == 2 and not oldest.path.exists()
    spool.close()


def test_a_full_spool_refuses_appends_and_keeps_what_it_has(spool_dir):
    spool, _ = open_spool(spool_dir, max_bytes=100)
    append(spool, [Record(0.0, 1, "indicator", b"x" * 60)])
    with pytest.raises(SpoolFull):
        append(spool, [Record(0.0, 1, "indicator", b"y" * 60)])
    assert spool.records == 1
    spool.close()


def test_inspect_counts_what_waits_for_sigsync_report(spool_dir):
    assert inspect(spool_dir / "missing")["records"] == 0
    spool, _ = open_spool(spool_dir)
    append(spool, records(3))
    assert inspect(spool_dir) | {"dir": None} == {
        "dir": None, "records": 3, "bytes": sum(len(r.body) for r in records(3)), "segments": 1,
        "oldest_received_at": "2025-12-12T15:42:00Z", "torn_files": 0}
    spool.close()


def test_report_shows_the_spool_depth(db, spool_dir):
    spool, _ = open_spool(spool_dir)
    append(spool, records(3))
    spool.close()
    result = subprocess.run(sigsync_cmd("--dsn", db, "report", "--spool-dir", spool_dir), capture_output=True,
                            text=True, env=cli_env(), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Spool (sigsync serve): 3 bodies wait" in result.stdout
    result = subprocess.run(sigsync_cmd("--dsn", db, "report", "--json", "--spool-dir", spool_dir),
                            capture_output=True, text=True, env=cli_env(), timeout=60)
    assert '"records": 3' in result.stdout
