"""Connections that send nothing, or half a request, cannot hold `sigsync serve` (DESIGN §14):
a request's line and headers must arrive within --header-timeout of the connection's opening
or of the previous answer, else the server closes the connection, so that the slots of
--max-connections come back and webhooks are answered again. (uvicorn's keep-alive timeout
starts only after an answer and stops at the first byte; 1,100 idle connections answered
every webhook 503 for as long as they stayed open.)"""

from __future__ import annotations

import socket
import time
import uuid

from test_serve_helpers import create_token, events_with, heartbeat, serving


def closed_by_the_server(sock: socket.socket, timeout: float = 8) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(4096) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def read_response(sock: socket.socket) -> bytes:
    """One whole HTTP answer (head and a Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(4096)
    return data


def metric(serve, name: str) -> float:
    for line in serve.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def test_idle_and_half_sent_connections_are_closed_and_webhooks_are_answered_again(module_db):
    token = create_token(module_db)
    request = (f"POST /webhook/{token} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{{}}").encode()
    with serving(module_db, "--max-connections", "40", "--header-timeout", "2", "--no-dashboard") as serve:
        held: list[socket.socket] = []
        try:
            kept_alive = socket.create_connection(("127.0.0.1", serve.port), timeout=5)
            held.append(kept_alive)
            kept_alive.sendall(request)  # a whole request is answered, then half of a second one
            assert read_response(kept_alive).startswith(b"HTTP/1.1 422 ")
            kept_alive.sendall(b"POST /webhook/x HTTP/1.1\r\nHo")
            for _ in range(30):  # connections that send nothing
                held.append(socket.create_connection(("127.0.0.1", serve.port)))
            for _ in range(15):  # a request line and half the headers, then nothing
                sock = socket.create_connection(("127.0.0.1", serve.port))
                sock.sendall(f"POST /webhook/{token} HTTP/1.1\r\nHost: x\r\nContent-Le".encode())
                held.append(sock)

            assert serve.post(token, heartbeat(uuid.uuid4().hex)).status_code == 503  # every slot is held

            closed = [closed_by_the_server(sock) for sock in held]  # within the timeout (and well before 8 s)
            assert closed == [True] * len(held)
            m = uuid.uuid4().hex
            assert serve.post(token, heartbeat(m)).status_code == 200
            assert serve.get("/healthz").status_code == 200 and len(events_with(module_db, m)) == 1
            assert metric(serve, 'sigsync_http_header_timeouts_total{stage="idle"}') >= 30
            assert metric(serve, 'sigsync_http_header_timeouts_total{stage="headers"}') >= 16
        finally:
            for sock in held:
                sock.close()


def test_a_request_that_arrives_in_time_is_answered_and_its_connection_kept(module_db):
    token = create_token(module_db)
    with serving(module_db, "--header-timeout", "1", "--no-dashboard") as serve:
        with socket.create_connection(("127.0.0.1", serve.port), timeout=5) as sock:
            for i in range(3):  # each within the timeout of the previous answer: one connection for all
                body = heartbeat(uuid.uuid4().hex).encode()
                head = f"POST /webhook/{token} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                sock.sendall(head[:10])
                time.sleep(0.3)  # slow, but within the timeout
                sock.sendall(head[10:] + body)
                assert read_response(sock).startswith(b"HTTP/1.1 200 "), i
        assert metric(serve, 'sigsync_http_header_timeouts_total{stage="headers"}') == 0


def test_header_timeout_is_an_option_with_a_default():
    from support import sigsync

    result = sigsync("serve", "--help")
    assert "--header-timeout SECONDS" in result.stdout and "[default: 5.0;" in result.stdout
