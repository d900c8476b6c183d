"""A cycle clears only the work marks of what it processed (issue "trust under hostile input",
item 5).

The alternation rule locks the neighbours of the signals it works on. A cycle used to clear the
mark of every signal it had locked, including a neighbour whose ingest committed after the
working set was chosen: that signal's gaps and health then stayed stale until a full cycle.
The steps are ordered deterministically by a lock that the cycle waits on after choosing its
working set and before the alternation rule: a test trigger on the audit log makes the cycle's
first audit row (its first fill) wait for a lock the test holds.
"""

from __future__ import annotations

import threading
import time

import psycopg

P_NOW = "2025-12-12 16:00:00+00"
EARLIER = "20251212_100000000_BEARISH"   # pending, reconciled: the neighbour
NEWER = "20251212_100500000_BULLISH"     # arrives later: the working set


def ingest(conn, body: str) -> str:
    return conn.execute("SELECT sigsync.ingest(%s::text) ->> 'status'", (body,)).fetchone()[0]


def wait_until_blocked(conn, pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0]:
            return
        time.sleep(0.02)
    raise AssertionError("the cycle never waited on the held lock")


def test_a_neighbour_changed_during_the_cycle_stays_marked(db):
    with psycopg.connect(db, autocommit=True) as setup:
        assert ingest(setup, f'{{"event_type":"SIGNAL_CREATED","trade_id":"{EARLIER}","timestamp":"2025-12-12T15:00:00Z"}}') == "accepted"
        assert setup.execute("SELECT sigsync.reconcile(%s) ->> 'status'", (P_NOW,)).fetchone()[0] == "ok"
        assert setup.execute("SELECT dirty FROM sigsync.signals WHERE trade_id = %s", (EARLIER,)).fetchone()[0] is False
        # the next cycle has a new signal to work on, and an indicator state to record
        assert ingest(setup, f'{{"event_type":"SIGNAL_CREATED","trade_id":"{NEWER}","timestamp":"2025-12-12T15:05:00Z"}}') == "accepted"
        # a cycle's audit row waits while the test holds lock 4242
        setup.execute("CREATE FUNCTION public.wait_for_test() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                      "IF NEW.run_id IS NOT NULL THEN PERFORM pg_advisory_lock_shared(4242); "
                      "PERFORM pg_advisory_unlock_shared(4242); END IF; RETURN NEW; END $$")
        setup.execute("CREATE TRIGGER wait_for_test BEFORE INSERT ON sigsync.sync_audit_log FOR EACH ROW "
                      "EXECUTE FUNCTION public.wait_for_test()")

    with psycopg.connect(db) as holder, psycopg.connect(db, autocommit=True) as watcher, \
            psycopg.connect(db, autocommit=True) as cycle_conn:
        holder.execute("SELECT pg_advisory_xact_lock(4242)")  # held until holder commits
        result = {}

        def cycle() -> None:
            result["summary"] = cycle_conn.execute("SELECT sigsync.reconcile(%s)", (P_NOW,)).fetchone()[0]

        runner = threading.Thread(target=cycle)
        runner.start()
        try:
            wait_until_blocked(watcher, cycle_conn.info.backend_pid)  # working set chosen: {NEWER}
            # meanwhile the neighbour gets its ENTRY, committed before the cycle locks it
            assert ingest(watcher, f'{{"event_type":"ENTRY","trade_id":"{EARLIER}","entry_price":100,"stop_loss":110,'
                                   f'"timestamp":"2025-12-12T15:06:00Z"}}') == "accepted"
        finally:
            holder.commit()
            runner.join(timeout=30)
        assert result["summary"]["status"] == "ok"
        assert result["summary"]["signals_processed"] == 1  # only NEWER was in its working set
        watcher.execute("DROP TRIGGER wait_for_test ON sigsync.sync_audit_log")

        dirty, gen = watcher.execute("SELECT dirty, dirty_gen FROM sigsync.signals WHERE trade_id = %s",
                                     (EARLIER,)).fetchone()
        assert dirty, "the cycle cleared the mark of a neighbour it did not process"

        # so the next incremental cycle reconciles it (no full cycle needed)
        summary = watcher.execute("SELECT sigsync.reconcile(%s)", (P_NOW,)).fetchone()[0]
        assert summary["status"] == "ok" and summary["signals_processed"] >= 1
        status, targets, dirty = watcher.execute(
            "SELECT status, targets_extended IS NOT NULL, dirty FROM sigsync.signals WHERE trade_id = %s",
            (EARLIER,)).fetchone()
        assert (status, targets, dirty) == ("active", True, False)
        gaps = watcher.execute("SELECT gaps FROM sigsync.all_signals WHERE trade_id = %s", (EARLIER,)).fetchone()[0]
        assert "no_targets" not in gaps


def test_a_processed_signal_changed_from_outside_keeps_its_mark(db):
    """The mark is cleared only while dirty_gen is what the cycle took: a bump from outside
    (here written directly, as a change no lock kept out would) survives the cycle."""
    with psycopg.connect(db, autocommit=True) as conn:
        assert ingest(conn, f'{{"event_type":"SIGNAL_CREATED","trade_id":"{NEWER}","timestamp":"2025-12-12T15:05:00Z"}}') == "accepted"
        with conn.transaction():
            conn.execute("CREATE FUNCTION pg_temp.bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                         "UPDATE sigsync.signals SET dirty_gen = dirty_gen + 1 WHERE trade_id = NEW.trade_id "
                         "AND NEW.action_type = 'fill' AND NEW.field = 'session'; RETURN NEW; END $$")
            conn.execute("CREATE TRIGGER bump AFTER INSERT ON sigsync.sync_audit_log FOR EACH ROW "
                         "EXECUTE FUNCTION pg_temp.bump()")
            assert conn.execute("SELECT sigsync.reconcile(%s) ->> 'status'", (P_NOW,)).fetchone()[0] == "ok"
            assert conn.execute("SELECT dirty FROM sigsync.signals WHERE trade_id = %s", (NEWER,)).fetchone()[0]
            conn.execute("DROP TRIGGER bump ON sigsync.sync_audit_log")
        assert conn.execute("SELECT sigsync.reconcile(%s) ->> 'status'", (P_NOW,)).fetchone()[0] == "ok"
        assert conn.execute("SELECT dirty FROM sigsync.signals WHERE trade_id = %s", (NEWER,)).fetchone()[0] is False
