"""Results do not depend on the caller's session settings (issue "trust under hostile input",
item 8).

After `SET standard_conforming_strings = off`, valid ISO timestamps used to be rejected, and
stayed rejected in that session after RESET (its cached plans kept the misread literals). The
same payloads and cycles, run under hostile settings and then again after RESET ALL, must give
exactly what a default session gets: the same results, messages, registry, audit and summaries.
"""

from __future__ import annotations

import json

import psycopg
from support import REGISTRY_SQL

HOSTILE = [
    "SET standard_conforming_strings = off",
    "SET DateStyle = 'SQL, DMY'",
    "SET TimeZone = 'Pacific/Kiritimati'",
    "SET IntervalStyle = 'sql_standard'",
    "SET extra_float_digits = -15",
    "SET search_path = hostile, public",
    "SET lc_messages = 'C'",
]

TRADE = "20251212_104200000_BULLISH"
PAYLOADS = [
    {"event_type": "SIGNAL_CREATED", "trade_id": TRADE, "signal_time": "2025-12-12T10:42:00", "direction": "bullish",
     "session": "NY AM", "htf_alignment": {"daily": "Bullish"}, "signal_price": "25672.5",
     "timestamp": "2025-12-12T10:42:00.250-05:00"},
    {"event_type": "ENTRY", "trade_id": TRADE, "entry_price": 25680, "stop_loss": 25645,
     "confirmation_time": "2025-12-12 15:45:00Z", "timestamp": 1765554300000},
    {"event_type": "MFE_UPDATE", "trade_id": TRADE, "be_mfe": 0.4, "no_be_mfe": "0.4", "mae_global_r": -0.2,
     "current_price": 25694.125, "timestamp": "2025-12-12T10:46:00+00:00"},
    {"event_type": "MFE_UPDATE_BATCH", "timestamp": "2025-12-12T15:47:00Z", "updates": [
        {"trade_id": TRADE, "be_mfe": 1.5, "no_be_mfe": 1.5},
        {"trade_id": TRADE, "be_mfe": 1.25, "timestamp": "2025-12-12T15:48:00Z"}]},
    {"event_type": "SIGNAL_CREATED", "trade_id": "20251212_110000000_BEARISH", "timestamp": "2025-12-12T11:00:00"},
    {"type": "HEARTBEAT", "tracked_signals": 3, "indicator_version": "1.0", "timestamp": "2025-12-12T15:50:00Z"},
    # rejections whose messages carry times, intervals and values
    {"event_type": "ENTRY", "trade_id": "20991231_100000000_BULLISH"},
    {"event_type": "BE_TRIGGERED", "trade_id": TRADE, "timestamp": "12/12/2025 10:00"},
    {"event_type": "MFE_UPDATE", "trade_id": TRADE, "be_mfe": 1e400},
]
BODIES = [json.dumps(p) for p in PAYLOADS] + ["not json", '{"event_type":"ENTRY","trade_id":"x\\\\y"}']
CYCLES = ["2025-12-12 15:52:00+00", "2025-12-12 16:30:00+00"]
BOOKKEEPING = {"created_at", "updated_at", "dirty_gen"}


def run_everything(conn: psycopg.Connection) -> dict:
    """Ingest, two cycles, and everything they produced; rolled back afterwards. (Results are
    read in binary, which does not depend on DateStyle, unlike psycopg's text parsing.)"""
    out: dict = {}
    with conn.transaction(force_rollback=True), conn.cursor(binary=True) as conn:
        rows = conn.execute("SELECT idx, status, error FROM sigsync.ingest_many(%s::text[])", (BODIES,)).fetchall()
        out["ingest"] = rows
        out["one"] = [conn.execute("SELECT sigsync.ingest(%s::text) -> 'error'", (b,)).fetchone()[0] for b in BODIES[-5:]]
        out["cycles"] = []
        for p_now in CYCLES:
            summary = conn.execute("SELECT sigsync.reconcile(%s::timestamptz)", (p_now,)).fetchone()[0]
            out["cycles"].append({k: v for k, v in summary.items() if k not in ("run_id", "duration_ms")})
        cur = conn.execute(REGISTRY_SQL)
        names = [d.name for d in cur.description]
        out["registry"] = []
        for row in cur.fetchall():
            record = {k: v for k, v in zip(names, row) if k not in BOOKKEEPING}
            record["provenance"] = {f: {k: v for k, v in p.items() if k not in ("filled_at", "source")}
                                    for f, p in record["provenance"].items()}
            out["registry"].append(record)
        out["audit"] = conn.execute(  # (request ids differ between transactions: sequences do not roll back)
            "SELECT symbol, trade_id, action_type, field, old_value, new_value, tier, confidence_score, "
            "regexp_replace(reason, 'sync request [0-9]+', 'sync request N') AS reason FROM sigsync.sync_audit_log "
            "ORDER BY symbol, trade_id, action_type, field, reason").fetchall()
        out["rejected"] = conn.execute("SELECT payload, error_code, message FROM sigsync.rejected_events "
                                       "ORDER BY id").fetchall()
        out["health"] = conn.execute("SELECT symbol, trade_id, health_score, gaps FROM sigsync.signal_health_metrics "
                                     "ORDER BY 1, 2").fetchall()
        out["parse"] = conn.execute("SELECT * FROM sigsync.parse_trade_id(%s)", (TRADE,)).fetchone()
        out["session"] = conn.execute("SELECT sigsync.session_at('2025-12-12 15:42:00+00')").fetchone()[0]
        out["score"] = conn.execute("SELECT sigsync.calculate_signal_health_score('[\"no_session\"]')").fetchone()[0]
    return out


def test_results_are_the_same_whatever_the_session_settings(db):
    with psycopg.connect(db, autocommit=True) as conn:
        expected = run_everything(conn)
    assert [status for _, status, _ in expected["ingest"]].count("accepted") == 6  # the scenario means something
    assert expected["cycles"][0]["status"] == "ok" and expected["registry"]

    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS hostile")
        # a caller's own functions that shadow built-ins must not be picked up either
        conn.execute("CREATE OR REPLACE FUNCTION hostile.btrim(text) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$")
        conn.execute("CREATE OR REPLACE FUNCTION hostile.upper(text) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$")
        for statement in HOSTILE:
            conn.execute(statement)
        hostile = run_everything(conn)
        conn.execute("RESET ALL")  # the same session afterwards: no misread literal survives in a cached plan
        after_reset = run_everything(conn)

    for key in expected:
        assert hostile[key] == expected[key], f"{key} differs under hostile session settings"
        assert after_reset[key] == expected[key], f"{key} differs after RESET ALL"


def test_the_comparison_can_fail(db):
    """Guard: run_everything sees a difference when there is one."""
    with psycopg.connect(db, autocommit=True) as conn:
        before = run_everything(conn)
        conn.execute("UPDATE sigsync.settings SET value = '\"UTC\"' WHERE key = 'timezone'")
        after = run_everything(conn)
    assert before["registry"] != after["registry"]
