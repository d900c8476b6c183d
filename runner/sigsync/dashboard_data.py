"""What the dashboard and its read API read (DESIGN §15): every query, on the views only.

Every statement here names only views of schema sigsync (tests/test_dashboard_access.py checks
each one against pg_class), and runs on a connection set up by `configure`: SET ROLE
sigsync_reader (so even a superuser DSN reads as the reader: a table is out of reach), read
only, with a statement timeout and no JIT. Lists are keyset-paginated: a cursor is the sort key of a
row, encoded and validated (cursor_decode), never an offset.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads

READER_ROLE = "sigsync_reader"
STATEMENT_TIMEOUT = "10s"
SETUP = (f"SET ROLE {READER_ROLE}",
         "SET default_transaction_read_only = on",
         f"SET statement_timeout = '{STATEMENT_TIMEOUT}'",
         "SET TimeZone = 'UTC'",
         # pages are short reads over indexes: compiling a plan costs more than it saves (about
         # 100 ms on the overview of a 100,000-signal registry)
         "SET jit = off")

MAX_PAGE = 200
DEFAULT_PAGE = 50
TIMELINE_MAX = 1000
MFE_UPDATES_MAX = 5000  # what sigsync.signal_mfe_updates keeps of a signal (its last updates)
TRADE_ID = re.compile(r"[0-9]{8}_[0-9]{9}_(?:BULLISH|BEARISH)", re.I)
# what ingest stores (any 1-40 characters for a symbol, 1-64 for a session; PostgreSQL text never
# holds NUL): every value a row can have, so a link, a filter menu or a cursor made from a row is
# always accepted back; the values only ever travel as parameters
SYMBOL = re.compile(r"[^\x00]{1,40}")
SESSION = re.compile(r"[^\x00]{1,64}")
GAP_TYPE = re.compile(r"[a-z_]{1,40}")
CODE = re.compile(r"[a-z_]{1,40}")
# numbers are read with ASCII patterns only (str.isdigit, int() and Decimal() also take "²", "١٢"
# or full-width digits)
LIMIT = re.compile(r"[0-9]{1,4}")
DECIMAL = re.compile(r"-?[0-9]{1,30}(?:\.[0-9]{1,30})?")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
STATUSES = ("pending", "active", "closed", "cancelled")
EPOCH0 = datetime(1900, 1, 1, tzinfo=timezone.utc)  # what a NULL time sorts as (the same in SQL)


OUTER = re.compile(r"\ba\.")


class BadRequest(ValueError):
    """A query parameter or cursor that is not acceptable: answered 400, with this message."""


def _json_loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)  # a jsonb number keeps its digits (never a float)


async def configure(conn: psycopg.AsyncConnection) -> None:
    """Every dashboard connection reads as sigsync_reader, read only, bounded in time; json and
    jsonb numbers are read as Decimal, as numeric columns are."""
    set_json_loads(_json_loads, conn)
    for statement in SETUP:
        await conn.execute(statement)


# -- values ------------------------------------------------------------------------------------

def _time_text(value: datetime) -> str:
    """ISO 8601 as PostgreSQL writes a timestamptz in JSON (fractional seconds without trailing zeros)."""
    text = value.isoformat()
    if value.microsecond:
        head, dot, rest = text.partition(".")
        text = head + dot + rest[:6].rstrip("0") + rest[6:]
    return text


def _seconds(value: timedelta) -> Decimal:
    return Decimal(value.days * 86400 + value.seconds) + Decimal(value.microseconds).scaleb(-6)


def jsonable(value: Any) -> Any:
    """A value of a view as JSON: numerics stay Decimal (dumps writes their exact digits), times as
    ISO 8601 (UTC, as PostgreSQL's to_jsonb writes them), intervals in seconds."""
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, datetime):
        return _time_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _seconds(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def rows_json(rows: list[dict]) -> list[dict]:
    return [{k: jsonable(v) for k, v in r.items()} for r in rows]


# A Decimal is written as a marker string (NUL, its digits, NUL), then the quoted marker is replaced
# by the bare digits: PostgreSQL text never holds NUL, so no stored string can look like one.
_MARKED = re.compile(r'"\\u0000(-?[0-9]+(?:\.[0-9]+)?)\\u0000"')


def _mark(value: Any) -> str:
    if isinstance(value, Decimal):
        return "\x00" + format(value, "f") + "\x00"
    return str(value)


def dumps(value: Any) -> str:
    """JSON of `value` (through jsonable) whose numerics carry their exact decimal text
    (24870.12345678901234567891 stays so; a float would keep 17 digits)."""
    return _MARKED.sub(r"\1", json.dumps(jsonable(value), separators=(",", ":"), default=_mark))


# -- keyset cursors ----------------------------------------------------------------------------

def _parse_key(kind: str, raw: Any) -> Any:
    if raw is None:
        if kind.endswith("?"):
            return None
        raise BadRequest("cursor: a missing key")
    kind = kind.rstrip("?")
    if kind == "ts":
        if not isinstance(raw, str) or len(raw) > 40:
            raise BadRequest("cursor: not a time")
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise BadRequest("cursor: not a time") from None
        if value.tzinfo is None:
            raise BadRequest("cursor: a time without offset")
        return value
    if kind == "num":
        if not isinstance(raw, str) or not DECIMAL.fullmatch(raw):
            raise BadRequest("cursor: not a number")
        return Decimal(raw)
    if kind == "int":
        if not isinstance(raw, int) or isinstance(raw, bool) or not (-2**62 < raw < 2**62):
            raise BadRequest("cursor: not an integer")
        return raw
    if kind == "symbol":
        if not isinstance(raw, str) or not SYMBOL.fullmatch(raw):
            raise BadRequest("cursor: not a symbol")
        return raw
    if kind == "trade_id":
        if not isinstance(raw, str) or not TRADE_ID.fullmatch(raw):
            raise BadRequest("cursor: not a trade_id")
        return raw
    if kind == "gap_type":
        if not isinstance(raw, str) or not GAP_TYPE.fullmatch(raw):
            raise BadRequest("cursor: not a gap type")
        return raw
    raise AssertionError(kind)


def _key_out(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def cursor_encode(tag: str, keys: list[Any]) -> str:
    raw = json.dumps([tag, *[_key_out(k) for k in keys]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_decode(text: str, tag: str, kinds: tuple[str, ...]) -> list[Any]:
    """The keys of a cursor made for this listing and sort (`tag`), each checked against its kind."""
    if len(text) > 400 or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise BadRequest("cursor: malformed")
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("cursor: malformed") from None
    if not isinstance(data, list) or len(data) != len(kinds) + 1 or data[0] != tag:
        raise BadRequest("cursor: not a cursor of this list and sort order (start again from the first page)")
    return [_parse_key(kind, raw) for kind, raw in zip(kinds, data[1:])]


# -- listings ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sort:
    """A sort order of a listing: SQL expressions (constant text, never input) and their kinds."""
    exprs: tuple[str, ...]
    kinds: tuple[str, ...]
    row_keys: tuple[str, ...]   # the columns of a result row the keys are read from
    nulls: tuple[Any, ...]      # what a NULL key stands for (the coalesce of the expression)


@dataclass(frozen=True)
class Listing:
    name: str
    view: str
    columns: str                 # the select list (constant)
    sorts: dict[str, Sort]
    default_sort: str
    default_dir: str
    key: tuple[str, ...] = ("symbol", "trade_id")  # identifies a row of the view


LISTINGS = {
    "signals": Listing(
        "signals", "all_signals", "a.*",
        # signal time as the trade_id writes it (YYYYMMDD_HHMMSSmmm in the timezone setting): read in
        # order from signals_trade_id_idx, so the first pages cost the same at any registry size
        {"time": Sort(("a.trade_id", "a.symbol"), ("trade_id", "symbol"), ("trade_id", "symbol"), (None, None)),
         "health": Sort(("coalesce(a.health_score, -1)", "a.symbol", "a.trade_id"),
                        ("int", "symbol", "trade_id"), ("health_score", "symbol", "trade_id"), (-1, None, None)),
         "mfe": Sort(("coalesce(a.no_be_mfe, -1)", "a.symbol", "a.trade_id"),
                     ("num", "symbol", "trade_id"), ("no_be_mfe", "symbol", "trade_id"), (Decimal(-1), None, None)),
         "mae": Sort(("coalesce(a.mae_global_r, 1)", "a.symbol", "a.trade_id"),
                     ("num", "symbol", "trade_id"), ("mae_global_r", "symbol", "trade_id"), (Decimal(1), None, None))},
        "time", "desc"),
    "cancelled": Listing(
        "cancelled", "cancelled_signals", "a.*",
        {"time": Sort(("a.trade_id", "a.symbol"), ("trade_id", "symbol"), ("trade_id", "symbol"), (None, None))},
        "time", "desc"),
    "gaps": Listing(
        "gaps", "signal_gaps", "a.*",
        {"since": Sort(("coalesce(a.since, '1900-01-01 00:00:00+00'::timestamptz)", "a.symbol", "a.trade_id", "a.gap_type"),
                       ("ts", "symbol", "trade_id", "gap_type"), ("since", "symbol", "trade_id", "gap_type"),
                       (EPOCH0, None, None, None))},
        "since", "asc", ("symbol", "trade_id", "gap_type")),
    "runs": Listing(
        "runs", "cycle_history", "a.*",
        {"id": Sort(("a.run_id",), ("int",), ("run_id",), (None,))}, "id", "desc", ("run_id",)),
    "rejected": Listing(
        "rejected", "rejected_payloads", "a.*",
        {"id": Sort(("a.id",), ("int",), ("id",), (None,))}, "id", "desc", ("id",)),
}


@dataclass
class Page:
    rows: list[dict]
    next: str | None = None
    prev: str | None = None
    count: int | None = None
    sort: str = ""
    dir: str = ""
    limit: int = DEFAULT_PAGE
    filters: dict = field(default_factory=dict)

    def json(self, key: str) -> dict:
        return {key: rows_json(self.rows), "count": self.count, "next": self.next, "prev": self.prev,
                "sort": self.sort, "dir": self.dir, "limit": self.limit, "filters": jsonable(self.filters)}


def _one(params, name: str, limit: int = 64) -> str | None:
    values = params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise BadRequest(f"{name}: given more than once")
    value = values[0].strip(" ")  # (as ingest trims text: spaces only)
    if len(value) > limit:
        raise BadRequest(f"{name}: longer than {limit} characters")
    return value or None


def page_args(params, listing: Listing) -> tuple[str, str, int, str | None, str | None]:
    sort = _one(params, "sort", 16) or listing.default_sort
    if sort not in listing.sorts:
        raise BadRequest(f"sort: one of {', '.join(listing.sorts)}")
    direction = _one(params, "dir", 4) or listing.default_dir
    if direction not in ("asc", "desc"):
        raise BadRequest("dir: asc or desc")
    raw_limit = _one(params, "limit", 4)
    if raw_limit is None:
        limit = DEFAULT_PAGE
    elif not LIMIT.fullmatch(raw_limit) or not 1 <= int(raw_limit) <= MAX_PAGE:
        raise BadRequest(f"limit: a whole number from 1 to {MAX_PAGE}")
    else:
        limit = int(raw_limit)
    after, before = _one(params, "after", 400), _one(params, "before", 400)
    if after and before:
        raise BadRequest("after and before: one at a time")
    return sort, direction, limit, after, before


def signal_filters(params) -> tuple[list[sql.Composable], list[Any], dict]:
    """WHERE parts of /signals (and /api/signals): status, symbol, session, date, gap, q."""
    where: list[sql.Composable] = []
    args: list[Any] = []
    shown: dict[str, Any] = {}
    _equal(params, "status", 16, STATUSES.__contains__, f"status: one of {', '.join(STATUSES)}", where, args, shown)
    _equal(params, "symbol", 40, SYMBOL.fullmatch, "symbol: up to 40 characters", where, args, shown)
    _equal(params, "session", 64, SESSION.fullmatch, "session: a session name (up to 64 characters)", where, args,
           shown)
    day = _one(params, "date", 10)
    if day:
        if not DATE.fullmatch(day):
            raise BadRequest("date: YYYY-MM-DD")
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            raise BadRequest("date: YYYY-MM-DD") from None
        if not 2000 <= parsed.year <= 2099:
            raise BadRequest("date: in the years 2000-2099")
        where.append(sql.SQL("a.signal_date = %s"))
        args.append(parsed)
        shown["date"] = parsed
    gap = _one(params, "gap", 40)
    if gap:
        if not GAP_TYPE.fullmatch(gap):
            raise BadRequest("gap: a gap type such as no_targets")
        where.append(sql.SQL("EXISTS (SELECT 1 FROM sigsync.signal_gaps g WHERE g.symbol = a.symbol"
                             " AND g.trade_id = a.trade_id AND g.gap_type = %s)"))
        args.append(gap)
        shown["gap"] = gap
    q = _one(params, "q", 26)
    if q:
        if not re.fullmatch(r"[0-9A-Za-z_]{1,26}", q):
            raise BadRequest("q: the start of a trade_id (digits, letters, _)")
        where.append(sql.SQL("a.trade_id LIKE %s"))
        args.append(q.upper().replace("_", r"\_") + "%")
        shown["q"] = q
    return where, args, shown


def _equal(params, name: str, limit: int, valid, message: str, where: list, args: list, shown: dict,
           column: str | None = None) -> None:
    """The filter `a.<column> = <parameter name>` when the parameter is given: checked by
    valid(value), BadRequest(message) otherwise; appended to where, args and shown."""
    value = _one(params, name, limit)
    if not value:
        return
    if not valid(value):
        raise BadRequest(message)
    where.append(sql.SQL("a.{} = %s").format(sql.Identifier(column or name)))
    args.append(value)
    shown[name] = value


def simple_filter(params, name: str, column: str, pattern: re.Pattern) -> tuple[list, list, dict]:
    where: list[sql.Composable] = []
    args: list[Any] = []
    shown: dict[str, Any] = {}
    _equal(params, name, 40, pattern.fullmatch, f"{name}: not a valid value", where, args, shown, column)
    return where, args, shown


# -- the reader --------------------------------------------------------------------------------

SQL = {
    "settings": "SELECT * FROM sigsync.dashboard_settings",
    "health": "SELECT * FROM sigsync.system_health",
    "gap_summary": "SELECT gap_type, open_count FROM sigsync.gap_summary",
    "indicators": "SELECT * FROM sigsync.indicator_link ORDER BY source",
    "cycles_recent": "SELECT * FROM sigsync.cycle_history ORDER BY run_id DESC LIMIT %s",
    # one point per time bucket over the last 24 h: the latest finished cycle of the bucket
    "cycle_series": (
        "SELECT DISTINCT ON (b.bucket) b.bucket AS at, b.registry_mean_health, b.registry_open_gaps, b.gaps_closed,"
        " b.gaps_opened, b.signals_processed, b.duration_ms"
        "  FROM (SELECT to_timestamp(floor(extract(epoch FROM c.started_at) / %(bucket)s) * %(bucket)s) AS bucket,"
        "               c.* FROM sigsync.cycle_history c"
        "         WHERE c.started_at > now() - interval '24 hours' AND c.status = 'ok') b"
        " ORDER BY b.bucket, b.run_id DESC"),
    "cycle_span": ("SELECT count(*) AS n FROM sigsync.cycle_history c"
                   " WHERE c.started_at > now() - interval '24 hours' AND c.status = 'ok'"),
    "events_per_minute": ("SELECT minute, events, signal_events, heartbeats, rejected FROM sigsync.events_per_minute"
                          " WHERE minute > now() - interval '3 hours' ORDER BY minute"),
    "signal": "SELECT * FROM sigsync.all_signals WHERE symbol = %s AND trade_id = %s",
    "provenance": ("SELECT field, value, tier, confidence, source, filled_at, as_of FROM sigsync.field_provenance"
                   " WHERE symbol = %s AND trade_id = %s ORDER BY field"),
    "signal_gaps": ("SELECT gap_type, since FROM sigsync.signal_gaps WHERE symbol = %s AND trade_id = %s"
                    " ORDER BY since, gap_type"),
    "timeline": ("SELECT at, kind, what, detail, event_id, audit_id FROM sigsync.signal_timeline"
                 " WHERE symbol = %s AND trade_id = %s ORDER BY at, kind DESC, event_id, audit_id LIMIT %s"),
    "timeline_count": "SELECT count(*) AS n FROM sigsync.signal_timeline WHERE symbol = %s AND trade_id = %s",
    "bars": ("SELECT ts, open, high, low, close, in_trade, t2_be_mfe, t2_no_be_mfe, t2_mae, t2_be_trigger,"
             " t2_be_exit, t2_stop FROM sigsync.signal_bars WHERE symbol = %s AND trade_id = %s ORDER BY ts"),
    "mfe_updates": ("SELECT at, be_mfe, no_be_mfe, mae_global_r, current_price, anomaly, anomaly_fields, event_id"
                    " FROM sigsync.signal_mfe_updates WHERE symbol = %s AND trade_id = %s ORDER BY at, event_id"),
    "last_cycle": "SELECT run_id, status FROM sigsync.cycle_history ORDER BY run_id DESC LIMIT 1",
}


class Reader:
    """The dashboard's reads, on a pool whose connections went through `configure`."""

    def __init__(self, pool):
        self.pool = pool

    async def fetch(self, key: str, args: Any = ()) -> list[dict]:
        return await self.query(SQL[key], args)

    async def query(self, statement, args: Any = ()) -> list[dict]:
        async with self.pool.connection() as conn:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(statement, args)
                return await cur.fetchall()

    async def one(self, key: str, args: Any = ()) -> dict | None:
        rows = await self.fetch(key, args)
        return rows[0] if rows else None

    async def page(self, listing: Listing, params, where: list, args: list, shown: dict,
                   count: bool = False) -> Page:
        sort_name, direction, limit, after, before = page_args(params, listing)
        sort = listing.sorts[sort_name]
        tag = f"{listing.name}:{sort_name}:{direction}"
        keys = cursor_decode(after or before, tag, sort.kinds) if (after or before) else None
        keyset = sql.SQL("({})").format(sql.SQL(", ").join(sql.SQL(e) for e in sort.exprs))
        forward = before is None
        descending = (direction == "desc") == forward   # walking backwards flips the order
        clauses = list(where)
        params_ = list(args)
        if keys is not None:
            op = "<" if (direction == "desc") == forward else ">"
            clauses.append(sql.SQL("{} {} ({})").format(keyset, sql.SQL(op),
                                                        sql.SQL(", ").join(sql.Placeholder() * len(keys))))
            params_ += keys
        order = sql.SQL(", ").join(sql.SQL(f"{e} {'DESC' if descending else 'ASC'}") for e in sort.exprs)
        outer_order = sql.SQL(", ").join(sql.SQL(OUTER.sub("o.", e) + (" DESC" if descending else " ASC"))
                                         for e in sort.exprs)
        where_sql = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(clauses) if clauses else sql.SQL("")
        key = sql.SQL(", ").join(sql.SQL(f"a.{k}") for k in listing.key)
        outer_key = sql.SQL(", ").join(sql.SQL(f"o.{k}") for k in listing.key)
        # the keys of the page first (narrow: index-only where it can), then its rows by key
        statement = sql.SQL("SELECT o.* FROM sigsync.{view} o WHERE ({outer_key}) IN"
                            " (SELECT {key} FROM sigsync.{view} a{where} ORDER BY {order} LIMIT %s)"
                            " ORDER BY {outer_order}").format(
            view=sql.Identifier(listing.view), outer_key=outer_key, key=key, where=where_sql, order=order,
            outer_order=outer_order)
        rows = await self.query(statement, [*params_, limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        if not forward:
            rows.reverse()

        def key_of(row: dict) -> str:
            values = [row[c] if row[c] is not None else n for c, n in zip(sort.row_keys, sort.nulls)]
            return cursor_encode(tag, values)

        page = Page(rows, sort=sort_name, dir=direction, limit=limit, filters=shown)
        if rows:
            if forward:
                page.next = key_of(rows[-1]) if more else None
                page.prev = key_of(rows[0]) if keys is not None else None
            else:
                page.prev = key_of(rows[0]) if more else None
                page.next = key_of(rows[-1])
        if count:
            where_only = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL("")
            counted = await self.query(
                sql.SQL("SELECT count(*) AS n FROM sigsync.{} a{}").format(sql.Identifier(listing.view), where_only),
                args)
            page.count = counted[0]["n"]
        return page


def statements() -> list[str]:
    """Every statement text of this module (the fixed ones and the listing skeletons), for the access test."""
    texts = list(SQL.values())
    for listing in LISTINGS.values():
        texts.append(f"SELECT {listing.columns} FROM sigsync.{listing.view} a")
    texts.append("EXISTS (SELECT 1 FROM sigsync.signal_gaps g)")
    return texts
