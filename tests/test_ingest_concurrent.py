"""Two calls that ingest the same body at the same time: one stores it, the other gets
'duplicate' with the id of the stored copy, although that copy was committed after the
second call's statement began (its snapshot could not see it)."""

from __future__ import annotations

import threading
import time

import psycopg

BODY = '{"event_type":"ENTRY","trade_id":"20251212_104200000_BULLISH","entry_price":100,"stop_loss":90,"timestamp":1765554300000}'


def test_a_concurrent_duplicate_gets_the_id_of_the_stored_copy(db):
    with psycopg.connect(db) as first, psycopg.connect(db, autocommit=True) as second, \
            psycopg.connect(db, autocommit=True) as watcher:
        (stored,) = first.execute("SELECT event_ids FROM sigsync.ingest_many(ARRAY[%s, '{\"type\":\"HEARTBEAT\"}'])",
                                  (BODY,)).fetchone()   # not committed yet
        result = {}

        def again() -> None:
            result["row"] = second.execute(
                "SELECT status, event_ids FROM sigsync.ingest_many(ARRAY['{\"type\":\"HEARTBEAT\",\"tracked_signals\":2}', %s])"
                " ORDER BY idx DESC LIMIT 1", (BODY,)).fetchone()

        thread = threading.Thread(target=again)
        thread.start()
        deadline = time.monotonic() + 10
        while not watcher.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                                  (second.info.backend_pid,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the second call never waited for the first"
            time.sleep(0.02)
        first.commit()
        thread.join(timeout=10)
    assert result["row"] == ("duplicate", stored)
