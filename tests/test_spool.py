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
from sigsync.spool import MAGIC, SEGMENT_MAX_RECORDS, TORN_DIR, Record, Spool, SpoolFull, inspect, parse
from support import make_tmp_dir, sigsync_cmd, cli_env


@pytest.fixture
def spool_dir():
    path = make_tmp_dir("sigsync-spool-unit-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


KEY = bytes(range(32))


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
    torn = records(1, start=4)[0].encode(spool.key)[:-3]  # a crash in the middle of the write
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
    segment.write_bytes(segment.read_bytes() + MAGIC + b"\x00\x00")
    spool, reports = open_spool(spool_dir)
    assert spool.records == 2 and spool.torn_records == 1
    spool.close()


def test_damage_in_the_middle_loses_nothing_whole_after_it(spool_dir):
    data = b"".join(r.encode(KEY) for r in records(5))
    second = len(records(1)[0].encode(KEY))
    damaged = bytearray(data)
    damaged[second + 20] ^= 0xFF  # inside the second record's payload: its checksum fails
    got, bad = parse(bytes(damaged), KEY)
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
    spool, _ = open_spool(spool_dir, max_bytes=200)  # one record of 60 bytes of body takes 143 bytes
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


# -- bounds: the largest body, what the bound counts --------------------------------------------------


def test_the_spool_holds_a_body_of_the_largest_max_payload_bytes_the_database_allows(conn):
    """The spool's record bound and the setting's bound (sql/functions/_setting_error.sql) agree:
    a body answered 202 can always be read back (it was "not a record" past 64 MiB, and dropped)."""
    from sigsync import spool as spool_module

    def allowed(n: int) -> bool:
        return conn.execute("SELECT sigsync._setting_error('max_payload_bytes', to_jsonb(%s::bigint)) IS NULL",
                            (n,)).fetchone()[0]

    low, high = 1, 1 << 40  # the largest value the setting takes
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if allowed(mid) else (low, mid - 1)
    assert spool_module.MAX_PAYLOAD >= spool_module.META.size + 4 * 64 + low  # (a source: 64 characters)
    assert spool_module.MAX_BODY == low


def test_a_record_past_64_mib_is_a_record(spool_dir):
    spool, _ = open_spool(spool_dir)
    big = Record(1765554120.5, 3, "indicator", b"x" * (64 * 1024 * 1024 + 1))
    append(spool, [big])
    spool.close()
    assert replayable(spool_dir) == [big]


def test_the_bound_counts_each_record_as_written_empty_bodies_included(spool_dir):
    """Empty bodies (about 80 bytes of record each) filled the disk: only len(body) was counted."""
    spool, _ = open_spool(spool_dir, max_bytes=10_000)
    empty = Record(1765554120.0, 1, "indicator", b"")
    with pytest.raises(SpoolFull):
        for _ in range(10_000):
            append(spool, [empty])
    on_disk = sum(p.stat().st_size for p in spool_dir.glob("*.spool"))
    assert 10_000 - len(empty.encode(spool.key)) < on_disk <= 10_000 and spool.disk_bytes == on_disk
    spool.close()


def test_what_torn_holds_counts_against_the_bound_too(spool_dir):
    (spool_dir / TORN_DIR).mkdir(mode=0o700)
    (spool_dir / TORN_DIR / "00000000000000000001.0.torn").write_bytes(b"t" * 9_950)
    spool, _ = open_spool(spool_dir, max_bytes=10_000)
    assert spool.disk_bytes == 9_950
    with pytest.raises(SpoolFull, match="torn/ included"):
        append(spool, [Record(1765554120.0, 1, "indicator", b"{}")])
    spool.close()


def test_a_failed_append_is_cut_off_at_once(spool_dir, monkeypatch):
    """A write the disk refuses half-way is truncated away: no torn record waits in the segment."""
    import sigsync.spool as spool_module

    spool, _ = open_spool(spool_dir)
    append(spool, records(2))
    (segment,) = spool_dir.glob("*.spool")
    before = segment.read_bytes()
    real_write = spool_module.os.write
    calls = []

    def half_then_full(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spool_module.os, "write", half_then_full)
    with pytest.raises(SpoolFull, match="No space left on device"):
        append(spool, records(3, start=2))
    monkeypatch.undo()
    assert segment.read_bytes() == before and spool.records == 2
    append(spool, records(1, start=5))  # a new segment takes the next ones
    spool.close()
    assert replayable(spool_dir) == records(2) + records(1, start=5)


# -- records are this spool's own ---------------------------------------------------------------------


def old_format(record: Record) -> bytes:
    """The unreleased first format (b"SGS1", length, CRC-32), which anyone could write."""
    import struct
    import zlib

    source = record.source.encode()
    payload = struct.pack(">QqH", int(record.received_at * 1e6), record.token_id, len(source)) + source + record.body
    return struct.pack(">4sII", b"SGS1", len(payload), zlib.crc32(payload)) + payload


def test_a_body_holding_whole_records_is_no_record_after_a_torn_write(spool_dir):
    """Looking for the next record after a torn one lands inside the body: what a client put
    there (a record in the old format, or in this one with a key's guess) never verifies."""
    spool, _ = open_spool(spool_dir)
    forged = Record(978307200.0, 1, "forged-source", b'{"type": "HEARTBEAT"}')
    inner = old_format(forged) + forged.encode(bytes(32)) + forged.encode(b"k" * 32)
    carrier = Record(1765554120.0, 7, "indicator", b"<" + inner + b">" * 100)
    whole = records(2)
    append(spool, whole + [carrier])
    (segment,) = spool_dir.glob("*.spool")
    spool.close()
    segment.write_bytes(segment.read_bytes()[:-50])  # the carrier's end is lost
    got, bad = parse(segment.read_bytes(), spool.key)
    assert got == whole and len(bad) == 1  # the torn record is one damaged range, whatever it holds
    assert replayable(spool_dir) == whole


def test_the_key_is_private_and_records_another_key_signed_are_set_aside(spool_dir):
    spool, reports = open_spool(spool_dir)
    key_file = spool_dir / "key"
    assert len(key_file.read_bytes()) == 32 and key_file.stat().st_mode & 0o777 == 0o600
    assert not any(key_file.read_bytes().hex() in r or repr(key_file.read_bytes()) in r for r in reports)
    append(spool, records(3))
    (segment,) = spool_dir.glob("*.spool")
    spool.close()
    key_file.unlink()  # (lost: nothing it signed is a record any more; it is kept in torn/)
    spool, reports = open_spool(spool_dir)
    assert spool.records == 0 and spool.torn_records == 1 and len(key_file.read_bytes()) == 32
    assert (spool_dir / TORN_DIR / (segment.name + ".torn")).exists() and not segment.exists()
    spool.close()


def test_a_segment_of_another_format_is_set_aside_whole(spool_dir):
    open_spool(spool_dir)[0].close()
    segment = spool_dir / "00000000000000000001.spool"
    old = b"".join(old_format(r) for r in records(3))
    segment.write_bytes(old)
    spool, reports = open_spool(spool_dir)
    assert spool.records == 0 and spool.torn_records == 1
    assert (spool_dir / TORN_DIR / "00000000000000000001.spool.torn").read_bytes() == old
    assert any("not a whole record" in r for r in reports)
    spool.close()
