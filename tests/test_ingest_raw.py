"""`sigsync ingest` sends JSON-array elements as their raw text: nothing is re-serialised."""

import psycopg

from support import sigsync

ELEMENT = ('{"event_type": "ENTRY", "trade_id": "20251212_104200000_BULLISH", '
           '"entry_price": 25680.12345678901234567, "stop_loss": 25645, "timestamp": 1765554300000}')


def test_array_elements_are_sent_as_received(db, tmp_path):
    array = tmp_path / "events.json"
    array.write_text("[\n  " + ELEMENT + ",\n  {\"type\": \"HEARTBEAT\", \"tracked_signals\": 1e400}\n]\n")
    result = sigsync("--dsn", db, "ingest", array)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "accepted 1, duplicate 0, rejected 1"
    with psycopg.connect(db) as conn:
        price, payload = conn.execute(
            "SELECT entry_price::text, payload ->> 'entry_price' FROM sigsync.automated_signals").fetchone()
        assert price == payload == "25680.12345678901234567"  # not rounded through a float
        (kept,) = conn.execute("SELECT payload FROM sigsync.rejected_events").fetchone()
        assert kept == '{"type": "HEARTBEAT", "tracked_signals": 1e400}'  # as sent, not "Infinity"
    lines = tmp_path / "events.jsonl"
    lines.write_text(ELEMENT + "\n")
    again = sigsync("--dsn", db, "ingest", lines)
    assert again.stdout.splitlines()[0] == "accepted 0, duplicate 1, rejected 0"
