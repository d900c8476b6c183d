"""Every ```sql block of the README runs (in order, on the bundled sample, after a cycle).

Blocks run with `search_path = sigsync, public`, as the README says the original system's
queries do; the whole run is rolled back.
"""

import re
from pathlib import Path

import psycopg
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SAMPLE = Path(__file__).resolve().parents[1] / "runner" / "sigsync" / "data" / "sample_events.jsonl"
BLOCKS = re.findall(r"```sql\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_sql_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_readme_sql_block_runs(db, number):
    payloads = [line for line in SAMPLE.read_text().splitlines() if line.strip()]
    with psycopg.connect(db) as conn:
        conn.execute("SELECT count(*) FROM sigsync.ingest_many(%s::text[])", (payloads,))
        conn.execute("SELECT sigsync.reconcile('2025-12-12 12:00 America/New_York')")
        conn.execute("SET search_path = sigsync, public")
        for earlier in BLOCKS[:number]:  # blocks may build on earlier ones
            conn.execute(earlier)
        conn.execute(BLOCKS[number])
        conn.rollback()


def test_health_examples_say_what_the_function_returns(db):
    with psycopg.connect(db) as conn:
        for call, expected in re.findall(r"(SELECT sigsync\.calculate_signal_health_score\('.*?'\));\s+-- (\d+)",
                                         README.read_text()):
            assert conn.execute(call).fetchone()[0] == int(expected), call


def test_every_public_function_and_view_is_documented(db):
    with psycopg.connect(db) as conn:
        names = [n for (n,) in conn.execute(
            "SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'sigsync'::regnamespace"
            "   AND p.proname NOT LIKE '\\_%' AND p.prorettype <> 'trigger'::regtype"
            " UNION SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'sigsync'::regnamespace"
            "   AND c.relkind = 'v' AND c.relname NOT LIKE '\\_%'").fetchall()]
    text = README.read_text()
    assert len(names) >= 19  # 8 public functions, 11 views
    missing = [n for n in names if f"`{n}" not in text and f"sigsync.{n}" not in text]
    assert missing == []
