"""`sigsync serve` as a real uvicorn process on a real cluster, over real HTTP (httpx): every
answer of POST /webhook/{token} (DESIGN §14), each with what is stored afterwards; the
token rules; --allow-from and --trusted-proxy; /healthz, /readyz, /metrics; least privilege.
"""

from __future__ import annotations

import json
import socket
import time
import uuid

import httpx
import psycopg
import pytest
from psycopg import sql

from sigsync.tokens import token_hash
from support import sigsync
from test_serve_helpers import create_token, events_with, heartbeat, rejected_with, serving

ENTRY = {"event_type": "ENTRY", "trade_id": "20251212_104200000_BULLISH", "entry_price": 25680.0,
         "stop_loss": 25645.0, "timestamp": 1765554300000}


@pytest.fixture(scope="module")
def server(module_db):
    token = create_token(module_db, "indicator", "answers")
    other = create_token(module_db, "backup-chart")
    with serving(module_db) as serve:
        serve.token, serve.other = token, other
        yield serve


def marker() -> str:
    return uuid.uuid4().hex[:12]


def assert_no_internals(response: httpx.Response) -> None:
    text = response.text
    for leak in ("Traceback", "File \"", "SELECT", "sigsync.", "psycopg", "line "):
        assert leak not in text, (response.status_code, text)


# -- 200 -----------------------------------------------------------------------------------------


def test_an_accepted_event_is_answered_200_with_its_ids_and_stored(server, module_db):
    m = marker()
    response = server.post(server.token, json.dumps({**ENTRY, "note": m}), headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "accepted" and len(answer["event_ids"]) == 1
    stored = events_with(module_db, m)
    assert [row[0] for row in stored] == answer["event_ids"]
    assert stored[0][1] == "ENTRY" and stored[0][2] == "indicator"  # the token's source


def test_a_resent_body_is_answered_200_duplicate_with_the_stored_id(server, module_db):
    body = heartbeat(marker(), timestamp=1765554300000)  # (a report without one is as of its receipt: a new one)
    first = server.post(server.token, body).json()
    again = server.post(server.token, body)
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "event_ids": first["event_ids"]}
    assert len(events_with(module_db, json.loads(body)["indicator_version"])) == 1


def test_a_text_plain_body_is_stored_exactly_as_received(server, module_db):
    m = marker()
    body = '{"type":"HEARTBEAT",   "tracked_signals":2,"indicator_version":"%s"}' % m  # odd spacing, kept
    response = server.post(server.token, body, headers={"Content-Type": "text/plain; charset=utf-8"})
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert len(events_with(module_db, m)) == 1


def test_a_batch_of_mfe_updates_is_one_request_and_many_events(server, module_db):
    m = marker()
    body = {"event_type": "MFE_UPDATE_BATCH", "timestamp": 1765554420000, "note": m, "updates": [
        {"trade_id": "20251212_104200000_BULLISH", "be_mfe": 0.5, "no_be_mfe": 0.5},
        {"trade_id": "20251212_111000000_BEARISH", "be_mfe": 0.2, "no_be_mfe": 0.3}]}
    response = server.post(server.token, json.dumps(body))
    assert response.status_code == 200 and len(response.json()["event_ids"]) == 2


def test_the_token_source_fills_a_payload_without_one_and_the_same_source_is_accepted(server, module_db):
    m1, m2 = marker(), marker()
    assert server.post(server.other, heartbeat(m1)).status_code == 200
    assert server.post(server.other, heartbeat(m2, source="backup-chart")).status_code == 200
    assert [row[2] for row in events_with(module_db, m1) + events_with(module_db, m2)] == ["backup-chart"] * 2


# -- 422 -----------------------------------------------------------------------------------------


def test_invalid_json_is_answered_422_and_kept_as_received(server, module_db):
    m = marker()
    body = f"ENTRY NQ1! at 25680 {m}"  # what a misconfigured alert sends (text/plain)
    response = server.post(server.token, body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 422
    assert response.json()["status"] == "rejected" and response.json()["code"] == "invalid_json"
    assert_no_internals(response)
    assert rejected_with(module_db, m) == [("invalid_json", "indicator", body, None)]
    assert events_with(module_db, m) == []


def test_a_payload_naming_another_source_is_rejected_source_mismatch(server, module_db):
    m = marker()
    response = server.post(server.token, heartbeat(m, source="someone-else"))
    assert response.status_code == 422 and response.json()["code"] == "source_mismatch"
    assert events_with(module_db, m) == []
    assert [row[0] for row in rejected_with(module_db, m)] == ["source_mismatch"]


def test_a_body_that_is_not_utf8_is_rejected_and_kept_as_bytes(server, module_db):
    m = marker()
    body = b'{"type":"HEARTBEAT","indicator_version":"' + m.encode() + b'\xff\xfe"}'
    response = server.post(server.token, body)
    assert response.status_code == 422 and response.json()["code"] == "invalid_encoding"
    rows = rejected_with(module_db, m)
    assert [(code, bytes(raw)) for code, _source, _payload, raw in rows] == [("invalid_encoding", body)]


# -- 401, 403, 413, and the rest -------------------------------------------------------------------


def count_rows(dsn: str) -> tuple[int, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT (SELECT count(*) FROM sigsync.automated_signals),"
                            " (SELECT count(*) FROM sigsync.rejected_events)").fetchone()


@pytest.mark.parametrize("token", ["sgs_" + "A" * 43, "short", "a" * 200, "%00%2e%2e", "sgs_../../etc"])
def test_an_unknown_token_is_401_and_nothing_is_stored(server, module_db, token):
    before = count_rows(module_db)
    response = server.post(token, heartbeat(marker()))
    assert response.status_code in (401, 404), response.text  # a token with "/" is no webhook route at all
    if response.status_code == 401:
        assert response.json()["code"] == "unauthorized"
    assert_no_internals(response)
    assert count_rows(module_db) == before  # no event, no rejected body: the body is not even read
    assert not any(token in line for line in server.stdout + server.stderr)  # never logged


def test_a_revoked_token_is_refused_at_once_and_its_bodies_are_not_stored(server, module_db):
    token = create_token(module_db, "indicator", "to revoke")
    assert server.post(token, heartbeat(marker())).status_code == 200
    with psycopg.connect(module_db) as conn:
        (token_id,) = conn.execute("SELECT id FROM sigsync.webhook_tokens WHERE token_hash = %s",
                                   (token_hash(token),)).fetchone()
    assert sigsync("--dsn", module_db, "token", "revoke", str(token_id)).returncode == 0
    deadline = time.monotonic() + 3  # NOTIFY sigsync_webhook_tokens: serve re-reads the tokens at once
    while server.post(token, heartbeat(marker())).status_code != 401:
        assert time.monotonic() < deadline, "a revoked token still opens the webhook"
        time.sleep(0.05)
    before = count_rows(module_db)
    m = marker()
    assert server.post(token, heartbeat(m)).status_code == 401
    assert count_rows(module_db) == before and events_with(module_db, m) == []


def test_a_body_over_max_payload_bytes_is_413_and_not_read_further(server, module_db):
    before = count_rows(module_db)
    big = heartbeat(marker(), padding="x" * 70_000)
    response = server.post(server.token, big)
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"

    def trickle():  # chunked, no Content-Length: cut as soon as it passes the limit
        for _ in range(100):
            yield b"x" * 4096

    response = httpx.post(f"{server.url}/webhook/{server.token}", content=trickle(), timeout=10)
    assert response.status_code == 413
    assert count_rows(module_db) == before


def test_other_routes_and_methods_answer_json_without_internals(server):
    for response in (server.get(f"/webhook/{server.token}"), server.get("/nowhere"),
                     httpx.post(f"{server.url}/webhook/", timeout=5)):
        assert response.status_code in (404, 405), response.text
        assert response.headers["content-type"].startswith("application/json")
        assert_no_internals(response)


@pytest.mark.parametrize("pieces", [1, 40], ids=["at once", "trickled"])
def test_oversized_headers_are_refused_and_nothing_is_stored(server, module_db, pieces):
    before = count_rows(module_db)
    head = (b"POST /webhook/" + server.token.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000
            + b"\r\nContent-Length: 2\r\n\r\n{}")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        step = len(head) // pieces + 1
        try:
            for i in range(0, len(head), step):
                sock.sendall(head[i:i + step])
                time.sleep(0.01 if pieces > 1 else 0)
        except OSError:
            pass  # the server may close the connection before it is all sent
        answer = sock.recv(4096)
    assert answer == b"" or answer.split(b" ", 2)[1] in (b"400", b"431"), answer[:200]
    assert count_rows(module_db) == before


# -- monitoring ------------------------------------------------------------------------------------


def test_healthz_readyz_and_metrics(server):
    assert server.get("/healthz").json() == {"status": "ok"}
    ready = server.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["database"] == "ok" and body["tokens"] >= 2
    assert body["spool"] == {"records": 0, "bytes": 0, "torn_records": 0} and body["reconcile"] == "off"
    metrics = server.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    for name in ('sigsync_webhook_requests_total{answer="200"}', "sigsync_webhook_answer_seconds_bucket",
                 "sigsync_webhook_batch_size_bucket", "sigsync_spool_records 0.0",
                 'sigsync_ingest_results_total{status="accepted"}', 'sigsync_open_gaps{gap_type="no_session"}',
                 "sigsync_database_up 1.0"):
        assert name in text, name


def test_one_log_line_per_request_never_with_the_token(server):
    m = marker()
    start = len(server.stdout)
    server.post(server.token, heartbeat(m))
    line = server.wait_line("stdout", lambda l: "POST /webhook/" in l, start=start)
    assert " 200 " in line and "result=accepted" in line
    assert server.token not in "\n".join(server.stdout + server.stderr)


def test_last_used_at_is_recorded(server, module_db):
    token = create_token(module_db, "indicator", "usage")
    assert server.post(token, heartbeat(marker())).status_code == 200
    deadline = time.monotonic() + 10
    with psycopg.connect(module_db, autocommit=True) as conn:
        while conn.execute("SELECT last_used_at FROM sigsync.webhook_tokens WHERE token_hash = %s",
                           (token_hash(token),)).fetchone()[0] is None:
            assert time.monotonic() < deadline, "last_used_at not recorded"
            time.sleep(0.1)


# -- --allow-from and --trusted-proxy --------------------------------------------------------------


def test_allow_from_refuses_other_addresses_and_believes_x_forwarded_for_only_from_a_trusted_proxy(module_db):
    token = create_token(module_db)
    ok, spoofed = {"X-Forwarded-For": "52.89.214.238"}, {"X-Forwarded-For": "198.51.100.7"}
    with serving(module_db, "--allow-from", "tradingview") as serve:  # no trusted proxy: the header is ignored
        response = serve.post(token, heartbeat(marker()), headers=ok)
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
    with serving(module_db, "--allow-from", "tradingview,192.0.2.0/24", "--trusted-proxy", "127.0.0.1") as serve:
        m = marker()
        assert serve.post(token, heartbeat(m), headers=ok).status_code == 200
        assert serve.post(token, heartbeat(marker()), headers=spoofed).status_code == 403
        # a client cannot prepend a TradingView address: the proxy's own entry (the right-most) counts
        assert serve.post(token, heartbeat(marker()),
                          headers={"X-Forwarded-For": "52.89.214.238, 198.51.100.7"}).status_code == 403
        assert len(events_with(module_db, m)) == 1


def test_a_bad_allow_from_is_a_clean_usage_error():
    result = sigsync("serve", "--allow-from", "tradingview,not-an-address")
    assert result.returncode == 2 and "not-an-address" in result.stderr and "Traceback" not in result.stderr


# -- least privilege ---------------------------------------------------------------------------------


@pytest.mark.parametrize("roles", [("sigsync_ingest",), ("sigsync_ingest", "sigsync_reader")])
def test_serve_works_with_a_role_that_only_has_sigsync_ingest(module_db, cluster, roles):
    name = f"webhook_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(module_db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(
            sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, roles))))
        dbname = conn.info.dbname
    dsn = cluster.url(dbname).replace(f"{cluster.superuser}@", f"{name}@")
    token = create_token(module_db)
    try:
        with serving(dsn) as serve:
            m = marker()
            assert serve.post(token, heartbeat(m)).status_code == 200
            assert serve.post(token, "not json " + m).status_code == 422
            assert serve.ready()["status"] == "ready"
            metrics = serve.get("/metrics").text
            assert ("sigsync_mean_health" in metrics or "sigsync_open_gaps{" in metrics) == ("sigsync_reader" in roles)
            assert "Traceback" not in "\n".join(serve.stderr)
        assert len(events_with(module_db, m)) == 1
    finally:
        with psycopg.connect(module_db, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
