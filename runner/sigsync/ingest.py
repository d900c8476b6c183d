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
BOM = b"\xef\xbb\xbf"  # a UTF-8 byte order mark
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


# what delimits the elements of a JSON array: a string (escapes included), a bracket, a comma
ARRAY_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{},]', re.DOTALL)


def _array_elements(data: bytes) -> list[bytes] | None:
    """The elements of a JSON array as their bytes, exactly as sent (numbers and spelling
    kept, never re-serialised), or None when the input is not one JSON array.

    A scanner, not a parser: it follows strings and brackets only, at any depth, in one pass
    and without recursion (a deeply nested element is an element like any other), and it
    looks at bytes (one element that is not UTF-8 does not spoil the others). Whether each
    element is valid JSON is the database's business: a malformed one is rejected and kept."""
    ws = JSON_WHITESPACE
    start = len(data) - len(data.lstrip(ws))
    if not data.startswith(b"[", start):
        return None
    elements: list[bytes] = []
    depth, element_start, closed = 0, start + 1, None
    for token in ARRAY_TOKENS.finditer(data, start + 1):
        mark = token.group()
        if mark[:1] == b'"':
            continue
        if mark in (b"[", b"{"):
            depth += 1
        elif depth > 0 and mark in (b"]", b"}"):
            depth -= 1
        elif depth == 0 and mark in (b",", b"]"):
            element = data[element_start:token.start()].strip(ws)
            if element or mark == b"," or elements:
                if not element:
                    return None  # an empty element: "[,1]", "[1,]"
                elements.append(element)
            if mark == b"]":
                closed = token.end()
                break
            element_start = token.end()
        elif depth == 0:
            return None  # a stray "}" at the top
    if closed is None or data[closed:].strip(ws):
        return None
    return elements


def read_payloads(stream: BinaryIO) -> Payloads:
    """Read JSON lines, or a JSON array when the whole input is one."""
    total = _size(stream)
    head: list[bytes] = []
    for raw in stream:  # keep blank lines (they count for line numbers) up to the first content
        head.append(raw.removeprefix(BOM) if not head else raw)
        if head[-1].strip(JSON_WHITESPACE):
            break
    if head and head[-1].lstrip(JSON_WHITESPACE).startswith(b"["):
        data = b"".join(head) + stream.read()
        elements = _array_elements(data)
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
            # (a byte order mark starts a file, and each file of a concatenation)
            body = raw.removesuffix(b"\n").removesuffix(b"\r").removeprefix(BOM)
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
