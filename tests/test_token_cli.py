"""`sigsync token create|list|revoke` and sigsync.webhook_tokens (DESIGN §14): a token is
printed once and only its SHA-256 is stored; list never shows one; revoke keeps the row;
each role gets exactly what it needs (sigsync_admin manages tokens without reading their
hashes and cannot delete them; sigsync_ingest reaches them only through webhook_refresh)."""

from __future__ import annotations

import hashlib
import json
import re

import psycopg
import pytest

from support import sigsync


def run(db: str, *args: str):
    return sigsync("--dsn", db, "token", *args)


def test_create_prints_the_token_once_and_stores_only_its_sha256(db):
    result = run(db, "create", "--source", "indicator", "--label", "NQ 1m chart")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert re.fullmatch(r"sgs_[A-Za-z0-9_-]{43}", token) and result.stdout == token + "\n"
    # once: stderr (a journal, when TOKEN=$(...) runs in a unit) says where it goes, without it
    assert "shown only this once" in result.stderr and "/webhook/TOKEN" in result.stderr
    assert token not in result.stderr and token[4:] not in result.stderr
    with psycopg.connect(db) as conn:
        rows = conn.execute("SELECT id, source, label, token_hash, last_used_at, revoked_at"
                            " FROM sigsync.webhook_tokens").fetchall()
        dump = conn.execute("SELECT string_agg(t::text, ' ') FROM sigsync.webhook_tokens t").fetchone()[0]
    assert rows == [(rows[0][0], "indicator", "NQ 1m chart", hashlib.sha256(token.encode()).hexdigest(), None, None)]
    assert token not in dump and token[4:] not in dump
    second = run(db, "create", "--source", "indicator").stdout.strip()
    assert second != token


def test_list_shows_the_tokens_but_never_a_token_or_a_hash(db):
    token = run(db, "create", "--source", "indicator", "--label", "main").stdout.strip()
    run(db, "create", "--source", "backup")
    listed = run(db, "list")
    assert listed.returncode == 0 and "indicator" in listed.stdout and "backup" in listed.stdout
    assert token not in listed.stdout and hashlib.sha256(token.encode()).hexdigest() not in listed.stdout
    rows = json.loads(run(db, "list", "--json").stdout)
    assert [r["source"] for r in rows] == ["indicator", "backup"]
    assert set(rows[0]) == {"id", "source", "label", "created_at", "last_used_at", "revoked_at"}


def test_revoke_keeps_the_row_and_says_so_when_repeated_or_unknown(db):
    run(db, "create", "--source", "indicator")
    (token_id,) = [r["id"] for r in json.loads(run(db, "list", "--json").stdout)]
    result = run(db, "revoke", str(token_id))
    assert result.returncode == 0 and f"token {token_id} (source 'indicator') revoked" in result.stdout
    assert "already revoked" in run(db, "revoke", str(token_id)).stdout
    assert json.loads(run(db, "list", "--json").stdout) == []
    kept = json.loads(run(db, "list", "--all", "--json").stdout)
    assert [r["id"] for r in kept] == [token_id] and kept[0]["revoked_at"]
    unknown = run(db, "revoke", "999999")
    assert unknown.returncode == 1 and "no token 999999" in unknown.stderr and "Traceback" not in unknown.stderr


@pytest.mark.parametrize("args", [["--source", ""], ["--source", " padded "], ["--source", "x" * 65],
                                  ["--source", "ok", "--label", "y" * 201], ["--source", "bell\x07"]])
def test_create_refuses_a_bad_source_or_label_cleanly(db, args):
    result = run(db, "create", *args)
    assert result.returncode == 1 and "--source must be" in result.stderr and "Traceback" not in result.stderr
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM sigsync.webhook_tokens").fetchone()[0] == 0


def test_token_on_an_unmigrated_database_is_a_clean_error(empty_db):
    result = run(empty_db, "list")
    assert result.returncode == 1 and "sigsync migrate" in result.stderr and "Traceback" not in result.stderr


# -- privileges ------------------------------------------------------------------------------------


def as_role(conn: psycopg.Connection, role: str, statement: str, params=()):
    with conn.transaction():
        conn.execute(f"SET LOCAL ROLE {role}")
        return conn.execute(statement, params).fetchall()


def test_sigsync_admin_manages_tokens_without_reading_hashes_or_deleting(db):
    with psycopg.connect(db, autocommit=True) as conn:
        (token_id,) = as_role(conn, "sigsync_admin", "INSERT INTO sigsync.webhook_tokens (source, token_hash)"
                                                     " VALUES ('indicator', %s) RETURNING id", ("a" * 64,))[0]
        assert as_role(conn, "sigsync_admin", "SELECT id, source FROM sigsync.webhook_tokens") == [(token_id, "indicator")]
        as_role(conn, "sigsync_admin", "UPDATE sigsync.webhook_tokens SET revoked_at = now() WHERE id = %s"
                                       " RETURNING id", (token_id,))
        for statement in ("SELECT token_hash FROM sigsync.webhook_tokens",
                          "DELETE FROM sigsync.webhook_tokens",
                          "UPDATE sigsync.webhook_tokens SET token_hash = repeat('b', 64)",
                          "UPDATE sigsync.webhook_tokens SET last_used_at = now()",
                          "TRUNCATE sigsync.webhook_tokens"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                as_role(conn, "sigsync_admin", statement)
        privileges = conn.execute(
            "SELECT p FROM unnest(ARRAY['TRIGGER', 'TRUNCATE', 'REFERENCES', 'DELETE']) p"
            " WHERE has_table_privilege('sigsync_admin', 'sigsync.webhook_tokens', p)").fetchall()
        assert privileges == []


def test_ingest_and_reader_roles_reach_tokens_only_through_webhook_refresh(db):
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("INSERT INTO sigsync.webhook_tokens (source, token_hash) VALUES ('indicator', %s), ('old', %s)",
                     ("c" * 64, "d" * 64))
        conn.execute("UPDATE sigsync.webhook_tokens SET revoked_at = now() WHERE source = 'old'")
        for role in ("sigsync_ingest", "sigsync_reader"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                as_role(conn, role, "SELECT * FROM sigsync.webhook_tokens")
        ((config,),) = as_role(conn, "sigsync_ingest", "SELECT sigsync.webhook_refresh(ARRAY[1, 2]::bigint[])")
        assert [t["source"] for t in config["tokens"]] == ["indicator"]  # revoked tokens open nothing
        assert config["max_payload_bytes"] == 65536 and config["max_payloads_per_call"] == 10000
        used = conn.execute("SELECT source, last_used_at IS NOT NULL FROM sigsync.webhook_tokens ORDER BY id").fetchall()
        assert used == [("indicator", True), ("old", False)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_role(conn, "sigsync_reader", "SELECT sigsync.webhook_refresh()")


def test_a_token_change_is_notified(db):
    with psycopg.connect(db, autocommit=True) as listener, psycopg.connect(db, autocommit=True) as conn:
        listener.execute("LISTEN sigsync_webhook_tokens")
        conn.execute("INSERT INTO sigsync.webhook_tokens (source, token_hash) VALUES ('indicator', %s)", ("e" * 64,))
        assert [n.channel for n in listener.notifies(timeout=2, stop_after=1)] == ["sigsync_webhook_tokens"]
        conn.execute("UPDATE sigsync.webhook_tokens SET last_used_at = now()")  # not a change of the active set
        assert list(listener.notifies(timeout=0.3, stop_after=1)) == []
        conn.execute("UPDATE sigsync.webhook_tokens SET revoked_at = now()")
        assert [n.channel for n in listener.notifies(timeout=2, stop_after=1)] == ["sigsync_webhook_tokens"]
