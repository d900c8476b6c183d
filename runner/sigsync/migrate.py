"""Migrations (DESIGN §1): versioned schema files applied once, repeatable functions and
views re-applied when changed; all in one transaction under an advisory lock.

    sql/schema/NNNN_name.sql     applied once, in version order
    sql/rollback/NNNN_name.sql   the exact inverse of the schema file of the same name
    sql/functions/*.sql          re-applied (file-name order) when the checksum changed, and
                                 all of them after a schema version (they may read the catalog)
    sql/views/*.sql              all re-created when any changed or anything else was applied

`sigsync.sigsync_migrations` records what was applied, with each file's sha256.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import click
import psycopg
from psycopg import sql

from sigsync.app import App, pass_app
from sigsync.errors import SigsyncError

SCHEMA = "sigsync"
LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('sigsync.migrate'))"
# The SQL files are read as written whatever the server's or the user's defaults (view
# definitions and defaults are parsed at creation, literals with them).
SESSION_SQL = (
    "SET LOCAL standard_conforming_strings = on; SET LOCAL DateStyle = 'ISO, YMD';"
    " SET LOCAL IntervalStyle = 'postgres'; SET LOCAL TimeZone = 'UTC'"
)
TRY_LOCK_SQL = "SELECT pg_try_advisory_xact_lock(hashtext('sigsync.migrate'))"

BOOTSTRAP_SQL = """
CREATE SCHEMA IF NOT EXISTS sigsync;
CREATE TABLE sigsync.sigsync_migrations (
    name       text PRIMARY KEY,
    version    text,
    kind       text NOT NULL CHECK (kind IN ('versioned', 'function', 'view')),
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((version IS NOT NULL) = (kind = 'versioned'))
);
COMMENT ON TABLE sigsync.sigsync_migrations IS
    'Applied SQL files (written by the sigsync runner): name is the path relative to sql/, '
    'version is NNNN for schema files and NULL for repeatable functions/views, checksum the sha256 of the file.';
"""

# Objects of schema sigsync that belong to an extension are never ours to drop.
NOT_EXTENSION_MEMBER = """
NOT EXISTS (SELECT 1 FROM pg_depend e
             WHERE e.classid = {catalog}::regclass AND e.objid = {oid} AND e.deptype = 'e')
"""

VIEWS_SQL = f"""
SELECT CASE c.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END, c.oid::regclass::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'sigsync' AND c.relkind IN ('v', 'm')
   AND {NOT_EXTENSION_MEMBER.format(catalog="'pg_class'", oid="c.oid")}
"""

# Functions the repeatable files own: every routine in schema sigsync except extension
# members and those that tables still use (trigger functions, defaults, constraints,
# index expressions). Those belong to their schema file and go with its rollback.
FUNCTIONS_SQL = f"""
SELECT CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
       p.oid::regprocedure::text
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'sigsync'
   AND {NOT_EXTENSION_MEMBER.format(catalog="'pg_proc'", oid="p.oid")}
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.refclassid = 'pg_proc'::regclass AND d.refobjid = p.oid
                      AND d.deptype = 'n'
                      AND d.classid NOT IN ('pg_proc'::regclass, 'pg_rewrite'::regclass))
"""

VERSIONED_NAME = re.compile(r"^(\d{4})_[A-Za-z0-9_]+\.sql$")
DROP_TABLE = re.compile(
    r"\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?((?:(?:\"[^\"]+\"|\w+)\.)?(?:\"[^\"]+\"|\w+)"
    r"(?:\s*,\s*(?:(?:\"[^\"]+\"|\w+)\.)?(?:\"[^\"]+\"|\w+))*)",
    re.IGNORECASE,
)
IDENT = re.compile(r"\"([^\"]+)\"|(\w+)")
SQL_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


class MigrationError(SigsyncError):
    pass


# -- the SQL tree -------------------------------------------------------------------------


@dataclass(frozen=True)
class SqlFile:
    name: str  # path relative to the SQL tree, e.g. 'schema/0001_core.sql'
    kind: str  # versioned | function | view | rollback
    version: str | None
    path: Path
    checksum: str

    @classmethod
    def load(cls, root: Path, path: Path, kind: str, version: str | None = None) -> "SqlFile":
        return cls(path.relative_to(root).as_posix(), kind, version, path, hashlib.sha256(path.read_bytes()).hexdigest())

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


class SqlTree:
    def __init__(self, root: Path | str):
        self.root = Path(root)
        if not (self.root / "schema").is_dir():
            raise MigrationError(f"{self.root} has no schema/ folder")
        self.versioned: list[SqlFile] = []
        for path in sorted((self.root / "schema").glob("*.sql")):
            match = VERSIONED_NAME.match(path.name)
            if not match:
                raise MigrationError(f"schema/{path.name}: versioned files are named NNNN_name.sql")
            if any(f.version == match[1] for f in self.versioned):
                raise MigrationError(f"schema/{path.name}: version {match[1]} is used twice")
            self.versioned.append(SqlFile.load(self.root, path, "versioned", match[1]))
        self.functions = self._repeatables("functions", "function")
        self.views = self._repeatables("views", "view")

    def _repeatables(self, folder: str, kind: str) -> list[SqlFile]:
        return [SqlFile.load(self.root, p, kind) for p in sorted((self.root / folder).glob("*.sql"))]

    @property
    def repeatables(self) -> list[SqlFile]:
        return self.functions + self.views

    def by_name(self) -> dict[str, SqlFile]:
        return {f.name: f for f in self.versioned + self.repeatables}

    def rollback_path(self, name: str) -> Path:
        """The inverse of a versioned file: schema/NNNN_x.sql -> rollback/NNNN_x.sql."""
        return self.root / "rollback" / Path(name).name

    def rollback_file(self, name: str) -> SqlFile:
        path = self.rollback_path(name)
        if not path.is_file():
            raise MigrationError(f"{name}: no rollback file {path}")
        return SqlFile.load(self.root, path, "rollback")


# -- the state recorded in the database -------------------------------------------------------


@dataclass
class Applied:
    name: str
    version: str | None
    kind: str
    checksum: str
    applied_at: object


def _bootstrapped(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT to_regclass('sigsync.sigsync_migrations')").fetchone()[0] is not None


def _applied(conn: psycopg.Connection) -> dict[str, Applied]:
    if not _bootstrapped(conn):
        return {}
    rows = conn.execute("SELECT name, version, kind, checksum, applied_at FROM sigsync.sigsync_migrations")
    return {r[0]: Applied(*r) for r in rows}


@dataclass
class Status:
    applied: list[Applied] = field(default_factory=list)  # versioned, in order
    pending: list[SqlFile] = field(default_factory=list)  # versioned, not applied yet
    mismatched: list[str] = field(default_factory=list)  # applied versioned whose file changed
    missing: list[str] = field(default_factory=list)  # applied versioned without a file
    out_of_order: list[str] = field(default_factory=list)  # pending, older than the latest applied
    changed: list[str] = field(default_factory=list)  # repeatables whose file changed
    new: list[str] = field(default_factory=list)  # repeatables never applied
    removed: list[str] = field(default_factory=list)  # recorded repeatables whose file is gone

    @property
    def version(self) -> str:
        return self.applied[-1].version if self.applied else "0"


def compute_status(tree: SqlTree, applied: dict[str, Applied]) -> Status:
    st = Status()
    files = tree.by_name()
    st.applied = sorted((a for a in applied.values() if a.kind == "versioned"), key=lambda a: a.version)
    for a in st.applied:
        if a.name not in files:
            st.missing.append(a.name)
        elif files[a.name].checksum != a.checksum:
            st.mismatched.append(a.name)
    st.pending = [f for f in tree.versioned if f.name not in applied]
    st.out_of_order = [f.name for f in st.pending if f.version < st.version]
    for f in tree.repeatables:
        if f.name not in applied:
            st.new.append(f.name)
        elif applied[f.name].checksum != f.checksum:
            st.changed.append(f.name)
    st.removed = sorted(a.name for a in applied.values() if a.kind != "versioned" and a.name not in files)
    return st


# -- applying ----------------------------------------------------------------------------------


def _execute_file(conn: psycopg.Connection, f: SqlFile) -> None:
    """Run one file's statements (simple query protocol: several statements, no parameters)."""
    text = f.text()
    try:
        conn.execute(text, prepare=False)
    except psycopg.Error as exc:
        raise MigrationError(f"{f.name}: {_describe(exc, text)}") from exc


def _describe(exc: psycopg.Error, text: str) -> str:
    diag = exc.diag
    message = diag.message_primary or str(exc).strip().splitlines()[0]
    where = ""
    if diag.statement_position:
        where = f" (line {text[: int(diag.statement_position) - 1].count(chr(10)) + 1})"
    extra = "".join(f"\n  {label}: {value}" for label, value in (("detail", diag.message_detail),
                    ("hint", diag.message_hint), ("context", diag.context)) if value)  # fmt: skip
    return f"{message}{where}{extra}"


def _record(conn: psycopg.Connection, f: SqlFile) -> None:
    conn.execute(
        "INSERT INTO sigsync.sigsync_migrations (name, version, kind, checksum) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_at = now()",
        (f.name, f.version, f.kind, f.checksum),
    )


def _forget(conn: psycopg.Connection, names: list[str]) -> None:
    conn.execute("DELETE FROM sigsync.sigsync_migrations WHERE name = ANY(%s)", (names,))


def _drop_all(conn: psycopg.Connection, query: str) -> None:
    """Drop our views/functions WITHOUT CASCADE, so an object of someone else's that uses
    one (a dashboard view, say) is never dropped silently: ours are dropped in dependency
    order (each in a savepoint, retried while that makes progress); a foreign dependent
    stops the migration with a message naming it."""
    pending = conn.execute(query).fetchall()
    while pending:
        blocked = []
        for kind, name in pending:
            try:
                with conn.transaction():
                    conn.execute(f"DROP {kind} IF EXISTS {name}")
            except psycopg.errors.DependentObjectsStillExist as exc:
                blocked.append((kind, name, exc))
        if len(blocked) == len(pending):
            kind, name, exc = blocked[0]
            detail = (exc.diag.message_detail or "").replace("\n", "; ")
            raise SigsyncError(
                f"cannot re-create {kind.lower()} {name}: other objects depend on it ({detail}). "
                "Drop them (or recreate them on top of the views after migrating) and run again; nothing was changed."
            )
        pending = [(kind, name) for kind, name, _ in blocked]


def drop_views(conn: psycopg.Connection) -> None:
    _drop_all(conn, VIEWS_SQL)


def drop_functions(conn: psycopg.Connection) -> None:
    _drop_all(conn, FUNCTIONS_SQL)


def apply_functions(conn: psycopg.Connection, files: list[SqlFile]) -> None:
    conn.execute("SET LOCAL check_function_bodies = off")
    for f in files:
        _execute_file(conn, f)
        _record(conn, f)


def create_views(
    conn: psycopg.Connection, files: list[SqlFile], strict: bool = True
) -> tuple[list[SqlFile], list[SqlFile]]:
    """Create the view files; returns (created in creation order, not created).

    Views may use each other whatever their file names, so each file runs in a
    savepoint and failed ones are retried while a round makes progress. When no more
    progress is possible: strict raises the first real error, else returns the rest.
    """
    created: list[SqlFile] = []
    pending = list(files)
    while pending:
        failed: list[tuple[SqlFile, MigrationError]] = []
        for f in pending:
            try:
                with conn.transaction():
                    _execute_file(conn, f)
            except MigrationError as exc:
                failed.append((f, exc))
            else:
                _record(conn, f)
                created.append(f)
        if len(failed) == len(pending):
            if strict:
                raise failed[0][1]
            break
        pending = [f for f, _ in failed]
    return created, [f for f in files if f not in created]


class Migrator:
    def __init__(self, conn: psycopg.Connection, tree: SqlTree, echo: Callable[[str], None] = print):
        if not conn.autocommit:
            raise ValueError("the migrator manages its own transaction: pass an autocommit connection")
        self.conn = conn
        self.tree = tree
        self.echo = echo

    def _lock(self) -> None:
        self.conn.execute(SESSION_SQL)
        if not self.conn.execute(TRY_LOCK_SQL).fetchone()[0]:
            self.echo("waiting for another migration to finish...")
            self.conn.execute(LOCK_SQL)

    def status(self) -> Status:
        return compute_status(self.tree, _applied(self.conn))

    def migrate(self) -> list[str]:
        """Apply what is pending; returns the names of the files applied."""
        conn = self.conn
        with conn.transaction():
            self._lock()
            if not _bootstrapped(conn):
                conn.execute(BOOTSTRAP_SQL)
            st = self.status()
            problems = [f"{n}: applied, but its file changed since (checksum differs)" for n in st.mismatched]
            problems += [f"{n}: applied, but the file is missing" for n in st.missing]
            problems += [f"{n}: pending, but older than the applied version {st.version}" for n in st.out_of_order]
            problems += [f"{f.name}: no inverse rollback/{Path(f.name).name}"
                         for f in st.pending if not self.tree.rollback_path(f.name).is_file()]  # fmt: skip
            if problems:
                raise MigrationError("refusing to migrate, nothing was applied:\n  " + "\n  ".join(problems))

            applied: list[str] = []
            if st.pending:
                # Views are re-created below anyway; gone first, they hold no schema change back
                # (a column type change, a function dropped).
                drop_views(conn)
            for f in st.pending:
                _execute_file(conn, f)
                _record(conn, f)
                applied.append(f.name)

            # after a schema version every function file is re-applied: a function may be written
            # from the catalog (_merge_candidates names the registry's columns as the table has them)
            touched = set(st.changed) | set(st.new)
            functions = [f for f in self.tree.functions if f.name in touched or st.pending]
            apply_functions(conn, functions)
            applied += [f.name for f in functions]

            # Views are cheap to re-create and may depend on anything else applied (a
            # function file may even drop and re-create its function): re-create them all.
            if applied or any(n.startswith("views/") for n in touched | set(st.removed)):
                drop_views(conn)
                created, _ = create_views(conn, self.tree.views)
                applied += [f.name for f in created]
            _forget(conn, st.removed)
            for name in st.removed:
                if name.startswith("functions/"):
                    self.echo(f"note: {name} was removed; drop its function in a schema file")

        for name in applied:
            self.echo(f"applied {name}")
        version = self.tree.versioned[-1].version if self.tree.versioned else "0"
        self.echo(f"migrated to version {version}" if applied else f"up to date (version {version}), nothing to apply")
        return applied

    def rollback(self, to: str | None = None, yes: bool = False) -> list[str]:
        """Undo versions above `to` (default: the latest one only); '0' removes everything."""
        conn = self.conn
        with conn.transaction():
            self._lock()
            applied = _applied(conn)
            versions = sorted((a for a in applied.values() if a.kind == "versioned"), key=lambda a: a.version)
            target = _normalise_version(to) if to is not None else (versions[-2].version if len(versions) > 1 else "0")
            undo = [a for a in reversed(versions) if a.version > target]
            if not undo:
                self.echo(f"nothing to roll back (at version {versions[-1].version if versions else '0'})")
                return []
            if target != "0" and target not in {a.version for a in versions}:
                raise MigrationError(f"version {target} is not applied; applied: {', '.join(a.version for a in versions)}")

            files = [(a, self.tree.rollback_file(a.name)) for a in undo]
            if not yes:
                held = self._tables_with_rows([f for _, f in files])
                if held:
                    raise MigrationError(
                        "refusing to roll back: it would drop tables holding rows ("
                        + ", ".join(f"{t}: {n} row{'' if n == 1 else 's'}" for t, n in held)
                        + "); pass --yes to drop them"
                    )

            drop_views(conn)
            drop_functions(conn)
            for a, f in files:
                _execute_file(conn, f)
                _forget(conn, [a.name])
            _forget(conn, [a.name for a in applied.values() if a.kind != "versioned"])

            if target != "0":
                apply_functions(conn, self.tree.functions)
                for f in create_views(conn, self.tree.views, strict=False)[1]:
                    self.echo(f"note: {f.name} cannot be created at version {target}; `sigsync migrate` applies it")
            else:
                drop_functions(conn)  # those a dropped table had still been using
                conn.execute("DROP TABLE sigsync.sigsync_migrations")
                try:
                    with conn.transaction():
                        conn.execute("DROP SCHEMA sigsync")
                except psycopg.errors.DependentObjectsStillExist as exc:
                    raise MigrationError(
                        "the rollback files left objects in schema sigsync (nothing was rolled back):\n  "
                        + (exc.diag.message_detail or str(exc)).replace("\n", "\n  ")
                    ) from None

        for a, _ in files:
            self.echo(f"rolled back {a.name}")
        self.echo(f"now at version {target}" if target != "0" else "now at version 0: schema sigsync removed")
        return [a.name for a, _ in files]

    def _tables_with_rows(self, rollback_files: list[SqlFile]) -> list[tuple[str, int]]:
        held = []
        for f in rollback_files:
            for schema, table in dropped_tables(f.text()):
                qualified = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
                if self.conn.execute("SELECT to_regclass(%s)", (qualified.as_string(self.conn),)).fetchone()[0] is None:
                    continue
                if self.conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(qualified)).fetchone()[0]:
                    count = self.conn.execute(sql.SQL("SELECT count(*) FROM {}").format(qualified)).fetchone()[0]
                    held.append((f"{schema}.{table}", count))
        return held


def dropped_tables(text: str) -> list[tuple[str, str]]:
    """(schema, table) of every `DROP TABLE [IF EXISTS] a, b` in a SQL text; unqualified
    names are taken to be in schema sigsync."""
    found = []
    for match in DROP_TABLE.finditer(SQL_COMMENT.sub(" ", text)):
        for item in match[1].split(","):
            parts = [quoted or word.lower() for quoted, word in IDENT.findall(item)]
            found.append((parts[0], parts[1]) if len(parts) == 2 else (SCHEMA, parts[-1]))
    return found


def _normalise_version(value: str) -> str:
    if not value.isdigit():
        raise MigrationError(f"--to takes a version number like 0 or 0001, not {value!r}")
    return "0" if int(value) == 0 else value.zfill(4)


# -- CLI -------------------------------------------------------------------------------------


def _migrator(app: App, conn: psycopg.Connection) -> Migrator:
    return Migrator(conn, SqlTree(app.sql_dir()), echo=click.echo)


@click.command("migrate")
@pass_app
def migrate_cmd(app: App):
    """Apply pending schema files and changed functions/views, in one locked transaction.

    Already-applied schema files must not change: an edited one is refused and nothing
    is applied. Running it again with nothing to do says it is up to date.
    """
    with app.connect() as conn:
        _migrator(app, conn).migrate()


@click.command("rollback")
@click.option("--to", "to", metavar="VERSION", help="Undo every version above this one (0: remove everything). "
              "Default: undo the latest version only.")  # fmt: skip
@click.option("--yes", is_flag=True, help="Drop tables even when they hold rows.")
@pass_app
def rollback_cmd(app: App, to: str | None, yes: bool):
    """Undo applied schema versions with their sql/rollback/ files.

    Views and functions are dropped first and re-applied afterwards (unless at version 0,
    where schema sigsync is removed entirely). A rollback that would drop tables holding
    rows is refused unless --yes is given.
    """
    with app.connect() as conn:
        _migrator(app, conn).rollback(to, yes)


@click.command("status")
@pass_app
def status_cmd(app: App):
    """Show applied and pending migrations, changed functions/views and checksum mismatches."""
    with app.connect() as conn:
        st = _migrator(app, conn).status()
    click.echo(f"version {st.version}")
    for a in st.applied:
        flag = "  CHANGED SINCE APPLIED" if a.name in st.mismatched else ("  FILE MISSING" if a.name in st.missing else "")
        click.echo(f"  applied  {a.name}  {a.applied_at:%Y-%m-%d %H:%M:%S%z}{flag}")
    sections = [
        ("pending", [f.name for f in st.pending]),
        ("changed", st.changed),
        ("new", st.new),
        ("removed", st.removed),
    ]
    for label, names in sections:
        for name in names:
            click.echo(f"  {label:<8} {name}")
    if st.mismatched:
        click.echo(f"checksum mismatch: {', '.join(st.mismatched)} (migrate will refuse)")
    if not (st.pending or st.changed or st.new or st.removed or st.mismatched or st.missing):
        click.echo("up to date")


COMMANDS = [migrate_cmd, rollback_cmd, status_cmd]
