"""The spool of `sigsync serve` (DESIGN §14): webhook bodies kept on disk while the database
cannot take them, replayed in arrival order when it returns.

Files, in the spool directory (default: the data directory's spool/, also with --dsn):

    00000000000000000001.spool   segments, numbered in arrival order, each append-only
    torn/                        bytes that were not a whole record, set aside (never replayed)
    key                          the spool's secret key (32 random bytes, mode 0600, never logged)
    tokens.json                  the last known webhook tokens (tokens.py), for starting offline
    lock                         flock()ed by the one `sigsync serve` that owns the spool

A segment is a sequence of records; every append is written and fsync()ed (the directory
too, for a new segment) before any of its requests is answered 202. A record (big-endian):

    magic       4 bytes  b"SGS2"
    length      u32      bytes of the payload
    header_tag  16 bytes HMAC-SHA256(key, b"header" magic length), first 16 bytes
    payload     received_at u64 (microseconds since the epoch), token_id i64,
                source length u16, source (UTF-8), body (the bytes as received)
    tag         32 bytes HMAC-SHA256(key, magic length header_tag payload)

Only a record this spool's key signed is a record: a body holding bytes that look like one
(a client can send anything) never verifies, so a torn write that makes the reader look for
the next record inside a body cannot turn client bytes into a record with another source or
time. The header tag is checked first, so looking for the next record after damage costs a
small hash per candidate, not one over each candidate's claimed length. Anything else
(another format, such as the unreleased b"SGS1", or records signed by a lost key) is not a
record: it is set aside like a torn write.

A segment holds at most SEGMENT_MAX_RECORDS records and SEGMENT_MAX_BYTES bytes (a single
larger record alone); it is replayed in groups of records, and the file is removed only after
the last of its groups committed (a crash in between replays it again, which dedupe makes
harmless). A crash in the middle of an append leaves a torn last record (a failed write is cut
off at once with ftruncate): at the next start its length or tag does not match, it is
reported and its bytes are set aside in torn/, and the whole records before it are replayed.
When torn/ cannot take them (a full disk), the whole records are replayed all the same and the
damaged segment is kept: after its records committed it is moved whole into torn/ (a rename
needs no space), or left in place, never deleted. The spool is bounded by --spool-max-mb,
counting what its files take on disk: the segments (records with their headers) and torn/;
past it an append fails and the request is answered 503 (TradingView sends it again).

A record's length field is bounded by MAX_PAYLOAD, which holds the largest body any
max_payload_bytes allows: MAX_BODY is the bound of that setting in
sql/functions/_setting_error.sql (a test checks that the two agree), and serve never takes a
body past MAX_BODY whatever the setting says.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import hmac
import os
import secrets
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sigsync.cluster import default_data_dir
from sigsync.errors import SigsyncError

MAGIC = b"SGS2"
HEADER = struct.Struct(">4sI16s")  # magic, payload length, header tag
TAG_SIZE = 32
META = struct.Struct(">QqH")
SUFFIX = ".spool"
SEGMENT_MAX_RECORDS = 1000
SEGMENT_MAX_BYTES = 8 * 1024 * 1024
MAX_BODY = 100 * 1024 * 1024  # the largest max_payload_bytes (sql/functions/_setting_error.sql)
MAX_SOURCE = 0xFFFF  # bytes (u16); a token's source is at most 64 characters
MAX_PAYLOAD = META.size + MAX_SOURCE + MAX_BODY  # a length field above this is not a record
OVERHEAD = HEADER.size + TAG_SIZE + META.size  # bytes of a record besides its source and body
KEY_FILE = "key"
KEY_SIZE = 32
TORN_DIR = "torn"
TORN_SUFFIX = ".torn"
LOCK_FILE = "lock"


def spool_dir_for(data_dir: Path | None, given: Path | None) -> Path:
    """--spool-dir, else the data directory's spool/ (also when --dsn is given)."""
    return Path(given) if given else Path(data_dir or default_data_dir()).expanduser().absolute() / "spool"


class SpoolFull(SigsyncError):
    """An append would take the spool past its bound (or the disk refused it)."""


def _header_tag(key: bytes, length: int) -> bytes:
    return hmac.new(key, b"header" + MAGIC + length.to_bytes(4, "big"), hashlib.sha256).digest()[:16]


@dataclass(frozen=True)
class Record:
    received_at: float  # seconds since the epoch
    token_id: int
    source: str
    body: bytes

    def encode(self, key: bytes) -> bytes:
        source = self.source.encode("utf-8")
        if len(source) > MAX_SOURCE or len(self.body) > MAX_BODY:
            raise ValueError("a spool record holds a source of at most 65535 bytes and a body of at most MAX_BODY")
        payload = META.pack(round(self.received_at * 1_000_000), self.token_id, len(source)) + source + self.body
        header = HEADER.pack(MAGIC, len(payload), _header_tag(key, len(payload)))
        tag = hmac.new(key, header, hashlib.sha256)
        tag.update(payload)
        return header + payload + tag.digest()


def encoded_size(record: Record) -> int:
    return OVERHEAD + len(record.source.encode("utf-8")) + len(record.body)


def _record_at(data: bytes | memoryview, pos: int, key: bytes) -> tuple[Record, int] | None:
    """The whole record signed with `key` starting at pos and where it ends, or None."""
    body_start = pos + HEADER.size
    if body_start > len(data):
        return None
    magic, length, header_tag = HEADER.unpack_from(data, pos)
    end = body_start + length + TAG_SIZE
    if magic != MAGIC or length < META.size or length > MAX_PAYLOAD or end > len(data):
        return None
    if not hmac.compare_digest(header_tag, _header_tag(key, length)):
        return None  # (cheap: no hash over a length a client may have chosen)
    tag = hmac.new(key, data[pos:body_start], hashlib.sha256)
    tag.update(data[body_start:body_start + length])
    if not hmac.compare_digest(tag.digest(), bytes(data[end - TAG_SIZE:end])):
        return None
    micros, token_id, source_len = META.unpack_from(data, body_start)
    if META.size + source_len > length:
        return None
    source_start = body_start + META.size
    try:
        source = bytes(data[source_start:source_start + source_len]).decode("utf-8")
    except UnicodeDecodeError:
        return None
    body = bytes(data[source_start + source_len:body_start + length])
    return Record(micros / 1_000_000, token_id, source, body), end


def parse(data: bytes, key: bytes | None) -> tuple[list[Record], list[tuple[int, int]]]:
    """The whole records of a segment, and the byte ranges [start, end) that are not one.

    A range that is not a record (a torn write at the end; damage anywhere; another format or
    key) is skipped up to the next position where a whole record starts, so nothing whole
    after it is lost. Without a key nothing is a record.
    """
    if key is None:
        return [], ([(0, len(data))] if data else [])
    records: list[Record] = []
    bad: list[tuple[int, int]] = []
    view = memoryview(data)
    pos, bad_start = 0, None
    while pos < len(data):
        found = _record_at(view, pos, key)
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


@dataclass(eq=False)
class Segment:
    seq: int
    path: Path
    records: int
    bytes: int  # of the bodies
    size: int = 0  # of the file
    replayed: int = 0  # records already committed by this process (replay resumes after them)
    damaged: bool = False  # holds bytes that are not a record and could not be copied to torn/
    cached: list[Record] | None = field(default=None, repr=False)  # read for its replay
    counted: set[int] = field(default_factory=set, repr=False)  # damaged ranges (their offsets) counted


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


def _write_file(path: Path, data: bytes) -> None:
    """Write a whole file durably (through a temporary file: never half of it under its name)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def read_key(directory: Path) -> bytes | None:
    """The spool's key, or None when there is none (or it cannot be read)."""
    try:
        key = (Path(directory) / KEY_FILE).read_bytes()
    except OSError:
        return None
    return key if len(key) == KEY_SIZE else None


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


class Spool:
    """The spool of one serve process: open() locks and recovers it; append() is async (the
    write and fsync run in a worker thread), serialised, and the only writer."""

    def __init__(self, directory: Path, max_bytes: int, report: Callable[[str], None] = lambda _m: None):
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.report = report
        self.key: bytes | None = None
        self.segments: list[Segment] = []  # oldest first; the last one may be open for appends
        self.torn_records = 0  # damaged ranges found since this process started (set aside or kept)
        self.torn_bytes = 0  # what torn/ holds
        self._torn_sizes: dict[str, int] = {}
        self._active: tuple[Segment, int] | None = None  # (segment, fd) being appended to
        self._lock_fd = -1
        self._write_lock = asyncio.Lock()
        self._next_seq = 1

    # -- state ----------------------------------------------------------------------------

    @property
    def records(self) -> int:
        return sum(s.records - s.replayed for s in self.segments)

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.segments)

    @property
    def disk_bytes(self) -> int:
        """What the bound counts: the segments' files and torn/."""
        return sum(s.size for s in self.segments) + self.torn_bytes

    def describe(self) -> dict:
        return {"records": self.records, "bytes": self.bytes, "segments": len(self.segments),
                "torn_records": self.torn_records, "disk_bytes": self.disk_bytes, "dir": str(self.directory)}

    # -- opening: lock and recover ----------------------------------------------------------

    def open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise SigsyncError(f"cannot create the spool directory {self.directory}: {_why(exc)}") from None
        with contextlib.suppress(OSError):  # (without it, torn bytes stay where they are)
            (self.directory / TORN_DIR).mkdir(exist_ok=True, mode=0o700)
        try:
            fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise SigsyncError(f"cannot open the spool's lock {self.directory / LOCK_FILE}: {_why(exc)}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SigsyncError(f"another sigsync serve uses the spool {self.directory} "
                               "(give each one its own --spool-dir)") from None
        self._lock_fd = fd
        self._scan_torn()
        try:
            key = (self.directory / KEY_FILE).read_bytes()
        except FileNotFoundError:
            key = b""
        except OSError as exc:  # there, but unreadable: nothing is set aside for want of it
            self.report(f"spool: cannot read its key {self.directory / KEY_FILE} ({_why(exc)}): the segments wait "
                        "in place and nothing can be spooled (such requests are answered 503)")
            return
        if len(key) == KEY_SIZE:
            self.key = key
        else:  # none yet (a new spool) or not a key: a new one
            self._make_key()
        self._recover()

    def close(self) -> None:
        self._close_active()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def _make_key(self) -> None:
        """A new key: with the spool directory (or when it was lost: the records it signed are
        no longer records, and are set aside as torn). Without one, appends fail (503)."""
        path = self.directory / KEY_FILE
        key = secrets.token_bytes(KEY_SIZE)
        try:
            _write_file(path, key)
            _fsync_dir(self.directory)
        except OSError as exc:
            self.report(f"spool: cannot create its key {path} ({_why(exc)}): nothing can be spooled until it can "
                        "(such requests are answered 503)")
            return
        self.key = key

    def _scan_torn(self) -> None:
        torn_dir = self.directory / TORN_DIR
        self._torn_sizes = {}
        with contextlib.suppress(OSError):
            for path in torn_dir.iterdir():
                with contextlib.suppress(OSError):
                    self._torn_sizes[path.name] = path.stat().st_size
        self.torn_bytes = sum(self._torn_sizes.values())

    def _recover(self) -> None:
        """Read every segment left by an earlier process; set aside what is not a whole record.
        Never raises for what it finds: whatever cannot be read or moved stays where it is."""
        for seq, path in _segment_files(self.directory):
            self._next_seq = max(self._next_seq, seq + 1)
            try:
                data = path.read_bytes()
            except OSError as exc:
                self.report(f"spool: cannot read {path} ({_why(exc)}): left in place, not replayed")
                continue
            if self.key is None:
                self.report(f"spool: {path.name} waits in place: without the spool's key its records cannot be read")
                continue
            records, bad = parse(data, self.key)
            segment = Segment(seq, path, len(records), sum(len(r.body) for r in records), len(data))
            if bad:
                self._set_aside(segment, data, bad, rewrite=True)
            if records:
                self.segments.append(segment)
            elif not segment.damaged:
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            _fsync_dir(self.directory)
        if self.segments:
            self.report(f"spool: {self.records} bodies from an earlier run wait in {self.directory} "
                        "(replayed as soon as the database takes them)")

    # -- setting aside what is not a record ----------------------------------------------------

    def _set_aside(self, segment: Segment, data: bytes, bad: list[tuple[int, int]], rewrite: bool) -> None:
        """Copy the damaged ranges into torn/ (and, with rewrite, make the segment its whole
        records only); a segment with nothing whole in it is moved into torn/ as it is. When
        that fails the segment is marked damaged and kept as it is: its whole records are
        replayed, and after that it is moved whole into torn/ (see remove)."""
        path = segment.path
        torn_dir = self.directory / TORN_DIR
        fresh = {start for start, _end in bad} - segment.counted  # (found again at its replay: the same damage)
        self.torn_records += len(fresh)
        segment.counted |= fresh
        whole_file = bad == [(0, len(data))]
        kept: list[str] = []
        try:
            if whole_file:
                self._move_to_torn(segment)
                kept = [path.name + TORN_SUFFIX]
            else:
                for start, end in bad:
                    kept.append(self._torn_name(path, start))
                    self._torn_write(kept[-1], data[start:end])
                _fsync_dir(torn_dir)
            failure = None
        except OSError as exc:
            failure = exc
        if failure is None and rewrite and not whole_file:
            try:
                whole = b"".join(data[s:e] for s, e in _whole_ranges(len(data), bad))
                _write_file(path, whole)
                segment.size = len(whole)
            except OSError as exc:  # copied all the same: its replay skips them (and copies them again)
                self.report(f"spool: {path.name} cannot be rewritten without its damaged bytes ({_why(exc)})")
        for i, (start, end) in enumerate(bad):
            where = "at its end (a write cut short by a crash)" if end == len(data) else "in its middle (damage)"
            what = (f"spool: {path.name}: {end - start} bytes at offset {start} {where} are not a whole record "
                    "(signed by this spool's key): never replayed")
            if failure is None:
                self.report(f"{what}, set aside as {torn_dir / kept[min(i, len(kept) - 1)]}")
            else:
                self.report(f"{what}; they cannot be set aside in torn/ ({_why(failure)}): kept in place in {path}")
        if failure is not None:
            segment.damaged = True
            if segment.records:
                self.report(f"spool: {path.name}: its {segment.records} whole records are replayed all the same; "
                            "then the segment is moved whole into torn/")

    @staticmethod
    def _torn_name(path: Path, start: int) -> str:
        return f"{path.stem}.{start}{TORN_SUFFIX}"

    def _torn_write(self, name: str, data: bytes) -> None:
        _write_file(self.directory / TORN_DIR / name, data)  # (the same name again: the same bytes)
        self.torn_bytes += len(data) - self._torn_sizes.get(name, 0)
        self._torn_sizes[name] = len(data)

    def _move_to_torn(self, segment: Segment) -> None:
        name = segment.path.name + TORN_SUFFIX
        os.replace(segment.path, self.directory / TORN_DIR / name)  # (a rename: no space needed)
        with contextlib.suppress(OSError):
            _fsync_dir(self.directory / TORN_DIR)
            _fsync_dir(self.directory)
        self.torn_bytes += segment.size - self._torn_sizes.get(name, 0)
        self._torn_sizes[name] = segment.size
        segment.size = 0
        segment.damaged = False

    # -- appending ----------------------------------------------------------------------------

    async def append(self, records: list[Record]) -> None:
        """Write the records durably (fsync) at the end of the spool; SpoolFull if it cannot."""
        key = self.key
        if key is None:
            raise SpoolFull("the spool has no key (see the note at start)")
        data = [r.encode(key) for r in records]
        size = sum(len(d) for d in data)
        async with self._write_lock:
            if self.disk_bytes + size > self.max_bytes:
                raise SpoolFull(f"the spool's files take {self.disk_bytes} bytes (torn/ included); {size} more "
                                "would pass --spool-max-mb")
            await asyncio.to_thread(self._append_sync, data, len(records), sum(len(r.body) for r in records), size)

    def _append_sync(self, data: list[bytes], count: int, body_bytes: int, size: int) -> None:
        active = self._active
        if active is not None and (active[0].records + count > SEGMENT_MAX_RECORDS
                                   or active[0].size + size > SEGMENT_MAX_BYTES):
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
                raise SpoolFull(f"cannot create {path}: {_why(exc)}") from None
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
            # them is cut off at once (ftruncate needs no space); if even that fails, the reader
            # sets the torn part aside. The segment takes no more appends; one created for them
            # holds nothing else and goes.
            try:
                os.ftruncate(fd, segment.size)
                os.fsync(fd)
                cut = True
            except OSError:
                cut = False
            os.close(fd)
            self._active = None
            if created:
                segment.path.unlink(missing_ok=True)
            elif not cut:
                with contextlib.suppress(OSError):
                    segment.size = segment.path.stat().st_size  # (counted against the bound until set aside)
            raise SpoolFull(f"cannot write the spool {segment.path}: {_why(exc)}") from None
        segment.records += count
        segment.bytes += body_bytes
        segment.size += size
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
        """The whole records of a segment, for its replay. Bytes in it that are not a record
        (they cannot be in a segment this process wrote and recovered, unless the disk failed
        under it) are set aside in torn/ now, or the segment is marked damaged (see remove)."""
        if segment.cached is not None:
            return segment.cached
        data = segment.path.read_bytes()
        records, bad = parse(data, self.key)
        if bad:
            self._set_aside(segment, data, bad, rewrite=False)
        segment.cached = records
        return records

    async def forget(self, segment: Segment) -> None:
        """Leave a segment that cannot be read where it is (the next start tries it again)."""
        async with self._write_lock:
            if segment in self.segments:
                self.segments.remove(segment)

    async def remove(self, segment: Segment) -> None:
        """Forget a segment whose records are committed: its file is deleted, or, when it holds
        damaged bytes that torn/ could not take, moved whole into torn/ (or else left in place
        for the next start), never lost."""
        async with self._write_lock:
            await asyncio.to_thread(self._remove_sync, segment)

    def _remove_sync(self, segment: Segment) -> None:
        if segment in self.segments:
            self.segments.remove(segment)
        if segment.damaged:
            try:
                self._move_to_torn(segment)
                self.report(f"spool: {segment.path.name}: its records are stored; the segment, with its damaged "
                            f"bytes, is now {self.directory / TORN_DIR / (segment.path.name + TORN_SUFFIX)}")
            except OSError as exc:
                self.report(f"spool: {segment.path.name}: its records are stored, but it cannot be moved to torn/ "
                            f"({_why(exc)}): left in place (the next start sets its damage aside)")
            return
        if not segment.path.exists():  # moved to torn/ whole when it was read (nothing in it was a record)
            return
        segment.path.unlink(missing_ok=True)
        _fsync_dir(self.directory)


def _whole_ranges(length: int, bad: list[tuple[int, int]]) -> list[tuple[int, int]]:
    ranges, pos = [], 0
    for start, end in bad:
        if start > pos:
            ranges.append((pos, start))
        pos = end
    if pos < length:
        ranges.append((pos, length))
    return ranges


def inspect(directory: Path) -> dict:
    """What a spool directory holds, read-only (for `sigsync report`; a serve may be writing)."""
    directory = Path(directory)
    result = {"dir": str(directory), "records": 0, "bytes": 0, "segments": 0, "oldest_received_at": None,
              "torn_files": 0}
    if not directory.is_dir():
        return result
    key = read_key(directory)
    oldest = None
    for _seq, path in _segment_files(directory):
        try:
            records, _bad = parse(path.read_bytes(), key)
        except OSError:
            continue
        result["segments"] += 1
        result["records"] += len(records)
        result["bytes"] += sum(len(r.body) for r in records)
        if records and oldest is None:
            oldest = records[0].received_at
    torn = directory / TORN_DIR
    result["torn_files"] = len(list(torn.glob(f"*{TORN_SUFFIX}"))) if torn.is_dir() else 0
    if oldest is not None:
        result["oldest_received_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(oldest))
    return result
