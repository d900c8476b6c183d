"""Replaying the spool of `sigsync serve` (DESIGN §14), with a real serve and a real cluster:
a body of any size max_payload_bytes allows that was answered 202 stays a record for its
replay; damage found while replaying is set aside, reported and counted, never dropped; a
backlog is replayed many bodies per transaction, each body once, in arrival order per source;
client bytes that hold a whole record (of any format) never replay as one after a torn write.
"""

from __future__ import annotations

import json
import shutil
import signal
import struct
import threading
import uuid
import zlib

import httpx
import psycopg
import pytest

from sigsync.cluster import find_bindir
from sigsync.spool import MAGIC, TAG_SIZE, TORN_DIR, Record, parse, read_key
from support import make_tmp_dir, migrated_private_cluster
from test_serve_helpers import Serve, create_token, events_with, heartbeat, kept_running, serving


@pytest.fixture(scope="module")
def private_cluster():
    with migrated_private_cluster("sigsync-replay-") as cluster:
        yield cluster


@pytest.fixture
def database(private_cluster):
    """The private cluster, running at the start of each test (and after it)."""
    yield from kept_running(private_cluster)


@pytest.fixture
def spool_dir():
    path = make_tmp_dir("sigsync-replay-spool-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def crash(cluster) -> None:
    cluster._run([find_bindir() / "pg_ctl", "-D", cluster.pgdata, "-m", "immediate", "stop"])
    assert not cluster.is_running()


def run_id() -> str:
    return uuid.uuid4().hex[:8]


def set_setting(dsn: str, key: str, value) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE sigsync.settings SET value = %s::jsonb WHERE key = %s", (json.dumps(value), key))


def metric(serve: Serve, name: str) -> float:
    for line in serve.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


def test_a_body_past_64_mib_answered_202_stays_a_record_for_its_replay(database, spool_dir):
    """The spool took records up to 64 MiB only, while max_payload_bytes allows 100 MiB: such a
    body was answered 202, then dropped (at replay) or set aside as torn (at the next start).
    (Its replay itself costs the database seconds: the spool's side is what is checked here.)"""
    url = database.url()
    token = create_token(url)
    size = 64 * 1024 * 1024 + 1
    body = b"big " + b"x" * (size - 4)
    set_setting(url, "max_payload_bytes", 80 * 1024 * 1024)
    try:
        serve = Serve(url, spool_dir=spool_dir)  # (it reads the setting at start)
        try:
            crash(database)
            answer = serve.post(token, body)
            assert answer.status_code == 202, answer.text
            assert serve.stop(signal.SIGTERM)[0] == 0
        finally:
            serve.kill()
        with serving(url, spool_dir=spool_dir) as again:  # the database is still away
            assert again.ready()["spool"] == {"records": 1, "bytes": size, "torn_records": 0}
            assert "not a whole record" not in "\n".join(again.stderr)
        (segment,) = spool_dir.glob("*.spool")
        assert [r.body for r in parse(segment.read_bytes(), read_key(spool_dir))[0]] == [body]
    finally:
        database.start()
        set_setting(url, "max_payload_bytes", 65536)


def record_offsets(data: bytes, key: bytes) -> list[tuple[int, Record]]:
    """Where each whole record of a segment starts."""
    offsets, pos = [], 0
    for record in parse(data, key)[0]:
        offsets.append((pos, record))
        pos += len(record.encode(key))
    assert pos == len(data)
    return offsets


def test_damage_found_while_replaying_is_set_aside_reported_and_counted_never_dropped(database):
    url = database.url()
    token = create_token(url)
    tag = run_id()
    markers = [f"{tag}-{i}" for i in range(5)]
    with serving(url) as serve:
        assert serve.post(token, heartbeat(f"{tag}-warm")).status_code == 200
        crash(database)
        assert [serve.post(token, heartbeat(m)).status_code for m in markers] == [202] * 5
        # the disk damages the third body after it was answered 202 (serve reads it back only to replay it)
        key = read_key(serve.spool_dir)
        (segment, start, record), = [(path, start, record) for path in serve.spool_dir.glob("*.spool")
                                     for start, record in record_offsets(path.read_bytes(), key)
                                     if markers[2].encode() in record.body]
        at = start + len(record.encode(key)) - TAG_SIZE - len(record.body) + 1  # (its body's second byte)
        with open(segment, "r+b") as f:
            f.seek(at)
            byte = f.read(1)
            f.seek(at)
            f.write(bytes([byte[0] ^ 0x01]))
        database.start()
        serve.wait_spool_empty(timeout=30)
        assert [len(events_with(url, m)) for m in markers] == [1, 1, 0, 1, 1]
        torn = list((serve.spool_dir / TORN_DIR).glob("*.torn"))  # the damaged record, kept for a look
        assert len(torn) == 1 and markers[2].encode() in torn[0].read_bytes()
        warning = [line for line in serve.stderr if "not a whole record" in line]
        assert len(warning) == 1 and "in its middle (damage)" in warning[0] and str(torn[0]) in warning[0]
        assert metric(serve, "sigsync_spool_torn_records_total") == 1
        assert serve.ready()["spool"]["torn_records"] == 1
        assert list(serve.spool_dir.glob("*.spool")) == [] and "Traceback" not in "\n".join(serve.stderr)


def test_a_backlog_is_replayed_in_groups_each_body_once_in_arrival_order_per_source(database):
    url = database.url()
    sources = ["alpha", "beta", "gamma"]
    tokens = {s: create_token(url, s) for s in sources}
    tag = run_id()
    per_source = 150
    with serving(url, "--batch-max", "16") as serve:  # (several transactions per segment)
        assert serve.post(tokens["alpha"], heartbeat(f"{tag}-warm")).status_code == 200
        crash(database)
        answers: dict[str, list[int]] = {}

        def sender(source: str) -> None:  # one after the other: the arrival order of this source
            codes = []
            with httpx.Client(timeout=10) as client:
                for i in range(per_source):
                    body = f"not json {tag}-{source}-{i}" if i % 20 == 7 else heartbeat(f"{tag}-{source}-{i}")
                    codes.append(client.post(f"{serve.url}/webhook/{tokens[source]}", content=body).status_code)
            answers[source] = codes

        threads = [threading.Thread(target=sender, args=(s,)) for s in sources]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert {s: set(c) for s, c in answers.items()} == {s: {202} for s in sources}
        database.start()
        serve.wait_spool_empty(timeout=30)
        assert metric(serve, "sigsync_spool_replayed_records_total") == per_source * len(sources)
    with psycopg.connect(url) as conn:
        for source in sources:
            rows = conn.execute("SELECT id, indicator_version, source FROM sigsync.automated_signals"
                                " WHERE indicator_version LIKE %s ORDER BY id", (f"t-{tag}-{source}-%",)).fetchall()
            valid = [i for i in range(per_source) if i % 20 != 7]
            assert [r[1] for r in rows] == [f"t-{tag}-{source}-{i}" for i in valid]  # once each, in arrival order
            assert {r[2] for r in rows} == {source}
            rejected = conn.execute("SELECT payload, error_code, source FROM sigsync.rejected_events"
                                    " WHERE payload LIKE %s ORDER BY id", (f"not json {tag}-{source}-%",)).fetchall()
            assert rejected == [(f"not json {tag}-{source}-{i}", "invalid_json", source)
                                for i in range(per_source) if i % 20 == 7]


def old_format_record(received_at: float, token_id: int, source: str, body: bytes) -> bytes:
    """A record as the unreleased first format wrote it (b"SGS1", length, CRC-32): checked by its CRC alone."""
    payload = struct.pack(">QqH", int(received_at * 1e6), token_id, len(source)) + source.encode() + body
    return struct.pack(">4sII", b"SGS1", len(payload), zlib.crc32(payload)) + payload


def test_a_body_holding_whole_records_never_replays_them_after_a_torn_write(database, spool_dir):
    """A token holder sends a body that holds whole records (another source, a time of their
    choosing); a crash cuts the body's own record short. The reader looks for the next record
    inside the body: what it finds there must not verify."""
    url = database.url()
    token = create_token(url)
    tag = run_id()
    forged_body = heartbeat(f"{tag}-forged").encode()
    inner = (old_format_record(978307200.0, 1, "forged-source", forged_body)  # 2001-01-01
             + Record(978307200.0, 1, "forged-source", forged_body).encode(bytes(32))  # a key's guess
             + MAGIC + b"\x00\x00")
    body = b'{"note": "' + inner + b'", "padding": "' + b"p" * 64 + b'"}'
    serve = Serve(url, spool_dir=spool_dir)
    try:
        assert serve.post(token, heartbeat(f"{tag}-before")).status_code == 200
        crash(database)
        assert serve.post(token, heartbeat(f"{tag}-whole")).status_code == 202
        assert serve.post(token, body).status_code == 202
        serve.proc.send_signal(signal.SIGKILL)
        serve.proc.wait(timeout=10)
    finally:
        serve.kill()
    segment = sorted(spool_dir.glob("*.spool"))[-1]  # (the body's record is the last one written)
    data = segment.read_bytes()
    segment.write_bytes(data[:-40])  # the crash: the body's record without its last 40 bytes (its tag and more)
    assert data.find(inner) < len(data) - 40

    database.start()
    with serving(url, spool_dir=spool_dir) as again:
        again.wait_spool_empty(timeout=30)
        assert events_with(url, f"{tag}-whole") != []
        assert events_with(url, f"{tag}-forged") == []
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM sigsync.automated_signals WHERE source = 'forged-source'"
                                " OR received_at < '2002-01-01'").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM sigsync.rejected_events WHERE payload LIKE %s"
                                " OR source = 'forged-source'", (f"%{tag}-forged%",)).fetchone() == (0,)
        assert any("not a whole record" in line and "crash" in line for line in again.stderr), again.stderr
    (torn,) = (spool_dir / TORN_DIR).glob("*.torn")
    assert inner in torn.read_bytes()  # set aside whole, records inside it included
