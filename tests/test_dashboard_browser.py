"""The dashboard in a real browser (Debian's headless Chromium through selenium and the system's
chromedriver; nothing is downloaded), on the demo's data served by a real `sigsync serve`:
/signals lists exactly the rows of sigsync.all_signals, a status filter narrows them, a signal
page draws its charts (non-blank canvas pixels) and lists its timeline, the overview shows the
gap counts of gap_summary, an event ingested (or a cycle run) while a page is open appears on
it without a reload, the pages fit a phone's width, and no page logs a JavaScript error (CSP
violations included). Every page's screenshot is written to the test's temporary directory."""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import psycopg
import pytest

from dashboard_helpers import browser_available, chromium, console_errors, load_demo, view_rows
from test_serve_helpers import create_token, serving

PAGES = {"overview": "/", "signals": "/signals", "cancelled": "/cancelled", "gaps": "/gaps", "runs": "/runs",
         "rejected": "/rejected"}


@pytest.fixture(scope="module")
def demo_db(module_db):
    load_demo(module_db)
    return module_db


@pytest.fixture(scope="module")
def server(demo_db):
    with serving(demo_db) as serve:
        serve.token = create_token(demo_db, "indicator", "browser test")
        yield serve


@pytest.fixture(scope="module")
def browser():
    assert browser_available(), "needs Debian's chromium and chromium-driver (make deps installs them)"
    with chromium() as driver:
        yield driver


def wait_for(predicate, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def open_page(browser, server, path: str):
    browser.get(server.url + path)
    wait_for(lambda: browser.execute_script("return document.readyState") == "complete", what=f"{path} to load")
    wait_for(lambda: browser.execute_script("return !!window.sigsyncCharts"), what="the scripts")
    return browser


def rows(browser, table: str = "signals") -> list[str]:
    return browser.execute_script(
        f"return Array.from(document.querySelectorAll('#{table} tbody tr[data-key]')).map(r => r.dataset.key)")


def canvas_pixels(browser, figure: str) -> int:
    return browser.execute_script("""
        const c = document.querySelector(arguments[0] + ' canvas');
        if (!c) return 0;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;""", figure)


def test_signals_lists_exactly_the_rows_of_all_signals(browser, server, demo_db, tmp_path):
    open_page(browser, server, "/signals?limit=200")
    expected = [f"{r['symbol']}|{r['trade_id']}" for r in view_rows(
        demo_db, "SELECT symbol, trade_id FROM sigsync.all_signals ORDER BY trade_id DESC, symbol DESC")]
    assert len(expected) == 31
    assert rows(browser) == expected
    browser.save_screenshot(str(tmp_path / "signals.png"))


def test_a_status_filter_narrows_them(browser, server, demo_db, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_page(browser, server, "/signals")
    Select(browser.find_element(By.NAME, "status")).select_by_value("cancelled")
    browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
    wait_for(lambda: "status=cancelled" in browser.current_url, what="the filtered page")
    open_page(browser, server, browser.current_url.removeprefix(server.url))
    expected = [f"{r['symbol']}|{r['trade_id']}" for r in view_rows(
        demo_db, "SELECT symbol, trade_id FROM sigsync.all_signals WHERE status = 'cancelled'"
                 " ORDER BY trade_id DESC, symbol DESC")]
    assert len(expected) == 8
    assert rows(browser) == expected
    assert set(browser.execute_script(
        "return Array.from(document.querySelectorAll('#signals tbody tr')).map(r => r.dataset.status)")) == {"cancelled"}
    browser.save_screenshot(str(tmp_path / "signals-cancelled.png"))


def test_a_signal_page_draws_its_chart_and_lists_its_timeline(browser, server, demo_db, tmp_path):
    (s,) = view_rows(demo_db, "SELECT symbol, trade_id FROM sigsync.completed_trades WHERE be_exit_time IS NOT NULL"
                              " ORDER BY trade_id LIMIT 1")
    open_page(browser, server, f"/signals/{quote(s['symbol'], safe='')}/{s['trade_id']}")
    assert wait_for(lambda: canvas_pixels(browser, "#chart-price") > 2000, what="the price chart to draw")
    assert wait_for(lambda: canvas_pixels(browser, "#chart-path") > 500, what="the MFE/MAE path to draw")
    chart = json.loads(browser.execute_script(
        "return document.querySelector('#chart-price script[type=\"application/json\"]').textContent"))
    assert {m["kind"] for m in chart["marks"]} >= {"signal", "entry", "be", "beexit", "exit"}
    assert chart["updates"] > 10 and chart["t2_points"] > 10
    (n,) = view_rows(demo_db, "SELECT count(*) FROM sigsync.signal_timeline WHERE symbol = %s AND trade_id = %s",
                     (s["symbol"], s["trade_id"]))
    listed = browser.execute_script("return document.querySelectorAll('#timeline tbody tr').length")
    assert listed == n["count"] > 10
    fields = browser.execute_script(
        "return Array.from(document.querySelectorAll('#provenance tbody tr')).map(r => r.dataset.field)")
    assert {"entry_price", "stop_loss", "targets_extended", "exit_time"} <= set(fields)
    browser.save_screenshot(str(tmp_path / "signal.png"))


def test_the_overview_shows_the_gap_counts_of_gap_summary_and_follows_a_cycle(browser, server, demo_db, tmp_path):
    def shown() -> dict:
        return browser.execute_script(
            "return Object.fromEntries(Array.from(document.querySelectorAll('#gap-summary tr[data-gap-type]'))"
            ".map(r => [r.dataset.gapType, Number(r.querySelector('[data-count]').dataset.count)]))")

    def expected() -> dict:
        return {r["gap_type"]: r["open_count"] for r in view_rows(demo_db, "SELECT * FROM sigsync.gap_summary")}

    open_page(browser, server, "/")
    assert shown() == expected() and len(shown()) == 11
    assert canvas_pixels(browser, "#chart-gaps") > 100 and canvas_pixels(browser, "#chart-epm") > 100
    browser.execute_script("window.__notReloaded = true")
    with psycopg.connect(demo_db, autocommit=True) as conn:  # a cycle now: the demo's active trades go stale
        conn.execute("SELECT sigsync.reconcile(p_now => now(), p_full => true)")
    after = expected()
    assert sum(after.values()) > 0
    wait_for(lambda: shown() == after, timeout=15, what=f"the overview to show the cycle's gaps {after}")
    assert browser.execute_script("return window.__notReloaded === true")
    browser.save_screenshot(str(tmp_path / "overview.png"))


def test_an_event_ingested_while_a_page_is_open_appears_without_a_reload(browser, server, tmp_path):
    open_page(browser, server, "/signals")
    wait_for(lambda: browser.execute_script("return document.getElementById('live').classList.contains('on')"),
             what="the live stream to connect")
    browser.execute_script("window.__notReloaded = true")
    trade_id = "20251212_205800000_BULLISH"
    body = {"event_type": "SIGNAL_CREATED", "trade_id": trade_id, "signal_time": "2025-12-12T15:58:00",
            "direction": "Bullish", "signal_price": 24870.25, "timestamp": 1765573080000}
    answer = server.post(server.token, json.dumps(body))
    assert answer.json()["status"] == "accepted", answer.text
    wait_for(lambda: f"NQ1!|{trade_id}" in rows(browser), timeout=15, what="the new signal on the open page")
    assert browser.execute_script("return window.__notReloaded === true")
    browser.save_screenshot(str(tmp_path / "signals-live.png"))


def test_no_page_logs_a_javascript_error(browser, server, demo_db, tmp_path):
    (s,) = view_rows(demo_db, "SELECT symbol, trade_id FROM sigsync.active_trades ORDER BY trade_id LIMIT 1")
    pages = {**PAGES, "signal": f"/signals/{quote(s['symbol'], safe='')}/{s['trade_id']}",
             "gaps-filtered": "/gaps?gap=no_mfe_update", "bad-request": "/signals?limit=1000"}
    browser.get_log("browser")  # what earlier tests left
    errors = {}
    for name, path in pages.items():
        open_page(browser, server, path)
        time.sleep(0.3)
        browser.save_screenshot(str(tmp_path / f"{name}.png"))
        found = [e for e in console_errors(browser) if not (name == "bad-request" and "400" in e["message"])]
        if found:
            errors[name] = found
    assert errors == {}
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(f"{n}.png" for n in pages)


def test_pages_fit_a_phone_screen(server, demo_db, tmp_path):
    (s,) = view_rows(demo_db, "SELECT symbol, trade_id FROM sigsync.completed_trades ORDER BY trade_id LIMIT 1")
    with chromium(width=390, height=844) as phone:
        for name, path in {"overview": "/", "signals": "/signals",
                           "signal": f"/signals/{quote(s['symbol'], safe='')}/{s['trade_id']}"}.items():
            open_page(phone, server, path)
            time.sleep(0.3)
            phone.save_screenshot(str(tmp_path / f"phone-{name}.png"))
            overflow = phone.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, (name, overflow)
            assert console_errors(phone) == []
