"""migrate never drops someone else's objects: a user's view on a sigsync view stops the
re-creation of the views with a clear message, and nothing is changed."""

import shutil

import psycopg

from sigsync.paths import sql_dir
from support import sigsync


def test_a_users_view_on_ours_is_never_dropped_silently(db, tmp_path):
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE VIEW public.my_dashboard AS SELECT trade_id, status FROM sigsync.all_signals")
    tree = tmp_path / "sql"
    shutil.copytree(sql_dir(None), tree)
    view = tree / "views" / "all_signals.sql"
    view.write_text(view.read_text() + "\n-- changed\n")  # forces the views to be re-created
    result = sigsync("--dsn", db, "--sql-dir", tree, "migrate")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "my_dashboard" in result.stderr and "nothing was changed" in result.stderr, result.stderr
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT to_regclass('public.my_dashboard') IS NOT NULL").fetchone()[0]
        assert conn.execute("SELECT to_regclass('sigsync.all_signals') IS NOT NULL").fetchone()[0]


def test_without_foreign_dependents_views_are_recreated(db, tmp_path):
    tree = tmp_path / "sql"
    shutil.copytree(sql_dir(None), tree)
    view = tree / "views" / "all_signals.sql"
    view.write_text(view.read_text() + "\n-- changed\n")
    result = sigsync("--dsn", db, "--sql-dir", tree, "migrate")
    assert result.returncode == 0, result.stderr
