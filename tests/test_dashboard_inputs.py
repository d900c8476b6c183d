"""Valid input is answered (DESIGN §15), over real HTTP on a real `sigsync serve`: every value a row
can hold (what ingest stores: a symbol of any 1-40 characters, EUR/USD included; a session of any
1-64; a number with 20 decimals) is accepted back in a link, a filter and a cursor and answered
with its exact digits, and numbers are read as ASCII digits only (a superscript or full-width
digit is a 400, never a 500)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote

import httpx
import pytest

from dashboard_helpers import epoch_ms, exact, ingest, pg_json, view_rows
from test_serve_helpers import serving

ODD_SYMBOLS = ["EUR/USD", "ES\tZ5", "DAX 40 (€)", "100%/50?#"]
SESSION = "NY Open (1h)"
PRECISE = "24870.12345678901234567891"   # 20 decimals: the most ingest accepts
PRECISE_ID = "20251212_102000000_BULLISH"


def created(symbol: str, minute: int, session: str | None = None, direction: str = "Bullish") -> dict:
    at = f"2025-12-12T10:{minute:02d}:00-05:00"
    body = {"event_type": "SIGNAL_CREATED", "symbol": symbol, "direction": direction,
            "trade_id": f"20251212_10{minute:02d}00000_{direction.upper()}", "signal_time": at[:19],
            "signal_price": 100.25, "timestamp": epoch_ms(at)}
    if session:
        body["session"] = session
    return body


def mfe(symbol: str, minute: int, value: float) -> dict:
    at = f"2025-12-12T10:{minute + 3:02d}:00-05:00"
    return {"event_type": "MFE_UPDATE", "symbol": symbol, "trade_id": f"20251212_10{minute:02d}00000_BULLISH",
            "be_mfe": value, "no_be_mfe": value, "mae_global_r": -0.1, "timestamp": epoch_ms(at)}


@pytest.fixture(scope="module")
def odd_db(module_db):
    bodies = []
    for i, symbol in enumerate(ODD_SYMBOLS):
        bodies += [created(symbol, 10 + i, SESSION if i == 0 else None), mfe(symbol, 10 + i, 0.5 + i)]
    bodies += [created("NQ1!", 20 + i, "NY AM") for i in range(3)]
    bodies.append('{"event_type": "ENTRY", "trade_id": "%s", "entry_price": %s, "stop_loss": 24860.5,'
                  ' "confirmation_time": "2025-12-12T10:21:00", "timestamp": %d}'
                  % (PRECISE_ID, PRECISE, epoch_ms("2025-12-12T10:21:00-05:00")))
    bodies.append('{"event_type": "MFE_UPDATE", "trade_id": "%s", "be_mfe": 0.12345678901234567891,'
                  ' "no_be_mfe": 1.00000000000000000001, "mae_global_r": -0.00100000000000000001,'
                  ' "current_price": %s, "timestamp": %d}' % (PRECISE_ID, PRECISE, epoch_ms("2025-12-12T10:22:00-05:00")))
    ingest(module_db, *bodies)
    return module_db


@pytest.fixture(scope="module")
def server(odd_db):
    with serving(odd_db) as serve:
        yield serve


def get(server, path: str, **params) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", params=params, timeout=10)


def test_every_odd_symbol_is_stored_as_sent(odd_db):
    stored = {r["symbol"] for r in view_rows(odd_db, "SELECT DISTINCT symbol FROM sigsync.all_signals")}
    assert stored == {s.upper() for s in ODD_SYMBOLS} | {"NQ1!"}


@pytest.mark.parametrize("symbol", ODD_SYMBOLS)
def test_a_symbol_with_a_slash_or_any_character_is_linked_and_its_link_answers(server, odd_db, symbol):
    symbol = symbol.upper()
    listing = get(server, "/signals", limit=200).text
    links = {unescape(h) for h in re.findall(r'href="(/signals/[^"]+)" class="tid"', listing)}
    (row,) = view_rows(odd_db, "SELECT trade_id FROM sigsync.all_signals WHERE symbol = %s", (symbol,))
    link = f"/signals/{quote(symbol, safe='')}/{row['trade_id']}"
    assert link in links
    page = httpx.get(server.url + link, timeout=10)
    assert page.status_code == 200, (link, page.status_code, page.text[:300])
    assert row["trade_id"] in page.text
    api = httpx.get(f"{server.url}/api{link}", timeout=10)
    assert api.status_code == 200 and api.json()["signal"]["symbol"] == symbol


@pytest.mark.parametrize("sort", ["time", "mfe", "health", "mae"])
def test_a_cursor_ending_on_any_row_is_accepted_back(server, odd_db, sort):
    seen, after = [], None
    for _ in range(20):
        answer = get(server, "/api/signals", limit=1, sort=sort, **({"after": after} if after else {}))
        assert answer.status_code == 200, (seen, answer.text)
        body = answer.json()
        seen += [(r["symbol"], r["trade_id"]) for r in body["signals"]]
        after = body["next"]
        if after is None:
            break
    assert len(seen) == len(ODD_SYMBOLS) + 3 == len(set(seen))  # (the precise one is among the 3)


def test_the_session_filter_takes_every_session_its_menu_offers(server, odd_db):
    page = get(server, "/signals").text
    menu = re.search(r'<select name="session">(.*?)</select>', page, re.S).group(1)
    offered = [unescape(v) for v in re.findall(r'<option value="([^"]*)"', menu) if v]
    assert SESSION in offered
    for session in offered:
        expected = [r["trade_id"] for r in view_rows(
            odd_db, "SELECT trade_id FROM sigsync.all_signals WHERE session = %s ORDER BY trade_id DESC, symbol DESC",
            (session,))]
        answer = get(server, "/api/signals", session=session)
        assert answer.status_code == 200, (session, answer.text)
        assert [r["trade_id"] for r in answer.json()["signals"]] == expected and expected
        assert get(server, "/signals", session=session).status_code == 200


@pytest.mark.parametrize("limit", ["²", "１０", "٣", "1²", " 5\n", "+5", "5.0"])
def test_a_number_in_other_digits_is_a_400_not_a_500(server, limit):
    for path in ("/api/signals", "/signals", "/api/runs", "/api/rejected", "/api/gaps", "/api/cancelled"):
        answer = get(server, path, limit=limit)
        assert answer.status_code == 400, (path, limit, answer.status_code, answer.text[:200])


def test_a_cursor_with_other_digits_is_a_400(server):
    import base64
    import json

    raw = json.dumps(["signals:mfe:desc", "١٢", "NQ1!", "20251212_102000000_BULLISH"]).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    answer = get(server, "/api/signals", sort="mfe", after=cursor)
    assert answer.status_code == 400 and answer.json()["code"] == "bad_request"


def test_numbers_are_answered_with_their_exact_digits(server, odd_db):
    key = ("NQ1!", PRECISE_ID)
    (stored,) = view_rows(odd_db, "SELECT entry_price::text, no_be_mfe::text FROM sigsync.all_signals"
                                  " WHERE symbol = %s AND trade_id = %s", key)
    assert stored == {"entry_price": PRECISE, "no_be_mfe": "1.00000000000000000001"}
    answer = get(server, f"/api/signals/NQ1%21/{PRECISE_ID}")
    assert answer.status_code == 200
    assert f'"entry_price":{PRECISE}' in answer.text and '"no_be_mfe":1.00000000000000000001' in answer.text
    body = exact(answer)
    (signal,) = pg_json(odd_db, "SELECT * FROM sigsync.all_signals WHERE symbol = %s AND trade_id = %s", key)
    assert body["signal"] == signal
    assert body["provenance"] == pg_json(
        odd_db, "SELECT field, value, tier, confidence, source, filled_at, as_of FROM sigsync.field_provenance"
                " WHERE symbol = %s AND trade_id = %s ORDER BY field", key)
    assert body["timeline"] == pg_json(
        odd_db, "SELECT at, kind, what, detail, event_id, audit_id FROM sigsync.signal_timeline"
                " WHERE symbol = %s AND trade_id = %s ORDER BY at, kind DESC, event_id, audit_id", key)
    assert any(e["detail"].get("current_price") == __import__("decimal").Decimal(PRECISE) for e in body["timeline"])
    listing = get(server, "/api/signals", symbol="NQ1!", limit=200)
    assert exact(listing)["signals"] == pg_json(
        odd_db, "SELECT * FROM sigsync.all_signals WHERE symbol = 'NQ1!' ORDER BY trade_id DESC, symbol DESC")
    assert PRECISE in listing.text
