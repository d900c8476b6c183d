"""Fuzz: hostile payloads never cost anything but their own rejection (issue "trust under
hostile input").

Valid payloads are mutated (fields removed, wrong types, odd numbers, huge and deep bodies,
look-alike letters, times in the future, truncation, invalid UTF-8, NUL bytes, whitespace) and
sent mixed with good ones through ingest_many (text and bytes), ingest, and `sigsync ingest`.
For every run: nothing raises, sent = accepted + duplicate + rejected, every rejected body is
kept (its sha256 in rejected_events), and each good element gets the result it gets alone.
"""

from __future__ import annotations

import hashlib
import json
import random

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import sigsync

TRADE = "20251212_104200000_BULLISH"


def _base(symbol: str) -> list[dict]:
    return [
        {"event_type": "SIGNAL_CREATED", "symbol": symbol, "trade_id": TRADE, "signal_time": "2025-12-12T10:42:00",
         "direction": "Bullish", "session": "NY AM", "htf_alignment": {"daily": "Bullish"}, "signal_price": 25672.5,
         "timestamp": 1765554120000},
        {"event_type": "ENTRY", "symbol": symbol, "trade_id": TRADE, "entry_price": 25680.0, "stop_loss": 25645.0,
         "confirmation_time": "2025-12-12T10:45:00", "bars_to_confirmation": 3, "timestamp": 1765554300000},
        {"event_type": "MFE_UPDATE", "symbol": symbol, "trade_id": TRADE, "be_mfe": 0.4, "no_be_mfe": 0.4,
         "mae_global_r": -0.2, "current_price": 25694, "timestamp": 1765554360000},
        {"event_type": "MFE_UPDATE_BATCH", "symbol": symbol, "timestamp": 1765554420000,
         "updates": [{"trade_id": TRADE, "be_mfe": 1.5, "no_be_mfe": 1.5}, {"trade_id": TRADE, "no_be_mfe": 2.3}]},
        {"event_type": "BE_TRIGGERED", "symbol": symbol, "trade_id": TRADE, "timestamp": 1765554400000},
        {"event_type": "EXIT_SL", "symbol": symbol, "trade_id": TRADE, "exit_price": 25645.0, "final_mfe": 2.3,
         "timestamp": 1765555500000},
        {"event_type": "CANCELLED", "symbol": symbol, "trade_id": "20251212_110000000_BEARISH",
         "cancelled_time": "2025-12-12T11:02:00", "cancel_reason": "opposite_signal_appeared", "bars_pending": 2,
         "cancelled_by": "20251212_110200000_BULLISH"},
        {"type": "HEARTBEAT", "symbol": symbol, "source": symbol.lower(), "tracked_signals": 45,
         "indicator_version": "1.0.0", "timestamp": "2025-12-12T10:00:00"},
        {"type": "SYNC_STATUS", "symbol": symbol, "source": symbol.lower(), "tracking": [TRADE], "not_tracking": []},
    ]


GOOD = [json.dumps(p).encode() for p in _base("GOOD")]
HOSTILE_BASE = _base("HOST")  # mutations start here: they can never equal a good payload
FIELDS = sorted({k for p in HOSTILE_BASE for k in p} | {"updates", "type", "cancelled_by", "tracking"})
ODD_LITERALS = ["1e400", "1e309", "-1e309", "1e-400", "-0", "0.0000000000000000001", "123456789012345678901234567890",
                "1e15", "1e16", "-1", "0", "2147483648", "1.5e3", '"NaN"', '"Infinity"', '"-Infinity"', '"12abc"',
                '"  42  "', '""', "true", "null", "[]", "{}", '"1e400"']
ODD_STRINGS = ["x" * 3000, "bullısh", "bulliſh", "20251212_104200000_bullısh", "20251212_104200000_BULLIſH",
               "20991231_235959999_BULLISH", "99991231_235959999_BEARISH", "２０２５1212_104200000_BULLISH",
               "2099-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "12/12/2025", "", " ", "\u00a0", "\u202e", "NQ1!" * 20,
               "HOST", "'; DROP TABLE sigsync.signals; --", "\\u0000", "%s%n", "😀" * 30]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20) | st.sampled_from(ODD_STRINGS),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10)


@st.composite
def hostile_body(draw) -> bytes:
    payload = dict(draw(st.sampled_from(HOSTILE_BASE)))
    literal = None  # a bare JSON literal to splice in (numbers json.dumps cannot write)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["remove", "value", "literal", "deep", "huge"]))
        key = draw(st.sampled_from(FIELDS))
        if op == "remove":
            payload.pop(key, None)
        elif op == "value":
            payload[key] = draw(json_values)
        elif op == "literal":
            payload[key] = "\x00LITERAL\x00"
            literal = draw(st.sampled_from(ODD_LITERALS))
        elif op == "deep":
            payload[key] = "\x00DEEP\x00"
        else:
            payload["pad"] = "p" * draw(st.sampled_from([1000, 70000]))
    text = json.dumps(payload, ensure_ascii=draw(st.booleans()))
    text = text.replace('"\\u0000LITERAL\\u0000"', literal or "0").replace('"\x00LITERAL\x00"', literal or "0")
    depth = draw(st.sampled_from([15, 17, 5000]))
    text = text.replace('"\\u0000DEEP\\u0000"', "[" * depth + "]" * depth).replace('"\x00DEEP\x00"', "[" * depth + "]" * depth)
    body = text.encode()
    # mostly as is (the database's rules are the point), sometimes broken on the wire
    wire = draw(st.sampled_from(["as is"] * 10 + ["truncate", "invalid utf-8", "nul", "bom", "whitespace", "garbage"]))
    if wire == "truncate":
        body = body[: draw(st.integers(0, max(0, len(body) - 1)))]
    elif wire == "invalid utf-8":
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"])) + body[at:]
    elif wire == "nul":
        at = draw(st.integers(0, len(body)))
        body = body[:at] + b"\x00" + body[at:]
    elif wire == "bom":
        body = b"\xef\xbb\xbf" + body
    elif wire == "whitespace":
        body = draw(st.sampled_from([b" ", b"\t\t", b"\r", b"\xc2\xa0", b"\x0b"]))
    elif wire == "garbage":
        body = draw(st.binary(max_size=200))
    return body


@st.composite
def mixed_calls(draw):
    hostile = draw(st.lists(hostile_body(), min_size=1, max_size=8))
    good = draw(st.lists(st.sampled_from(range(len(GOOD))), unique=True, max_size=len(GOOD)))
    elements = [(b, None) for b in hostile] + [(GOOD[i], i) for i in good]
    order = draw(st.permutations(range(len(elements))))
    return [elements[i] for i in order]


def _alone(conn) -> list[tuple]:
    """Each good payload's (status, error, number of events) when it is ingested alone."""
    results = []
    for body in GOOD:
        with conn.transaction(force_rollback=True):
            status, error, ids = conn.execute("SELECT status, error, event_ids FROM sigsync.ingest_many(%s::bytea[], NULL)",
                                              ([body],)).fetchone()
            results.append((status, error, len(ids)))
    return results


def _check_call(conn, elements, alone, via: str) -> None:
    bodies = [b for b, _ in elements]
    with conn.transaction(force_rollback=True):
        if via == "bytes":
            rows = conn.execute("SELECT idx, status, error, event_ids FROM sigsync.ingest_many(%s::bytea[], NULL)",
                                (bodies,)).fetchall()
        elif via == "text":  # text cannot carry invalid UTF-8 or NUL: those go as bytes, the rest as text
            rows = []
            for i, body in enumerate(bodies, 1):
                try:
                    text = body.decode("utf-8")
                    if "\x00" in text:
                        raise UnicodeDecodeError("utf-8", body, 0, 1, "NUL")
                    row = conn.execute("SELECT sigsync.ingest(%s::text)", (text,)).fetchone()[0]
                except UnicodeDecodeError:
                    row = conn.execute("SELECT to_jsonb(r) - 'idx' FROM sigsync.ingest_many(%s::bytea[], NULL) r",
                                       ([body],)).fetchone()[0]
                rows.append((i, row["status"], row["error"], row["event_ids"]))
        assert [r[0] for r in rows] == list(range(1, len(bodies) + 1)), "one result per element, in order"
        statuses = [r[1] for r in rows]
        assert set(statuses) <= {"accepted", "duplicate", "rejected"}
        assert len(rows) == statuses.count("accepted") + statuses.count("duplicate") + statuses.count("rejected")
        rejected = [hashlib.sha256(b).hexdigest() for (b, _), r in zip(elements, rows) if r[1] == "rejected"]
        kept = [h for (h,) in conn.execute("SELECT payload_sha256 FROM sigsync.rejected_events").fetchall()]
        assert sorted(kept) == sorted(rejected), "every rejected body is kept, and nothing else"
        for (body, good), (_, status, error, ids) in zip(elements, rows):
            if good is not None:
                assert (status, error, len(ids)) == alone[good], f"good payload {good} got another result in the mix"
            if status == "rejected":
                assert error["code"] != "internal_error", f"an unforeseen failure on {body[:200]!r}: {error}"
                assert len(error["message"]) <= 500


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mixed_calls(), st.sampled_from(["bytes", "text"]))
def test_hostile_payloads_cost_only_their_own_rejection(conn, elements, via):
    _check_call(conn, elements, _alone_cache(conn), via)


_ALONE: dict[str, list] = {}


def _alone_cache(conn) -> list:
    key = conn.info.dbname
    if key not in _ALONE:
        _ALONE[key] = _alone(conn)
        assert [s for s, _, _ in _ALONE[key]] == ["accepted"] * len(GOOD)
    return _ALONE[key]


def test_the_check_sees_a_lost_rejection(conn):
    """Guard: a rejected body missing from rejected_events fails the check."""
    conn.execute("CREATE FUNCTION pg_temp.forget() RETURNS trigger LANGUAGE plpgsql AS "
                 "$$ BEGIN RETURN NULL; END $$")
    conn.execute("CREATE TRIGGER forget BEFORE INSERT ON sigsync.rejected_events FOR EACH ROW "
                 "EXECUTE FUNCTION pg_temp.forget()")
    with pytest.raises(AssertionError, match="every rejected body is kept"):
        _check_call(conn, [(b"not json", None)], _alone(conn), "bytes")


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(hostile_body(), min_size=5, max_size=25), st.randoms(use_true_random=False))
def test_sigsync_ingest_keeps_every_line(db, tmp_path_factory, lines, rnd: random.Random):
    """`sigsync ingest` of a file of hostile lines mixed with good ones: every line is
    accounted for (accepted + duplicate + rejected + blank), every rejected line is kept."""
    lines = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines] + GOOD
    rnd.shuffle(lines)
    path = tmp_path_factory.mktemp("fuzz") / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("TRUNCATE sigsync.rejected_events")
        before = conn.execute("SELECT count(*) FROM sigsync.automated_signals").fetchone()[0]
    result = sigsync("--dsn", db, "ingest", path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    counts = dict(part.rsplit(" ", 1) for part in result.stdout.splitlines()[0].split(", "))
    blank = sum(1 for line in lines if not line.strip(b" \t"))
    assert int(counts["accepted"]) + int(counts["duplicate"]) + int(counts["rejected"]) == len(lines) - blank
    assert int(counts.get("blank lines", 0)) == blank
    with psycopg.connect(db, autocommit=True) as conn:
        kept = conn.execute("SELECT count(*) FROM sigsync.rejected_events").fetchone()[0]
        stored = conn.execute("SELECT count(*) FROM sigsync.automated_signals").fetchone()[0] - before
        internal = conn.execute("SELECT count(*) FROM sigsync.rejected_events WHERE error_code = 'internal_error'"
                                ).fetchone()[0]
    assert kept == int(counts["rejected"]) and internal == 0
    assert stored >= int(counts["accepted"])  # a batch is several events
