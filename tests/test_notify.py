"""Ingest sends one NOTIFY sigsync_event per transaction that stored events (not per event)."""

import json

import psycopg

TRADE = "20251212_104200000_BULLISH"


def _event(minute: int) -> str:
    return json.dumps({"event_type": "MFE_UPDATE", "trade_id": TRADE, "be_mfe": minute / 10,
                       "timestamp": 1765554300000 + minute * 60_000})


def _notifications(listener: psycopg.Connection) -> list:
    return list(listener.notifies(timeout=0.5, stop_after=10))


def test_one_notify_per_transaction(db):
    with psycopg.connect(db, autocommit=True) as listener, psycopg.connect(db) as writer:
        listener.execute("LISTEN sigsync_event")

        with writer.transaction():  # many events, three calls, one transaction
            writer.execute("SELECT count(*) FROM sigsync.ingest_many(%s::text[])", ([_event(i) for i in range(5)],))
            writer.execute("SELECT sigsync.ingest(%s::text)", (_event(6),))
            writer.execute("SELECT sigsync.ingest(%s::text)", (_event(7),))
        assert [n.channel for n in _notifications(listener)] == ["sigsync_event"]

        with writer.transaction():  # a second transaction notifies again
            writer.execute("SELECT sigsync.ingest(%s::text)", (_event(8),))
        assert len(_notifications(listener)) == 1


def test_no_notify_when_nothing_was_stored(db):
    with psycopg.connect(db, autocommit=True) as listener, psycopg.connect(db) as writer:
        listener.execute("LISTEN sigsync_event")
        with writer.transaction():
            writer.execute("SELECT sigsync.ingest(%s::text)", (_event(1),))
        assert len(_notifications(listener)) == 1
        with writer.transaction():  # a duplicate and a rejected payload store nothing
            writer.execute("SELECT sigsync.ingest(%s::text)", (_event(1),))
            writer.execute("SELECT sigsync.ingest(%s::text)", ("not json",))
        assert _notifications(listener) == []
        with writer.transaction():  # a rolled-back transaction notifies nobody
            writer.execute("SELECT sigsync.ingest(%s::text)", (_event(2),))
            raise psycopg.Rollback()
        assert _notifications(listener) == []
