"""The HTTP side of `sigsync serve`: a Starlette application (DESIGN §14).

    POST /webhook/{token}   a TradingView alert: the body, as received, to ingest_many
    GET  /healthz           the process is up
    GET  /readyz            database reachable, schema migrated, spool depth (503 when not ready)
    GET  /metrics           Prometheus text format
    GET  /, /signals, /api/...  the dashboard and read API (sigsync.dashboard), unless --no-dashboard

Answers of POST /webhook/{token} (each a small JSON object; never a stack trace nor SQL):

    200 {"status": "accepted"|"duplicate", "event_ids": [...]}    stored
    422 {"status": "rejected", "code": ..., "message": ...}         rejected, kept in rejected_events
    202 {"status": "spooled"}                                         the database is away; fsync'd to the spool
    400 {"code": "bad_request", ...} + Connection: close             both Content-Length and Transfer-Encoding
    401 {"code": "unauthorized", ...}                                 unknown or revoked token; nothing stored
    403 {"code": "forbidden", ...}                                    the client is not in --allow-from
    404 {"code": "not_found", ...}                                    /webhook/TOKEN/..., /webhook/TOKEN%2F...
    408 {"code": "timeout", ...}                                      the body took longer than BODY_SECONDS
    431 {"code": "headers_too_large", ...}                            headers over MAX_HEADER_BYTES
    413 {"code": "payload_too_large", ...}                            over max_payload_bytes (read no further)
    499 (logged and counted; nobody reads it)                          the client closed before its body ended
    503 {"code": "unavailable", ...} + Retry-After                    the body could not be kept: send it again

The body is read incrementally and cut as soon as it passes max_payload_bytes (and never
past spool.MAX_BODY, the most the spool can keep); its content type is ignored (TradingView
sends text/plain for a message that is not JSON). The request is never parsed nor rewritten
here: validation is the database's. A request carrying both Content-Length and
Transfer-Encoding is refused on every route (a proxy reading the other one would see another
request in its body), and the connection closed. Slashes are never redirected (Starlette's
redirect names the Host header and the wrong scheme behind TLS).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sigsync.metrics import CONTENT_TYPE
from sigsync.spool import MAX_BODY
from sigsync.tokens import fingerprint

if TYPE_CHECKING:
    from sigsync.serve import Service

BODY_SECONDS = 10.0  # a body that trickles in longer than this is cut (408)
MAX_HEADER_BYTES = 16 * 1024  # the request's headers together (uvicorn bounds what it buffers to this too)
CLIENT_CLOSED = 499  # the client went away before its body ended (nginx's code for it)
READY_SECONDS = 1.0
READY_SQL = ("SELECT to_regprocedure('sigsync.ingest_many(bytea[],text,timestamptz)') IS NOT NULL"
             " AND to_regprocedure('sigsync.webhook_refresh(bigint[])') IS NOT NULL")


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


def create_app(service: Service):
    """The ASGI application of serve: the Starlette routes behind a check of the framing."""
    tokens = service.tokens
    batcher = service.batcher
    allow = service.allow

    def new_entry(scope) -> dict:
        client = scope.get("client")
        return {"method": scope.get("method"), "client": client[0] if client else None, "token": None, "bytes": 0,
                "result": None}

    async def webhook(request: Request) -> Response:
        started = time.perf_counter()
        entry = new_entry(request.scope)
        response = await _webhook(request, entry["client"], request.path_params["token"], entry)
        service.answered(response.status_code, time.perf_counter() - started, entry)
        return response

    async def webhook_elsewhere(request: Request) -> Response:
        """/webhook/TOKEN/ and anything below it: no route (nothing read, the token not logged)."""
        started = time.perf_counter()
        entry = new_entry(request.scope)
        entry["code"] = "not_found"
        response = _error(404, "not_found", "no such route (the webhook URL is /webhook/TOKEN, without a slash after it)")
        service.answered(404, time.perf_counter() - started, entry)
        return response

    async def _webhook(request: Request, client: str | None, presented: str, entry: dict) -> Response:
        if sum(len(name) + len(value) for name, value in request.scope["headers"]) > MAX_HEADER_BYTES:
            return _error(431, "headers_too_large", f"the request headers are over {MAX_HEADER_BYTES} bytes")
        if not allow.allows(client):
            return _error(403, "forbidden", "this address may not send webhooks")
        token = tokens.tokens.verify(presented)
        if token is None:
            entry["token"] = f"unknown {fingerprint(presented)}"
            if not tokens.tokens.loaded:  # cannot tell a real token from a wrong one yet
                return _error(503, "unavailable", "the webhook tokens cannot be read yet; send it again",
                              {"Retry-After": "5"})
            return _error(401, "unauthorized", "unknown or revoked webhook token")
        entry["token"] = token.id
        limit = min(tokens.max_payload_bytes, MAX_BODY)
        too_large = f"the body is over {limit} bytes (max_payload_bytes)"
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            entry["bytes"] = int(length)
            return _error(413, "payload_too_large", too_large)
        body = bytearray()
        try:
            async with asyncio.timeout(BODY_SECONDS):
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > limit:
                        entry["bytes"] = len(body)
                        return _error(413, "payload_too_large", too_large)
        except TimeoutError:
            entry["bytes"] = len(body)
            return _error(408, "timeout", f"the body did not arrive within {BODY_SECONDS:g} s")
        except ClientDisconnect:  # (TradingView giving up after 3 s): nothing stored, nobody to answer
            entry["bytes"] = len(body)
            entry["result"] = "client closed"
            return Response(status_code=CLIENT_CLOSED)
        entry["bytes"] = len(body)
        service.token_used(token.id)
        outcome = await batcher.submit(token, bytes(body))
        entry["result"] = outcome.status
        if outcome.status in ("accepted", "duplicate"):
            entry["events"] = len(outcome.event_ids)
            return JSONResponse({"status": outcome.status, "event_ids": outcome.event_ids})
        if outcome.status == "rejected":
            error = outcome.error or {}
            entry["code"] = error.get("code")
            return JSONResponse({"status": "rejected", "code": error.get("code"), "message": error.get("message")},
                                status_code=422)
        if outcome.status == "spooled":
            return JSONResponse({"status": "spooled"}, status_code=202)
        return _error(503, "unavailable", "the body could not be kept; send it again", {"Retry-After": "5"})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        database = "ok"
        try:
            async with asyncio.timeout(READY_SECONDS):
                async with service.pool.connection(timeout=READY_SECONDS) as conn:
                    cur = await conn.execute(READY_SQL)
                    if not (await cur.fetchone())[0]:
                        database = "not migrated"
        except Exception:  # unreachable, timed out, refused: what matters is that it is not ready
            database = "unavailable"
        if database == "ok" and tokens.state != "ok":
            database = tokens.state  # e.g. "not migrated: ..." when webhook_refresh is missing
        spool = service.spool.describe()
        ready = database == "ok"
        body = {"status": "ready" if ready else "not ready", "database": database, "tokens": len(tokens.tokens),
                "spool": {k: spool[k] for k in ("records", "bytes", "torn_records")},
                "reconcile": service.reconcile_state()}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        figures = service.metrics
        figures.tokens.set(len(tokens.tokens))
        try:
            async with asyncio.timeout(READY_SECONDS):
                async with service.pool.connection(timeout=READY_SECONDS) as conn:
                    await figures.read_database(conn)
        except Exception:  # the database figures are then absent (no reader role, database away)
            figures.database.readable = False
        return Response(figures.render(), headers={"Content-Type": CONTENT_TYPE})

    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error(exc.status_code, "http_error", str(exc.detail), dict(exc.headers or {}))

    async def server_error(request: Request, exc: Exception) -> Response:
        service.note(f"internal error on {request.method} {request.url.path.split('/webhook/')[0]}: "
                     f"{type(exc).__name__}", "error")
        return _error(500, "internal_error", "internal error")

    routes = [
        Route("/webhook/{token}", webhook, methods=["POST"]),
        Route("/webhook/{token}/{rest:path}", webhook_elsewhere,
              methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics, methods=["GET", "HEAD"]),
    ]
    if getattr(service, "dashboard", None) is not None:
        routes += service.dashboard.routes()
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: server_error})
    app.router.redirect_slashes = False

    async def framed(scope, receive, send) -> None:
        """Refuse a request with both Content-Length and Transfer-Encoding (before any route)."""
        if scope["type"] == "http":
            names = {name for name, _value in scope["headers"]}
            if b"content-length" in names and b"transfer-encoding" in names:
                started = time.perf_counter()
                response = _error(400, "bad_request", "a request may not carry both Content-Length and "
                                  "Transfer-Encoding", {"Connection": "close"})
                await response(scope, receive, send)
                if scope["path"].startswith("/webhook/"):
                    entry = new_entry(scope)
                    entry["code"] = "bad_request"
                    service.answered(400, time.perf_counter() - started, entry)
                return
        await app(scope, receive, send)

    return framed

