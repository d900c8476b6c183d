"""Shared fixtures: one real PostgreSQL 15 cluster for the session, started through
sigsync's own cluster module (so it works as root too), and databases made from a
migrated template.

    cluster      the session's sigsync.cluster.Cluster (data dir under /tmp)
    template_db  DSN of `sigsync_template`: migrated, plus pgtap and plpgsql_check
    db           DSN of a fresh copy of the template, dropped after the test
    module_db    the same, shared by one test module
    empty_db     DSN of a fresh empty database (for migration tests)
"""

from __future__ import annotations

import contextlib
import shutil
import uuid

import psycopg
import pytest
from psycopg import sql

from sigsync.cluster import Cluster
from sigsync.migrate import Migrator, SqlTree
from sigsync.paths import sql_dir
from support import make_tmp_dir

TEMPLATE = "sigsync_template"


@pytest.fixture(scope="session")
def cluster():
    root = make_tmp_dir("sigsync-pytest-")
    instance = Cluster(root)
    try:
        # running() stops the server at the end, also on SIGTERM/SIGINT of the test run
        with instance.running():
            yield instance
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _admin(cluster: Cluster) -> psycopg.Connection:
    return psycopg.connect(cluster.url("postgres"), autocommit=True)


@pytest.fixture(scope="session")
def template_db(cluster) -> str:
    with _admin(cluster) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(TEMPLATE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
    with psycopg.connect(cluster.url(TEMPLATE), autocommit=True) as conn:
        Migrator(conn, SqlTree(sql_dir()), echo=lambda _line: None).migrate()
        conn.execute("CREATE EXTENSION IF NOT EXISTS pgtap SCHEMA public")
        conn.execute("CREATE EXTENSION IF NOT EXISTS plpgsql_check SCHEMA public")
    return cluster.url(TEMPLATE)


@contextlib.contextmanager
def new_database(cluster: Cluster, template: str | None = None):
    name = f"t_{uuid.uuid4().hex[:16]}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with _admin(cluster) as conn:
        conn.execute(create)
    try:
        yield cluster.url(name)
    finally:
        with _admin(cluster) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def db(cluster, template_db) -> str:
    with new_database(cluster, TEMPLATE) as dsn:
        yield dsn


@pytest.fixture(scope="module")
def module_db(cluster, template_db) -> str:
    with new_database(cluster, TEMPLATE) as dsn:
        yield dsn


@pytest.fixture
def conn(db):
    """An autocommit connection to a fresh migrated database (tests open their own transactions)."""
    with psycopg.connect(db, autocommit=True) as connection:
        yield connection


@pytest.fixture
def empty_db(cluster) -> str:
    with new_database(cluster) as dsn:
        yield dsn
