"""The read API of `sigsync serve` (DESIGN §15) on the demo's data, over real HTTP: every /api
route answers the rows of the views it reads (same rows, same values, same order: compared with
PostgreSQL's own to_jsonb of the view rows, numbers read exactly on both sides, never with the
app's converter), the original system's routes answer the same as the routes they map onto,
pagination walks every row once in both directions, and every input is bounded (400, never a
stack trace nor SQL)."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from dashboard_helpers import demo_db, exact, pg_json, server, view_rows  # noqa: F401 (fixtures)


class Answer:
    """An answer whose .json() reads numbers exactly (Decimal), to compare with pg_json."""

    def __init__(self, response: httpx.Response):
        self.response = response
        self.status_code = response.status_code
        self.text = response.text
        self.headers = response.headers

    def json(self):
        return exact(self.response)


def get(server, path: str, **params) -> Answer:
    return Answer(httpx.get(f"{server.url}{path}", params=params, timeout=15))


def assert_clean(response) -> None:
    for leak in ("Traceback", "File \"", "SELECT", "psycopg", "sigsync.all_signals", " line "):
        assert leak not in response.text, (response.status_code, response.text[:500])


def walk(server, path: str, key: str, **params) -> list[dict]:
    rows, after = [], None
    for _ in range(100):
        answer = get(server, path, **params, **({"after": after} if after else {})).json()
        rows += answer[key]
        after = answer["next"]
        if after is None:
            return rows
    raise AssertionError("pagination did not end")


# -- /api/signals -------------------------------------------------------------------------------

def test_api_signals_answers_every_row_of_all_signals_with_its_values(server, demo_db):
    expected = pg_json(demo_db, "SELECT * FROM sigsync.all_signals ORDER BY trade_id DESC, symbol DESC")
    answer = get(server, "/api/signals", limit=200)
    assert answer.status_code == 200
    body = answer.json()
    assert len(expected) == 31 and body["count"] == 31 and body["next"] is None
    assert body["signals"] == expected


def test_the_legacy_all_signals_routes_answer_the_same(server):
    ours = get(server, "/api/signals").json()
    for path in ("/all-signals", "/api/automated-signals/all-signals"):
        assert get(server, path).json() == ours, path


def test_pages_of_signals_walk_every_row_once_forward_and_back(server, demo_db):
    expected = [(r["symbol"], r["trade_id"]) for r in view_rows(
        demo_db, "SELECT symbol, trade_id FROM sigsync.all_signals ORDER BY trade_id DESC, symbol DESC")]
    forward = walk(server, "/api/signals", "signals", limit=7)
    assert [(r["symbol"], r["trade_id"]) for r in forward] == expected
    # back from the last page with the prev cursors
    last = get(server, "/api/signals", limit=7, after=get(server, "/api/signals", limit=28).json()["next"]).json()
    back, before = list(last["signals"]), last["prev"]
    while before:
        page = get(server, "/api/signals", limit=7, before=before).json()
        back = page["signals"] + back
        before = page["prev"]
    assert [(r["symbol"], r["trade_id"]) for r in back] == expected


@pytest.mark.parametrize("sort,dir,order", [
    ("health", "asc", "coalesce(health_score, -1) ASC, symbol ASC, trade_id ASC"),
    ("mfe", "desc", "coalesce(no_be_mfe, -1) DESC, symbol DESC, trade_id DESC"),
    ("mae", "asc", "coalesce(mae_global_r, 1) ASC, symbol ASC, trade_id ASC"),
    ("time", "asc", "trade_id ASC, symbol ASC"),
])
def test_each_sort_order_is_the_views_order_across_pages(server, demo_db, sort, dir, order):
    expected = [r["trade_id"] for r in view_rows(demo_db, f"SELECT trade_id FROM sigsync.all_signals ORDER BY {order}")]
    assert [r["trade_id"] for r in walk(server, "/api/signals", "signals", sort=sort, dir=dir, limit=6)] == expected


@pytest.mark.parametrize("params,where,args", [
    ({"status": "cancelled"}, "status = %s", ("cancelled",)),
    ({"status": "active"}, "status = %s", ("active",)),
    ({"session": "NY AM"}, "session = %s", ("NY AM",)),
    ({"symbol": "NQ1!"}, "symbol = %s", ("NQ1!",)),
    ({"date": "2025-12-12"}, "signal_date = %s", ("2025-12-12",)),
    ({"q": "20251212_10"}, "trade_id LIKE %s", ("20251212\\_10%",)),
    ({"status": "closed", "session": "NY PM"}, "status = %s AND session = %s", ("closed", "NY PM")),
])
def test_filters_answer_the_rows_the_view_has_for_them(server, demo_db, params, where, args):
    expected = pg_json(demo_db, f"SELECT * FROM sigsync.all_signals WHERE {where}"
                                f" ORDER BY trade_id DESC, symbol DESC", args)
    body = get(server, "/api/signals", limit=200, **params).json()
    assert body["signals"] == expected and body["count"] == len(expected)
    assert expected or params.get("symbol") is None


def test_the_gap_filter_answers_the_signals_with_that_open_gap(server, demo_db):
    with __import__("psycopg").connect(demo_db, autocommit=True) as conn:  # open a gap: an active trade goes stale
        conn.execute("SELECT sigsync.reconcile(p_now => now(), p_full => true)")
    expected = [r["trade_id"] for r in view_rows(
        demo_db, "SELECT trade_id FROM sigsync.all_signals a WHERE EXISTS (SELECT 1 FROM sigsync.signal_gaps g"
                 " WHERE g.symbol = a.symbol AND g.trade_id = a.trade_id AND g.gap_type = 'no_mfe_update')"
                 " ORDER BY trade_id DESC, symbol DESC")]
    assert expected, "the stale cycle opened no no_mfe_update gap"
    body = get(server, "/api/signals", gap="no_mfe_update", limit=200).json()
    assert [r["trade_id"] for r in body["signals"]] == expected


# -- one signal -----------------------------------------------------------------------------------

def test_api_signal_answers_its_row_provenance_gaps_timeline_and_bars(server, demo_db):
    (row,) = view_rows(demo_db, "SELECT symbol, trade_id FROM sigsync.completed_trades ORDER BY trade_id LIMIT 1")
    key = (row["symbol"], row["trade_id"])
    body = get(server, f"/api/signals/{quote(key[0], safe='')}/{key[1]}").json()
    (signal,) = pg_json(demo_db, "SELECT * FROM sigsync.all_signals WHERE symbol = %s AND trade_id = %s", key)
    assert body["signal"] == signal
    assert body["provenance"] == pg_json(
        demo_db, "SELECT field, value, tier, confidence, source, filled_at, as_of FROM sigsync.field_provenance"
                 " WHERE symbol = %s AND trade_id = %s ORDER BY field", key)
    assert body["gaps"] == pg_json(
        demo_db, "SELECT gap_type, since FROM sigsync.signal_gaps WHERE symbol = %s AND trade_id = %s"
                 " ORDER BY since, gap_type", key)
    timeline = pg_json(
        demo_db, "SELECT at, kind, what, detail, event_id, audit_id FROM sigsync.signal_timeline"
                 " WHERE symbol = %s AND trade_id = %s ORDER BY at, kind DESC, event_id, audit_id", key)
    assert body["timeline"] == timeline and body["timeline_total"] == len(timeline) > 10
    bars = pg_json(
        demo_db, "SELECT ts, open, high, low, close, in_trade, t2_be_mfe, t2_no_be_mfe, t2_mae, t2_be_trigger,"
                 " t2_be_exit, t2_stop FROM sigsync.signal_bars WHERE symbol = %s AND trade_id = %s ORDER BY ts", key)
    assert body["bars"] == bars and len(bars) > 60


def test_an_unknown_or_malformed_signal_is_404(server):
    for path in ("/api/signals/NQ1%21/20251212_042500000_BEARISH", "/api/signals/NQ1%21/nope",
                 "/api/signals/" + "x" * 41 + "/20251212_042500000_BULLISH"):
        answer = get(server, path)
        assert answer.status_code == 404 and answer.json()["code"] == "not_found", path
        assert_clean(answer)


# -- the other lists --------------------------------------------------------------------------------

def test_api_cancelled_answers_cancelled_signals(server, demo_db):
    expected = pg_json(demo_db, "SELECT * FROM sigsync.cancelled_signals ORDER BY trade_id DESC, symbol DESC")
    assert len(expected) == 8
    assert walk(server, "/api/cancelled", "cancelled", limit=3) == expected
    ours = get(server, "/api/cancelled").json()
    for path in ("/cancelled-signals", "/api/automated-signals/cancelled-signals"):
        assert get(server, path).json() == ours


def test_api_gaps_answers_gap_summary_and_signal_gaps(server, demo_db):
    body = get(server, "/api/gaps", limit=200).json()
    assert body["summary"] == pg_json(demo_db, "SELECT gap_type, open_count FROM sigsync.gap_summary")
    assert body["gaps"] == pg_json(demo_db, "SELECT * FROM sigsync.signal_gaps"
                                            " ORDER BY since, symbol, trade_id, gap_type")
    assert body["count"] == len(body["gaps"])


def test_api_health_answers_system_health_gap_summary_and_the_indicator_link(server, demo_db):
    body = get(server, "/api/health").json()
    (health,) = pg_json(demo_db, "SELECT * FROM sigsync.system_health")
    assert body["system_health"] == health
    assert body["gap_summary"] == pg_json(demo_db, "SELECT gap_type, open_count FROM sigsync.gap_summary")
    assert body["indicators"] == pg_json(demo_db, "SELECT * FROM sigsync.indicator_link ORDER BY source")
    assert body["settings"] == pg_json(demo_db, "SELECT * FROM sigsync.dashboard_settings")[0]
    for path in ("/stats-live", "/api/automated-signals/stats-live", "/health-metrics", "/api/sync/health-metrics"):
        assert get(server, path).json()["system_health"] == health, path


def test_api_runs_answers_cycle_history(server, demo_db):
    expected = pg_json(demo_db, "SELECT * FROM sigsync.cycle_history ORDER BY run_id DESC")
    assert len(expected) >= 2
    assert walk(server, "/api/runs", "runs", limit=1) == expected
    ok = get(server, "/api/runs", status="ok").json()["runs"]
    assert ok == [r for r in expected if r["status"] == "ok"]


def test_api_rejected_answers_rejected_payloads(server, demo_db):
    expected = pg_json(demo_db, "SELECT * FROM sigsync.rejected_payloads ORDER BY id DESC")
    assert [r["error_code"] for r in expected] == ["malformed_trade_id", "invalid_json"]
    assert get(server, "/api/rejected").json()["rejected"] == expected
    assert get(server, "/api/rejected", code="invalid_json").json()["rejected"] == expected[1:]


# -- bounds -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    {"status": "open"}, {"limit": "0"}, {"limit": "201"}, {"limit": "ten"}, {"sort": "price"}, {"dir": "up"},
    {"date": "2025-13-40"}, {"date": "1999-01-01"}, {"gap": "No Gap"}, {"q": "'; DROP TABLE x; --"},
    {"symbol": "x" * 41}, {"symbol": "NQ\x00"}, {"session": "x" * 65}, {"session": "NY\x00AM"},
    {"after": "not a cursor!"}, {"after": "W10"}, {"limit": "²"}, {"date": "２０２５-12-12"},
    {"after": "a", "before": "b"}, {"status": ["active", "closed"]},
])
def test_bad_parameters_are_answered_400_without_internals(server, params):
    answer = httpx.get(f"{server.url}/api/signals", params=params, timeout=10)
    assert answer.status_code == 400, (params, answer.text)
    assert answer.json()["code"] == "bad_request"
    assert_clean(answer)


def test_a_cursor_is_bound_to_its_list_and_sort_order(server):
    cursor = get(server, "/api/signals", limit=5).json()["next"]
    assert get(server, "/api/signals", limit=5, after=cursor).status_code == 200
    assert get(server, "/api/signals", limit=5, after=cursor, sort="health").status_code == 400
    assert get(server, "/api/signals", limit=5, after=cursor, dir="asc").status_code == 400
    assert get(server, "/api/cancelled", after=cursor).status_code == 400
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    assert get(server, "/api/signals", limit=5, after=tampered).status_code == 400


def test_answers_carry_a_strict_content_security_policy_and_no_store(server):
    for path in ("/", "/signals", "/api/signals", "/api/health"):
        answer = get(server, path)
        assert answer.status_code == 200, path
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert answer.headers["cache-control"] == "no-store" and answer.headers["x-content-type-options"] == "nosniff"
