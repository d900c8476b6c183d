"""The overview's "cycles over the last 24 h" chart (DESIGN §15: mean health and gaps over time,
from sync_runs) plots the whole registry after each cycle, not the few signals the cycle
processed: after a cycle that had nothing to do, the chart's last point still shows the
registry's open gaps and mean health, as system_health counts them."""

from __future__ import annotations

import json
import re
from html import unescape

import httpx
import psycopg

from test_serve_helpers import serving

CHART = re.compile(r'id="chart-cycles"[^>]*>\s*<script type="application/json">(.*?)</script>', re.S)


def test_the_cycles_chart_shows_the_whole_registry_after_a_cycle_that_processed_nothing(module_db):
    with psycopg.connect(module_db, autocommit=True) as conn:
        # entries without bars: their MFE and exit stay open gaps
        conn.execute("SELECT count(*) FROM sigsync.ingest_many(%s::text[])", ([
            json.dumps({"event_type": "ENTRY", "symbol": f"OV{i}", "trade_id": "20251212_100000000_BULLISH",
                        "entry_price": 100, "stop_loss": 90, "timestamp": "2025-12-12T15:01:00Z"})
            for i in range(6)],))
        first = conn.execute("SELECT sigsync.reconcile('2025-12-12 15:30:00+00')").fetchone()[0]
        idle = conn.execute("SELECT sigsync.reconcile('2025-12-12 15:30:00+00')").fetchone()[0]
        assert first["status"] == idle["status"] == "ok" and idle["signals_processed"] == 0, idle
        mean_health, open_gaps = conn.execute("SELECT mean_health, open_gaps FROM sigsync.system_health").fetchone()
    assert open_gaps > 0 and mean_health < 100
    with serving(module_db) as serve:
        page = httpx.get(f"{serve.url}/", timeout=10)
    assert page.status_code == 200
    chart = json.loads(unescape(CHART.search(page.text).group(1)))
    assert chart["health"][-1] == float(mean_health)
    assert chart["gaps"][-1] == open_gaps
