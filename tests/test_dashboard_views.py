"""The views the dashboard added (signal_bars, signal_mfe_updates, cycle_history, rejected_payloads,
events_per_minute, indicator_link, dashboard_settings): what they answer, that they give the
reader no more than the pages need, and that signal_bars' Tier 2 path ends on the values the walk
stored."""

from __future__ import annotations

import json
import random

import psycopg
import pytest

from dashboard_helpers import view_rows
from sigsync.sample import apply_options, generate, iso

NEW_VIEWS = ("signal_bars", "signal_mfe_updates", "cycle_history", "rejected_payloads", "events_per_minute",
             "indicator_link", "dashboard_settings")


@pytest.fixture(scope="module")
def faulty_db(module_db):
    """A generated day whose indicator lost 70% of its MFE updates, missed 40% of the exits and went
    silent for the last 90 minutes: Tier 2 fills from the bars."""
    sample = generate(seed=11)
    lines = apply_options(sample, random.Random(11), lose=0.7, missed_exits=0.4, stale_feed=90)
    with psycopg.connect(module_db, autocommit=True) as conn:
        with conn.cursor() as cur, cur.copy("COPY sigsync.price_bars (symbol, ts, open, high, low, close) FROM STDIN") as cp:
            for b in sample.bars:
                cp.write_row((sample.symbol, iso(b.ts), b.open, b.high, b.low, b.close))
        conn.execute("SELECT count(*) FROM sigsync.ingest_many(%s::text[])", (lines + ['{"event_type": "nope"}'],))
        summary = conn.execute("SELECT sigsync.reconcile(%s)", (sample.p_now,)).fetchone()[0]
        assert summary["status"] == "ok", summary
    return module_db


def test_the_new_views_are_documented_and_readable_by_the_reader_only_as_views(faulty_db):
    with psycopg.connect(faulty_db, autocommit=True) as conn:
        for name in NEW_VIEWS:
            kind, comment, reader = conn.execute(
                "SELECT c.relkind, obj_description(c.oid, 'pg_class'), has_table_privilege('sigsync_reader', c.oid, 'SELECT')"
                "  FROM pg_class c WHERE c.oid = %s::regclass", (f"sigsync.{name}",)).fetchone()
            assert kind == "v" and reader and "Example: SELECT" in comment, name


def test_signal_bars_tier2_path_ends_on_the_registry_values_the_walk_filled(faulty_db):
    rows = view_rows(faulty_db, """
        WITH last AS (SELECT DISTINCT ON (symbol, trade_id) symbol, trade_id, t2_be_mfe, t2_no_be_mfe, t2_mae
                        FROM sigsync.signal_bars WHERE t2_no_be_mfe IS NOT NULL ORDER BY symbol, trade_id, ts DESC)
        SELECT p.field, p.value, l.t2_be_mfe, l.t2_no_be_mfe, l.t2_mae, p.trade_id
          FROM sigsync.field_provenance p JOIN last l USING (symbol, trade_id)
         WHERE p.tier = '2' AND p.field IN ('be_mfe', 'no_be_mfe', 'mae_global_r')""")
    assert len(rows) >= 3, "the faulty day made Tier 2 fill no MFE"
    column = {"be_mfe": "t2_be_mfe", "no_be_mfe": "t2_no_be_mfe", "mae_global_r": "t2_mae"}
    mismatches = [(r["trade_id"], r["field"], r["value"], r[column[r["field"]]]) for r in rows
                  if float(r["value"]) != float(r[column[r["field"]]])]
    assert mismatches == []


def test_signal_bars_marks_the_inferred_exits_where_the_registry_has_them(faulty_db):
    inferred = view_rows(faulty_db, "SELECT symbol, trade_id, exit_time FROM sigsync.completed_trades WHERE exit_inferred")
    assert inferred, "no exit was inferred from the bars"
    for s in inferred:
        (stop,) = view_rows(faulty_db, "SELECT ts FROM sigsync.signal_bars WHERE symbol = %s AND trade_id = %s"
                                       " AND t2_stop", (s["symbol"], s["trade_id"]))
        assert stop["ts"] == s["exit_time"]


def test_signal_bars_surrounds_the_signal_and_is_bounded(faulty_db):
    (s,) = view_rows(faulty_db, "SELECT symbol, trade_id, signal_time, exit_time FROM sigsync.completed_trades"
                                " ORDER BY trade_id LIMIT 1")
    (span,) = view_rows(faulty_db, "SELECT min(ts), max(ts), count(*) FROM sigsync.signal_bars"
                                   " WHERE symbol = %s AND trade_id = %s", (s["symbol"], s["trade_id"]))
    assert span["min"] <= s["signal_time"] and span["max"] >= s["exit_time"] and 0 < span["count"] <= 3000
    (outside,) = view_rows(faulty_db, "SELECT count(*) FILTER (WHERE in_trade AND ts <= (SELECT confirmation_time"
                                      " FROM sigsync.all_signals a WHERE a.trade_id = b.trade_id)) AS n"
                                      " FROM sigsync.signal_bars b WHERE trade_id = %s", (s["trade_id"],))
    assert outside["n"] == 0


def test_rejected_payloads_shows_a_bounded_prefix_and_never_the_bytes(faulty_db):
    with psycopg.connect(faulty_db, autocommit=True) as conn:
        conn.execute("SELECT sigsync.ingest(%s::text)", (json.dumps({"event_type": "nope", "pad": "x" * 5000}),))
    rows = view_rows(faulty_db, "SELECT * FROM sigsync.rejected_payloads ORDER BY id")
    assert {"raw", "payload"}.isdisjoint(rows[0]) and rows[-1]["error_code"] == "unknown_event_type"
    assert all(len(r["payload_prefix"]) <= 500 and len(r["message"]) <= 300 for r in rows)
    assert rows[-1]["prefix_only"] and rows[-1]["payload_bytes"] > 5000


def test_cycle_history_sums_what_each_cycle_reported(faulty_db):
    (run,) = view_rows(faulty_db, "SELECT * FROM sigsync.cycle_history ORDER BY run_id DESC LIMIT 1")
    (raw,) = view_rows(faulty_db, "SELECT summary FROM sigsync.sync_runs ORDER BY id DESC LIMIT 1")
    summary = raw["summary"]
    assert run["gaps_before_total"] == sum(summary["gaps_before"].values())
    assert run["gaps_after_total"] == sum(summary["gaps_after"].values())
    assert run["fills"] == sum(summary["fills_by_tier"].values())
    assert float(run["mean_health"]) == summary["mean_health"] and run["status"] == "ok"


def test_events_per_minute_counts_what_arrived(faulty_db):
    (events, rejected) = view_rows(faulty_db, "SELECT (SELECT count(*) FROM sigsync.automated_signals) AS e,"
                                              " (SELECT count(*) FROM sigsync.rejected_events) AS r")[0].values()
    (total,) = view_rows(faulty_db, "SELECT sum(events) AS e, sum(rejected) AS r FROM sigsync.events_per_minute")
    assert (total["e"], total["r"]) == (events, rejected)


def test_indicator_link_and_dashboard_settings(faulty_db):
    (link,) = view_rows(faulty_db, "SELECT * FROM sigsync.indicator_link")
    assert link["source"] == "indicator" and link["online"] is False  # its heartbeats are from 2025
    assert link["offline_since"] is not None and link["tracked_signals"] is not None
    assert "tracking" not in link and "not_tracking" not in link
    (settings,) = view_rows(faulty_db, "SELECT * FROM sigsync.dashboard_settings")
    assert settings["timezone"] == "America/New_York" and settings["be_trigger_r"] == 1
