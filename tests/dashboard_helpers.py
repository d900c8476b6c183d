"""Helpers for the dashboard tests (no tests here): the demo's data in a test database (loaded
with the demo's own `populate`; or copied from a demo template made once, for tests that change
it), `sigsync serve` processes (test_serve_helpers.Serve, also bound to a non-loopback address),
the views read directly and as PostgreSQL writes them in JSON (pg_json), and headless Chromium
through selenium (Debian's chromium and chromium-driver, never a download)."""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

import test_serve_helpers
from sigsync import demo
from support import PROJECT_QUEUED_SQL
from test_serve_helpers import Serve

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ANY_LISTENING = re.compile(r"listening on http://(?:127\.0\.0\.1|0\.0\.0\.0):(\d+)")


def load_demo(dsn: str) -> None:
    """The demo's day (bars, both steps, two cycles) in a migrated database."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        demo.populate(conn, echo=lambda *_: None)


def view_rows(dsn: str, query: str, args=()) -> list[dict]:
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, args)
        return cur.fetchall()


class PublicServe(Serve):
    """`sigsync serve --host 0.0.0.0`: reached here through 127.0.0.1, but not bound to loopback only."""

    def __init__(self, dsn: str | None, *args: str, **kwargs):
        super().__init__(dsn, "--host", "0.0.0.0", *args, **kwargs)

    def start(self) -> None:
        saved = test_serve_helpers.LISTENING
        test_serve_helpers.LISTENING = ANY_LISTENING  # Serve.start reads the port with it
        try:
            super().start()
        finally:
            test_serve_helpers.LISTENING = saved


@contextlib.contextmanager
def public_serving(dsn: str, *args: str, **kwargs):
    server = PublicServe(dsn, *args, **kwargs)
    try:
        yield server
    finally:
        server.kill()


def browser_available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 1600):
    """Headless Chromium (the system's) with a fresh profile; its console log is readable."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    profile = tempfile.mkdtemp(prefix="sigsync-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
                f"--window-size={width},{height}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=DriverService(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(predicate, timeout: float = 15.0, what: str = "condition"):
    """The first true value of predicate(), polled every 0.1 s; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def open_page(browser, server, path: str):
    """Load path of server in the browser and wait until the page and its scripts are ready."""
    browser.get(server.url + path)
    wait_for(lambda: browser.execute_script("return document.readyState") == "complete", what=f"{path} to load")
    wait_for(lambda: browser.execute_script("return !!window.sigsyncCharts"), what="the scripts")
    return browser


def console_errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def ingest(dsn: str, *bodies) -> list[dict]:
    """Webhook bodies (dicts or text) through sigsync.ingest_many; each must be accepted. The MFE
    updates ingest queues are then projected (as the next cycle's first step would)."""
    import json

    texts = [b if isinstance(b, str) else json.dumps(b) for b in bodies]
    with psycopg.connect(dsn, autocommit=True) as conn:
        results = conn.execute("SELECT idx, status, error FROM sigsync.ingest_many(%s::text[]) ORDER BY idx",
                               (texts,)).fetchall()
        conn.execute(PROJECT_QUEUED_SQL)
    refused = [(texts[i - 1][:200], error) for i, status, error in results if status != "accepted"]
    assert refused == [], refused
    return results


def epoch_ms(text: str) -> int:
    """Epoch milliseconds of an ISO 8601 time with offset."""
    from datetime import datetime

    return int(datetime.fromisoformat(text).timestamp() * 1000)


INTERVAL_OID = 1186


def pg_json(dsn: str, query: str, args=()) -> list:
    """The rows of `query` as PostgreSQL itself writes them in JSON (to_jsonb of each row), read
    with exact numbers (Decimal): what an API answer is compared with, never the app's own
    converter. Intervals become seconds (extract(epoch ...)), as the API documents them."""
    import json

    from psycopg import sql as s

    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(s.SQL("SELECT * FROM ({}) q LIMIT 0").format(s.SQL(query)), args)
        intervals = [d.name for d in cur.description if d.type_code == INTERVAL_OID]
        row = s.SQL("to_jsonb(q)")
        if intervals:
            row = s.SQL("to_jsonb(q) || jsonb_build_object({})").format(s.SQL(", ").join(
                s.SQL("{}, extract(epoch FROM q.{})").format(s.Literal(n), s.Identifier(n)) for n in intervals))
        cur.execute(s.SQL("SELECT ({})::text FROM ({}) q").format(row, s.SQL(query)), args)
        return [json.loads(text, parse_float=__import__("decimal").Decimal) for (text,) in cur.fetchall()]


def exact(response) -> object:
    """An API answer read with exact numbers (Decimal), as pg_json reads PostgreSQL's."""
    import json
    from decimal import Decimal

    return json.loads(response.text, parse_float=Decimal)


DEMO_TEMPLATE = "sigsync_demo_template"


@pytest.fixture(scope="module")
def demo_db(module_db):
    """The module's database with the demo's data loaded (import it into a test module)."""
    load_demo(module_db)
    return module_db


@pytest.fixture(scope="module")
def server(demo_db):
    """serve on the demo's data, for a module whose tests do not change it."""
    with test_serve_helpers.serving(demo_db) as serve:
        yield serve


def _admin(cluster):
    return psycopg.connect(cluster.url("postgres"), autocommit=True)


@pytest.fixture(scope="session")
def demo_template(cluster, template_db) -> str:
    """A database holding the demo's day, made once per session: the template of demo_copy."""
    from psycopg import sql as s

    with _admin(cluster) as conn:
        conn.execute(s.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(s.Identifier(DEMO_TEMPLATE)))
        conn.execute(s.SQL("CREATE DATABASE {} TEMPLATE sigsync_template").format(s.Identifier(DEMO_TEMPLATE)))
    load_demo(cluster.url(DEMO_TEMPLATE))
    yield DEMO_TEMPLATE
    with _admin(cluster) as conn:
        conn.execute(s.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(s.Identifier(DEMO_TEMPLATE)))


@contextlib.contextmanager
def demo_copy(cluster, template: str):
    """A fresh copy of the demo's database (for a test that changes it), dropped afterwards."""
    import uuid

    from psycopg import sql as s

    name = f"t_demo_{uuid.uuid4().hex[:12]}"
    with _admin(cluster) as conn:
        conn.execute(s.SQL("CREATE DATABASE {} TEMPLATE {}").format(s.Identifier(name), s.Identifier(template)))
    try:
        yield cluster.url(name)
    finally:
        with _admin(cluster) as conn:
            conn.execute(s.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(s.Identifier(name)))
