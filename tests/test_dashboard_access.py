"""The dashboard reads through the views only, as sigsync_reader (DESIGN §15):

- the whole app (`sigsync serve`: webhook, dashboard, API) runs as a login role that has only
  sigsync_reader and sigsync_ingest, and every page and route answers;
- every relation the dashboard's statements name is a view sigsync_reader may read;
- a dashboard connection reads as sigsync_reader even when its DSN is a superuser's: a table
  is out of its reach (so a page that touched one would fail);
- with a role that is not a reader, the dashboard says so (503) and the webhook still works.
"""

from __future__ import annotations

import time

import re
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from dashboard_helpers import demo_db  # noqa: F401 (a fixture)
from sigsync import dashboard, dashboard_data
from test_serve_helpers import create_token, heartbeat, serving

PATHS = ["/", "/signals", "/signals?status=closed&sort=health", "/signals/NQ1%21/20251212_042500000_BULLISH",
         "/cancelled", "/gaps", "/runs", "/rejected", "/api/signals", "/api/signals/NQ1%21/20251212_042500000_BULLISH",
         "/api/cancelled", "/api/gaps", "/api/health", "/api/runs", "/api/rejected", "/all-signals", "/stats-live",
         "/metrics", "/static/app.js"]


@pytest.fixture
def login_role(demo_db):
    """A login role granted exactly the given sigsync roles; dropped afterwards."""
    made = []

    def make(*roles: str) -> str:
        name = f"t_dash_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(demo_db, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
            for role in roles:
                conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(name)))
        made.append(name)
        return make_conninfo(demo_db, user=name)

    yield make
    with psycopg.connect(demo_db, autocommit=True) as conn:
        for name in made:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def test_the_whole_app_runs_as_a_role_with_only_reader_and_ingest(demo_db, login_role):
    dsn = login_role("sigsync_reader", "sigsync_ingest")
    with psycopg.connect(dsn) as conn:  # the role itself cannot read a table
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM sigsync.signals")
    token = create_token(demo_db, "indicator", "reader role")
    with serving(dsn) as serve:
        for path in PATHS:
            answer = serve.get(path)
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        assert serve.post(token, heartbeat("reader-role")).json()["status"] == "accepted"
        assert "sigsync_open_gaps" in serve.get("/metrics").text
    assert not [line for line in serve.stderr if "error" in line.lower()], serve.stderr


def test_every_relation_the_dashboard_names_is_a_view_the_reader_may_read(demo_db):
    sources = "\n".join(dashboard_data.statements()) + Path(dashboard.__file__).read_text()
    names = set(re.findall(r"sigsync\.([a-z_]+)\b", sources)) - {"dashboard_data", "auth", "live"}
    names |= {listing.view for listing in dashboard_data.LISTINGS.values()}
    with psycopg.connect(demo_db, autocommit=True) as conn:
        kinds = dict(conn.execute("SELECT c.relname, c.relkind FROM pg_class c"
                                  " WHERE c.relnamespace = 'sigsync'::regnamespace AND c.relname = ANY(%s)",
                                  (sorted(names),)).fetchall())
        readable = {n for n in names if conn.execute("SELECT has_table_privilege('sigsync_reader', %s, 'SELECT')",
                                                     (f"sigsync.{n}",)).fetchone()[0]} if kinds else set()
    relations = {n for n in names if n in kinds}
    assert relations >= {"all_signals", "signal_bars", "cycle_history", "rejected_payloads", "events_per_minute",
                         "indicator_link", "dashboard_settings", "system_health", "signal_timeline"}
    assert {n: kinds[n] for n in relations if kinds[n] != "v"} == {}
    assert relations <= readable


def test_a_dashboard_connection_reads_as_the_reader_even_with_a_superuser_dsn(demo_db):
    async def check():
        async with await psycopg.AsyncConnection.connect(demo_db, autocommit=True) as conn:
            await dashboard_data.configure(conn)
            cur = await conn.execute("SELECT current_user, count(*) FROM sigsync.all_signals")
            assert await cur.fetchone() == ("sigsync_reader", 31)
            for table in ("signals", "automated_signals", "settings", "sync_runs", "rejected_events",
                          "webhook_tokens", "price_bars"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    await conn.execute(f"SELECT 1 FROM sigsync.{table} LIMIT 1")
            with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction)):
                await conn.execute("SELECT sigsync.ingest('{}')")
            cur = await conn.execute("SHOW default_transaction_read_only")
            assert (await cur.fetchone())[0] == "on"

    import asyncio

    asyncio.run(check())


def test_a_role_that_is_not_a_reader_gets_a_clear_503_and_the_webhook_goes_on(demo_db, login_role):
    dsn = login_role("sigsync_ingest")
    token = create_token(demo_db, "indicator", "ingest role")
    with serving(dsn) as serve:
        page = serve.get("/signals")
        assert page.status_code == 503 and "sigsync_reader" in page.text
        api = serve.get("/api/health")
        assert api.status_code == 503 and "sigsync_reader" in api.json()["message"]
        assert serve.post(token, heartbeat("ingest-role")).json()["status"] == "accepted"
        time.sleep(3)  # said once, not again by every reconnect attempt of a pool
        said = [line for line in serve.stderr if "sigsync_reader" in line]
        assert len(said) == len(set(said)) <= 2, said   # the pages' 503, the live updates' pause


def test_open_live_streams_do_not_hold_up_the_shutdown(demo_db):
    import threading

    import httpx

    opened = threading.Event()
    chunks: list[bytes] = []

    def listen(url: str) -> None:
        try:
            with httpx.stream("GET", f"{url}/api/live", timeout=30) as stream:
                for chunk in stream.iter_bytes():
                    chunks.append(chunk)
                    opened.set()
        except httpx.HTTPError:
            pass

    with serving(demo_db) as serve:
        listeners = [threading.Thread(target=listen, args=(serve.url,), daemon=True) for _ in range(3)]
        for t in listeners:
            t.start()
        assert opened.wait(10) and b"retry:" in b"".join(chunks)
        code, took = serve.stop()
        assert code == 0 and took < 5, (code, took, serve.stderr)
        for t in listeners:
            t.join(5)
            assert not t.is_alive()
