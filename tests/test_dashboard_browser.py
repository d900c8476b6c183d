"""The dashboard in a real browser (Debian's headless Chromium through selenium and the system's
chromedriver; nothing is downloaded), on the demo's data served by a real `sigsync serve`:
/signals lists exactly the rows of sigsync.all_signals, page by page too (keys and the values
shown), a status filter narrows them, a signal page draws its chart's series (the pixels they
draw: the canvas against the same chart with its series hidden, which the same chart with all
null data does not pass) and lists its timeline, the overview shows the gap counts of
gap_summary, an event ingested (or a cycle run) while a page is open appears on it without a
reload, the pages fit a phone's width, and no page logs a JavaScript error (CSP violations
included). Every page's screenshot is written to the test's temporary directory.

The tests that change the data (a cycle, an event) each run on a copy of the demo's database with
a server of their own: every test sees the demo's data as it is, in any order."""

from __future__ import annotations

import json
import time
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

import psycopg
import pytest

from dashboard_helpers import (browser_available, chromium, console_errors, demo_copy, demo_db,  # noqa: F401
                               demo_template, open_page, server, view_rows, wait_for)
from test_serve_helpers import create_token, serving

PAGES = {"overview": "/", "signals": "/signals", "cancelled": "/cancelled", "gaps": "/gaps", "runs": "/runs",
         "rejected": "/rejected"}


@pytest.fixture
def own_server(cluster, demo_template, browser):
    """A copy of the demo's database and a server of its own, for a test that changes the data."""
    with demo_copy(cluster, demo_template) as dsn, serving(dsn) as serve:
        serve.dsn = dsn
        serve.token = create_token(dsn, "indicator", "browser test")
        yield serve
        # leave its page before the server goes (its cut live stream is no later page's error)
        browser.get("about:blank")
        browser.get_log("browser")


@pytest.fixture(scope="module")
def browser():
    assert browser_available(), "needs Debian's chromium and chromium-driver (make deps installs them)"
    with chromium() as driver:
        yield driver



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


SERIES_PIXELS = """
    const [el, done] = [document.querySelector(arguments[0]), arguments[arguments.length - 1]];
    const u = window.sigsyncCharts.charts.get(el);
    if (!u) { done(-1); return; }
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const read = () => u.ctx.getImageData(0, 0, u.ctx.canvas.width, u.ctx.canvas.height).data;
    (async () => {
      await frame();
      const shown = read();
      const scales = Object.fromEntries(Object.keys(u.scales).map((k) => [k, {min: u.scales[k].min, max: u.scales[k].max}]));
      u.batch(() => {   // every series hidden, the scales (hence axes and grid) left as they were
        for (let i = 1; i < u.series.length; i++) u.setSeries(i, {show: false});
        for (const k in scales) if (scales[k].min != null) u.setScale(k, scales[k]);
      });
      await frame();
      const hidden = read();
      u.batch(() => { for (let i = 1; i < u.series.length; i++) u.setSeries(i, {show: true}); });
      let n = 0;
      for (let i = 0; i < shown.length; i += 4)
        if (shown[i] !== hidden[i] || shown[i + 1] !== hidden[i + 1] || shown[i + 2] !== hidden[i + 2]
            || shown[i + 3] !== hidden[i + 3]) n++;
      done(n);
    })();"""


def series_pixels(browser, figure: str) -> int:
    """Pixels the chart's data series draw: its canvas against the same canvas with every series
    hidden (uPlot setSeries show:false), axes and grid unchanged. Axes and grid alone count 0."""
    return browser.execute_async_script(SERIES_PIXELS, figure)


NULL_COPY = """
    // the same chart, its data all null: a figure of its own beside the real one
    const real = document.querySelector(arguments[0]);
    const data = JSON.parse(real.querySelector('script[type="application/json"]').textContent);
    const nulls = (a) => a.map(() => null);
    if (data.bars) { data.bars.l = nulls(data.bars.l); data.bars.h = nulls(data.bars.h); data.bars.c = nulls(data.bars.c); }
    data.levels = []; data.marks = [];
    for (const k of ["t2_nobe", "t2_be", "t2_mae", "nobe", "be", "mae", "anomaly"]) data.path[k] = nulls(data.path[k]);
    const copy = document.createElement("figure");
    copy.className = "chart"; copy.dataset.chart = real.dataset.chart; copy.id = real.id + "-nulls";
    const script = document.createElement("script");
    script.type = "application/json"; script.textContent = JSON.stringify(data);
    copy.appendChild(script);
    real.parentElement.insertBefore(copy, real.nextSibling);
    window.sigsyncCharts.init(copy.parentElement);
    return copy.id;"""


def test_signals_lists_exactly_the_rows_of_all_signals(browser, server, demo_db, tmp_path):
    open_page(browser, server, "/signals?limit=200")
    expected = [f"{r['symbol']}|{r['trade_id']}" for r in view_rows(
        demo_db, "SELECT symbol, trade_id FROM sigsync.all_signals ORDER BY trade_id DESC, symbol DESC")]
    assert len(expected) == 31
    assert rows(browser) == expected
    browser.save_screenshot(str(tmp_path / "signals.png"))


def r_text(value) -> str:
    """How a trader reads an excursion, independently of the app: 2 places half away from zero."""
    if value is None:
        return "\u2014"
    q = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return ("\u2212" if q < 0 else "") + f"{abs(q):.2f}R"


def test_signals_pages_through_every_row_with_the_values_of_the_view(browser, server, demo_db, tmp_path):
    from selenium.webdriver.common.by import By

    expected = [(f"{r['symbol']}|{r['trade_id']}", r_text(r["no_be_mfe"]), r_text(r["mae_global_r"]))
                for r in view_rows(demo_db, "SELECT symbol, trade_id, no_be_mfe, mae_global_r FROM sigsync.all_signals"
                                            " ORDER BY coalesce(no_be_mfe, -1) DESC, symbol DESC, trade_id DESC")]
    assert len(expected) == 31 and len({e[1] for e in expected}) > 5
    open_page(browser, server, "/signals?limit=7&sort=mfe&dir=desc")
    shown, pages = [], 0
    while True:
        pages += 1
        shown += browser.execute_script(
            "return Array.from(document.querySelectorAll('#signals tbody tr[data-key]'))"
            ".map(r => [r.dataset.key, r.cells[8].textContent.trim(), r.cells[10].textContent.trim()])")
        following = browser.find_elements(By.CSS_SELECTOR, "nav.pager a[rel=next]")
        if not following:
            break
        before = browser.current_url
        following[0].click()
        wait_for(lambda: browser.current_url != before, what="the next page")
        open_page(browser, server, browser.current_url.removeprefix(server.url))
        assert pages < 10
    assert pages == 5 and [tuple(r) for r in shown] == expected
    browser.save_screenshot(str(tmp_path / "signals-last-page.png"))


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
    wait_for(lambda: browser.execute_script("return window.sigsyncCharts.charts.size") >= 2, what="the charts")
    # the series are drawn: thousands of pixels of the price chart are the bars' band, close, levels
    # and marks; of the path chart, the MFE/MAE lines and dots
    price, path = series_pixels(browser, "#chart-price"), series_pixels(browser, "#chart-path")
    assert price > 3000 and path > 500, (price, path)
    # and the measure can fail: the same charts with all-null data draw no series pixel, though
    # their axes and grid are drawn (which the old count of non-blank pixels took for a chart)
    for figure in ("#chart-price", "#chart-path"):
        copy = "#" + browser.execute_script(NULL_COPY, figure)
        assert canvas_pixels(browser, copy) > 2000, figure     # axes and grid
        assert series_pixels(browser, copy) == 0, figure
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
    assert console_errors(browser) == []
    browser.save_screenshot(str(tmp_path / "signal.png"))


def test_the_overview_shows_the_gap_counts_of_gap_summary_and_follows_a_cycle(browser, own_server, tmp_path):
    server, demo_db = own_server, own_server.dsn

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


def test_an_event_ingested_while_a_page_is_open_appears_without_a_reload(browser, own_server, tmp_path):
    server = own_server
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
