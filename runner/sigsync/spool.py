"""The spool of `sigsync serve` (DESIGN §14): webhook bodies kept on disk while the database
cannot take them, replayed in arrival order when it returns.

Files, in the spool directory (default: the data directory's spool/, also with --dsn):

    00000000000000000001.spool   segments, numbered in arrival order, each append-only
    torn/                        bytes that were not a whole record, set aside (never replayed)
    tokens.json                  the last known webhook tokens (tokens.py), for starting offline
    lock                         flock()ed by the one `sigsync serve` that owns the spool

A segment is a sequence of records; every append is written and fsync()ed (the directory
too, for a new segment) before any of its requests is answered 202. A record (big-endian):

    magic     4 bytes  b"SGS1"
    length    u32      bytes of the payload that follows the checksum
    crc32     u32      zlib.crc32 of the payload
    payload   received_at u64 (microseconds since the epoch), token_id i64,
              source length u16, source (UTF-8), body (the bytes as received)

A segment holds at most SEGMENT_MAX_RECORDS records and SEGMENT_MAX_BYTES bytes; it is the
unit of replay: all its records go to ingest_many in one transaction, and the file is
removed only after that transaction committed (a crash in between replays it again, which
dedupe makes harmless). A crash in the middle of an append leaves a torn last record: at
the next start its length or checksum does not match, it is reported and its bytes are set
aside in torn/, and the whole records before it are replayed. The spool is bounded by
--spool-max-mb: past it an append fails and the request is answered 503 (TradingView sends
it again).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sigsync.cluster import default_data_dir
from sigsync.errors import SigsyncError

MAGIC = b"SGS1"
HEADER = struct.Struct(">4sII")
META = struct.Struct(">QqH")
SUFFIX = ".spool"
SEGMENT_MAX_RECORDS = 1000
SEGMENT_MAX_BYTES = 8 * 1024 * 1024
MAX_PAYLOAD = 64 * 1024 * 1024  # a length field above this is not a record
TORN_DIR = "torn"
LOCK_FILE = "lock"


def spool_dir_for(data_dir: Path | None, given: Path | None) -> Path:
    """--spool-dir, else the data directory's spool/ (also when --dsn is given)."""
    return Path(given) if given else Path(data_dir or default_data_dir()).expanduser().absolute() / "spool"


class SpoolFull(SigsyncError):
    """An append would take the spool past its bound (or the disk refused it)."""


@dataclass(frozen=True)
class Record:
    received_at: float  # seconds since the epoch
    token_id: int
    source: str
    body: bytes

    def encode(self) -> bytes:
        source = self.source.encode("utf-8")
        payload = META.pack(int(self.received_at * 1_000_000), self.token_id, len(source)) + source + self.body
        return HEADER.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


def _record_at(data: bytes | memoryview, pos: int) -> tuple[Record, int] | None:
    """The whole record starting at pos and where it ends, or None if there is none."""
    end = pos + HEADER.size
    if end > len(data):
        return None
    magic, length, crc = HEADER.unpack_from(data, pos)
    if magic != MAGIC or length < META.size or length > MAX_PAYLOAD or end + length > len(data):
        return None
    payload = bytes(data[end:end + length])
    if zlib.crc32(payload) != crc:
        return None
    micros, token_id, source_len = META.unpack_from(payload)
    if META.size + source_len > length:
        return None
    try:
        source = payload[META.size:META.size + source_len].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return Record(micros / 1_000_000, token_id, source, payload[META.size + source_len:]), end + length


def parse(data: bytes) -> tuple[list[Record], list[tuple[int, int]]]:
    """The whole records of a segment, and the byte ranges [start, end) that are not one.

    A range that is not a record (a torn write at the end; damage anywhere) is skipped up to
    the next position where a whole record starts, so nothing whole after it is lost.
    """
    records: list[Record] = []
    bad: list[tuple[int, int]] = []
    view = memoryview(data)
    pos, bad_start = 0, None
    while pos < len(data):
        found = _record_at(view, pos)
        if found is not None:
            if bad_start is not None:
                bad.append((bad_start, pos))
                bad_start = None
            record, pos = found
            records.append(record)
            continue
        if bad_start is None:
            bad_start = pos
        following = data.find(MAGIC, pos + 1)
        pos = following if following >= 0 else len(data)
    if bad_start is not None:
        bad.append((bad_start, len(data)))
    return records, bad


@dataclass
class Segment:
    seq: int
    path: Path
    records: int
    bytes: int


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _segment_seq(path: Path) -> int | None:
    stem = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else ""
    return int(stem) if stem.isdigit() else None


def _segment_files(directory: Path) -> list[tuple[int, Path]]:
    found = []
    for path in directory.glob(f"*{SUFFIX}"):
        seq = _segment_seq(path)
        if seq is not None:
            found.append((seq, path))
    return sorted(found)


class Spool:
    """The spool of one serve process: open() locks and recovers it; append() is async (the
    write and fsync run in a worker thread), serialised, and the only writer."""

    def __init__(self, directory: Path, max_bytes: int, report: Callable[[str], None] = lambda _m: None):
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.report = report
        self.segments: list[Segment] = []  # oldest first; the last one may be open for appends
        self.torn_records = 0  # set aside since this process started
        self._active: tuple[Segment, int] | None = None  # (segment, fd) being appended to
        self._lock_fd = -1
        self._write_lock = asyncio.Lock()
        self._next_seq = 1

    # -- state ----------------------------------------------------------------------------

    @property
    def records(self) -> int:
        return sum(s.records for s in self.segments)

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.segments)

    def describe(self) -> dict:
        return {"records": self.records, "bytes": self.bytes, "segments": len(self.segments),
                "torn_records": self.torn_records, "dir": str(self.directory)}

    # -- opening: lock and recover ----------------------------------------------------------

    def open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            (self.directory / TORN_DIR).mkdir(exist_ok=True, mode=0o700)
        except OSError as exc:
            raise SigsyncError(f"cannot create the spool directory {self.directory}: {exc.strerror}") from None
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SigsyncError(f"another sigsync serve uses the spool {self.directory} "
                               "(give each one its own --spool-dir)") from None
        self._lock_fd = fd
        self._recover()

    def close(self) -> None:
        self._close_active()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def _recover(self) -> None:
        """Read every segment left by an earlier process; set aside what is not a whole record."""
        for seq, path in _segment_files(self.directory):
            self._next_seq = max(self._next_seq, seq + 1)
            data = path.read_bytes()
            records, bad = parse(data)
            if bad:
                self._set_aside(path, data, records, bad)
            if records:
                self.segments.append(Segment(seq, path, len(records), sum(len(r.body) for r in records)))
            else:
                path.unlink()
        _fsync_dir(self.directory)
        if self.segments:
            self.report(f"spool: {self.records} bodies from an earlier run wait in {self.directory} "
                        "(replayed as soon as the database takes them)")

    def _set_aside(self, path: Path, data: bytes, records: list[Record], bad: list[tuple[int, int]]) -> None:
        torn_dir = self.directory / TORN_DIR
        for start, end in bad:
            target = torn_dir / f"{path.stem}.{start}.torn"
            target.write_bytes(data[start:end])
            self.torn_records += 1
            where = "at its end (a write cut short by a crash)" if end == len(data) else "in its middle (damage)"
            self.report(f"spool: {path.name}: {end - start} bytes at offset {start} {where} are not a whole "
                        f"record: never replayed, set aside as {target}")
        # rewrite the segment with its whole records only (atomically)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as out:
            out.write(b"".join(r.encode() for r in records))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        _fsync_dir(torn_dir)

    # -- appending ----------------------------------------------------------------------------

    async def append(self, records: list[Record]) -> None:
        """Write the records durably (fsync) at the end of the spool; SpoolFull if it cannot."""
        data = [r.encode() for r in records]
        size = sum(len(r.body) for r in records)
        async with self._write_lock:
            if self.bytes + size > self.max_bytes:
                raise SpoolFull(f"the spool holds {self.bytes} bytes; {size} more would pass --spool-max-mb")
            await asyncio.to_thread(self._append_sync, data, len(records), size)

    def _append_sync(self, data: list[bytes], count: int, size: int) -> None:
        active = self._active
        if active is not None and (active[0].records + count > SEGMENT_MAX_RECORDS
                                   or active[0].bytes + size > SEGMENT_MAX_BYTES):
            self._close_active()
            active = None
        created = active is None
        if created:
            seq = self._next_seq
            self._next_seq += 1
            path = self.directory / f"{seq:020d}{SUFFIX}"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                raise SpoolFull(f"cannot create {path}: {exc.strerror}") from None
            active = (Segment(seq, path, 0, 0), fd)
        segment, fd = active
        blob = b"".join(data)
        try:
            written = 0
            while written < len(blob):
                written += os.write(fd, blob[written:])
            os.fsync(fd)
            if created:
                _fsync_dir(self.directory)
        except OSError as exc:
            # these records are not kept (their requests are answered 503). What was written of
            # them may be torn: the segment takes no more appends, and its reader skips the torn
            # part; a segment created for them holds nothing else and goes.
            os.close(fd)
            self._active = None
            if created:
                segment.path.unlink(missing_ok=True)
            raise SpoolFull(f"cannot write the spool {segment.path}: {exc.strerror}") from None
        segment.records += count
        segment.bytes += size
        if created:
            self.segments.append(segment)
        self._active = active

    def _close_active(self) -> None:
        if self._active is not None:
            with contextlib.suppress(OSError):
                os.close(self._active[1])
            self._active = None

    # -- replaying ----------------------------------------------------------------------------

    async def oldest(self) -> Segment | None:
        """The oldest segment, closed for appends (so that it no longer changes)."""
        async with self._write_lock:
            if not self.segments:
                return None
            if self._active is not None and self._active[0] is self.segments[0]:
                self._close_active()
            return self.segments[0]

    def read(self, segment: Segment) -> list[Record]:
        records, bad = parse(segment.path.read_bytes())
        if bad:  # cannot happen to a segment this process wrote and recovered; say so if it does
            self.report(f"spool: {segment.path.name}: {len(bad)} damaged ranges skipped while replaying")
        return records

    async def remove(self, segment: Segment) -> None:
        """Forget a segment whose records are committed."""
        async with self._write_lock:
            await asyncio.to_thread(self._remove_sync, segment)

    def _remove_sync(self, segment: Segment) -> None:
        segment.path.unlink(missing_ok=True)
        _fsync_dir(self.directory)
        self.segments.remove(segment)


def inspect(directory: Path) -> dict:
    """What a spool directory holds, read-only (for `sigsync report`; a serve may be writing)."""
    directory = Path(directory)
    result = {"dir": str(directory), "records": 0, "bytes": 0, "segments": 0, "oldest_received_at": None,
              "torn_files": 0}
    if not directory.is_dir():
        return result
    oldest = None
    for _seq, path in _segment_files(directory):
        try:
            records, _bad = parse(path.read_bytes())
        except OSError:
            continue
        result["segments"] += 1
        result["records"] += len(records)
        result["bytes"] += sum(len(r.body) for r in records)
        if records and oldest is None:
            oldest = records[0].received_at
    torn = directory / TORN_DIR
    result["torn_files"] = len(list(torn.glob("*.torn"))) if torn.is_dir() else 0
    if oldest is not None:
        result["oldest_received_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(oldest))
    return result
