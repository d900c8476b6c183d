"""The Pine Script alert messages of the README ("Connecting TradingView") are accepted by ingest.

The README's Pine code is read as written: its one-expression functions (the JSON pieces,
tradeId, nyTime, htfJson and one msg* function per event type) are evaluated by a small
interpreter of the Pine subset they use (string literals, +, ?:, calls, na, str.tostring,
str.format_time, syminfo.ticker, format.mintick), filled with example values, and each
message must be JSON, within TradingView's 40,960 characters, and accepted by sigsync.ingest.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
PINE = "\n".join(re.findall(r"```pine\n(.*?)```", README.read_text(), flags=re.S))
EVENT_TYPES = {"SIGNAL_CREATED", "ENTRY", "MFE_UPDATE", "MFE_UPDATE_BATCH", "BE_TRIGGERED", "EXIT_SL", "EXIT_BE",
               "CANCELLED", "HEARTBEAT", "SYNC_STATUS"}
MAX_MESSAGE = 40_960
MINTICK = object()
TICKER = "NQ1!"
NY = ZoneInfo("America/New_York")


# -- a Pine subset ---------------------------------------------------------------------------------

TOKEN = re.compile(r"""\s*(?:(?P<str>'[^']*'|"[^"]*")|(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][\w.]*)|(?P<op>[()+,?:]))""")


def functions(source: str) -> dict[str, tuple[list[str], str]]:
    """name -> (parameter names, body) of every one-expression function `f(...) => expr`
    (continuation lines indented below it belong to the body)."""
    found: dict[str, tuple[list[str], str]] = {}
    lines = source.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\w+)\(([^)]*)\)\s*=>(.*)$", line)
        if not m:
            continue
        body = [m.group(3)]
        for following in lines[i + 1:]:
            if following.startswith(" ") and following.strip():
                body.append(following)
            else:
                break
        if any(re.match(r"\s+\w+\s*=\s", b) or re.match(r"\s+(for|if|while)\b", b) for b in body[1:]):
            continue  # statements, not one expression (e.g. idList): not for this interpreter
        params = [p.split()[-1] for p in m.group(2).split(",") if p.strip()]
        found[m.group(1)] = (params, " ".join(b.strip() for b in body))
    return found


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        m = TOKEN.match(text, pos)
        assert m and m.end() > pos, f"cannot read Pine at: {text[pos:pos + 40]!r}"
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


def pine_tostring(value, fmt=None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if fmt is MINTICK:
        return f"{value:.2f}"  # NQ1!: tick 0.25, two decimals
    if fmt == "#.####":
        return f"{value:.4f}".rstrip("0").rstrip(".")
    assert fmt is None, fmt
    return str(value)


def pine_format_time(ms: int, fmt: str, tz: str) -> str:
    at = datetime.fromtimestamp(ms / 1000, timezone.utc).astimezone(ZoneInfo(tz))
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] == "'":
            j = fmt.index("'", i + 1)
            out.append(fmt[i + 1:j])
            i = j + 1
            continue
        for pattern, value in (("yyyy", f"{at.year:04d}"), ("MM", f"{at.month:02d}"), ("dd", f"{at.day:02d}"),
                               ("HH", f"{at.hour:02d}"), ("mm", f"{at.minute:02d}"), ("ss", f"{at.second:02d}"),
                               ("SSS", f"{at.microsecond // 1000:03d}")):
            if fmt.startswith(pattern, i):
                out.append(value)
                i += len(pattern)
                break
        else:
            assert not fmt[i].isalpha(), f"unknown pattern letter {fmt[i]!r} in {fmt!r}"
            out.append(fmt[i])
            i += 1
    return "".join(out)


class Pine:
    """Parses each function body into a tree, then evaluates it (a ?: evaluates one branch)."""

    BUILTINS = {"syminfo.ticker": TICKER, "format.mintick": MINTICK, "true": True, "false": False}

    def __init__(self, source: str):
        self.functions = functions(source)
        self.trees = {}

    def call(self, name: str, *args):
        if name == "na":
            return args[0] is None
        if name == "str.tostring":
            return pine_tostring(*args)
        if name == "str.format_time":
            return pine_format_time(*args)
        params, body = self.functions[name]
        assert len(args) == len(params), (name, args)
        if name not in self.trees:
            tree, rest = self._expr(tokenize(body))
            assert rest == [], (name, rest)
            self.trees[name] = tree
        return self._eval(self.trees[name], dict(zip(params, args)))

    # parsing: expr := sum ['?' expr ':' expr]; sum := term {'+' term}; term := literal | name | call | (expr)
    def _expr(self, tokens):
        cond, tokens = self._sum(tokens)
        if tokens and tokens[0] == ("op", "?"):
            yes, tokens = self._expr(tokens[1:])
            assert tokens and tokens[0] == ("op", ":"), tokens
            no, tokens = self._expr(tokens[1:])
            return ("if", cond, yes, no), tokens
        return cond, tokens

    def _sum(self, tokens):
        parts = []
        part, tokens = self._term(tokens)
        parts.append(part)
        while tokens and tokens[0] == ("op", "+"):
            part, tokens = self._term(tokens[1:])
            parts.append(part)
        return (parts[0] if len(parts) == 1 else ("+", parts)), tokens

    def _term(self, tokens):
        (kind, text), tokens = tokens[0], tokens[1:]
        if kind == "str":
            return ("lit", text[1:-1]), tokens
        if kind == "num":
            return ("lit", float(text) if "." in text else int(text)), tokens
        if kind == "op" and text == "(":
            tree, tokens = self._expr(tokens)
            assert tokens[0] == ("op", ")")
            return tree, tokens[1:]
        assert kind == "name", (kind, text)
        if tokens and tokens[0] == ("op", "("):
            args, tokens = [], tokens[1:]
            while tokens[0] != ("op", ")"):
                arg, tokens = self._expr(tokens)
                args.append(arg)
                if tokens[0] == ("op", ","):
                    tokens = tokens[1:]
            return ("call", text, args), tokens[1:]
        return ("name", text), tokens

    def _eval(self, tree, env):
        kind = tree[0]
        if kind == "lit":
            return tree[1]
        if kind == "if":
            return self._eval(tree[2] if self._eval(tree[1], env) else tree[3], env)
        if kind == "+":
            values = [self._eval(part, env) for part in tree[1]]
            assert all(isinstance(v, str) for v in values), ("+ of", values)
            return "".join(values)
        if kind == "call":
            return self.call(tree[1], *(self._eval(arg, env) for arg in tree[2]))
        name = tree[1]
        if name in env:
            return env[name]
        assert name in self.BUILTINS, f"unknown name {name}"
        return self.BUILTINS[name]


# -- example values ----------------------------------------------------------------------------------

PINE_CODE = Pine(PINE)
BAR = int(datetime(2025, 12, 12, 10, 42, tzinfo=NY).timestamp() * 1000)
MINUTE = 60_000


def t(minutes: int) -> int:
    return BAR + minutes * MINUTE


def trade(bullish: bool = True, minutes: int = 0) -> str:
    return PINE_CODE.call("tradeId", t(minutes), bullish)


def examples() -> list[tuple[str, dict]]:
    """(function, arguments by parameter name): every message function, filled in full and with
    its optional fields na."""
    p = PINE_CODE
    bull, bear = trade(True), trade(False, 18)
    htf = p.call("htfJson", "Bullish", "Bullish", "Bearish", "Bullish", "Bullish", "Bullish")
    items = ",".join(p.call("mfeItem", bull, 1.5, 1.5 + 0.1 * i, -0.2, 25701.25) for i in range(2))
    return [
        ("msgSignalCreated", dict(id=bull, signalTime=p.call("nyTime", t(0)), direction="Bullish", session="NY AM",
                                  htf=htf, price=25672.5, ts=t(1))),
        ("msgSignalCreated", dict(id=bear, signalTime=p.call("nyTime", t(18)), direction="Bearish", session=None,
                                  htf=None, price=None, ts=t(19))),
        ("msgEntry", dict(id=bull, entry=25680.0, stop=25645.0, session="NY AM", confirmationTime=p.call("nyTime", t(3)),
                          bars=3, htf=htf, ts=t(3))),
        ("msgEntry", dict(id=trade(True, 60), entry=25700.25, stop=25690.0, session=None, confirmationTime=None,
                          bars=None, htf=None, ts=t(62))),
        ("msgMfeUpdate", dict(id=bull, beMfe=0.4, noBeMfe=0.4, mae=-0.2, price=25694.0, ts=t(4))),
        ("msgMfeUpdate", dict(id=bull, beMfe=0.6, noBeMfe=0.6, mae=None, price=None, ts=t(5))),
        ("msgMfeBatch", dict(items=items, ts=t(6))),
        ("msgBeTriggered", dict(id=bull, ts=t(7))),
        ("msgExit", dict(exitType="EXIT_BE", id=bull, exitPrice=25680.0, finalMfe=1.5, ts=t(20))),
        ("msgExit", dict(exitType="EXIT_SL", id=bull, exitPrice=25645.0, finalMfe=2.3, ts=t(30))),
        ("msgCancelled", dict(id=bear, cancelledTime=p.call("nyTime", t(20)), reason="opposite_signal_appeared",
                              barsPending=2, cancelledBy=trade(True, 20), ts=t(20))),
        ("msgCancelled", dict(id=trade(False, 40), cancelledTime=None, reason=None, barsPending=None, cancelledBy=None,
                              ts=t(41))),
        ("msgHeartbeat", dict(tracked=2, version="1.0.0", ts=t(8))),
        ("msgSyncStatus", dict(tracking=json.dumps([bull]), notTracking=json.dumps([bear]), ts=t(9))),
    ]


def message(name: str, args: dict) -> str:
    params, _body = PINE_CODE.functions[name]
    return PINE_CODE.call(name, *(args[p] for p in params))


# -- the tests -------------------------------------------------------------------------------------------


def test_there_is_a_message_function_for_every_event_type():
    produced = {json.loads(message(name, args))["event_type"] for name, args in examples()}
    assert produced == EVENT_TYPES
    assert {name for name in PINE_CODE.functions if name.startswith("msg")} == {name for name, _ in examples()}


def test_the_trade_id_and_times_are_what_sigsync_expects():
    assert trade(True) == "20251212_104200000_BULLISH" and trade(False, 18) == "20251212_110000000_BEARISH"
    assert PINE_CODE.call("nyTime", t(3)) == "2025-12-12T10:45:00"


@pytest.mark.parametrize("number", range(len(examples())))
def test_every_message_filled_with_example_values_is_accepted_by_ingest(db, number):
    name, args = examples()[number]
    text = message(name, args)
    assert len(text) <= MAX_MESSAGE
    body = json.loads(text)  # JSON, or TradingView would send it as text/plain and sigsync reject it
    assert body.get("symbol") == TICKER and all(v is not None for v in body.values())
    with psycopg.connect(db, autocommit=True) as conn:
        result = conn.execute("SELECT sigsync.ingest(%s::text)", (text,)).fetchone()[0]
    assert result["status"] == "accepted", (name, text, result)


def test_a_full_mfe_batch_stays_within_tradingview_and_sigsync_limits(db):
    max_items = int(re.search(r"MAX_ITEMS = (\d+)", PINE).group(1))
    items = ",".join(PINE_CODE.call("mfeItem", trade(i % 2 == 0, i), 12.3456, 23.4567, -0.9876, 25701.25)
                     for i in range(max_items))
    text = message("msgMfeBatch", dict(items=items, ts=t(max_items + 1)))
    assert len(text) <= MAX_MESSAGE, len(text)
    with psycopg.connect(db, autocommit=True) as conn:
        result = conn.execute("SELECT sigsync.ingest(%s::text)", (text,)).fetchone()[0]
        limit = conn.execute("SELECT value::integer FROM sigsync.settings WHERE key = 'max_batch_items'").fetchone()[0]
    assert result["status"] == "accepted" and len(result["event_ids"]) == max_items <= limit


def test_the_interpreter_would_catch_a_broken_template():
    broken = Pine(PINE.replace("""',"updates":['""", """'"updates":['"""))
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.call("msgMfeBatch", "", 1))
