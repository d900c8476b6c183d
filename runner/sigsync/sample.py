"""`sigsync sample`: a deterministic, realistic data set for trying and testing sigsync.

From one seed (random.Random(seed), nothing else random) it draws a 1-minute price path
for D trading days (04:00-16:00 America/New_York, bar ts = bar OPEN time) and an
indicator's signals on it, following DESIGN §4/§6/§7:

- a signal appears at a random bar, always opposite to the previous one (alternation);
  trade_id = YYYYMMDD_HHMMSSmmm_BULLISH|BEARISH of the bar time in America/New_York;
- it confirms within a few bars (ENTRY at that bar's close, stop beyond the swing since
  the signal) or is cancelled when the next, opposite signal appears;
- a confirmed trade is walked over the bars with ts > confirmation_time exactly as
  DESIGN §6 does it (R = |entry - stop|, stop checked before the favourable side, BE at
  `be_trigger_r` = 1R moving the stop to entry from the next bar, Decimal arithmetic,
  4 places ROUND_HALF_UP): MFE_UPDATE_BATCH each minute, BE_TRIGGERED, EXIT_BE, EXIT_SL.

Every event of a bar carries that bar's ts (epoch ms) as its timestamp, as the Pine
indicator's `time` does. Files: bars.csv (COPY-able into sigsync.price_bars),
events.jsonl (webhook bodies in send order), truth.json (the generator's ground truth
per trade_id and the recommended reconcile time p_now = last bar ts + 1 minute).
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import click

NY = ZoneInfo("America/New_York")
TICK = Decimal("0.25")
FOUR = Decimal("0.0001")
BE_TRIGGER_R = Decimal(1)
INDICATOR_VERSION = "1.0.0"
DROP_KINDS = ("signal_created", "cancelled", "entry_fields")
SESSIONS = [  # DESIGN §6 defaults: start inclusive, end exclusive, local New York time
    ("Asia", time(20, 0), time(0, 0)),
    ("London", time(2, 0), time(5, 0)),
    ("NY Pre", time(5, 0), time(8, 30)),
    ("NY AM", time(8, 30), time(12, 0)),
    ("NY Lunch", time(12, 0), time(13, 30)),
    ("NY PM", time(13, 30), time(16, 0)),
]
HTF_KEYS = ("daily", "h4", "h1", "m15", "m5")


def session_at(ts: datetime) -> str:
    t = ts.astimezone(NY).time()
    for name, starts, ends in SESSIONS:
        if starts < ends and starts <= t < ends:
            return name
        if starts >= ends and (t >= starts or t < ends):  # window over midnight
            return name
    return "Off Hours"


def trade_id_of(ts: datetime, direction: str) -> str:
    local = ts.astimezone(NY)
    return f"{local:%Y%m%d_%H%M%S}{local.microsecond // 1000:03d}_{direction.upper()}"


def epoch_ms(ts: datetime) -> int:
    return int(ts.timestamp()) * 1000


def iso(ts: datetime) -> str:
    return ts.astimezone(NY).isoformat()


def r4(x: Decimal) -> Decimal:
    return x.quantize(FOUR, rounding=ROUND_HALF_UP)


def num(x: Decimal) -> int | float:
    """A JSON number whose text is exactly the decimal (quarter ticks and 4-place values
    round-trip through float's shortest repr)."""
    if x == x.to_integral_value():
        return int(x)
    f = float(x)
    assert Decimal(repr(f)) == x, x
    return f


@dataclass
class Bar:
    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


@dataclass
class Signal:
    trade_id: str
    direction: str  # Bullish | Bearish
    index: int  # bar index of the signal
    ts: datetime
    price: Decimal
    session: str
    htf: dict
    confirm_after: int | None  # bars until ENTRY, None: never confirms
    status: str = "pending"
    entry: Decimal | None = None
    stop: Decimal | None = None
    confirmation_time: datetime | None = None
    bars_to_confirmation: int | None = None
    # running walk state (DESIGN §6); fav/adv unrounded maxima/minima
    max_fav_no_be: Decimal = Decimal(0)
    max_fav_be: Decimal = Decimal(0)
    min_adv: Decimal = Decimal(0)
    be_triggered_at: datetime | None = None
    be_exit_time: datetime | None = None
    exit_time: datetime | None = None
    cancelled_by: str | None = None
    cancelled_time: datetime | None = None
    bars_pending: int | None = None

    @property
    def sgn(self) -> int:
        return 1 if self.direction == "Bullish" else -1

    def metrics(self) -> tuple[Decimal, Decimal, Decimal]:
        be = r4(max(Decimal(0), self.max_fav_be))
        no_be = r4(max(Decimal(0), self.max_fav_no_be))
        mae = r4(min(Decimal(0), max(Decimal(-1), self.min_adv)))
        return be, no_be, mae

    def walk(self, bar: Bar) -> list[str]:
        """Apply one bar with ts > confirmation_time; returns what happened on it
        ('BE_TRIGGERED', 'EXIT_BE', 'EXIT_SL'), in that order."""
        r = abs(self.entry - self.stop)
        if self.sgn == 1:
            fav, adv = (bar.high - self.entry) / r, (bar.low - self.entry) / r
        else:
            fav, adv = (self.entry - bar.low) / r, (self.entry - bar.high) / r
        happened = []
        be_open = self.be_exit_time is None
        # the stop first: a bar that touches the stop is the stop bar, its favourable excluded
        if self.be_triggered_at is not None and be_open and bar.ts > self.be_triggered_at and adv <= 0:
            self.be_exit_time = bar.ts
            be_open = False
            happened.append("EXIT_BE")
        self.min_adv = min(self.min_adv, adv)
        if adv <= -1:
            self.exit_time = bar.ts
            self.status = "closed"
            happened.append("EXIT_SL")
            return happened
        self.max_fav_no_be = max(self.max_fav_no_be, fav)
        if be_open:
            self.max_fav_be = max(self.max_fav_be, fav)
            if self.be_triggered_at is None and fav >= BE_TRIGGER_R:
                self.be_triggered_at = bar.ts
                happened.insert(0, "BE_TRIGGERED")
        return happened


@dataclass
class Sample:
    symbol: str
    bars: list[Bar]
    signals: list[Signal]
    events: list[dict] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    dropped_exits: list[str] = field(default_factory=list)

    @property
    def p_now(self) -> datetime:
        return self.bars[-1].ts + timedelta(minutes=1)


def trading_days(start: date, count: int) -> list[date]:
    days, d = [], start
    while len(days) < count:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def price_path(rng: random.Random, days: list[date], start_price: Decimal) -> list[Bar]:
    bars, price = [], start_price
    for day in days:
        t = datetime.combine(day, time(4, 0), NY)
        end = datetime.combine(day, time(16, 0), NY)
        while t < end:
            local = t.time()
            vol = 6.0 if time(9, 30) <= local < time(11, 0) else 3.5 if local >= time(8, 0) else 2.0
            o = price
            c = (o + Decimal(round(rng.gauss(0, vol) / 0.25)) * TICK).max(Decimal(100))
            h = max(o, c) + Decimal(round(abs(rng.gauss(0, vol / 2)) / 0.25)) * TICK
            lo = min(o, c) - Decimal(round(abs(rng.gauss(0, vol / 2)) / 0.25)) * TICK
            bars.append(Bar(t, o, h, lo, c))
            price = c
            t = (t.astimezone(ZoneInfo("UTC")) + timedelta(minutes=1)).astimezone(NY)
    return bars


def generate(seed: int = 1, days: int = 1, symbol: str = "NQ1!", start: date = date(2025, 12, 12)) -> Sample:
    """The price path, the signals and the full event stream (nothing dropped, no faults)."""
    rng = random.Random(seed)
    day_list = trading_days(start, days)
    bars = price_path(rng, day_list, Decimal(25000) + Decimal(rng.randrange(-2000, 2000)) * TICK)
    sample = Sample(symbol, bars, [])
    ev = sample.events
    last_dir = rng.choice(["Bullish", "Bearish"])
    pending: Signal | None = None
    active: list[Signal] = []
    next_signal = rng.randrange(3, 30)

    def base(kind: str, bar: Bar, **fields) -> dict:
        return {"event_type": kind, "symbol": symbol, **fields, "timestamp": epoch_ms(bar.ts)}

    for i, bar in enumerate(bars):
        # 1. the pending signal confirms on this bar (ENTRY at its close)
        if pending is not None and pending.confirm_after is not None and i == pending.index + pending.confirm_after:
            s = pending
            window = bars[s.index:i + 1]
            s.entry = bar.close
            if s.sgn == 1:
                s.stop = min(b.low for b in window) - 2 * TICK
                s.stop = min(s.stop, s.entry - 10 * TICK * 4)
            else:
                s.stop = max(b.high for b in window) + 2 * TICK
                s.stop = max(s.stop, s.entry + 10 * TICK * 4)
            s.confirmation_time = bar.ts
            s.bars_to_confirmation = i - s.index
            s.status = "active"
            ev.append(base("ENTRY", bar, trade_id=s.trade_id, direction=s.direction,
                           entry_price=num(s.entry), stop_loss=num(s.stop), session=s.session,
                           confirmation_time=iso(bar.ts), bars_to_confirmation=s.bars_to_confirmation,
                           htf_alignment=s.htf))
            active.append(s)
            pending = None
        # 2. walk the active trades (confirmed before this bar)
        updates, after = [], []
        for s in list(active):
            if s.confirmation_time >= bar.ts:
                continue
            happened = s.walk(bar)
            be, no_be, mae = s.metrics()
            updates.append({"trade_id": s.trade_id, "be_mfe": num(be), "no_be_mfe": num(no_be),
                            "mae_global_r": num(mae), "current_price": num(bar.close)})
            for kind in happened:
                if kind == "BE_TRIGGERED":
                    after.append(base(kind, bar, trade_id=s.trade_id))
                elif kind == "EXIT_BE":
                    after.append(base(kind, bar, trade_id=s.trade_id, exit_price=num(s.entry), final_mfe=num(be)))
                else:
                    after.append(base(kind, bar, trade_id=s.trade_id, exit_price=num(s.stop), final_mfe=num(no_be)))
                    active.remove(s)
        if updates:
            ev.append({"event_type": "MFE_UPDATE_BATCH", "symbol": symbol, "timestamp": epoch_ms(bar.ts),
                       "updates": updates})
        ev.extend(after)
        # 3. a new signal (never in the last 15 bars of a day, so every pending one can resolve)
        day_end = datetime.combine(bar.ts.astimezone(NY).date(), time(16, 0), NY)
        if i >= next_signal and bar.ts <= day_end - timedelta(minutes=15):
            direction = "Bearish" if last_dir == "Bullish" else "Bullish"
            last_dir = direction
            htf = {k: rng.choice([direction, "Bullish", "Bearish"]) for k in HTF_KEYS}
            htf["m1"] = direction
            confirm_after = rng.randrange(1, 7) if rng.random() < 0.6 else None
            s = Signal(trade_id_of(bar.ts, direction), direction, i, bar.ts, bar.close, session_at(bar.ts),
                       htf, confirm_after)
            sample.signals.append(s)
            ev.append(base("SIGNAL_CREATED", bar, trade_id=s.trade_id, signal_time=iso(bar.ts),
                           direction=direction, session=s.session, htf_alignment=htf,
                           signal_price=num(bar.close)))
            if pending is not None:
                p = pending
                p.status, p.cancelled_by, p.cancelled_time = "cancelled", s.trade_id, bar.ts
                p.bars_pending = int((bar.ts - p.ts).total_seconds() // 60)
                ev.append({"event_type": "CANCELLED", "symbol": symbol, "trade_id": p.trade_id,
                           "cancelled_time": iso(bar.ts), "cancel_reason": "opposite_signal_appeared",
                           "bars_pending": p.bars_pending, "cancelled_by": s.trade_id,
                           "timestamp": epoch_ms(bar.ts)})
            pending = s
            next_signal = i + rng.randrange(4, 40)
        # 4. heartbeat
        tracked = len(active) + (1 if pending is not None else 0)
        ev.append(base("HEARTBEAT", bar, tracked_signals=tracked, indicator_version=INDICATOR_VERSION))
    return sample


def _line(event: dict) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=True)


def single_updates(batch: dict) -> list[dict]:
    """A MFE_UPDATE_BATCH as the MFE_UPDATE bodies it stands for: each item over the batch's
    other fields, as ingest reads a batch (README, Ingest API), so they are the same events."""
    base = {k: v for k, v in batch.items() if k not in ("event_type", "updates", "timestamp")}
    return [{"event_type": "MFE_UPDATE", **base, **item, "timestamp": item.get("timestamp", batch["timestamp"])}
            for item in batch["updates"]]


def reorder_within(lines: list[str], times: list[int], minutes: int, rng: random.Random) -> list[str]:
    """Shuffle the lines whose event times lie in the same window of `minutes` minutes (windows
    from the epoch, so whole minutes); consecutive lines of one window are shuffled together,
    so no line moves past a line of another window."""
    width = minutes * 60_000
    out: list[str] = []
    for _window, group in itertools.groupby(zip(times, lines), key=lambda tl: tl[0] // width):
        part = [line for _t, line in group]
        rng.shuffle(part)
        out.extend(part)
    return out


def apply_options(sample: Sample, rng: random.Random, drop: tuple[str, ...] = (), lose: float = 0.0,
                  duplicate: float = 0.0, reorder: float = 0.0, stale_feed: int = 0,
                  missed_exits: float = 0.0, single_mfe: float = 0.0, reorder_within_minutes: int = 0) -> list[str]:
    """The lines to write: the stream with the dropped kinds removed and the faults applied
    (in this order: drop, stale feed, lose, missed exits, single MFE updates, duplicate,
    reorder within minutes, reorder). An option left at 0 draws nothing from `rng`, so the
    other options give the same lines for the same seed with or without it."""
    stale_from = sample.bars[-1].ts - timedelta(minutes=stale_feed - 1) if stale_feed > 0 else None
    out: list[dict] = []
    for e in sample.events:
        kind = e["event_type"]
        if kind == "SIGNAL_CREATED" and "signal_created" in drop:
            continue
        if kind == "CANCELLED" and "cancelled" in drop:
            continue
        if kind == "ENTRY" and "entry_fields" in drop:
            e = {k: v for k, v in e.items() if k not in ("htf_alignment", "confirmation_time", "bars_to_confirmation")}
        ts_ms = e.get("timestamp")
        if stale_from is not None and kind in ("MFE_UPDATE_BATCH", "HEARTBEAT") and ts_ms >= epoch_ms(stale_from):
            continue
        if kind == "MFE_UPDATE_BATCH" and lose > 0 and rng.random() < lose:
            continue
        if kind in ("EXIT_BE", "EXIT_SL") and missed_exits > 0 and rng.random() < missed_exits:
            sample.dropped_exits.append(f"{e['trade_id']}:{kind}")
            continue
        if kind == "MFE_UPDATE_BATCH" and single_mfe > 0 and rng.random() < single_mfe:
            out.extend(single_updates(e))
            continue
        out.append(e)
    lines, times = [], []
    for e in out:
        copies = 2 if duplicate > 0 and rng.random() < duplicate else 1
        lines.extend([_line(e)] * copies)
        times.extend([e["timestamp"]] * copies)
    if reorder_within_minutes > 0:
        lines = reorder_within(lines, times, reorder_within_minutes, rng)
    if reorder > 0:
        i = 0
        while i < len(lines) - 1:
            if rng.random() < reorder:
                lines[i], lines[i + 1] = lines[i + 1], lines[i]
                i += 2
            else:
                i += 1
    return lines


def truth(sample: Sample) -> dict:
    def t(x: datetime | None) -> str | None:
        return iso(x) if x is not None else None

    def d(x: Decimal | None) -> str | None:
        return str(x) if x is not None else None

    trades = {}
    for s in sample.signals:
        confirmed = s.confirmation_time is not None
        be, no_be, mae = s.metrics() if confirmed else (None, None, None)
        trades[s.trade_id] = {
            "status": s.status, "direction": s.direction, "signal_time": t(s.ts), "session": s.session,
            "signal_price": d(s.price), "entry": d(s.entry), "stop": d(s.stop),
            "confirmation_time": t(s.confirmation_time), "bars_to_confirmation": s.bars_to_confirmation,
            "be_mfe": d(be), "no_be_mfe": d(no_be), "mae_global_r": d(mae),
            "be_triggered_at": t(s.be_triggered_at), "be_exit_time": t(s.be_exit_time),
            "exit_time": t(s.exit_time), "cancelled_by": s.cancelled_by,
            "cancelled_time": t(s.cancelled_time), "bars_pending": s.bars_pending,
        }
    return {"symbol": sample.symbol, "p_now": iso(sample.p_now), "bars": len(sample.bars),
            "first_bar": iso(sample.bars[0].ts), "last_bar": iso(sample.bars[-1].ts),
            "dropped_exits": sample.dropped_exits, "trades": trades}


def write(outdir: Path, seed: int = 1, days: int = 1, symbol: str = "NQ1!", **options) -> dict:
    """Generate and write bars.csv, events.jsonl, truth.json; returns the summary counts."""
    sample = generate(seed=seed, days=days, symbol=symbol)
    lines = apply_options(sample, random.Random(f"faults-{seed}"), **options)
    outdir.mkdir(parents=True, exist_ok=True)
    with (outdir / "bars.csv").open("w", newline="\n") as f:
        f.write("symbol,ts,open,high,low,close\n")
        for b in sample.bars:
            f.write(f"{symbol},{iso(b.ts)},{b.open},{b.high},{b.low},{b.close}\n")
    (outdir / "events.jsonl").write_text("".join(line + "\n" for line in lines))
    (outdir / "truth.json").write_text(json.dumps(truth(sample), indent=1, sort_keys=True) + "\n")
    return {"signals": len(sample.signals),
            "trades": sum(1 for s in sample.signals if s.confirmation_time is not None),
            "cancellations": sum(1 for s in sample.signals if s.status == "cancelled"),
            "events": len(lines), "bars": len(sample.bars)}


def _fraction(_ctx, _param, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise click.BadParameter("must be between 0 and 1")
    return value


@click.command("sample")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", default=1, show_default=True, type=int, help="Random seed: same seed, same files.")
@click.option("--days", default=1, show_default=True, type=click.IntRange(1, 60), help="Trading days of bars (from 2025-12-12).")
@click.option("--symbol", default="NQ1!", show_default=True, help="Symbol of the bars and events.")
@click.option("--drop", multiple=True, type=click.Choice(DROP_KINDS),
              help="Leave out what the seeds' indicator did not send: signal_created, cancelled, "
                   "entry_fields (htf_alignment, confirmation_time, bars_to_confirmation of ENTRY). Repeatable.")
@click.option("--lose", default=0.0, callback=_fraction, metavar="P", help="Lose this fraction of MFE updates.")
@click.option("--duplicate", default=0.0, callback=_fraction, metavar="P", help="Send this fraction of events twice.")
@click.option("--reorder", default=0.0, callback=_fraction, metavar="P", help="Swap neighbouring lines with this probability.")
@click.option("--reorder-within", "reorder_within_minutes", default=0, type=click.IntRange(0), metavar="MINUTES",
              help="Shuffle the lines whose event times lie in the same window of MINUTES minutes (before --reorder).")
@click.option("--single-mfe", default=0.0, callback=_fraction, metavar="P",
              help="Send this fraction of the MFE_UPDATE_BATCH bodies as one MFE_UPDATE body per update (the same "
                   "events); the others stay batched.")
@click.option("--stale-feed", default=0, type=click.IntRange(0), metavar="MINUTES",
              help="No MFE updates and heartbeats in the last MINUTES minutes.")
@click.option("--missed-exits", default=0.0, callback=_fraction, metavar="P", help="Drop this fraction of EXIT_BE/EXIT_SL events.")
def sample_cmd(outdir: Path, seed: int, days: int, symbol: str, drop: tuple[str, ...], lose: float,
               duplicate: float, reorder: float, reorder_within_minutes: int, single_mfe: float, stale_feed: int,
               missed_exits: float):
    """Write a deterministic, realistic data set to OUTDIR: bars.csv (1-minute bars,
    `\\copy sigsync.price_bars FROM 'bars.csv' CSV HEADER`), events.jsonl (the indicator's
    webhook bodies, for `sigsync ingest`) and truth.json (the generator's ground truth per
    trade_id and the reconcile time p_now to use)."""
    counts = write(outdir, seed=seed, days=days, symbol=symbol, drop=tuple(drop), lose=lose, duplicate=duplicate,
                   reorder=reorder, stale_feed=stale_feed, missed_exits=missed_exits, single_mfe=single_mfe,
                   reorder_within_minutes=reorder_within_minutes)
    click.echo(f"sample: {counts['signals']} signals, {counts['trades']} trades, {counts['cancellations']} cancellations, "
               f"{counts['events']} events, {counts['bars']} bars -> {outdir}/bars.csv, events.jsonl, truth.json")


COMMANDS = [sample_cmd]
