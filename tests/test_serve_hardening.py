"""`sigsync serve` against what a client, a proxy or a changed setting can do (DESIGN §14),
a real serve over real HTTP on a real cluster: a client that gives up mid-body is one log line
(499) and nothing stored; a slash after the token is a logged 404, never a redirect; a request
with both Content-Length and Transfer-Encoding is refused; a lowered max_payloads_per_call
splits a batch instead of refusing bodies that a smaller call takes."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid

import httpx
import psycopg
import pytest

from test_serve_helpers import create_token, events_with, heartbeat, serving


@pytest.fixture(scope="module")
def server(module_db):
    token = create_token(module_db, "indicator", "hardening")
    with serving(module_db) as serve:
        serve.token = token
        yield serve


def marker() -> str:
    return uuid.uuid4().hex[:12]


def count_rows(dsn: str) -> tuple[int, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT (SELECT count(*) FROM sigsync.automated_signals),"
                            " (SELECT count(*) FROM sigsync.rejected_events)").fetchone()


def metric(serve, name: str) -> float:
    for line in serve.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(5)
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def test_a_client_that_gives_up_mid_body_is_one_log_line_499_counted_and_nothing_stored(server, module_db):
    before = count_rows(module_db)
    start_out, start_err = len(server.stdout), len(server.stderr)
    answers = metric(server, 'sigsync_webhook_requests_total{answer="499"}')
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(f"POST /webhook/{server.token} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n".encode()
                     + b'{"type": "H')  # 11 of 1000 bytes, then TradingView gives up
    line = server.wait_line("stdout", lambda l: "POST /webhook/" in l and " 499 " in l, start=start_out)
    assert "result=client closed" in line and "11B" in line and server.token not in line
    deadline = time.monotonic() + 5
    while metric(server, 'sigsync_webhook_requests_total{answer="499"}') != answers + 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    errors = "\n".join(server.stderr[start_err:])
    assert "Traceback" not in errors and "ClientDisconnect" not in errors and "internal error" not in errors
    assert count_rows(module_db) == before


@pytest.mark.parametrize("suffix", ["/", "%2F", "/more", "%2Fmore"])
def test_a_slash_after_the_token_is_a_logged_404_never_a_redirect(server, module_db, suffix):
    before = count_rows(module_db)
    start = len(server.stdout)
    response = httpx.post(f"{server.url}/webhook/{server.token}{suffix}", content=heartbeat(marker()), timeout=5)
    assert response.status_code == 404 and "location" not in response.headers  # (307 to http://<Host>/...)
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["code"] == "not_found"
    line = server.wait_line("stdout", lambda l: "POST /webhook/" in l and " 404 " in l, start=start)
    assert server.token not in line and server.token not in "\n".join(server.stdout + server.stderr)
    assert count_rows(module_db) == before


def test_no_route_redirects_a_trailing_slash(server):
    for path in ("/healthz/", "/signals/", "/metrics/"):
        response = httpx.get(f"{server.url}{path}", timeout=5)
        assert response.status_code == 404 and "location" not in response.headers, path


def test_content_length_with_transfer_encoding_is_refused_400_and_the_connection_closed(server, module_db):
    before = count_rows(module_db)
    start = len(server.stdout)
    first, smuggled = heartbeat(marker()).encode(), heartbeat(marker()).encode()
    inner = (f"POST /webhook/{server.token} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(smuggled)}\r\n\r\n").encode()
    chunk = first + inner + smuggled  # a proxy reading Content-Length sees a second request in it
    request = (f"POST /webhook/{server.token} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(first)}\r\n"
               f"Transfer-Encoding: chunked\r\n\r\n{len(chunk):x}\r\n").encode() + chunk + b"\r\n0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request)
        answer = read_all(sock)  # one answer, then the connection is closed
    assert answer.startswith(b"HTTP/1.1 400 ") and answer.count(b"HTTP/1.1 ") == 1, answer
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["code"] == "bad_request"
    server.wait_line("stdout", lambda l: "POST /webhook/" in l and " 400 " in l and "code=bad_request" in l,
                     start=start)
    assert count_rows(module_db) == before


def test_a_lowered_max_payloads_per_call_splits_the_batch_and_refuses_nothing_a_smaller_call_takes(db):
    token = create_token(db)
    with serving(db, "--batch-window", "300", "--no-dashboard") as serve:
        with psycopg.connect(db, autocommit=True) as conn:  # serve reads it again within 5 s: not yet
            conn.execute("UPDATE sigsync.settings SET value = '2' WHERE key = 'max_payloads_per_call'")
        markers = [marker() for _ in range(8)]
        answers: dict[str, int] = {}
        go = threading.Barrier(len(markers))

        def send(m: str) -> None:
            with httpx.Client(timeout=10) as client:
                go.wait()  # together: one batch of 8
                answers[m] = client.post(f"{serve.url}/webhook/{token}", content=heartbeat(m)).status_code

        threads = [threading.Thread(target=send, args=(m,)) for m in markers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == {m: 200 for m in markers}
        assert [len(events_with(db, m)) for m in markers] == [1] * len(markers)
        assert any("at most 2 payloads per call" in line for line in serve.stderr), serve.stderr
    with psycopg.connect(db) as conn:  # the calls refused were rolled back: no body kept as rejected
        assert conn.execute("SELECT count(*) FROM sigsync.rejected_events").fetchone() == (0,)
