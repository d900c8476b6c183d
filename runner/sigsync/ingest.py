"""`sigsync ingest FILE|-`: send webhook bodies to sigsync.ingest_many in batches.

Validation is the database's job: each JSON line goes out as received, as bytes
(sigsync.ingest_many(bytea[], source)), so a malformed line reaches the database and is
rejected (and kept) there; one that is not valid UTF-8 is rejected as invalid_encoding,
never "repaired". An input that as a whole is a JSON array is sent element by element
instead. Lines that are empty or hold only JSON whitespace (space, tab, CR) carry no
payload: they are counted as blank, not sent; any other line is a payload.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import stat
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterable, Iterator

import click
import psycopg

from sigsync.app import App, pass_app
from sigsync.errors import SigsyncError

INGEST_SQL = "SELECT idx, status, event_ids, error FROM sigsync.ingest_many(%s::bytea[], NULL::text)"
JSON_WHITESPACE = b" \t\r\n"
MAX_LISTED = 10


@dataclass
class Payloads:
    """The payloads of one input: (position, body) pairs, where position is the line
    number (JSON lines) or the element number (JSON array), and body the bytes as read."""

    unit: str  # 'line' | 'item'
    items: Iterable[tuple[int, bytes | str]] = ()
    total: int | None = None  # for a progress bar: input bytes (lines) or elements (array)
    done: int = 0  # progress so far, in the same unit as total
    blank: int = 0  # lines skipped: empty or JSON whitespace only


def _size(stream: BinaryIO) -> int | None:
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def _array_elements(text: str) -> list[str] | None:
    """The elements of a JSON array as their raw text (numbers and spelling kept as sent,
    never re-serialised), or None when the text is not one JSON array."""
    decoder = json.JSONDecoder()
    ws = re.compile(r"[ \t\n\r]*")
    pos = ws.match(text, 0).end()
    if not text.startswith("[", pos):
        return None
    pos = ws.match(text, pos + 1).end()
    elements: list[str] = []
    if text.startswith("]", pos):
        pos += 1
    else:
        while True:
            try:
                _, end = decoder.raw_decode(text, pos)
            except ValueError:
                return None
            elements.append(text[pos:end])
            pos = ws.match(text, end).end()
            if text.startswith(",", pos):
                pos = ws.match(text, pos + 1).end()
            elif text.startswith("]", pos):
                pos += 1
                break
            else:
                return None
    return elements if ws.match(text, pos).end() == len(text) else None


def read_payloads(stream: BinaryIO) -> Payloads:
    """Read JSON lines, or a JSON array when the whole input is one."""
    total = _size(stream)
    head: list[bytes] = []
    for raw in stream:  # keep blank lines (they count for line numbers) up to the first content
        head.append(raw)
        if raw.strip():
            break
    if head:
        head[0] = head[0].removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark
    if head and head[-1].lstrip().startswith(b"["):
        data = b"".join(head) + stream.read()
        try:
            elements = _array_elements(data.decode("utf-8"))
        except UnicodeDecodeError:
            elements = None  # not one JSON array: its lines go as they are
        if elements is not None:
            array = Payloads("item", total=len(elements))

            def items() -> Iterator[tuple[int, bytes | str]]:
                for array.done, element in enumerate(elements, 1):
                    yield array.done, element

            array.items = items()
            return array
        head, stream = [], io.BytesIO(data)

    lines = Payloads("line", total=total)

    def numbered() -> Iterator[tuple[int, bytes | str]]:
        for number, raw in enumerate(itertools.chain(head, stream), 1):
            lines.done += len(raw)
            body = raw.removesuffix(b"\n").removesuffix(b"\r")
            if body.strip(JSON_WHITESPACE):
                yield number, body
            else:
                lines.blank += 1

    lines.items = numbered()
    return lines


@dataclass
class IngestResult:
    unit: str = "line"
    counts: Counter = field(default_factory=Counter)
    rejections: list[tuple[int, str, str]] = field(default_factory=list)  # the first MAX_LISTED

    def summary(self) -> str:
        text = ", ".join(f"{s} {self.counts[s]}" for s in ("accepted", "duplicate", "rejected"))
        return text + (f", blank lines {self.counts['blank']}" if self.counts["blank"] else "")


def ingest(
    conn: psycopg.Connection,
    payloads: Payloads,
    batch_size: int = 1000,
    on_batch: Callable[[int], None] | None = None,
) -> IngestResult:
    """Send the payloads through sigsync.ingest_many, one transaction per batch."""
    result = IngestResult(payloads.unit)
    items = iter(payloads.items)
    while batch := list(itertools.islice(items, batch_size)):
        positions = [pos for pos, _ in batch]
        bodies = [body if isinstance(body, bytes) else body.encode("utf-8") for _, body in batch]
        try:
            with conn.transaction():
                rows = conn.execute(INGEST_SQL, (bodies,)).fetchall()
        except (psycopg.errors.UndefinedFunction, psycopg.errors.InvalidSchemaName):
            raise SigsyncError("sigsync.ingest_many() is missing: run `sigsync migrate` first") from None
        for idx, status, _event_ids, error in rows:
            result.counts[status] += 1
            if status == "rejected" and len(result.rejections) < MAX_LISTED:
                error = error or {}
                result.rejections.append((positions[idx - 1], error.get("code", "?"), error.get("message", "")))
        if on_batch:
            on_batch(len(batch))
    result.counts["blank"] = payloads.blank
    return result


@click.command("ingest")
@click.argument("source", type=click.File("rb"), metavar="FILE|-")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 10_000),
              help="Payloads per ingest_many call (and per transaction).")  # fmt: skip
@pass_app
def ingest_cmd(app: App, source: BinaryIO, batch_size: int):
    """Ingest webhook bodies from FILE (or - for stdin): JSON lines, or one JSON array.

    Every line goes to sigsync.ingest_many as received (bytes); the database accepts,
    dedupes or rejects it (rejected ones, invalid UTF-8 included, are kept in
    sigsync.rejected_events). Empty lines and lines of JSON whitespace only are counted
    as blank, not sent. Prints the counts and the first rejections. Exit status 0 even
    when some payloads were rejected.
    """
    with app.connect() as conn:
        payloads = read_payloads(source)
        if sys.stderr.isatty() and payloads.total:
            with click.progressbar(length=payloads.total, label="ingesting", file=sys.stderr) as bar:
                result = ingest(conn, payloads, batch_size, on_batch=lambda _n: bar.update(payloads.done - bar.pos))
        else:
            result = ingest(conn, payloads, batch_size)
    click.echo(result.summary())
    for position, code, message in result.rejections:
        click.echo(f"  {result.unit} {position}: {code}: {message}")
    if result.counts["rejected"] > len(result.rejections):
        click.echo(f"  ... and {result.counts['rejected'] - len(result.rejections)} more (see sigsync.rejected_events)")


COMMANDS = [ingest_cmd]
