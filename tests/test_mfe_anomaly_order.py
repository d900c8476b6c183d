"""Property: the "MFE below an earlier MFE" anomalies do not depend on arrival order (DESIGN §3).

An MFE update is audited as an anomaly, once per metric, when its value is below an earlier
observation of that metric by event time: an earlier update, or the final_mfe of an earlier
EXIT_BE (be_mfe) or EXIT_SL (no_be_mfe); negative values are no observations. Whatever order
the events arrive in, in whatever calls, with cycles (which project the queued updates) run at
any points, the audited set after a last cycle is exactly the one this rule gives over the
whole log, computed here independently of the SQL.
"""

import json
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TRADE_ID = "20251212_104200000_BULLISH"
T0_MS = 1765554120000   # 2025-12-12 10:42 America/New_York
P_NOW = "2025-12-12 12:00 America/New_York"
VALUES = st.sampled_from([None, 0, 0.5, 1, 1.25, 2, -0.5])


@st.composite
def histories(draw):
    """One trade's MFE updates and exits, some at the same minute, and an arrival plan."""
    n = draw(st.integers(2, 9))
    minutes = draw(st.lists(st.integers(1, 12), min_size=n, max_size=n))   # (equal times too: "earlier" is strict)
    events = []
    for m in minutes:
        kind = draw(st.sampled_from(["MFE_UPDATE"] * 4 + ["EXIT_BE", "EXIT_SL"]))
        at = T0_MS + m * 60_000
        if kind == "MFE_UPDATE":
            be, no_be = draw(VALUES), draw(VALUES)
            body = {"event_type": kind, "trade_id": TRADE_ID, "timestamp": at}
            body.update({k: v for k, v in (("be_mfe", be), ("no_be_mfe", no_be)) if v is not None})
            events.append((kind, m, be, no_be, body))
        else:
            final = draw(VALUES)
            body = {"event_type": kind, "trade_id": TRADE_ID, "timestamp": at, "exit_price": 25680}
            if final is not None:
                body["final_mfe"] = final
            events.append((kind, m, final if kind == "EXIT_BE" else None, final if kind == "EXIT_SL" else None, body))
    order = draw(st.permutations(range(n)))
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=3))) if n > 1 else []
    cycles = draw(st.sets(st.integers(0, len(cuts)), max_size=3))
    return events, order, cuts, cycles


def expected(events) -> Counter:
    """(minute, field, value) of every update below an earlier observation of its metric, once per
    distinct body (a body sent twice is one event)."""
    events = list({json.dumps(e[4], sort_keys=True): e for e in events}.values())
    out = Counter()
    for kind, m, be, no_be, _ in events:
        if kind != "MFE_UPDATE":
            continue
        for field, value, pos in (("be_mfe", be, 2), ("no_be_mfe", no_be, 3)):
            earlier = [e[pos] for e in events if e[1] < m and e[pos] is not None and e[pos] >= 0]
            if value is not None and value >= 0 and earlier and value < max(earlier):
                out[(m, field, float(value))] += 1
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories())
def test_mfe_below_an_earlier_mfe_is_audited_whatever_the_arrival_order(conn, history):
    events, order, cuts, cycles = history
    bodies = [json.dumps(events[i][4]) for i in order]
    bounds = [0, *cuts, len(bodies)]
    with conn.transaction(force_rollback=True):
        for k, (a, b) in enumerate(zip(bounds, bounds[1:])):
            statuses = [s for (s,) in conn.execute("SELECT status FROM sigsync.ingest_many(%s::text[])",
                                                    (bodies[a:b],)).fetchall()]
            assert set(statuses) <= {"accepted", "duplicate"}, statuses
            if k in cycles:
                assert conn.execute("SELECT sigsync.reconcile(%s::timestamptz)", (P_NOW,)).fetchone()[0]["status"] == "ok"
        assert conn.execute("SELECT sigsync.reconcile(%s::timestamptz)", (P_NOW,)).fetchone()[0]["status"] == "ok"
        rows = conn.execute(
            "SELECT ((extract(epoch FROM e.\"timestamp\") * 1000 - %s) / 60000)::int, a.field,"
            "       (a.new_value #>> '{}')::float8, count(*)"
            "  FROM sigsync.sync_audit_log a JOIN sigsync.automated_signals e ON e.id = a.event_id"
            " WHERE a.action_type = 'anomaly' AND a.reason = 'MFE below an earlier MFE'"
            " GROUP BY e.id, 1, 2, 3", (T0_MS,)).fetchall()
    assert all(n == 1 for *_, n in rows), f"audited more than once: {rows}"
    assert Counter((m, f, v) for m, f, v, _ in rows) == expected(events)
