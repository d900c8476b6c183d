"""The dashboard and read API of `sigsync serve` (DESIGN §15).

Pages (server-rendered with Jinja2, autoescaped; they refresh themselves on server-sent events):

    /                                overview: alert level, system_health, open gaps by type, cycles over
                                     time, events per minute, the indicator link per source, the last cycles
    /signals                         All Signals: filters (status, symbol, session, date, gap, trade_id
                                     prefix), sorts, keyset pagination
    /signals/{symbol}/{trade_id}     one signal: chart (bars, levels, marks, MFE/MAE path: real updates and
                                     Tier 2 told apart), fields with provenance, gaps, health, timeline
    /cancelled  /gaps  /runs  /rejected

JSON (the same data): /api/signals, /api/signals/{symbol}/{trade_id}, /api/cancelled, /api/gaps,
/api/health, /api/runs, /api/rejected, /api/live (text/event-stream), and the original system's
routes mapped onto them: /all-signals, /cancelled-signals, /stats-live, /health-metrics (also
under /api/automated-signals/ and /api/sync/ as it served them).

Reads go through sigsync.dashboard_data only (views, as sigsync_reader, on a pool of their
own: a page never takes a connection from the webhook batches). Login: sigsync.auth. Assets:
static/ (uPlot, pinned, with its licence; no CDN), served from memory with ETags.
"""

from __future__ import annotations

import asyncio
import bisect
import gzip
import hashlib
import json
import mimetypes
import time
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from jinja2 import Environment, FileSystemLoader, select_autoescape
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from sigsync import __version__
from sigsync.auth import Auth, parse_form, safe_next
from sigsync.dashboard_data import (
    LISTINGS, MFE_UPDATES_MAX, SYMBOL, TIMELINE_MAX, TRADE_ID, BadRequest, Reader, configure, dumps, jsonable, rows_json,
    signal_filters, simple_filter, CODE, GAP_TYPE,
)
from sigsync.live import Live

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
CACHE_SECONDS = 30.0
ROLE_RECHECK_SECONDS = 10.0
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
                    "Cross-Origin-Opener-Policy": "same-origin"}
LEGACY = {  # the original system's routes -> ours
    "/all-signals": "signals", "/api/automated-signals/all-signals": "signals",
    "/cancelled-signals": "cancelled", "/api/automated-signals/cancelled-signals": "cancelled",
    "/stats-live": "health", "/api/automated-signals/stats-live": "health",
    "/health-metrics": "health", "/api/sync/health-metrics": "health",
}
TIER_NAMES = {"event": "event", "0": "Tier 0", "1": "Tier 1", "2": "Tier 2", "3": "Tier 3", "rule": "rule"}
TIER_HINTS = {"event": "reported by the indicator", "0": "from the signal's SIGNAL_CREATED",
              "1": "asked of the indicator", "2": "computed from price bars", "3": "from the trade_id / sessions",
              "rule": "alternation rule"}
FIELD_ORDER = ["direction", "signal_time", "signal_date", "session", "signal_price", "htf_alignment",
               "confirmation_time", "bars_to_confirmation", "entry_price", "stop_loss", "targets_extended",
               "be_mfe", "no_be_mfe", "mae_global_r", "current_price", "last_mfe_update_at", "be_triggered_at",
               "be_exit_time", "exit_type", "exit_time", "exit_price", "final_mfe", "cancelled_at", "cancelled_by",
               "cancel_reason", "bars_pending", "cancel_detection", "source"]
PRICE_FIELDS = {"signal_price", "entry_price", "stop_loss", "current_price", "exit_price"}
R_FIELDS = {"be_mfe", "no_be_mfe", "mae_global_r", "final_mfe"}
TIME_FIELDS = {"signal_time", "confirmation_time", "last_mfe_update_at", "be_triggered_at", "be_exit_time",
               "exit_time", "cancelled_at"}
MINUS = "\u2212"


# -- how values read ---------------------------------------------------------------------------

def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError:
        return None
    return d if d.is_finite() else None


def _rounded(d: Decimal, places: int) -> Decimal:
    """Half away from zero, as a trader reads 1.125 (1.13); never a negative zero."""
    q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return abs(q) if q == 0 else q


def _text(q: Decimal, grouped: bool = True) -> str:
    """A rounded Decimal with its digits (grouped by thousands), the minus sign a real one."""
    text = f"{abs(q):,f}" if grouped else f"{abs(q):f}"
    return (MINUS + text) if q < 0 else text


def own_places(d: Decimal) -> int:
    """The decimals a value has (trailing zeros aside), at least 2: a trader's price keeps its own."""
    exponent = d.normalize().as_tuple().exponent if d != 0 else 0
    return max(2, -exponent if isinstance(exponent, int) else 0)


class Fmt:
    """Numbers as a trader reads them (rounded half away from zero, never -0.00), times in the
    `timezone` setting (with the zone's abbreviation where a local time is ambiguous: the hour
    that a fall-back to standard time repeats)."""

    def __init__(self, tz: ZoneInfo, now: datetime):
        self.tz = tz
        self.now = now

    def price(self, value: Any) -> str:
        d = _decimal(value)
        return "—" if d is None else _text(_rounded(d, own_places(d)))

    def r(self, value: Any, signed: bool = False) -> str:
        d = _decimal(value)
        if d is None:
            return "—"
        q = _rounded(d, 2)
        return ("+" if signed and q > 0 else "") + _text(q) + "R"

    def num(self, value: Any, places: int = 1) -> str:
        d = _decimal(value)
        return "—" if d is None else _text(_rounded(d, places))

    def int(self, value: Any) -> str:
        d = _decimal(value)
        return "—" if d is None else _text(_rounded(d, 0))

    def pct(self, value: Any) -> str:
        d = _decimal(value)
        return "—" if d is None else _text(_rounded(d, 1), grouped=False) + "%"

    def ms(self, value: Any) -> str:
        d = _decimal(value)
        if d is None:
            return "—"
        return f"{_text(_rounded(d, 0))} ms" if d < 10000 else f"{_text(_rounded(d / 1000, 1))} s"

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.tz)

    def ambiguous(self, t: datetime) -> bool:
        """This local time (in the timezone setting) is read twice on the clock (fall-back hour)."""
        return t.replace(fold=1 - t.fold).utcoffset() != t.utcoffset()

    def time(self, value: Any, seconds: bool = False) -> str:
        if not isinstance(value, datetime):
            return "—" if value is None else str(value)
        t = value.astimezone(self.tz)
        clock = "%H:%M:%S" if seconds else "%H:%M"
        if self.ambiguous(t):
            clock += " %Z"   # 01:30 EDT, then 01:30 EST
        if t.date() == self.now.astimezone(self.tz).date():
            return t.strftime(clock)
        if t.year == self.now.astimezone(self.tz).year:
            return t.strftime(f"%b %d {clock}")
        return t.strftime(f"%Y-%m-%d {clock}")

    def full(self, value: Any) -> str:
        if not isinstance(value, datetime):
            return ""
        return value.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S %Z")

    def day(self, value: Any) -> str:
        return value.isoformat() if isinstance(value, date) else "—"

    def ago(self, value: Any) -> str:
        if not isinstance(value, datetime):
            return "never"
        seconds = (self.now - value).total_seconds()
        if seconds < 0:
            return "in the future"
        for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
            if seconds >= size:
                return f"{int(seconds // size)} {unit} ago"
        return f"{int(seconds)} s ago"

    def span(self, value: Any) -> str:
        if not isinstance(value, timedelta):
            return "—"
        seconds = int(value.total_seconds())
        if seconds < 0:
            return "—"
        days, rest = divmod(seconds, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        if days:
            return f"{days}d {hours}h"
        if hours:
            return f"{hours}h {minutes:02d}m"
        return f"{minutes}m {secs:02d}s"

    def field(self, name: str, value: Any) -> str:
        """A registry field's value, read the way that field is read."""
        if value is None:
            return "—"
        if name in PRICE_FIELDS:
            return self.price(value)
        if name in R_FIELDS:
            return self.r(value)
        if name in TIME_FIELDS:
            parsed = value
            if isinstance(value, str):
                try:
                    parsed = datetime.fromisoformat(value)
                except ValueError:
                    return value[:80]
            return self.time(parsed, seconds=True)
        if name == "targets_extended" and isinstance(value, dict):
            return "  ".join(f"{k} {self.price(v)}" for k, v in sorted(value.items(), key=lambda kv: _rkey(kv[0])))
        if name == "htf_alignment" and isinstance(value, dict):
            return " ".join(f"{k}:{'▲' if str(v).lower() == 'bullish' else '▼' if str(v).lower() == 'bearish' else v}"
                            for k, v in value.items())
        if isinstance(value, (dict, list)):
            return json.dumps(value, default=str)[:160]
        return str(value)[:160]


def _rkey(name: str) -> float:
    try:
        return float(name.rstrip("Rr"))
    except ValueError:
        return 1e9


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else None


def _num(value: Any) -> float | None:
    d = _decimal(value)
    return float(d) if d is not None else None


def describe_entry(entry: dict, fmt: Fmt) -> str:
    """One line telling what a timeline entry says."""
    detail = entry.get("detail") if isinstance(entry.get("detail"), dict) else {}
    what = entry["what"]
    if entry["kind"] == "event":
        parts: list[str] = []
        if what == "SIGNAL_CREATED":
            parts = [str(detail.get("direction") or ""), f"at {fmt.price(detail.get('signal_price'))}"
                     if detail.get("signal_price") is not None else "", str(detail.get("session") or "")]
        elif what == "ENTRY":
            parts = [f"entry {fmt.price(detail.get('entry_price'))}", f"stop {fmt.price(detail.get('stop_loss'))}"]
        elif what == "MFE_UPDATE":
            parts = [f"BE {fmt.r(detail.get('be_mfe'))}", f"no-BE {fmt.r(detail.get('no_be_mfe'))}",
                     f"MAE {fmt.r(detail.get('mae_global_r'))}" if detail.get("mae_global_r") is not None else "",
                     f"@ {fmt.price(detail.get('current_price'))}" if detail.get("current_price") is not None else ""]
        elif what in ("EXIT_SL", "EXIT_BE"):
            parts = [f"exit {fmt.price(detail.get('exit_price'))}",
                     f"final {fmt.r(detail.get('final_mfe'))}" if detail.get("final_mfe") is not None else ""]
        elif what == "CANCELLED":
            parts = [str(detail.get("cancel_reason") or ""),
                     f"by {detail.get('cancelled_by')}" if detail.get("cancelled_by") else "",
                     f"{detail.get('bars_pending')} bars pending" if detail.get("bars_pending") is not None else ""]
        return " · ".join(p for p in parts if p)[:300]
    field = detail.get("field")
    tier = detail.get("tier")
    text = what
    if field:
        text += f" {field}: {fmt.field(field, detail.get('old_value'))} → {fmt.field(field, detail.get('new_value'))}"
    if tier is not None:
        text += f" ({TIER_NAMES.get(str(tier), tier)}, {fmt.num(detail.get('confidence'), 1)})"
    if detail.get("reason") and not field:
        text += f": {detail['reason']}"
    return text[:300]


REPORTED_TIERS = ("event", "0")   # what the indicator itself sent (its events, its SIGNAL_CREATED)
PATH_FIELDS = ("no_be_mfe", "be_mfe", "mae_global_r")


def _exact(value: Any) -> str | None:
    """A number's exact decimal text (what the chart's legend rounds, as Fmt does), or None."""
    d = _decimal(value)
    return None if d is None else format(d, "f")


def chart_data(signal: dict, bars: list[dict], updates: list[dict], provenance: dict[str, dict], fmt: Fmt,
               settings: dict) -> dict:
    """What static/charts.js needs to draw a signal's story with uPlot (no drawing here). Each
    plotted number comes with its exact decimal text, which the legend shows rounded as the
    tables are (charts.js fmt, half away from zero)."""
    t = [b["ts"].timestamp() for b in bars]
    interval = settings.get("bar_interval")
    bar_seconds = interval.total_seconds() if isinstance(interval, timedelta) and interval.total_seconds() > 0 else 60.0
    entry, stop = _decimal(signal.get("entry_price")), _decimal(signal.get("stop_loss"))
    risk = abs(entry - stop) if entry is not None and stop is not None else None
    sign = 1 if signal.get("direction") == "Bullish" else -1

    def at(when: datetime | None) -> int | None:
        """The bar a time falls in ([ts, ts + bar_interval)); None before the first or after the last."""
        if not isinstance(when, datetime) or not t:
            return None
        x = when.timestamp()
        i = bisect.bisect_right(t, x) - 1
        if i < 0 or (i == len(t) - 1 and x >= t[-1] + bar_seconds):
            return None
        return i

    marks, beyond = [], []

    def mark(kind: str, label: str, field: str | None, when: datetime | None, price: Any, inferred: bool | None = None) -> None:
        if not isinstance(when, datetime):
            return
        tier = str(provenance.get(field, {}).get("tier")) if field and field in provenance else None
        if inferred is None:
            inferred = tier is not None and tier not in REPORTED_TIERS
        if inferred:
            label += f" (inferred{', ' + TIER_NAMES.get(tier, tier) if tier and tier not in REPORTED_TIERS else ''})"
        i = at(when)
        if i is None:  # not drawn on a bar it does not belong to
            if t:
                where = "after the last stored bar" if when.timestamp() > t[-1] else "before the first stored bar"
                beyond.append({"label": label, "at": fmt.time(when, seconds=True), "where": where})
            return
        d = _decimal(price)
        if d is None:
            d = _decimal(bars[i]["close"])
        marks.append({"kind": kind, "label": label, "i": i, "y": float(d), "text": _exact(d), "inferred": inferred})

    mark("signal", "signal", "signal_time", signal.get("signal_time"), signal.get("signal_price"))
    mark("entry", "confirmed", "confirmation_time", signal.get("confirmation_time"), entry)
    if risk is not None:
        be_r = _decimal(settings.get("be_trigger_r")) or Decimal(1)
        mark("be", "BE trigger", "be_triggered_at", signal.get("be_triggered_at"), entry + sign * risk * be_r)
    mark("beexit", "BE exit", "be_exit_time", signal.get("be_exit_time"), entry)
    exit_price = _decimal(signal.get("exit_price"))
    mark("exit", "exit (stop)", "exit_time", signal.get("exit_time"), exit_price if exit_price is not None else stop)
    mark("cancel", "cancelled", "cancelled_at", signal.get("cancelled_at"), None,
         inferred=signal.get("cancel_detection") == "inferred")

    levels = []
    if entry is not None:
        levels.append({"kind": "entry", "label": "entry", "y": float(entry), "text": _exact(entry)})
    if stop is not None:
        levels.append({"kind": "stop", "label": "stop", "y": float(stop), "text": _exact(stop)})
    if isinstance(signal.get("targets_extended"), dict):
        high = max((float(b["high"]) for b in bars if b["high"] is not None), default=None)
        low = min((float(b["low"]) for b in bars if b["low"] is not None), default=None)
        for name, value in sorted(signal["targets_extended"].items(), key=lambda kv: _rkey(kv[0])):
            v = _decimal(value)
            if v is None:
                continue
            # the targets the price came near (within 1R of the bars' range), and always 1R
            if name == "1R" or (high is not None and risk and low - float(risk) <= float(v) <= high + float(risk)):
                levels.append({"kind": "target", "label": name, "y": float(v), "text": _exact(v)})

    # the MFE/MAE path: Tier 2 from the bars (every bar in the trade) and each reported update
    rows: dict[float, dict] = {}
    t2_points = 0
    for b in bars:
        if b["t2_no_be_mfe"] is not None:
            t2_points += 1
            rows.setdefault(b["ts"].timestamp(), {}).update(
                t2_nobe=b["t2_no_be_mfe"], t2_be=b["t2_be_mfe"], t2_mae=b["t2_mae"])
    last = None
    anomalies = 0
    for u in updates:   # in event-time order; updates at the same time kept apart by a millisecond
        x = u["at"].timestamp()
        if last is not None and x <= last:
            x = last + 0.001
        last = x
        row = rows.setdefault(x, {})
        flagged = set(u.get("anomaly_fields") or ()) if u.get("anomaly") else set()
        anomalies += bool(u.get("anomaly"))
        for field, key in (("no_be_mfe", "nobe"), ("be_mfe", "be"), ("mae_global_r", "mae")):
            if u.get(field) is not None and field not in flagged:
                row[key] = u[field]
        for field in PATH_FIELDS:   # an anomaly is drawn apart, by its first flagged value
            if field in flagged and u.get(field) is not None:
                row["anomaly"], row["anomaly_field"] = u[field], field
                break
    xs = sorted(rows)
    keys = ("t2_nobe", "t2_be", "t2_mae", "nobe", "be", "mae", "anomaly")
    path = {"t": xs, **{k: [_num(rows[x].get(k)) for x in xs] for k in keys},
            "text": {k: [_exact(rows[x].get(k)) for x in xs] for k in keys},
            "anomaly_field": [rows[x].get("anomaly_field") for x in xs]}
    return {"tz": fmt.tz.key, "direction": signal.get("direction"),
            "bars": {"t": t, "l": [_num(b["low"]) for b in bars], "h": [_num(b["high"]) for b in bars],
                     "c": [_num(b["close"]) for b in bars], "ct": [_exact(b["close"]) for b in bars]},
            "levels": levels, "marks": marks, "beyond": beyond, "path": path,
            "updates": len(updates), "anomalies": anomalies, "t2_points": t2_points,
            "updates_capped": len(updates) >= MFE_UPDATES_MAX}


# -- static files ------------------------------------------------------------------------------

class Static:
    """The package's static/ files, read once, served with an ETag (gzipped when asked)."""

    def __init__(self, root: Path):
        self.files: dict[str, tuple[bytes, bytes | None, str, str]] = {}
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            body = path.read_bytes()
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
                kind += "; charset=utf-8"
            packed = gzip.compress(body, 9, mtime=0) if len(body) > 1024 and "charset" in kind else None
            self.files[path.relative_to(root).as_posix()] = (body, packed, kind,
                                                             '"' + hashlib.sha256(body).hexdigest()[:20] + '"')

    async def serve(self, request: Request) -> Response:
        found = self.files.get(request.path_params["path"])
        if found is None:
            return Response("not found", status_code=404, media_type="text/plain")
        body, packed, kind, etag = found
        headers = {"ETag": etag, "Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff",
                   "Vary": "Accept-Encoding"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        if packed is not None and "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            body = packed
        return Response(body, headers=headers, media_type=kind)


def _gzip_response(body: str, status: int, request: Request, media: str, headers: dict) -> Response:
    data = body.encode()
    headers = {**headers, "Vary": "Accept-Encoding"}
    if len(data) > 1400 and "gzip" in request.headers.get("accept-encoding", ""):
        data = gzip.compress(data, 5)
        headers["Content-Encoding"] = "gzip"
    return Response(data, status_code=status, media_type=media, headers=headers)


# -- the dashboard -----------------------------------------------------------------------------

class Dashboard:
    def __init__(self, dsn: str, connect_kwargs: dict, host: str, password: str | None, token: str | None,
                 note: Callable[[str, str], None], log: Callable[[dict], None] | None = None,
                 trusted: list[str] | tuple[str, ...] = ()):
        self.dsn = dsn
        self.connect_kwargs = {**connect_kwargs, "application_name": "sigsync serve dashboard"}
        # trusted: the --trusted-proxy networks (their X-Forwarded-Host is believed by the login form)
        self.auth = Auth(host, password, token, trusted)
        self.note = note
        self.log = log
        self.pool: AsyncConnectionPool | None = None
        self.reader: Reader | None = None
        self.live = Live(dsn, self.connect_kwargs, note)
        self.static = Static(STATIC)
        self.env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                               trim_blocks=True, lstrip_blocks=True)
        self.env.globals.update(version=__version__, quote=lambda s: quote(str(s), safe=""),
                                tier_name=lambda t: TIER_NAMES.get(str(t), str(t)),
                                tier_hint=lambda t: TIER_HINTS.get(str(t), ""))
        self._cache: dict[str, tuple[float, Any]] = {}
        self.role_problem: str | None = None
        self._role_checked = 0.0

    async def check_role(self) -> None:
        """Can this DSN read as sigsync_reader? (Else every page says so at once, not after a pool timeout.)"""
        self._role_checked = time.monotonic()
        try:
            async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True, **self.connect_kwargs) as conn:
                await configure(conn)
            self.role_problem = None
        except psycopg.errors.InsufficientPrivilege:
            if self.role_problem is None:
                self.note("dashboard: the database role is not a member of sigsync_reader: the dashboard answers 503 "
                          "until it is (GRANT sigsync_reader TO the role of --dashboard-dsn / --dsn)", "warning")
            self.role_problem = "its database role needs sigsync_reader (GRANT sigsync_reader TO ...)"
        except Exception:  # the database is away: the pool and the pages say so
            pass

    async def _role_ok(self) -> bool:
        if self.role_problem and time.monotonic() - self._role_checked > ROLE_RECHECK_SECONDS:
            await self.check_role()
        return self.role_problem is None

    async def start(self) -> None:
        await self.check_role()
        self.pool = AsyncConnectionPool(
            # min_size 0: connections only when a page asks, so a role that cannot read (yet) is said
            # once (check_role), not by the pool's reconnect attempts every few seconds
            self.dsn, min_size=0, max_size=4, open=False, name="sigsync-dashboard", configure=configure,
            kwargs={"autocommit": True, **self.connect_kwargs}, timeout=5.0, reconnect_timeout=10.0,
            check=AsyncConnectionPool.check_connection)
        await self.pool.open(wait=False)
        self.reader = Reader(self.pool)
        self.live.start()

    def stop(self) -> None:
        """On SIGTERM: end the event streams at once, so that they do not hold the shutdown."""
        self.live.stop()

    async def close(self) -> None:
        await self.live.close()
        if self.pool is not None:
            await self.pool.close(timeout=1.0)

    # -- cached small reads -------------------------------------------------------------------

    async def cached(self, key: str, load: Callable[[], Awaitable[Any]], seconds: float = CACHE_SECONDS) -> Any:
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit and now - hit[0] < seconds:
            return hit[1]
        value = await load()
        self._cache[key] = (now, value)
        return value

    async def settings(self) -> dict:
        return await self.cached("settings", lambda: self.reader.one("settings"), 10.0)

    async def fmt(self) -> tuple[Fmt, dict]:
        settings = await self.settings() or {}
        try:
            tz = ZoneInfo(settings.get("timezone") or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            tz = ZoneInfo("UTC")
        return Fmt(tz, datetime.now(timezone.utc)), settings

    async def gap_types(self) -> list[str]:
        async def load():
            return [r["gap_type"] for r in await self.reader.fetch("gap_summary")]
        return await self.cached("gap_types", load, 300.0)

    async def choices(self, column: str) -> list[str]:
        """Symbols / sessions seen in the registry (for the filter menus), cached."""
        async def load():
            rows = await self.reader.query(
                f"SELECT DISTINCT {column} AS v FROM sigsync.all_signals WHERE {column} IS NOT NULL"
                f" ORDER BY 1 LIMIT 200")
            return [r["v"] for r in rows]
        return await self.cached(f"choices:{column}", load, 60.0)

    # -- rendering ------------------------------------------------------------------------------

    def render(self, request: Request, template: str, status: int = 200, **context) -> Response:
        context.setdefault("page", template.split(".")[0])
        html = self.env.get_template(template).render(request=request, path=request.url.path,
                                                      login_required=self.auth.required, **context)
        return _gzip_response(html, status, request, "text/html; charset=utf-8",
                              {**SECURITY_HEADERS, "Cache-Control": "no-store"})

    def api(self, request: Request, body: Any, status: int = 200, headers: dict | None = None) -> Response:
        text = dumps(body)
        return _gzip_response(text, status, request, "application/json",
                              {**SECURITY_HEADERS, "Cache-Control": "no-store", **(headers or {})})

    def _logged(self, request: Request, response: Response, started: float) -> Response:
        ms = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={ms:.2f}"  # the benchmark reads it (bench/dashboard.py)
        if self.log is not None:
            self.log({"method": request.method, "client": request.client.host if request.client else None,
                      "path": request.url.path, "status": response.status_code, "ms": round(ms, 1),
                      "bytes": int(response.headers.get("content-length", 0) or 0)})
        return response

    def page(self, handler: Callable[[Request], Awaitable[Response]]):
        async def wrapped(request: Request) -> Response:
            started = time.perf_counter()
            if not self.auth.authenticated(request):
                return self._logged(request, self.login_page(request, 401), started)
            try:
                if not await self._role_ok():
                    raise psycopg.errors.InsufficientPrivilege(self.role_problem)
                response = await handler(request)
            except BadRequest as exc:
                response = await self.error_page(request, 400, "That request cannot be answered", str(exc))
            except Exception as exc:  # never a stack trace nor SQL in an answer
                status, title, detail = self._failure(request, exc)
                response = await self.error_page(request, status, title, detail)
            return self._logged(request, response, started)
        return wrapped

    def json_route(self, handler: Callable[[Request], Awaitable[Any]]):
        async def wrapped(request: Request) -> Response:
            started = time.perf_counter()
            if not self.auth.authenticated(request):
                return self._logged(request, self.unauthorized_json(request), started)
            try:
                if not await self._role_ok():
                    raise psycopg.errors.InsufficientPrivilege(self.role_problem)
                response = self.api(request, await handler(request))
            except BadRequest as exc:
                response = self.api(request, {"code": "bad_request", "message": str(exc)}, 400)
            except NotFound as exc:
                response = self.api(request, {"code": "not_found", "message": str(exc)}, 404)
            except Exception as exc:
                status, title, detail = self._failure(request, exc)
                response = self.api(request, {"code": "unavailable" if status == 503 else "internal_error",
                                              "message": f"{title}: {detail}" if detail else title}, status,
                                    {"Retry-After": "5"} if status == 503 else None)
            return self._logged(request, response, started)
        return wrapped

    def _failure(self, request: Request, exc: Exception) -> tuple[int, str, str]:
        if isinstance(exc, NotFound):
            return 404, "Not found", str(exc)
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return 503, "The dashboard cannot read the database", \
                "its database role needs sigsync_reader (GRANT sigsync_reader TO ...)"
        if isinstance(exc, (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedFunction,
                            psycopg.errors.InvalidSchemaName, psycopg.errors.UndefinedObject)):
            return 503, "The database is not migrated for this version", "run `sigsync migrate`"
        if isinstance(exc, (psycopg.OperationalError, PoolTimeout, asyncio.TimeoutError,
                            psycopg.errors.QueryCanceled)):
            return 503, "The database is unavailable", "this page refreshes by itself when it is back"
        self.note(f"dashboard: internal error on {request.method} {request.url.path}: {type(exc).__name__}", "error")
        return 500, "Internal error", ""

    async def error_page(self, request: Request, status: int, title: str, detail: str) -> Response:
        return self.render(request, "error.html", status, title=title, detail=detail, code=status,
                           page="error" if status < 500 else "unavailable",
                           fmt=Fmt(ZoneInfo("UTC"), datetime.now(timezone.utc)))

    def login_page(self, request: Request, status: int, failed: bool = False) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return self.render(request, "login.html", status, page="login", failed=failed,
                           locked=not self.auth.has_secret, next=safe_next(target))

    def unauthorized_json(self, request: Request) -> Response:
        message = ("log in at / with the dashboard password, or send Authorization: Bearer <dashboard token>"
                   if self.auth.has_secret else
                   "the dashboard is locked (reached from another machine, or through a proxy): start serve with "
                   "--dashboard-password or --dashboard-token")
        return self.api(request, {"code": "unauthorized", "message": message}, 401)

    # -- login -----------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        started = time.perf_counter()
        client = request.client.host if request.client else None
        if not self.auth.same_origin(request):
            return self._logged(request, Response("cross-origin login refused", 403, media_type="text/plain"),
                                started)
        # counted before the (slow) hash, so that parallel guesses cannot pass the limit
        attempt = self.auth.begin_attempt(client)
        if attempt is None:
            response = self.render(request, "login.html", 429, page="login", failed=True, locked=False,
                                   throttled=True, next="/")
            return self._logged(request, response, started)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > 4096:
                break
        form = parse_form(body)
        target = safe_next(form.get("next"))
        # scrypt takes tens of milliseconds: off the event loop (so logins never stall the webhook),
        # a few at a time
        async with self.auth.hashing:
            ok = await run_in_threadpool(self.auth.check_secret, form)
        if not ok:
            return self._logged(request, self.login_page(request, 401, failed=True), started)
        self.auth.forgive_attempt(client, attempt)
        response = Response(status_code=303, headers={"Location": target, "Cache-Control": "no-store"})
        self.auth.set_cookie(response, secure=request.url.scheme == "https")
        return self._logged(request, response, started)

    async def logout(self, request: Request) -> Response:
        if not self.auth.same_origin(request):
            return Response("cross-origin request refused", 403, media_type="text/plain")
        session = self.auth.end_session(request)
        if session is not None:
            self.live.end_session(session)  # its open live streams end now
        response = Response(status_code=303, headers={"Location": "/", "Cache-Control": "no-store"})
        self.auth.clear_cookie(response, secure=request.url.scheme == "https")
        return response

    # -- data ----------------------------------------------------------------------------------

    async def overview_data(self) -> dict:
        r = self.reader
        health, gaps, indicators, cycles, series, epm = await asyncio.gather(
            r.one("health"), r.fetch("gap_summary"), r.fetch("indicators"), r.fetch("cycles_recent", (10,)),
            r.fetch("cycle_series", {"bucket": 300}), r.fetch("events_per_minute"))
        return {"health": health or {}, "gap_summary": gaps, "indicators": indicators, "cycles": cycles,
                "cycle_series": series, "events_per_minute": epm}

    async def signal_data(self, symbol: str, trade_id: str) -> dict:
        if not SYMBOL.fullmatch(symbol) or not TRADE_ID.fullmatch(trade_id):
            raise NotFound("no such signal (symbol up to 40 characters, trade_id YYYYMMDD_HHMMSSmmm_BULLISH|BEARISH)")
        trade_id = trade_id[:19] + trade_id[19:].upper()
        r = self.reader
        key = (symbol, trade_id)
        signal, provenance, gaps, timeline, bars, updates = await asyncio.gather(
            r.one("signal", key), r.fetch("provenance", key), r.fetch("signal_gaps", key),
            r.fetch("timeline", (*key, TIMELINE_MAX + 1)), r.fetch("bars", key), r.fetch("mfe_updates", key))
        if signal is None:
            raise NotFound(f"no signal {trade_id} of {symbol}")
        more = len(timeline) > TIMELINE_MAX
        timeline = timeline[:TIMELINE_MAX]
        total = (await r.one("timeline_count", key))["n"] if more else len(timeline)
        return {"signal": signal, "provenance": provenance, "gaps": gaps, "timeline": timeline,
                "timeline_total": total, "bars": bars, "mfe_updates": updates}

    # -- pages ---------------------------------------------------------------------------------

    async def overview(self, request: Request) -> Response:
        fmt, settings = await self.fmt()
        data = await self.overview_data()
        health = data["health"]
        gap_total = sum(int(g["open_count"]) for g in data["gap_summary"])
        now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        counts = {row["minute"]: row for row in data["events_per_minute"]}
        minutes = [now - timedelta(minutes=i) for i in range(179, -1, -1)]
        charts = {
            "gaps": {"labels": [g["gap_type"] for g in data["gap_summary"]],
                     "values": [int(g["open_count"]) for g in data["gap_summary"]]},
            "cycles": {"tz": fmt.tz.key, "from": now.timestamp() - 86400, "to": now.timestamp() + 60,
                       "t": [_epoch(c["at"]) for c in data["cycle_series"]],
                       "health": [_num(c["registry_mean_health"]) for c in data["cycle_series"]],
                       "gaps": [c["registry_open_gaps"] for c in data["cycle_series"]],
                       "closed": [c["gaps_closed"] for c in data["cycle_series"]]},
            "epm": {"tz": fmt.tz.key, "from": minutes[0].timestamp() - 30, "to": minutes[-1].timestamp() + 30,
                    "t": [m.timestamp() for m in minutes],
                    "events": [int(counts[m]["events"]) if m in counts else 0 for m in minutes],
                    "rejected": [int(counts[m]["rejected"]) if m in counts else 0 for m in minutes]},
        }
        host = request.headers.get("host", "YOUR-HOST")
        return self.render(request, "overview.html", fmt=fmt, settings=settings, health=health,
                           gap_summary=data["gap_summary"], gap_total=gap_total, indicators=data["indicators"],
                           cycles=data["cycles"], charts=charts, host=host,
                           events_last_3h=sum(charts["epm"]["events"]))

    async def signals_page(self, request: Request) -> Response:
        fmt, _ = await self.fmt()
        where, args, shown = signal_filters(request.query_params)
        page = await self.reader.page(LISTINGS["signals"], request.query_params, where, args, shown, count=True)
        gap_types, sessions, symbols = await asyncio.gather(self.gap_types(), self.choices("session"),
                                                            self.choices("symbol"))
        return self.render(request, "signals.html", fmt=fmt, p=page, gap_types=gap_types, sessions=sessions,
                           symbols=symbols, links=_links(request, page), sort_link=_sort_link(request, page))

    async def signal_page(self, request: Request) -> Response:
        fmt, settings = await self.fmt()
        data = await self.signal_data(request.path_params["symbol"], request.path_params["trade_id"])
        signal = data["signal"]
        by_field = {p["field"]: p for p in data["provenance"]}
        fields = [(name, signal.get(name), by_field.get(name)) for name in FIELD_ORDER
                  if signal.get(name) is not None or name in by_field]
        chart = chart_data(signal, data["bars"], data["mfe_updates"], by_field, fmt, settings)
        risk = None
        if signal.get("entry_price") is not None and signal.get("stop_loss") is not None:
            risk = abs(signal["entry_price"] - signal["stop_loss"])
        for entry in data["timeline"]:
            entry["text"] = describe_entry(entry, fmt)
        return self.render(request, "signal.html", fmt=fmt, s=signal, fields=fields, gaps=data["gaps"],
                           timeline=data["timeline"], timeline_total=data["timeline_total"], chart=chart,
                           risk=risk, bar_count=len(data["bars"]))

    async def cancelled_page(self, request: Request) -> Response:
        fmt, _ = await self.fmt()
        page = await self.reader.page(LISTINGS["cancelled"], request.query_params, [], [], {}, count=True)
        return self.render(request, "cancelled.html", fmt=fmt, p=page, links=_links(request, page))

    async def gaps_page(self, request: Request) -> Response:
        fmt, _ = await self.fmt()
        where, args, shown = simple_filter(request.query_params, "gap", "gap_type", GAP_TYPE)
        summary, page = await asyncio.gather(
            self.reader.fetch("gap_summary"),
            self.reader.page(LISTINGS["gaps"], request.query_params, where, args, shown, count=True))
        charts = {"gaps": {"labels": [g["gap_type"] for g in summary],
                           "values": [int(g["open_count"]) for g in summary]}}
        return self.render(request, "gaps.html", fmt=fmt, p=page, summary=summary, charts=charts,
                           links=_links(request, page))

    async def runs_page(self, request: Request) -> Response:
        fmt, _ = await self.fmt()
        where, args, shown = simple_filter(request.query_params, "status", "status", CODE)
        page = await self.reader.page(LISTINGS["runs"], request.query_params, where, args, shown)
        return self.render(request, "runs.html", fmt=fmt, p=page, links=_links(request, page))

    async def rejected_page(self, request: Request) -> Response:
        fmt, _ = await self.fmt()
        where, args, shown = simple_filter(request.query_params, "code", "error_code", CODE)
        page = await self.reader.page(LISTINGS["rejected"], request.query_params, where, args, shown, count=True)
        return self.render(request, "rejected.html", fmt=fmt, p=page, links=_links(request, page))

    # -- the API -------------------------------------------------------------------------------

    async def api_signals(self, request: Request) -> dict:
        where, args, shown = signal_filters(request.query_params)
        page = await self.reader.page(LISTINGS["signals"], request.query_params, where, args, shown, count=True)
        return page.json("signals")

    async def api_signal(self, request: Request) -> dict:
        data = await self.signal_data(request.path_params["symbol"], request.path_params["trade_id"])
        return {"signal": jsonable(data["signal"]), "provenance": rows_json(data["provenance"]),
                "gaps": rows_json(data["gaps"]), "timeline": rows_json(data["timeline"]),
                "timeline_total": data["timeline_total"], "bars": rows_json(data["bars"]),
                "mfe_updates": rows_json(data["mfe_updates"])}

    async def api_cancelled(self, request: Request) -> dict:
        page = await self.reader.page(LISTINGS["cancelled"], request.query_params, [], [], {}, count=True)
        return page.json("cancelled")

    async def api_gaps(self, request: Request) -> dict:
        where, args, shown = simple_filter(request.query_params, "gap", "gap_type", GAP_TYPE)
        summary, page = await asyncio.gather(
            self.reader.fetch("gap_summary"),
            self.reader.page(LISTINGS["gaps"], request.query_params, where, args, shown, count=True))
        return {"summary": rows_json(summary), **page.json("gaps")}

    async def api_health(self, request: Request) -> dict:
        health, gaps, indicators, settings = await asyncio.gather(
            self.reader.one("health"), self.reader.fetch("gap_summary"), self.reader.fetch("indicators"),
            self.reader.one("settings"))
        return {"system_health": jsonable(health), "gap_summary": rows_json(gaps),
                "indicators": rows_json(indicators), "settings": jsonable(settings)}

    async def api_runs(self, request: Request) -> dict:
        where, args, shown = simple_filter(request.query_params, "status", "status", CODE)
        page = await self.reader.page(LISTINGS["runs"], request.query_params, where, args, shown)
        return page.json("runs")

    async def api_rejected(self, request: Request) -> dict:
        where, args, shown = simple_filter(request.query_params, "code", "error_code", CODE)
        page = await self.reader.page(LISTINGS["rejected"], request.query_params, where, args, shown, count=True)
        return page.json("rejected")

    async def api_live(self, request: Request) -> Response:
        identity = self.auth.identify(request)
        if identity is None:
            return self.unauthorized_json(request)
        if self.live.full():
            return self.api(request, {"code": "unavailable", "message": "too many live pages open"}, 503,
                            {"Retry-After": "30"})
        session = identity.session
        alive = (lambda: self.auth.session_alive(session)) if session is not None else (lambda: True)
        # a session's stream ends when the session does (logout: at once; expiry: at the next check)
        return StreamingResponse(self.live.stream(alive, session), media_type="text/event-stream",
                                 headers={**SECURITY_HEADERS, "Cache-Control": "no-store",
                                          "X-Accel-Buffering": "no"})

    def legacy(self, target: str):
        handler = {"signals": self.api_signals, "cancelled": self.api_cancelled, "health": self.api_health}[target]
        return self.json_route(handler)

    def routes(self) -> list[Route]:
        page, api = self.page, self.json_route
        routes = [
            Route("/", page(self.overview), methods=["GET", "HEAD"]),
            Route("/signals", page(self.signals_page), methods=["GET", "HEAD"]),
            # the symbol may hold '/' (EUR/USD: linked as EUR%2FUSD, which the path arrives decoded from); a
            # trade_id never does, so it is the last segment
            Route("/signals/{symbol:path}/{trade_id}", page(self.signal_page), methods=["GET", "HEAD"]),
            Route("/cancelled", page(self.cancelled_page), methods=["GET", "HEAD"]),
            Route("/gaps", page(self.gaps_page), methods=["GET", "HEAD"]),
            Route("/runs", page(self.runs_page), methods=["GET", "HEAD"]),
            Route("/rejected", page(self.rejected_page), methods=["GET", "HEAD"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/api/signals", api(self.api_signals), methods=["GET", "HEAD"]),
            Route("/api/signals/{symbol:path}/{trade_id}", api(self.api_signal), methods=["GET", "HEAD"]),
            Route("/api/cancelled", api(self.api_cancelled), methods=["GET", "HEAD"]),
            Route("/api/gaps", api(self.api_gaps), methods=["GET", "HEAD"]),
            Route("/api/health", api(self.api_health), methods=["GET", "HEAD"]),
            Route("/api/runs", api(self.api_runs), methods=["GET", "HEAD"]),
            Route("/api/rejected", api(self.api_rejected), methods=["GET", "HEAD"]),
            Route("/api/live", self.api_live, methods=["GET"]),
            Route("/static/{path:path}", self.static.serve, methods=["GET", "HEAD"]),
        ]
        routes += [Route(path, self.legacy(target), methods=["GET", "HEAD"]) for path, target in LEGACY.items()]
        return routes


class NotFound(LookupError):
    pass


def _links(request: Request, page) -> dict:
    """Query strings of the first / newer / older pages of a listing, keeping its filters and sort."""
    keep = {k: v for k, v in request.query_params.multi_items() if k not in ("after", "before")}

    def link(extra: dict) -> str:
        return request.url.path + "?" + urlencode({**keep, **extra})

    return {"first": link({}) if (page.prev or "after" in request.query_params or "before" in request.query_params)
            else None,
            "prev": link({"before": page.prev}) if page.prev else None,
            "next": link({"after": page.next}) if page.next else None}


def _sort_link(request: Request, page) -> Callable[[str], str]:
    keep = {k: v for k, v in request.query_params.multi_items() if k not in ("after", "before", "sort", "dir")}

    def link(sort: str) -> str:
        direction = ("asc" if page.dir == "desc" else "desc") if page.sort == sort else "desc"
        return request.url.path + "?" + urlencode({**keep, "sort": sort, "dir": direction})

    return link
