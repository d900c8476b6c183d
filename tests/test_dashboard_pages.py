"""What a signal's page and the listings show (DESIGN §15), on a real `sigsync serve` over real HTTP
and in a real browser (Debian's Chromium through selenium):

- the chart's real MFE path is every MFE_UPDATE of the signal (sigsync.signal_mfe_updates, not the
  timeline's first 1,000 entries), and an update flagged as an anomaly (stored, not applied) is
  drawn apart and named in the legend;
- numbers are rounded half away from zero and never show a negative zero, the same in the tables
  and in the chart's legend (which formats the exact decimal text the page carries); a price keeps
  its own decimals;
- an event after the last stored bar is not drawn on the last bar (the page says so); an inferred
  exit is marked apart from a reported one; a time of the fall-back hour shows its zone;
- a page past the end of a list (or a stale cursor) says "no more" with a link to the first page,
  not the empty state of an empty registry."""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from html import unescape
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest

from dashboard_helpers import (browser_available, chromium, console_errors, exact, ingest, open_page,
                               pg_json, view_rows, wait_for)
from sigsync.dashboard import Fmt
from sigsync.dashboard_data import cursor_encode
from sigsync.sample import apply_options, generate, iso
from test_serve_helpers import serving

NY = ZoneInfo("America/New_York")
SYMBOL = "ES1!"
LONG = "20251212_100000000_BULLISH"      # 1,101 updates, one of them an anomaly
UPDATES = 1101
ANOMALY_AT = 500                          # the update reporting a negative no-BE MFE
DST = "20251102_005000000_BULLISH"        # events in the fall-back hour of 2025-11-02
MINUS = "\u2212"


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2025, 12, 12, hh, mm, ss, tzinfo=NY)


def ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def long_trade() -> list[dict]:
    """Bullish at 10:00, entry 5000.25 / stop 4990.25 at 10:01; an update every 5 s from 10:01:05
    rising to exactly 1.125R (MAE -0.001R throughout); BE triggered at 10:30; BE exit at 11:45,
    after the last stored bar (11:30)."""
    base = {"symbol": SYMBOL, "trade_id": LONG}
    events = [{**base, "event_type": "SIGNAL_CREATED", "direction": "Bullish", "signal_time": "2025-12-12T10:00:00",
               "signal_price": 5000.125, "session": "NY AM", "timestamp": ms(at(10, 0))},
              {**base, "event_type": "ENTRY", "entry_price": 5000.25, "stop_loss": 4990.25,
               "confirmation_time": "2025-12-12T10:01:00", "timestamp": ms(at(10, 1))}]
    for k in range(UPDATES):
        value = (Decimal("1.125") * k / (UPDATES - 1)).quantize(Decimal("0.000001"))
        no_be = Decimal("-0.5") if k == ANOMALY_AT else value
        events.append({**base, "event_type": "MFE_UPDATE", "be_mfe": float(value), "no_be_mfe": float(no_be),
                       "mae_global_r": -0.001, "timestamp": ms(at(10, 1, 5) + timedelta(seconds=5 * k))})
    events += [{**base, "event_type": "BE_TRIGGERED", "timestamp": ms(at(10, 30))},
               {**base, "event_type": "EXIT_BE", "final_mfe": 1.125, "timestamp": ms(at(11, 45))}]
    # the last update says exactly 1.125 (a float of the quantized value)
    assert events[-3]["no_be_mfe"] == 1.125
    return events


def dst_trade() -> list[dict]:
    """A signal at 00:50 EDT on 2025-11-02: entry at 01:30 EDT (05:30 UTC), an update at 01:30 EST
    (06:30 UTC, the same clock time an hour later) and one at 02:30 EST (unambiguous)."""
    base = {"symbol": SYMBOL, "trade_id": DST}
    utc = lambda h, m: datetime(2025, 11, 2, h, m, tzinfo=timezone.utc)  # noqa: E731
    return [{**base, "event_type": "SIGNAL_CREATED", "direction": "Bullish", "signal_price": 5100,
             "timestamp": ms(utc(4, 50))},
            {**base, "event_type": "ENTRY", "entry_price": 5100.5, "stop_loss": 5090.5,
             "confirmation_time": "2025-11-02T05:30:00Z", "timestamp": ms(utc(5, 30))},
            {**base, "event_type": "MFE_UPDATE", "be_mfe": 0.5, "no_be_mfe": 0.5, "mae_global_r": -0.2,
             "timestamp": ms(utc(6, 30))},
            {**base, "event_type": "MFE_UPDATE", "be_mfe": 0.7, "no_be_mfe": 0.7, "mae_global_r": -0.2,
             "timestamp": ms(utc(7, 30))}]


@pytest.fixture(scope="module")
def pages_db(module_db):
    """A generated day (seed 11) whose indicator missed half the exits (Tier 2 infers them from the
    bars), reconciled; then, after the cycle, the long trade and the DST trade on ES1!."""
    sample = generate(seed=11)
    lines = apply_options(sample, random.Random(11), missed_exits=0.5)
    with psycopg.connect(module_db, autocommit=True) as conn:
        with conn.cursor() as cur, cur.copy("COPY sigsync.price_bars (symbol, ts, open, high, low, close) FROM STDIN") as cp:
            for b in sample.bars:
                cp.write_row((sample.symbol, iso(b.ts), b.open, b.high, b.low, b.close))
            t = at(9, 50)
            while t <= at(11, 30):   # ES1!: quiet bars around the long trade, never near its stop
                cp.write_row((SYMBOL, t.isoformat(), "5001.00", "5003.50", "5000.50", "5002.25"))
                t += timedelta(minutes=1)
        conn.execute("SELECT count(*) FROM sigsync.ingest_many(%s::text[])", (lines,))
        summary = conn.execute("SELECT sigsync.reconcile(%s)", (sample.p_now,)).fetchone()[0]
        assert summary["status"] == "ok", summary
    ingest(module_db, *long_trade(), *dst_trade())
    return module_db


@pytest.fixture(scope="module")
def server(pages_db):
    with serving(pages_db) as serve:
        yield serve


@pytest.fixture(scope="module")
def browser():
    assert browser_available(), "needs Debian's chromium and chromium-driver (make deps installs them)"
    with chromium() as driver:
        yield driver


def get(server, path: str, **params) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", params=params, timeout=15)


def page_chart(html: str, figure: str = "chart-price") -> dict:
    found = re.search(rf'id="{figure}"[^>]*>\s*<script type="application/json">(.*?)</script>', html, re.S)
    assert found, f"no {figure} on the page"
    return json.loads(unescape(found.group(1)))



def r_text(value) -> str:
    """How a trader reads an excursion (independently of the app): 2 places, half away from zero."""
    q = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return (MINUS if q < 0 else "") + f"{abs(q):.2f}R"


# -- the real MFE path -------------------------------------------------------------------------------

def test_signal_mfe_updates_has_every_update_in_event_time_order_and_flags_the_anomaly(pages_db):
    rows = view_rows(pages_db, "SELECT * FROM sigsync.signal_mfe_updates WHERE symbol = %s AND trade_id = %s"
                               " ORDER BY at, event_id", (SYMBOL, LONG))
    assert len(rows) == UPDATES
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    flagged = [(i, r["no_be_mfe"], r["anomaly_fields"]) for i, r in enumerate(rows) if r["anomaly"]]
    assert flagged == [(ANOMALY_AT, Decimal("-0.5"), ["no_be_mfe"])]
    (audit,) = view_rows(pages_db, "SELECT count(*) AS n FROM sigsync.sync_audit_log WHERE action_type = 'anomaly'"
                                   " AND event_id = %s", (rows[ANOMALY_AT]["event_id"],))
    assert audit["n"] == 1
    assert rows[-1]["no_be_mfe"] == Decimal("1.125") and rows[-1]["mae_global_r"] == Decimal("-0.001")


def test_the_chart_draws_every_update_and_the_anomaly_apart(server, pages_db):
    page = get(server, f"/signals/{SYMBOL.replace('!', '%21')}/{LONG}")
    assert page.status_code == 200
    path = page_chart(page.text, "chart-path")["path"]
    nobe = [(t, v) for t, v in zip(path["t"], path["nobe"]) if v is not None]
    be = [v for v in path["be"] if v is not None]
    anomalies = [(t, v, f) for t, v, f in zip(path["t"], path["anomaly"], path["anomaly_field"]) if v is not None]
    assert len(nobe) == UPDATES - 1 and len(be) == UPDATES        # the anomaly's no-BE value is not on the path
    assert len(anomalies) == 1 and anomalies[0][1:] == (-0.5, "no_be_mfe")
    assert all(v >= 0 for _, v in nobe)
    assert path["text"]["nobe"][path["t"].index(nobe[-1][0])] == "1.125"
    legend = re.search(r'id="path-legend">(.*?)</p>', page.text, re.S).group(1)
    assert "1,101 updates" in legend and "1 update flagged as an anomaly" in legend and "not applied" in legend
    api = exact(get(server, f"/api/signals/ES1%21/{LONG}"))
    assert api["mfe_updates"] == pg_json(
        pages_db, "SELECT at, be_mfe, no_be_mfe, mae_global_r, current_price, anomaly, anomaly_fields, event_id"
                  " FROM sigsync.signal_mfe_updates WHERE symbol = %s AND trade_id = %s ORDER BY at, event_id",
        (SYMBOL, LONG))
    assert len(api["timeline"]) == 1000 < api["timeline_total"]   # the timeline is cut, the path is not


def test_signal_mfe_updates_keeps_the_last_5000_updates_of_a_signal(module_db):
    trade = "20251212_120000000_BEARISH"
    base = {"symbol": "MNQ1!", "trade_id": trade}
    bodies = [{**base, "event_type": "SIGNAL_CREATED", "direction": "Bearish", "timestamp": ms(at(12, 0))},
              {**base, "event_type": "ENTRY", "entry_price": 100, "stop_loss": 101, "timestamp": ms(at(12, 1))}]
    bodies += [{"event_type": "MFE_UPDATE_BATCH", "symbol": "MNQ1!", "timestamp": ms(at(12, 2) + timedelta(seconds=b)),
                "updates": [{"trade_id": trade, "be_mfe": 0.1, "no_be_mfe": 0.1, "mae_global_r": -0.1}]}
               for b in range(5010)]
    with psycopg.connect(module_db, autocommit=True) as conn:
        results = conn.execute("SELECT status, count(*) FROM sigsync.ingest_many(%s::text[]) GROUP BY 1",
                               ([json.dumps(b) for b in bodies],)).fetchall()
    assert results == [("accepted", len(bodies))], results
    (span,) = view_rows(module_db, "SELECT count(*) AS n, min(at) AS first FROM sigsync.signal_mfe_updates"
                                   " WHERE symbol = 'MNQ1!' AND trade_id = %s", (trade,))
    assert span["n"] == 5000 and span["first"] == at(12, 2) + timedelta(seconds=10)


# -- rounding, the same in the tables and the chart -------------------------------------------------

def test_numbers_round_half_away_from_zero_and_never_show_a_negative_zero(server):
    listing = get(server, "/signals", symbol=SYMBOL).text
    row = re.search(rf'<tr data-key="{re.escape(SYMBOL)}\|{LONG}".*?</tr>', listing, re.S).group(0)
    cells = [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert "1.13R" in cells and "0.00R" in cells, cells    # 1.125 and -0.001 (half-even gave 1.12R, -0.00R)
    assert MINUS + "0.00R" not in row and "1.12R" not in row
    assert "5,000.25" in cells                               # entry
    page = get(server, f"/signals/ES1%21/{LONG}").text
    assert "5,000.125" in page                               # the signal price keeps its 3 decimals
    assert MINUS + "0.00R" not in page


VALUES = ["1.125", "1.005", "-0.001", "-0.005", "0.995", "9.995", "-9.995", "2.675", "0", "-0", "100",
          "24870.12345678901234567891", "1234567.891", "-1234.5", "0.0049", "-0.0051", "999.995", "5000.125"]


def test_the_chart_formats_numbers_as_the_tables_do(browser, server):
    open_page(browser, server, f"/signals/ES1%21/{LONG}")
    shown = browser.execute_script(
        "const f = window.sigsyncCharts.fmt; return arguments[0].map(v => [f.r(v), f.price(v)])", VALUES)
    fmt = Fmt(NY, datetime.now(timezone.utc))
    assert shown == [[fmt.r(v), fmt.price(v)] for v in VALUES]
    assert shown[0] == ["1.13R", "1.125"] and shown[1][0] == "1.01R" and shown[2][0] == "0.00R"


def legend_at(browser, figure: str, x: float) -> dict:
    """The chart's legend (label -> value) with the cursor on the point at time x."""
    return browser.execute_script("""
        const el = document.querySelector(arguments[0]);
        const u = window.sigsyncCharts.charts.get(el);
        const idx = u.data[0].indexOf(arguments[1]);
        u.setCursor({left: u.valToPos(u.data[0][idx], 'x'), top: 5});
        const out = {};
        el.querySelectorAll('.u-legend .u-series').forEach(s => {
            const label = s.querySelector('.u-label'), value = s.querySelector('.u-value');
            if (label && value) out[label.textContent] = value.textContent;
        });
        return out;""", figure, x)


def test_the_legend_shows_the_tables_numbers_and_names_the_anomaly(browser, server):
    page = get(server, f"/signals/ES1%21/{LONG}").text
    path = page_chart(page, "chart-path")["path"]
    open_page(browser, server, f"/signals/ES1%21/{LONG}")
    wait_for(lambda: browser.execute_script("return window.sigsyncCharts.charts.size") >= 2, what="the charts")
    last = max(t for t, v in zip(path["t"], path["nobe"]) if v is not None)
    legend = legend_at(browser, "#chart-path", last)
    assert legend["no-BE MFE (indicator)"] == "1.13R" == r_text("1.125")   # toFixed(2) of 1.125 happens to agree;
    assert legend["MAE (indicator)"] == "0.00R"                            # of -0.001 it says -0.00
    anomaly = next(t for t, v in zip(path["t"], path["anomaly"]) if v is not None)
    legend = legend_at(browser, "#chart-path", anomaly)
    assert legend["anomaly (stored, not applied)"] == f"no_be_mfe {MINUS}0.50R"
    assert legend["no-BE MFE (indicator)"] == "\u2014"
    assert console_errors(browser) == []


# -- marks: beyond the bars, inferred exits ---------------------------------------------------------

def test_an_event_after_the_last_bar_is_not_drawn_on_it(server):
    page = get(server, f"/signals/ES1%21/{LONG}").text
    chart = page_chart(page)
    kinds = {m["kind"] for m in chart["marks"]}
    assert {"signal", "entry", "be"} <= kinds and "beexit" not in kinds   # 11:45, bars end 11:30
    assert [b["label"] for b in chart["beyond"]] == ["BE exit"]
    note = unescape(re.search(r'id="beyond-bars">(.*?)</ul>', page, re.S).group(1))
    assert "BE exit at" in note and "11:45:00" in note and "after the last stored bar" in note


def test_inferred_exits_are_marked_apart_from_reported_ones(server, pages_db, browser):
    def exit_mark(trade_id: str) -> dict:
        (mark,) = [m for m in page_chart(get(server, f"/signals/NQ1%21/{trade_id}").text)["marks"]
                   if m["kind"] == "exit"]
        return mark

    inferred = view_rows(pages_db, "SELECT trade_id FROM sigsync.completed_trades WHERE exit_inferred ORDER BY trade_id")
    reported = view_rows(pages_db, "SELECT trade_id FROM sigsync.completed_trades WHERE NOT exit_inferred"
                                   " ORDER BY trade_id")
    assert inferred and reported, "the day has no inferred or no reported exit"
    for row in inferred:
        mark = exit_mark(row["trade_id"])
        assert mark["inferred"] is True and "inferred, Tier 2" in mark["label"], mark
    for row in reported:
        mark = exit_mark(row["trade_id"])
        assert mark["inferred"] is False and "inferred" not in mark["label"], mark
    page = get(server, f"/signals/NQ1%21/{inferred[0]['trade_id']}").text
    assert "hollow when sigsync inferred it" in page
    # drawn hollow: the marker of the inferred exit is not filled with its colour
    open_page(browser, server, f"/signals/NQ1%21/{inferred[0]['trade_id']}")
    points = browser.execute_script("""
        const u = window.sigsyncCharts.charts.get(document.querySelector('#chart-price'));
        const value = (v, i) => (typeof v === 'function' ? v(u, i) : v);
        return u.series.map((s, i) => [s.label, s.points && value(s.points.fill, i), s.points && value(s.points.stroke, i)])
                       .filter(s => typeof s[0] === 'string' && s[0].startsWith('exit'));""")
    assert len(points) == 1 and "inferred" in points[0][0] and points[0][1] != points[0][2], points


def test_times_of_the_fall_back_hour_show_their_zone(server):
    page = get(server, f"/signals/ES1%21/{DST}").text
    table = re.search(r'<table class="compact timeline" id="timeline">(.*?)</table>', page, re.S).group(1)
    shown = [unescape(t).split(" ", 1)[1] for t in re.findall(r"<tr[^>]*>\s*<td[^>]*>([^<]*)</td>", table)]
    # the same clock time an hour apart, each with its zone; unambiguous times without
    assert shown == ["00:50:00", "01:30:00 EDT", "01:30:00 EST", "02:30:00"], shown
    fields = unescape(re.search(r'id="provenance">(.*?)</table>', page, re.S).group(1))
    confirmation = re.search(r'data-field="confirmation_time".*?class="val">(.*?)</td>', fields, re.S).group(1)
    assert confirmation.endswith("01:30:00 EDT"), confirmation


# -- past the end -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,tag,keys", [
    ("/signals", "signals:time:desc", ["00000000_000000000_BULLISH", "A"]),
    ("/cancelled", "cancelled:time:desc", ["00000000_000000000_BULLISH", "A"]),
    ("/gaps", "gaps:since:asc", ["2999-01-01T00:00:00+00:00", "A", "20251212_100000000_BULLISH", "no_targets"]),
    ("/rejected", "rejected:id:desc", [0]),
    ("/runs", "runs:id:desc", [0]),
])
def test_a_page_past_the_end_says_so_and_links_the_first_page(server, path, tag, keys):
    answer = get(server, path, after=cursor_encode(tag, keys), limit=5)
    assert answer.status_code == 200, answer.text[:300]
    text = unescape(answer.text)
    assert 'id="no-more"' in text and "No more" in text
    first = re.search(r'id="no-more">.*?<a href="([^"]+)">Back to the first page', text, re.S).group(1)
    assert first == f"{path}?limit=5"
    for empty_state in ("No signals yet", "connect TradingView", "No cancelled signal.", "Nothing was rejected",
                        "No cycle has run yet", "No open gap"):
        assert empty_state not in text, empty_state
    assert httpx.get(server.url + first, timeout=10).status_code == 200
