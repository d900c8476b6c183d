"""Property: the registry after ingest does not depend on arrival order (DESIGN §3).

The same set of events, ingested in any order, with duplicates and in any batching,
gives the same `sigsync.signals` rows and `sigsync.indicator_status` rows, once the MFE
updates ingest queues are projected (the first step of the next cycle: sigsync._project_queued).
Each example runs inside a transaction that is rolled back, so examples do not see each other.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import PROJECT_QUEUED_SQL, REGISTRY_SQL

BASE_MS = 1765554120000  # 2025-12-12 10:42:00 America/New_York
MINUTE = 60_000

SIGNALS = [
    ("20251212_104200000_BULLISH", "Bullish", 25680, 25645),
    ("20251212_104500000_BEARISH", "Bearish", 25700, 25740),
    ("20251212_105000000_BULLISH", "Bullish", 25650, 25600),
]

# Columns that record *when/how* a row was written, not what it says.
BOOKKEEPING = {"provenance", "dirty", "dirty_gen", "created_at", "updated_at"}


def _ts(minutes):
    return BASE_MS + minutes * MINUTE


@st.composite
def signal_events(draw, trade_id, direction, entry, stop):
    events = []
    if draw(st.booleans()):
        events.append({"event_type": "SIGNAL_CREATED", "trade_id": trade_id, "direction": direction,
                       "signal_time": _ts(0), "session": draw(st.sampled_from(["NY AM", "NY Pre"])),
                       "htf_alignment": {"daily": draw(st.sampled_from(["Bullish", "Bearish"]))},
                       "signal_price": entry - 1, "timestamp": _ts(0)})
    n_entries = draw(st.integers(0, 2))
    for i in range(n_entries):  # two ENTRY events may disagree: first by event time must win
        events.append({"event_type": "ENTRY", "trade_id": trade_id,
                       "entry_price": entry + i * (1 if direction == "Bullish" else -1) * draw(st.integers(0, 3)),
                       "stop_loss": stop, "bars_to_confirmation": draw(st.integers(1, 4)),
                       "timestamp": _ts(draw(st.integers(2, 4)))})
    for _ in range(draw(st.integers(0, 6))):
        # few distinct minutes, so equal timestamps (ties) happen often
        update = {"event_type": "MFE_UPDATE", "trade_id": trade_id, "timestamp": _ts(draw(st.integers(3, 8)))}
        if draw(st.booleans()):
            update["be_mfe"] = draw(st.sampled_from([-0.5, 0, 0.4, 1.2, 2.5]))
        if draw(st.booleans()):
            update["no_be_mfe"] = draw(st.sampled_from([0, 0.4, 1.3, 3.0]))
        if draw(st.booleans()):
            update["mae_global_r"] = draw(st.sampled_from([0.2, 0, -0.3, -0.8, -1.4]))
        if draw(st.booleans()):
            update["current_price"] = entry + draw(st.integers(-30, 30))
        events.append(update)
    if draw(st.booleans()):
        events.append({"event_type": "BE_TRIGGERED", "trade_id": trade_id, "timestamp": _ts(5)})
    if draw(st.booleans()):
        events.append({"event_type": "EXIT_BE", "trade_id": trade_id, "exit_price": entry,
                       "final_mfe": draw(st.sampled_from([1.0, 1.5])), "timestamp": _ts(7)})
    if draw(st.booleans()):
        events.append({"event_type": "EXIT_SL", "trade_id": trade_id, "exit_price": stop,
                       "final_mfe": draw(st.sampled_from([1.5, 2.3])), "timestamp": _ts(9)})
    if draw(st.booleans()):
        events.append({"event_type": "CANCELLED", "trade_id": trade_id, "cancel_reason": "opposite_signal_appeared",
                       "bars_pending": 2, "cancelled_time": _ts(2)})
    return events


@st.composite
def scenarios(draw):
    events = []
    for trade_id, direction, entry, stop in SIGNALS[: draw(st.integers(1, len(SIGNALS)))]:
        events += draw(signal_events(trade_id, direction, entry, stop))
    for _ in range(draw(st.integers(0, 2))):
        events.append({"type": "HEARTBEAT", "tracked_signals": draw(st.integers(0, 5)),
                       "indicator_version": "1.0", "timestamp": _ts(draw(st.integers(0, 3)))})
    payloads = [json.dumps(e) for e in events]
    order = draw(st.permutations(range(len(payloads))))
    dupes = draw(st.lists(st.sampled_from(range(len(payloads))), max_size=3)) if payloads else []
    shuffled = [payloads[i] for i in order] + [payloads[i] for i in dupes]
    cuts = sorted(draw(st.lists(st.integers(0, len(shuffled)), max_size=3)))
    return payloads, shuffled, cuts


def _batches(items, cuts):
    bounds = [0, *cuts, len(items)]
    return [items[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def _registry(cur):
    cur.execute(REGISTRY_SQL)
    names = [d.name for d in cur.description]
    rows = []
    for row in cur.fetchall():
        record = {k: v for k, v in zip(names, row) if k not in BOOKKEEPING}
        prov = dict(zip(names, row))["provenance"]
        # where each value came from, minus the arrival-dependent event ids and write times
        record["provenance"] = {f: {k: v for k, v in p.items() if k not in ("source", "filled_at")}
                                for f, p in prov.items()}
        rows.append(record)
    cur.execute("SELECT source, last_heartbeat_at, tracked_signals, indicator_version, tracking, not_tracking,"
                " sync_status_at FROM sigsync.indicator_status ORDER BY source")
    return rows, cur.fetchall()


def _ingest_and_read(conn, batches):
    with conn.transaction(force_rollback=True):
        with conn.cursor() as cur:
            for batch in batches:
                cur.execute("SELECT status FROM sigsync.ingest_many(%s::text[])", (batch,))
                assert all(s in ("accepted", "duplicate") for (s,) in cur.fetchall())
            cur.execute(PROJECT_QUEUED_SQL)
            return _registry(cur)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenarios())
def test_registry_is_independent_of_arrival_order(conn, scenario):
    payloads, shuffled, cuts = scenario
    in_order = _ingest_and_read(conn, [payloads] if payloads else [])
    any_order = _ingest_and_read(conn, _batches(shuffled, cuts))
    assert any_order == in_order


def test_property_detects_a_difference(conn):
    """Guard: the comparison above can fail (different events give different registries)."""
    a = [json.dumps({"event_type": "ENTRY", "trade_id": SIGNALS[0][0], "entry_price": 25680, "stop_loss": 25645,
                     "timestamp": _ts(3)})]
    b = [json.dumps({"event_type": "ENTRY", "trade_id": SIGNALS[0][0], "entry_price": 25681, "stop_loss": 25645,
                     "timestamp": _ts(3)})]
    assert _ingest_and_read(conn, [a]) != _ingest_and_read(conn, [b])


def test_first_entry_by_event_time_wins_whatever_the_arrival(conn):
    early = json.dumps({"event_type": "ENTRY", "trade_id": SIGNALS[0][0], "entry_price": 25680, "stop_loss": 25645,
                        "timestamp": _ts(3)})
    late = json.dumps({"event_type": "ENTRY", "trade_id": SIGNALS[0][0], "entry_price": 25682, "stop_loss": 25645,
                       "timestamp": _ts(4)})
    for batches in ([[early], [late]], [[late], [early]], [[late, early]]):
        rows, _ = _ingest_and_read(conn, batches)
        assert rows[0]["entry_price"] == 25680
