"""`sigsync serve`: the webhook receiver (DESIGN §14), Starlette under uvicorn.

One process, one asyncio loop (uvloop): the HTTP server (webhook.py), the group-commit
batcher and the spool replayer (batcher.py, spool.py) on a psycopg_pool of async
connections, the webhook tokens (tokens.py) on a connection of their own and, with
--reconcile, the reconcile loop of `sigsync run` (loop.Runner, the same code) in a thread
with its own connections, so an answer never waits on a cycle.

Connections: uvicorn's h11 protocol with a deadline (_Protocol): a request's line and headers
must arrive within --header-timeout of the connection's opening or of the previous answer, else
the connection is closed (also an idle one: connections that send nothing cannot hold the
--max-connections slots).

serve owns the signals: SIGTERM/SIGINT/SIGHUP stop accepting connections, let the requests in
flight finish (each is answered within --answer-timeout plus a spool write), flush the
batcher, stop the reconcile loop (a cycle in flight is cancelled) and exit 0, within 5 s.
Without --dsn the embedded cluster runs for as long as serve does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import click
import uvicorn
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool
from uvicorn.protocols.http.h11_impl import H11Protocol

from sigsync import access, loop
from sigsync.app import App, pass_app
from sigsync.batcher import Batcher
from sigsync.dashboard import Dashboard
from sigsync.errors import SigsyncError
from sigsync.metrics import Metrics
from sigsync.spool import Spool, spool_dir_for
from sigsync.tokens import SNAPSHOT, TokenRefresher
from sigsync.webhook import create_app

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
CONNECT_DEFAULTS = {"connect_timeout": "2", "keepalives_idle": "30", "keepalives_interval": "10",
                    "keepalives_count": "3"}
USED_FLUSH_SECONDS = 5.0
RECONCILE_JOIN_SECONDS = 1.5
# the pool gives up a reconnection attempt (whose waits double from 1 s) after this long; the
# next request for a connection tries again at once: the database is found again within about
# this long of its return, so the spool starts draining (it was up to 8 s with 10)
RECONNECT_TIMEOUT = 2.0


@dataclass
class Options:
    host: str
    port: int
    reconcile: bool
    interval: float
    debounce: float
    log_format: str
    allow: access.AllowList
    trusted: list[str]
    batch_window: float  # seconds
    batch_max: int
    answer_timeout: float
    db_connections: int
    max_connections: int
    dashboard: bool = True
    dashboard_password: str | None = None
    dashboard_token: str | None = None
    dashboard_dsn: str | None = None
    header_timeout: float = 5.0


class ServeLog(loop.Log):
    """Notes on stderr (as `sigsync run`); one line per request on stdout."""

    def request(self, entry: dict) -> None:
        if self.json:
            line = json.dumps({"ts": self._ts(), "kind": "request", **entry}, default=str)
        else:
            token = entry.get("token")
            who = f"[token {token}]" if isinstance(token, int) else f"[{token}]" if token else ""
            extra = " ".join(f"{k}={entry[k]}" for k in ("result", "code", "events") if entry.get(k) is not None)
            line = (f"{entry.get('client') or '-'} {entry['method']} {entry['path']}{who} {entry['status']}"
                    f"{' ' + extra if extra else ''} {entry.get('bytes', 0)}B {entry['ms']}ms")
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class _Protocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for each request's line and headers: from the
    connection's opening, then from each answer; a connection that has not sent them by then
    (nothing at all, or a part) is closed. (uvicorn's own keep-alive timeout starts only after
    an answer and stops at the first byte; nothing bounds the headers' time.) The body's time
    is the application's (webhook.BODY_SECONDS)."""

    header_timeout = 5.0
    on_timeout: Callable[[str], None] = staticmethod(lambda _stage: None)

    def connection_made(self, transport) -> None:
        self._header_timer: asyncio.TimerHandle | None = None
        self._started = False  # bytes of the awaited request came
        super().connection_made(transport)
        self._await_request()

    def _await_request(self) -> None:
        self._cancel_header_timer()
        self._started = False
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def data_received(self, data: bytes) -> None:
        if self._header_timer is not None:
            self._started = True
        super().data_received(data)

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a new request's line and headers are in
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._await_request()  # (a request already buffered cancels it again at once)
        super().on_response_complete()

    def connection_lost(self, exc) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or (self.cycle is not None and not self.cycle.response_complete):
            return  # (a request is being answered: not this timer's business)
        self.on_timeout("headers" if self._started or self.conn.trailing_data[0] else "idle")
        self.transport.close()


def _protocol(header_timeout: float, on_timeout: Callable[[str], None]) -> type[H11Protocol]:
    return type("SigsyncH11Protocol", (_Protocol,),
                {"header_timeout": header_timeout, "on_timeout": staticmethod(on_timeout)})


class _Server(uvicorn.Server):
    def capture_signals(self):  # serve owns the signals (see Service.run)
        return contextlib.nullcontext()


class Service:
    def __init__(self, dsn: str, options: Options, spool: Spool, sock: socket.socket, log: ServeLog):
        self.dsn = dsn
        self.options = options
        self.spool = spool
        self.sock = sock
        self.log = log
        self.allow = options.allow
        self.metrics = Metrics()
        self.metrics.torn.inc(spool.torn_records)
        self.stop_signal: int | None = None
        self._used: set[int] = set()
        self._runner: loop.Runner | None = None
        self._thread: threading.Thread | None = None
        self._reconcile_error: str | None = None
        given = conninfo_to_dict(dsn)
        self.connect_kwargs = {k: v for k, v in CONNECT_DEFAULTS.items() if k not in given}
        if "application_name" not in given:
            self.connect_kwargs["application_name"] = "sigsync serve"
        # set in _main
        self.pool: AsyncConnectionPool | None = None
        self.tokens: TokenRefresher | None = None
        self.batcher: Batcher | None = None
        self.server: _Server | None = None
        self.dashboard: Dashboard | None = None

    # -- what the HTTP side calls ----------------------------------------------------------------

    def note(self, message: str, level: str = "info") -> None:
        self.log.note(message, level)

    def token_used(self, token_id: int) -> None:
        self.tokens.used.add(token_id)

    def answered(self, status: int, seconds: float, entry: dict) -> None:
        self.metrics.answered(status, seconds)
        entry["path"] = "/webhook/"
        entry["status"] = status
        entry["ms"] = round(seconds * 1000, 1)
        self.log.request(entry)

    def _header_timeout(self, stage: str) -> None:
        self.metrics.header_timeouts.labels(stage).inc()

    def reconcile_state(self) -> str:
        if not self.options.reconcile:
            return "off"
        if self._reconcile_error:
            return f"stopped: {self._reconcile_error}"
        return "running" if self._thread is not None and self._thread.is_alive() else "stopped"

    # -- running -----------------------------------------------------------------------------------

    def run(self) -> None:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(self._main())
        if self.stop_signal is not None:
            for s in STOP_SIGNALS:  # repeats are ignored while the embedded cluster stops
                signal.signal(s, signal.SIG_IGN)

    def _on_signal(self, signum: int) -> None:
        if self.stop_signal is not None:
            return
        self.stop_signal = signum
        self.note(f"stopping ({signal.Signals(signum).name}): no new connections, finishing the requests in flight")
        if self.server is not None:
            self.server.should_exit = True
        if self.dashboard is not None:
            self.dashboard.stop()  # its event streams end now, not at the shutdown's timeout
        if self._runner is not None:
            self._runner.stop(signum)

    async def _main(self) -> None:
        loop_ = asyncio.get_running_loop()
        for s in STOP_SIGNALS:
            loop_.add_signal_handler(s, self._on_signal, s)
        o = self.options
        self.pool = AsyncConnectionPool(
            self.dsn, min_size=1, max_size=o.db_connections + 2, open=False, name="sigsync-serve",
            kwargs={"autocommit": True, **self.connect_kwargs}, timeout=o.answer_timeout,
            reconnect_timeout=RECONNECT_TIMEOUT, check=AsyncConnectionPool.check_connection)
        await self.pool.open(wait=False)
        self.tokens = TokenRefresher(self.dsn, self.connect_kwargs, self.spool.directory / SNAPSHOT, self.note)
        await self.tokens.start(wait=3.0)
        self.batcher = Batcher(self.pool, self.spool, self.metrics, window=o.batch_window, max_items=o.batch_max,
                               max_inflight=o.db_connections, answer_timeout=o.answer_timeout,
                               limits=lambda: self.tokens.max_payloads_per_call, note=self.note)
        self.batcher.start()
        if o.dashboard:
            self.dashboard = Dashboard(o.dashboard_dsn or self.dsn, self.connect_kwargs, o.host, o.dashboard_password,
                                       o.dashboard_token, self.note, self.log.request, trusted=o.trusted)
            await self.dashboard.start()
        config = uvicorn.Config(
            create_app(self), http=_protocol(o.header_timeout, self._header_timeout), lifespan="off",
            access_log=False, log_config=None, proxy_headers=bool(o.trusted), forwarded_allow_ips=o.trusted or "",
            server_header=False, limit_concurrency=o.max_connections, timeout_keep_alive=o.header_timeout,
            timeout_graceful_shutdown=o.answer_timeout + 0.5, h11_max_incomplete_event_size=16 * 1024)
        self.server = _Server(config)
        flusher = asyncio.create_task(self._flush_used())
        self._start_reconcile()
        host, port = self.sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        self.note(f"listening on http://{shown}:{port} (POST /webhook/{{token}}; /healthz /readyz /metrics); "
                  f"spool {self.spool.directory}; allow from {o.allow.describe()}"
                  f"{'; X-Forwarded-For from ' + ', '.join(o.trusted) if o.trusted else ''}"
                  f"{'; reconcile loop on' if o.reconcile else ''}"
                  f"{'; dashboard on / and /api/: ' + self.dashboard.auth.describe() if self.dashboard else ''}")
        try:
            if self.stop_signal is None:
                await self.server.serve(sockets=[self.sock])
        finally:
            flusher.cancel()
            if self.dashboard is not None:
                await self.dashboard.close()
            await self.batcher.close()
            await self.tokens.close()
            await self.pool.close(timeout=1.0)
            self._stop_reconcile()
        detail = signal.Signals(self.stop_signal).name if self.stop_signal else "server ended"
        self.note(f"stopped ({detail}); {self.spool.records} bodies wait in the spool" if self.spool.records
                  else f"stopped ({detail})")

    async def _flush_used(self) -> None:
        """Record last_used_at every few seconds even when nothing else makes the refresher run."""
        while True:
            await asyncio.sleep(USED_FLUSH_SECONDS)
            if self.tokens.used:
                self.tokens.wake()

    # -- the reconcile loop (sigsync run's Runner, in a thread) -------------------------------------

    def _start_reconcile(self) -> None:
        o = self.options
        if not o.reconcile:
            return
        self._runner = loop.Runner(self.dsn, o.interval, o.debounce, None, False,
                                   loop.Log(o.log_format, name="sigsync serve: reconcile"),
                                   application_name="sigsync serve reconcile")

        def target() -> None:
            try:
                self._runner.run(own_signals=False)
            except Exception as exc:  # e.g. not migrated: webhooks go on being received
                self._reconcile_error = loop.first_line(exc)
                self.note(f"the reconcile loop stopped: {self._reconcile_error}", "error")

        self._thread = threading.Thread(target=target, name="sigsync-reconcile", daemon=True)
        self._thread.start()

    def _stop_reconcile(self) -> None:
        if self._runner is not None:
            self._runner.stop(self.stop_signal or signal.SIGTERM)
        if self._thread is not None:
            self._thread.join(RECONCILE_JOIN_SECONDS)


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise SigsyncError(f"cannot resolve --host {host}: {exc.strerror}") from None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise SigsyncError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(False)
    return sock


def _allow_option(_ctx, param, value):
    return access.AllowList(access.parse_networks(value, "--allow-from", allow_tradingview=True))


def _trusted_option(_ctx, param, value):
    return [str(n) for n in access.parse_networks(value, "--trusted-proxy", allow_tradingview=False)]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--reconcile", is_flag=True,
              help="Also run the reconcile loop of `sigsync run` in this process (its role needs sigsync_admin).")
@click.option("--interval", type=click.FloatRange(min=0, min_open=True), default=120, show_default=True,
              metavar="SECONDS", help="With --reconcile: seconds between timed cycles.")
@click.option("--debounce", type=click.FloatRange(min=0), default=0.2, show_default=True, metavar="SECONDS",
              help="With --reconcile: wait this long after new events before the cycle.")
@click.option("--allow-from", "allow", multiple=True, callback=_allow_option, metavar="CIDR|tradingview",
              help="Accept webhooks only from these addresses (repeatable, or comma-separated); `tradingview` "
                   "is TradingView's four addresses. Default: from anyone.")
@click.option("--trusted-proxy", "trusted", multiple=True, callback=_trusted_option, metavar="CIDR",
              help="Believe X-Forwarded-For only from these proxy addresses (repeatable); without it the header "
                   "is ignored.")
@click.option("--batch-window", type=click.FloatRange(min=0, max=1000), default=2.0, show_default=True,
              metavar="MS", help="Group commit: a batch starts at most this long after its first request.")
@click.option("--batch-max", type=click.IntRange(1, 1000), default=500, show_default=True, metavar="N",
              help="Group commit: at most N requests per ingest_many call (1: one transaction per request).")
@click.option("--answer-timeout", type=click.FloatRange(min=0.1, max=2.5), default=2.0, show_default=True,
              metavar="SECONDS", help="A request the database has not answered by then is spooled and answered "
                                      "202 (TradingView gives up after 3 s).")
@click.option("--db-connections", type=click.IntRange(1, 64), default=1, show_default=True, metavar="N",
              help="Batches in flight at once (the pool holds two connections more). One is best when the "
                   "requests are about the same signals: concurrent batches wait for each other's row locks.")
@click.option("--max-connections", type=click.IntRange(1, 100_000), default=1024, show_default=True, metavar="N",
              help="Concurrent HTTP connections and requests; past it, 503.")
@click.option("--header-timeout", type=click.FloatRange(min=0.1, max=60), default=5.0, show_default=True,
              metavar="SECONDS", help="A connection must send a request's line and headers within this long of its "
                                      "opening or of the previous answer, else it is closed (idle ones too).")
@click.option("--spool-dir", envvar="SIGSYNC_SPOOL_DIR", type=click.Path(file_okay=False, path_type=Path),
              help="Where bodies wait while the database is away [env SIGSYNC_SPOOL_DIR; default: the data "
                   "directory's spool/, also with --dsn].")
@click.option("--spool-max-mb", type=click.IntRange(min=1), default=1024, show_default=True, metavar="MB",
              help="Past this many MB of waiting bodies, requests are answered 503 (TradingView resends).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="One line per request on stdout (and per cycle with --reconcile); notes on stderr.")
@click.option("--dashboard-password", envvar="SIGSYNC_DASHBOARD_PASSWORD", metavar="PASSWORD",
              help="Password of the dashboard's login form [env SIGSYNC_DASHBOARD_PASSWORD, better than the command "
                   "line]. Required (or --dashboard-token) to open the dashboard when --host is not a loopback address.")
@click.option("--dashboard-token", envvar="SIGSYNC_DASHBOARD_TOKEN", metavar="TOKEN",
              help="A token for scripts reading /api/... (Authorization: Bearer TOKEN; the login form takes it too) "
                   "[env SIGSYNC_DASHBOARD_TOKEN]. Webhook tokens never open the dashboard.")
@click.option("--dashboard-dsn", envvar="SIGSYNC_DASHBOARD_DSN", metavar="URL",
              help="Connection string for the dashboard's reads (a role with sigsync_reader) [env SIGSYNC_DASHBOARD_DSN; "
                   "default: the same as --dsn]. Either way it reads as sigsync_reader, through the views only.")
@click.option("--no-dashboard", "no_dashboard", is_flag=True,
              help="Serve the webhook and /healthz /readyz /metrics only: no dashboard, no /api/.")
@pass_app
def serve_cmd(app: App, host: str, port: int, reconcile: bool, interval: float, debounce: float,
              allow: access.AllowList, trusted: list[str], batch_window: float, batch_max: int,
              answer_timeout: float, db_connections: int, max_connections: int, header_timeout: float,
              spool_dir: Path | None, spool_max_mb: int, log_format: str, dashboard_password: str | None = None,
              dashboard_token: str | None = None, dashboard_dsn: str | None = None, no_dashboard: bool = False):
    """Receive TradingView webhooks: POST /webhook/{token} stores the body through ingest_many.

    Answers 200 (stored: accepted or duplicate), 422 (rejected, kept in rejected_events),
    202 (the database is away: written to the spool, replayed when it returns), 401 (unknown
    or revoked token, nothing stored), 413 (over max_payload_bytes), 503 (could not be kept:
    TradingView sends it again). Concurrent requests share one ingest_many call (group
    commit). Also GET /healthz, /readyz, /metrics, and the dashboard (/, /signals, ...; JSON under
    /api/), which requires a login (--dashboard-password) unless bound to a loopback address.
    Put it behind a TLS proxy on port 443 for TradingView (see the README). Without --dsn, the
    embedded cluster runs for as long as serve. SIGTERM: stops accepting, finishes the
    requests in flight, exits 0.
    """
    log = ServeLog(log_format, name="sigsync serve")
    options = Options(host, port, reconcile, interval, debounce, log_format, allow, trusted, batch_window / 1000,
                      batch_max, answer_timeout, db_connections, max_connections, not no_dashboard,
                      dashboard_password or None, dashboard_token or None, dashboard_dsn or None,
                      header_timeout=header_timeout)
    spool = Spool(spool_dir_for(app.data_dir, spool_dir), spool_max_mb * 1024 * 1024, report=lambda m: log.note(m, "warning"))
    spool.open()
    try:
        sock = _bind(host, port)
        try:
            with app.database() as dsn:
                Service(dsn, options, spool, sock, log).run()
        finally:
            sock.close()
    finally:
        spool.close()


COMMANDS = [serve_cmd]
