"""`sigsync ingest` sends each line's bytes as read (issue "trust under hostile input", item 9).

It used to turn invalid UTF-8 into U+FFFD (and NUL into U+FFFD) and then accept the altered
body, and to skip whitespace-only lines without counting them. Now a line that is not UTF-8 is
rejected (invalid_encoding) and kept byte for byte; only empty lines and lines of JSON
whitespace are skipped, and they are counted; any other line is a payload.
"""

from __future__ import annotations

import psycopg

from support import sigsync

ENTRY = b'{"event_type": "ENTRY", "trade_id": "20251212_104200000_BULLISH", "entry_price": 25680, "stop_loss": 25645, '
BAD_UTF8 = ENTRY + b'"session": "NY \xff AM", "timestamp": 1765554300000}'
WITH_NUL = ENTRY + b'"session": "NY \x00 AM", "timestamp": 1765554300001}'
GOOD = ENTRY + b'"session": "NY AM", "timestamp": 1765554300002}'


def test_invalid_utf8_is_rejected_and_kept_as_bytes(db, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join([BAD_UTF8, b"", b"  \t", WITH_NUL, b"\xc2\xa0", GOOD, b"\r"]) + b"\n")
    result = sigsync("--dsn", db, "ingest", path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "accepted 1, duplicate 0, rejected 3, blank lines 3"
    assert "line 1: invalid_encoding:" in result.stdout and "line 4: invalid_encoding:" in result.stdout
    assert "line 5: invalid_json:" in result.stdout  # a no-break space is not JSON whitespace: a payload
    with psycopg.connect(db) as conn:
        kept = conn.execute("SELECT error_code, raw, payload_bytes, payload_sha256 FROM sigsync.rejected_events "
                            "ORDER BY id").fetchall()
        sessions = conn.execute("SELECT session FROM sigsync.automated_signals").fetchall()
    assert [(code, raw) for code, raw, _, _ in kept] == [("invalid_encoding", BAD_UTF8), ("invalid_encoding", WITH_NUL),
                                                         ("invalid_json", None)]
    assert kept[0][2] == len(BAD_UTF8)
    assert sessions == [("NY AM",)], "only the intact line was accepted; no altered body"


def test_one_array_element_that_is_not_utf8_spoils_nothing_else(db, tmp_path):
    path = tmp_path / "events.json"
    path.write_bytes(b"[\n" + BAD_UTF8 + b",\n" + GOOD + b"\n]\n")
    result = sigsync("--dsn", db, "ingest", path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "accepted 1, duplicate 0, rejected 1"
    assert "item 1: invalid_encoding:" in result.stdout


def test_a_deeply_nested_array_element_is_one_rejection(db, tmp_path):
    """The array is split by a scanner, not a recursive parser: an element nested 3,000 deep
    is an element like any other (the database rejects it too_deep), not a crash."""
    path = tmp_path / "events.json"
    deep = b'{"type":"HEARTBEAT","x":' + b"[" * 3000 + b"]" * 3000 + b"}"
    path.write_bytes(b'[{"type":"HEARTBEAT","tracked_signals":7},' + deep + b"]")
    result = sigsync("--dsn", db, "ingest", path)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout.splitlines()[0] == "accepted 1, duplicate 0, rejected 1"
    assert "item 2: too_deep:" in result.stdout


def test_byte_order_marks_and_blank_first_lines(db, tmp_path):
    """A byte order mark before a blank first line does not hide the array after it; one at
    the start of a later line (files joined together) is not part of the payload."""
    array = tmp_path / "events.json"
    array.write_bytes(b"\xef\xbb\xbf \r\n[\r\n " + GOOD + b" ,\r\n " + ENTRY + b'"timestamp": 1765554300009}\r\n]\r\n')
    result = sigsync("--dsn", db, "ingest", array)
    assert result.stdout.splitlines()[0] == "accepted 2, duplicate 0, rejected 0", result.stdout
    lines = tmp_path / "joined.jsonl"
    lines.write_bytes(b"\xef\xbb\xbf" + ENTRY + b'"timestamp": 1765554300010}\n\xef\xbb\xbf' + ENTRY
                      + b'"timestamp": 1765554300011}\n')
    result = sigsync("--dsn", db, "ingest", lines)
    assert result.stdout.splitlines()[0] == "accepted 2, duplicate 0, rejected 0", result.stdout
