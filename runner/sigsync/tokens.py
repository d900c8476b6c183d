"""Webhook tokens: `sigsync token create|list|revoke`, and how `sigsync serve` checks them.

A token is 32 random bytes (urlsafe base64) after the prefix "sgs_"; it is the secret part
of the webhook URL (POST /webhook/{token}). Only its SHA-256 is stored, in
sigsync.webhook_tokens; `token create` prints the token once.

serve keeps the active tokens (id, source, SHA-256) in memory, read through
sigsync.webhook_refresh() at start, every REFRESH_SECONDS and at once on NOTIFY
sigsync_webhook_tokens (sent when a token is created or revoked), so a request is checked
without a round trip, and still while the database is away. A presented token is hashed and
compared with every active hash with hmac.compare_digest (constant time, no early exit).
The last list is also written to the spool directory (tokens.json, mode 0600: hashes only),
so that a serve started while the database is down can still tell a real token from a
wrong one, and spool the former. Each refresh also records the last use of the tokens that
served requests since the previous one (webhook_tokens.last_used_at).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import click
import psycopg

from sigsync.app import App, pass_app
from sigsync.errors import SigsyncError
from sigsync.output import format_table

PREFIX = "sgs_"
PRESENTED = re.compile(r"[A-Za-z0-9_-]{16,128}")  # what a token in a URL may look like at all
CHANNEL = "sigsync_webhook_tokens"
REFRESH_SECONDS = 5.0
BACKOFF_MAX = 5.0
SNAPSHOT = "tokens.json"
NOT_MIGRATED = (psycopg.errors.UndefinedFunction, psycopg.errors.InvalidSchemaName, psycopg.errors.UndefinedTable)


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def fingerprint(token: str) -> str:
    """A short, irreversible name for a presented token, for logs (never the token)."""
    return token_hash(token)[:8]


@dataclass(frozen=True)
class Token:
    id: int
    source: str
    digest: bytes  # SHA-256


class TokenSet:
    """The active tokens, checked in constant time."""

    def __init__(self, tokens: list[Token] | None = None, loaded: bool = False):
        self.tokens = tokens or []
        self.loaded = loaded  # False until a list came from the database or a snapshot

    @classmethod
    def from_rows(cls, rows: list[dict]) -> TokenSet:
        return cls([Token(int(r["id"]), str(r["source"]), bytes.fromhex(r["token_hash"])) for r in rows], True)

    def rows(self) -> list[dict]:
        return [{"id": t.id, "source": t.source, "token_hash": t.digest.hex()} for t in self.tokens]

    def verify(self, presented: str) -> Token | None:
        if not PRESENTED.fullmatch(presented):
            return None
        digest = hashlib.sha256(presented.encode("ascii")).digest()
        found = None
        for token in self.tokens:  # every hash compared, whichever matches
            if hmac.compare_digest(digest, token.digest):
                found = token
        return found

    def __len__(self) -> int:
        return len(self.tokens)


def load_snapshot(path: Path) -> TokenSet:
    try:
        return TokenSet.from_rows(json.loads(path.read_text())["tokens"])
    except (OSError, ValueError, KeyError, TypeError):
        return TokenSet()


def save_snapshot(path: Path, tokens: TokenSet) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"tokens": tokens.rows()}, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


class TokenRefresher:
    """serve's view of sigsync.webhook_refresh(): the active tokens and the ingest limits.

    One task on its own connection: LISTEN sigsync_webhook_tokens, refresh, wait for a
    notification or REFRESH_SECONDS, refresh again; reconnects with backoff when the database
    goes away (keeping the last list).
    """

    def __init__(self, dsn: str, connect_kwargs: dict, snapshot: Path, note: Callable[[str, str], None]):
        self.dsn = dsn
        self.connect_kwargs = connect_kwargs
        self.snapshot = snapshot
        self.note = note
        self.tokens = load_snapshot(snapshot)
        self.max_payload_bytes = 65536
        self.max_payloads_per_call = 10000
        self.state = "connecting"  # ok | unavailable | not migrated: ... | connecting
        self.used: set[int] = set()
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._first = asyncio.Event()  # set after the first attempt, successful or not
        self._closing = False
        self._conn: psycopg.AsyncConnection | None = None
        if self.tokens.loaded:
            note(f"{len(self.tokens)} webhook tokens known from {snapshot} until the database answers", "info")

    async def start(self, wait: float) -> None:
        """Start, and wait up to `wait` seconds for the first answer of the database (or its absence)."""
        self._task = asyncio.create_task(self._run(), name="sigsync-tokens")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._first.wait(), timeout=wait)

    def wake(self) -> None:
        self._wake.set()

    async def close(self) -> None:
        """Stop, recording the last uses first when the database is there (briefly)."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=1.0)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pass
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()

    async def _run(self) -> None:
        delay = 0.25
        reported = None
        while True:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True, **self.connect_kwargs)
                    await self._conn.execute(f"LISTEN {CHANNEL}")
                await self._refresh()
                self._first.set()
                if reported and reported != "ok":
                    self.note("database available again: webhook tokens read", "info")
                reported, delay = "ok", 0.25
                if self._closing:
                    return
                await self._wait()
            except psycopg.Error as exc:
                if self._conn is not None:
                    with contextlib.suppress(Exception):
                        await self._conn.close()
                self._conn = None
                text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                self.state = (f"not migrated: {text}" if isinstance(exc, NOT_MIGRATED) else "unavailable")
                if reported != self.state and not self._closing:
                    self.note(f"cannot read the webhook tokens ({text}); keeping the last known "
                              f"{len(self.tokens)}" if self.tokens.loaded else
                              f"cannot read the webhook tokens ({text}); requests are answered 503 until it can",
                              "warning")
                    reported = self.state
                self._first.set()
                if self._closing:
                    return
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
                self._wake.clear()
                delay = min(delay * 2, BACKOFF_MAX)

    async def _refresh(self) -> None:
        used, self.used = sorted(self.used), set()
        try:
            cur = await self._conn.execute("SELECT sigsync.webhook_refresh(%s::bigint[])", (used,))
            (config,) = await cur.fetchone()
        except BaseException:
            self.used.update(used)  # recorded next time
            raise
        fresh = TokenSet.from_rows(config["tokens"])
        self.max_payload_bytes = int(config["max_payload_bytes"])
        self.max_payloads_per_call = int(config["max_payloads_per_call"])
        changed = fresh.rows() != self.tokens.rows() or not self.tokens.loaded
        self.tokens = fresh
        self.state = "ok"
        if changed:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(save_snapshot, self.snapshot, fresh)

    async def _wait(self) -> None:
        """Until a notification, a wake() or REFRESH_SECONDS."""
        self._wake.clear()
        notified = asyncio.ensure_future(self._next_notify())
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            done, _ = await asyncio.wait({notified, woken}, timeout=REFRESH_SECONDS,
                                         return_when=asyncio.FIRST_COMPLETED)
            if notified in done:
                notified.result()  # a lost connection raises here
        finally:
            for task in (notified, woken):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, psycopg.Error):
                        await task

    async def _next_notify(self) -> None:
        async for _ in self._conn.notifies(stop_after=1):
            return


# -- sigsync token ------------------------------------------------------------------------------

LIST_COLUMNS = ["id", "source", "label", "created_at", "last_used_at", "revoked_at"]


def _missing(exc: psycopg.Error) -> SigsyncError:
    return SigsyncError("sigsync.webhook_tokens is missing: run `sigsync migrate` first")


@click.group("token")
def token_group():
    """Webhook tokens of `sigsync serve` (POST /webhook/{token}).

    A token is shown once, when it is created; sigsync keeps only its SHA-256. The token's
    source becomes the `source` of the payloads sent with it; a payload naming another source
    is rejected (source_mismatch). Revoked tokens are kept (with revoked_at) and open nothing;
    a running serve hears a change at once. Needs a role with sigsync_admin (or the owner).
    """


@token_group.command("create")
@click.option("--source", required=True, metavar="NAME",
              help="The source of the payloads sent with this token (e.g. indicator; 1-64 characters).")
@click.option("--label", metavar="TEXT", help="Where the token is used (an alert, a chart; up to 200 characters).")
@pass_app
def token_create(app: App, source: str, label: str | None):
    """Create a token and print it (once: on stdout, alone; the rest goes to stderr, without it).

    Put it in the webhook URL: https://YOUR-HOST/webhook/TOKEN. It cannot be shown again.
    """
    token = new_token()
    with app.connect() as conn:
        try:
            (token_id,) = conn.execute(
                "INSERT INTO sigsync.webhook_tokens (source, label, token_hash) VALUES (%s, %s, %s) RETURNING id",
                (source, label, token_hash(token))).fetchone()
        except NOT_MIGRATED as exc:
            raise _missing(exc) from None
        except psycopg.errors.CheckViolation:
            raise SigsyncError("--source must be 1-64 characters without surrounding spaces or control characters, "
                               "--label at most 200 characters without control characters") from None
    click.echo(token)
    # (the token itself only on stdout: `TOKEN=$(sigsync token create ...)` in a unit must not
    # put it in the journal through stderr)
    click.echo(f"token {token_id} created for source {source!r}. It is shown only this once, on stdout (sigsync "
               "keeps its SHA-256); the webhook URL is https://YOUR-HOST/webhook/TOKEN", err=True)


@token_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--all", "show_all", is_flag=True, help="Include revoked tokens.")
@pass_app
def token_list(app: App, as_json: bool, show_all: bool):
    """List the tokens (never the tokens themselves): id, source, label, created, last used, revoked."""
    with app.connect() as conn:
        try:
            rows = conn.execute(f"SELECT {', '.join(LIST_COLUMNS)} FROM sigsync.webhook_tokens"
                                f"{'' if show_all else ' WHERE revoked_at IS NULL'} ORDER BY id").fetchall()
        except NOT_MIGRATED as exc:
            raise _missing(exc) from None
    if as_json:
        click.echo(json.dumps([dict(zip(LIST_COLUMNS, r)) for r in rows], indent=2, default=str))
    elif rows:
        click.echo(format_table(LIST_COLUMNS, [["" if v is None else v for v in r] for r in rows]))
    else:
        click.echo("no tokens (create one with `sigsync token create --source NAME`)")


@token_group.command("revoke")
@click.argument("token_id", type=click.IntRange(min=1), metavar="ID")
@pass_app
def token_revoke(app: App, token_id: int):
    """Revoke a token: requests with it are answered 401 from now on (a running serve hears it at once)."""
    with app.connect() as conn:
        try:
            row = conn.execute("UPDATE sigsync.webhook_tokens SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL"
                               " RETURNING source", (token_id,)).fetchone()
            if row is None:
                found = conn.execute("SELECT revoked_at FROM sigsync.webhook_tokens WHERE id = %s",
                                     (token_id,)).fetchone()
        except NOT_MIGRATED as exc:
            raise _missing(exc) from None
    if row is None:
        if found is None:
            raise SigsyncError(f"no token {token_id} (see `sigsync token list`)")
        click.echo(f"token {token_id} was already revoked at {found[0]}")
        return
    click.echo(f"token {token_id} (source {row[0]!r}) revoked")


COMMANDS = [token_group]
