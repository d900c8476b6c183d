"""The embedded private PostgreSQL cluster, used when no --dsn / DATABASE_URL is given.

Layout under the data directory:

    pgdata/        the cluster (initdb'ed on first start)
    run/           the Unix socket directory (mode 0700, owned by the server user)
    postgres.log   the server log
    cluster.lock   flock()ed exclusively while a sigsync process starts or stops the server
    users.lock     flock()ed shared by every sigsync process using the server
    auto-started   present while the server runs because a command started it

The server listens on a Unix socket only (port 5432 inside run/), trusts local
connections and holds a database named `sigsync`. PostgreSQL refuses to run as
root, so when we are root the server runs as the `postgres` OS user (the lock files
are only ever opened by sigsync processes, so they stay root's).

Sharing between concurrent sigsync processes (`Cluster.running()`, i.e. every command
without --dsn):

- starting is serialised by cluster.lock: initdb, stale-pid cleanup, config, pg_ctl
  start and CREATE DATABASE happen in one process at a time, and nothing in pgdata is
  created or deleted without it; a second command waits, then finds the server running;
- each process inside running() holds a shared lock on users.lock; when it leaves it
  drops that lock and, under cluster.lock, tries an exclusive non-blocking one: only
  the last user out gets it, and it stops the server if a command started it (the
  auto-started marker), whichever process that was. A server started by
  `sigsync db start` (or `Cluster.start()`), or already running when the first user
  came, is left running; `sigsync db stop` stops it regardless.
- flock locks die with their process: a user killed by SIGKILL no longer counts, and
  the next user out stops an auto-started server it left behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import click
import psycopg

from sigsync.errors import Interrupted, SigsyncError

PORT = 5432
DBNAME = "sigsync"
ROOT_SERVER_USER = "postgres"  # the OS user (and superuser) when we run as root
PG_MAJOR = "15"
SOCKET_PATH_MAX = 107  # sun_path
START_LOCK = "cluster.lock"
USERS_LOCK = "users.lock"
AUTO_MARKER = "auto-started"

# The start lock held by this process, per data dir: {root: [fd, depth]}. flock() locks
# taken through two descriptors conflict even within one process, so it is re-entrant here.
_start_locks: dict[str, list[int]] = {}


class ClusterError(SigsyncError):
    pass


def default_data_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/sigsync")
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "sigsync"


def find_bindir() -> Path:
    """Directory of the PostgreSQL server binaries (initdb, pg_ctl, postgres)."""
    candidates = [os.environ.get("SIGSYNC_PG_BIN"), f"/usr/lib/postgresql/{PG_MAJOR}/bin"]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    for candidate in filter(None, candidates):
        if (Path(candidate) / "pg_ctl").is_file() and (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    raise ClusterError(
        f"PostgreSQL {PG_MAJOR} server binaries not found (install postgresql-{PG_MAJOR}: `make deps`, "
        "or set SIGSYNC_PG_BIN)"
    )


def warn(message: str) -> None:
    print(f"sigsync: warning: {message}", file=sys.stderr)


class Cluster:
    def __init__(self, data_dir: Path | str | None = None):
        self.root = Path(data_dir or default_data_dir()).expanduser().absolute()
        self.pgdata = self.root / "pgdata"
        self.run_dir = self.root / "run"
        self.log_file = self.root / "postgres.log"
        self.as_root = os.geteuid() == 0
        self.superuser = ROOT_SERVER_USER if self.as_root else getpass.getuser()

    # -- identity -------------------------------------------------------------------

    def url(self, dbname: str = DBNAME) -> str:
        """libpq URL of a database of this cluster (socket directory as host)."""
        return (
            f"postgresql://{quote(self.superuser, safe='')}@/{quote(dbname, safe='')}"
            f"?host={quote(str(self.run_dir), safe='/')}&port={PORT}"
        )

    @property
    def pid_file(self) -> Path:
        return self.pgdata / "postmaster.pid"

    @property
    def start_lock_file(self) -> Path:
        return self.root / START_LOCK

    @property
    def users_lock_file(self) -> Path:
        return self.root / USERS_LOCK

    @property
    def auto_marker(self) -> Path:
        return self.root / AUTO_MARKER

    def postmaster_pid(self) -> int | None:
        """The pid recorded in postmaster.pid, alive or not."""
        try:
            first = self.pid_file.read_text().split("\n", 1)[0].strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return int(first) if first.isdigit() else None

    def is_running(self) -> bool:
        pid = self.postmaster_pid()
        return pid is not None and self._is_our_server(pid)

    def _is_our_server(self, pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # alive, owned by another user: look closer below
        proc = Path(f"/proc/{pid}")
        if not proc.exists():
            return not Path("/proc/self").exists()  # no procfs here: trust the signal test
        try:
            if (proc / "comm").read_text().strip() not in ("postgres", "postmaster"):
                return False
            return os.path.realpath(proc / "cwd") == os.path.realpath(self.pgdata)
        except OSError:
            return False  # vanished meanwhile, or not ours to inspect

    def processes(self) -> list[int]:
        """Pids of every PostgreSQL process (postmaster or backend) working in our pgdata."""
        target = os.path.realpath(self.pgdata)
        found = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if (proc / "comm").read_text().strip() in ("postgres", "postmaster") and os.path.realpath(
                    proc / "cwd"
                ) == target:
                    found.append(int(proc.name))
            except OSError:
                continue
        return found

    def status(self) -> str:
        if not (self.pgdata / "PG_VERSION").exists():
            return "not initialised"
        return "running" if self.is_running() else "stopped"

    # -- running server programs as the right user -------------------------------------

    def _run(self, args: list[str | Path], check: bool = True) -> subprocess.CompletedProcess:
        kwargs: dict = {}
        if self.as_root:
            kwargs = {"user": ROOT_SERVER_USER, "group": ROOT_SERVER_USER, "extra_groups": []}
        result = subprocess.run(
            [str(a) for a in args], cwd=self.root, capture_output=True, text=True, **kwargs
        )
        if check and result.returncode != 0:
            output = (result.stderr or result.stdout).strip()
            raise ClusterError(f"{Path(args[0]).name} failed: {output}")
        return result

    def _server_uid_gid(self) -> tuple[int, int]:
        if not self.as_root:
            return os.getuid(), os.getgid()
        try:
            entry = pwd.getpwnam(ROOT_SERVER_USER)
        except KeyError:
            raise ClusterError(
                f"running as root needs the OS user {ROOT_SERVER_USER!r} (install postgresql-{PG_MAJOR})"
            ) from None
        return entry.pw_uid, entry.pw_gid

    def _make_root(self) -> None:
        if len(str(self.run_dir / f".s.PGSQL.{PORT}")) > SOCKET_PATH_MAX:
            raise ClusterError(f"data dir path too long for a Unix socket: {self.root}")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ClusterError(f"cannot create the data dir {self.root}: {exc.strerror}") from None

    def _prepare_dirs(self) -> None:
        uid, gid = self._server_uid_gid()
        self._make_root()
        self.run_dir.mkdir(exist_ok=True)
        for path in (self.root, self.run_dir):
            if self.as_root:
                os.chown(path, uid, gid)
        os.chmod(self.run_dir, 0o700)
        if self.as_root and self._run(["test", "-w", self.root, "-a", "-x", self.root], check=False).returncode:
            raise ClusterError(
                f"the {ROOT_SERVER_USER} user cannot reach {self.root} (a parent directory is private, "
                "e.g. under /root): choose another --data-dir"
            )

    # -- sharing between sigsync processes (see the module docstring) -------------------

    def _open_lock_file(self, path: Path) -> int:
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except PermissionError:
            try:  # flock() needs no write access: a lock file another user created will do
                return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise ClusterError(f"cannot open the lock file {path}: {exc.strerror}") from None
        except OSError as exc:
            raise ClusterError(f"cannot open the lock file {path}: {exc.strerror}") from None

    @contextlib.contextmanager
    def _start_lock(self) -> Iterator[None]:
        """Hold cluster.lock exclusively (waiting for it): no other sigsync process starts,
        stops, joins or leaves the server meanwhile. Re-entrant within this process."""
        key = str(self.root)
        held = _start_locks.get(key)
        if held is not None:
            held[1] += 1
            try:
                yield
            finally:
                held[1] -= 1
            return
        self._make_root()
        fd = self._open_lock_file(self.start_lock_file)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # a stop signal arriving meanwhile raises Interrupted here
            _start_locks[key] = [fd, 1]
            try:
                yield
            finally:
                del _start_locks[key]
        finally:
            os.close(fd)  # releases the lock

    def in_use(self) -> bool:
        """True while some sigsync process (this one included) is inside running()."""
        try:
            fd = os.open(self.users_lock_file, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise ClusterError(f"cannot open the lock file {self.users_lock_file}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def _mark_auto_started(self, pid: int | None) -> None:
        """Record that a command started (or is starting) the server: the last user stops it."""
        self.auto_marker.write_text(f"{pid or ''}\n")

    def _unmark_auto_started(self) -> None:
        self.auto_marker.unlink(missing_ok=True)

    def auto_started(self) -> bool:
        """Whether the server (running or crashed) was started by a command, not `db start`."""
        try:
            recorded = self.auto_marker.read_text().strip()
        except FileNotFoundError:
            return False
        # a server that runs under another pid than the one recorded was restarted outside sigsync
        return not (recorded.isdigit() and self.is_running() and self.postmaster_pid() != int(recorded))

    def _leave(self, users_fd: int) -> None:
        """Stop counting this process as a user; the last one out stops an auto-started server."""
        try:
            with self._start_lock():
                os.close(users_fd)
                users_fd = -1
                if not self.in_use() and self.auto_started():
                    self.stop()
        finally:
            if users_fd >= 0:
                os.close(users_fd)

    # -- lifecycle ---------------------------------------------------------------------

    def _initdb(self, bindir: Path) -> None:
        self._run([
            bindir / "initdb", "-D", self.pgdata, "-U", self.superuser,
            "--auth-local=trust", "--auth-host=reject", "--encoding=UTF8", "--locale=C",
        ])  # fmt: skip
        with open(self.pgdata / "postgresql.conf", "a") as conf:
            conf.write("\n# sigsync's settings, rewritten at every start (override with ALTER SYSTEM)\n")
            conf.write("include 'sigsync.conf'\n")

    def _write_config(self, bindir: Path) -> None:
        socket_dir = str(self.run_dir).replace("'", "''")
        lines = [
            "# Written by sigsync at every start; use ALTER SYSTEM to override.",
            "listen_addresses = ''",
            f"port = {PORT}",
            f"unix_socket_directories = '{socket_dir}'",
            "unix_socket_permissions = 0700",
            "max_connections = 50",
            "shared_buffers = '128MB'",
            "work_mem = '16MB'",
            "maintenance_work_mem = '128MB'",
            "effective_cache_size = '1GB'",
            "max_wal_size = '1GB'",
            "checkpoint_completion_target = 0.9",
            "log_line_prefix = '%m [%p] %q%u@%d '",
        ]
        pg_cron = self._pkglibdir(bindir) / "pg_cron.so"
        if pg_cron.exists():
            lines += [
                "shared_preload_libraries = 'pg_cron'",
                f"cron.database_name = '{DBNAME}'",
                f"cron.host = '{socket_dir}'",
            ]
        else:
            warn(f"pg_cron not installed ({pg_cron} missing): starting without it; `schedule` will not work")
        conf = self.pgdata / "sigsync.conf"
        conf.write_text("\n".join(lines) + "\n")
        if self.as_root:
            os.chown(conf, *self._server_uid_gid())

    def _pkglibdir(self, bindir: Path) -> Path:
        pg_config = bindir / "pg_config"
        if pg_config.exists():
            out = subprocess.run([pg_config, "--pkglibdir"], capture_output=True, text=True)
            if out.returncode == 0 and out.stdout.strip():
                return Path(out.stdout.strip())
        return bindir.parent / "lib"

    def _clear_stale_pid(self) -> None:
        """Remove the lock files of a crashed server (postmaster.pid and the socket lock).

        PostgreSQL removes them itself only when their pid is gone; a killed postmaster
        may linger as a zombie or its pid be reused, and then it refuses to start.
        """
        pid = self.postmaster_pid()
        if pid is not None and self._is_our_server(pid):
            return
        if self.pid_file.exists():
            # Backends orphaned by a killed postmaster notice its death and exit; give them
            # time, since a new postmaster refuses to start while they hold the old shared memory.
            deadline = time.monotonic() + 10
            while self.processes() and time.monotonic() < deadline:
                time.sleep(0.1)
            for leftover in self.processes():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(leftover, signal.SIGQUIT)
            warn(f"removed a stale {self.pid_file} (server pid {pid} is not running)")
            self.pid_file.unlink(missing_ok=True)
        socket = self.run_dir / f".s.PGSQL.{PORT}"
        if Path(f"{socket}.lock").exists():
            Path(f"{socket}.lock").unlink(missing_ok=True)
            socket.unlink(missing_ok=True)

    def start(self) -> bool:
        """Start the server (initialising the cluster the first time). False if already running.

        Either way the server is then "manual": no command's running() stops it (only stop()).
        Waits while another sigsync process starts or stops it.
        """
        with self._start_lock():
            self._unmark_auto_started()
            return self._start_locked()

    def _start_locked(self) -> bool:
        if self.is_running():
            return False
        bindir = find_bindir()
        self._prepare_dirs()
        if not (self.pgdata / "PG_VERSION").exists():
            if self.pgdata.exists() and any(self.pgdata.iterdir()):
                raise ClusterError(f"{self.pgdata} exists but is not a PostgreSQL cluster")
            self._initdb(bindir)
        self._clear_stale_pid()
        self._write_config(bindir)
        started = self._run(
            [bindir / "pg_ctl", "-D", self.pgdata, "-l", self.log_file, "-w", "-t", "60", "-s", "start"],
            check=False,
        )
        if started.returncode != 0:
            raise ClusterError(f"PostgreSQL did not start; end of {self.log_file}:\n{self.log_tail()}")
        self._ensure_database()
        return True

    def _ensure_database(self) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DBNAME,)).fetchone():
                conn.execute(f'CREATE DATABASE "{DBNAME}"')

    def stop(self) -> bool:
        """Stop the server (fast shutdown), whoever uses it. False if it was not running.

        Either way, waits (up to 15 s) for stray processes still working in the data
        directory to exit: the children of a postmaster that was killed outlive it briefly.
        Waits while another sigsync process starts or stops it.
        """
        if not self.root.is_dir():  # nothing to stop; and do not create a mistyped --data-dir
            self._wait_for_strays()
            return False
        with self._start_lock():
            stopped = self._stop_locked()
            self._unmark_auto_started()
            return stopped

    def _stop_locked(self) -> bool:
        if not self.is_running():
            if self.pid_file.exists():
                self._clear_stale_pid()
            self._wait_for_strays()
            return False
        stopped = self._run(
            [find_bindir() / "pg_ctl", "-D", self.pgdata, "-m", "fast", "-w", "-t", "60", "-s", "stop"], check=False
        )
        if stopped.returncode != 0 and self.is_running():
            raise ClusterError(f"PostgreSQL did not stop: {stopped.stderr.strip()}")
        self._wait_for_strays()
        return True

    def _wait_for_strays(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.1)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    @contextlib.contextmanager
    def running(self) -> Iterator[bool]:
        """Keep the server running for the block, shared with other sigsync processes;
        yields True if this process had to start it.

        The process counts as a user for the block. At the end the last user out stops
        the server if a command started it (whichever process did), also when SIGTERM,
        SIGINT or SIGHUP arrives (they raise Interrupted inside the block; one arriving
        during that cleanup is raised after it), so no server is left behind. A server
        started by `sigsync db start`, or running before any sigsync process used it,
        is left running.
        """
        with signals_raise() as guard:
            users_fd = None
            started = False
            try:
                with self._start_lock():
                    # count this process as a user (a shared lock on users.lock), for the block
                    users_fd = self._open_lock_file(self.users_lock_file)
                    fcntl.flock(users_fd, fcntl.LOCK_SH)
                    if not self.is_running():
                        started = True
                        self._mark_auto_started(None)  # first: an interrupted start is cleaned up too
                        self._start_locked()
                        self._mark_auto_started(self.postmaster_pid())
                yield started
            finally:
                if users_fd is not None:
                    with guard.deferring():
                        self._leave(users_fd)


class _SignalGuard:
    def __init__(self):
        self.signum: int | None = None
        self.raised = False
        self.deferred = False

    def handler(self, signum, frame):
        if self.signum is not None:
            return  # a repeat: the first one's cleanup is running
        self.signum = signum
        if not self.deferred:
            self.raised = True
            raise Interrupted(signum)

    @contextlib.contextmanager
    def deferring(self) -> Iterator[None]:
        """A first signal arriving during the block (a cleanup) is raised after it."""
        self.deferred = True
        try:
            yield
        finally:
            self.deferred = False
        if self.signum is not None and not self.raised:
            self.raised = True
            raise Interrupted(self.signum)


@contextlib.contextmanager
def signals_raise(signums=(signal.SIGTERM, signal.SIGINT, signal.SIGHUP)) -> Iterator[_SignalGuard]:
    """Turn the first of these signals into an Interrupted exception; ignore repeats
    (so a second Ctrl-C cannot break the cleanup the first one started). Yields a guard
    whose deferring() postpones a first signal until a cleanup is done."""
    guard = _SignalGuard()
    previous = {s: signal.signal(s, guard.handler) for s in signums}
    try:
        yield guard
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


# -- CLI: sigsync db ... ------------------------------------------------------------------


def _cluster(ctx: click.Context) -> Cluster:
    return Cluster(ctx.find_root().obj.data_dir)


@click.group("db")
def db_group():
    """Manage the embedded PostgreSQL cluster (used when no --dsn / DATABASE_URL is given).

    Its data lives in --data-dir / SIGSYNC_DATA_DIR (default ~/.local/share/sigsync,
    /var/lib/sigsync as root). Other commands start it when it is not running and
    share it: concurrent sigsync processes (say `sigsync run` and an `ingest`) use
    one server, started once, and the last of them to finish stops it, whichever
    one started it. A server started with `sigsync db start`, or already running
    before any sigsync command used it, is left running.
    """


@db_group.command("start")
@click.pass_context
def db_start(ctx):
    """Start the cluster and leave it running (initialises it the first time).

    A server already started by a running command is kept running after it, too.
    """
    cluster = _cluster(ctx)
    with signals_raise():
        try:
            started = cluster.start()
        except Interrupted:
            # do not leave a half-started server behind, unless other sigsync processes use it
            with cluster._start_lock():
                if not cluster.in_use():
                    cluster.stop()
            raise
    click.echo(f"{'started' if started else 'already running'}: {cluster.url()}")


@db_group.command("stop")
@click.pass_context
def db_stop(ctx):
    """Stop the cluster (fast shutdown: open sessions are ended), even while commands use it."""
    cluster = _cluster(ctx)
    if not cluster.root.is_dir():
        click.echo("not running")
        return
    with cluster._start_lock():
        used = cluster.in_use()
        stopped = cluster.stop()
    if stopped and used:
        warn("other sigsync processes were still using the cluster: they lose their database")
    click.echo("stopped" if stopped else "not running")


@db_group.command("status")
@click.pass_context
def db_status(ctx):
    """Say whether the cluster runs. Exit status 0 when running, 3 when not."""
    cluster = _cluster(ctx)
    state = cluster.status()
    detail = f" (pid {cluster.postmaster_pid()})" if state == "running" else ""
    click.echo(f"{state}{detail}: data dir {cluster.root}")
    ctx.exit(0 if state == "running" else 3)


@db_group.command("url")
@click.pass_context
def db_url(ctx):
    """Print the libpq URL of the cluster's `sigsync` database (for psql, DATABASE_URL)."""
    click.echo(_cluster(ctx).url())


COMMANDS = [db_group]
