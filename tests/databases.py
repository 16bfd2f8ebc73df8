"""Which PostgreSQL databases and which Redis database a test process may use, so that parallel pytest-xdist
workers (and developers sharing one server) never empty each other's data.

OPENIM_TEST_POSTGRES_URL names a base database (`make test`: `test`). A plain `pytest` uses it as it is; xdist
worker gwK uses `<base>_gwK` instead, created on first use. Tests that need more databases than the one
`db_url` empties name theirs after it with a suffix (`side_database_url("backup")` → `test_gw1_backup`).

Redis: each worker starts a redis-server of its own on a free port (`start_private_redis`; scripts/test-tools
installs redis-server), because pub/sub channels are server-wide: a bus message published in one worker would
reach another's subscribers on a shared server, whatever the database. Without redis-server on PATH a worker
falls back to the server of OPENIM_TEST_REDIS_URL: that URL names a database B (`make test`: 15) and worker gwK
uses B−K, so `-n N` needs B ≥ N−1 and the N databases B−N+1 … B to itself.

SQLite: `copy_migrated_sqlite` puts a copy of a file migrated once per process where a test's database will be.

tests/conftest.py rewrites both variables in each worker at start-up (`isolate_worker`), so code that reads
them (fixtures, `ops/doctor` tests) sees the worker's own URL.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from openim.storage import open_storage

POSTGRES_VAR = "OPENIM_TEST_POSTGRES_URL"
REDIS_VAR = "OPENIM_TEST_REDIS_URL"


def worker_index() -> int | None:
    """K of xdist worker `gwK` (pytest-xdist sets PYTEST_XDIST_WORKER in each worker); None outside xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else None


def with_database(url: str, database: str) -> str:
    """`url` naming `database` instead of its own."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def worker_postgres_url(url: str, index: int) -> str:
    """Worker `index`'s database: the base database's name with `_gw<index>`."""
    return with_database(url, f"{make_url(url).database}_gw{index}")


def worker_redis_url(url: str, index: int) -> str:
    """Worker `index`'s Redis database: the URL's database number (0 if it names none) minus `index`."""
    parts = urlsplit(url)
    db = parts.path.strip("/")
    base = int(db) if db.isdigit() else 0
    if base < index:
        raise ValueError(
            f"{REDIS_VAR} names Redis database {base}, so worker gw{index} would have none of its own: "
            f"worker gwK uses database {base}-K; name a database >= {index} (make test uses 15) or run fewer workers"
        )
    return urlunsplit(parts._replace(path=f"/{base - index}"))


def isolate_worker() -> None:
    """In an xdist worker, point both variables at the worker's own PostgreSQL database and Redis: a redis-server of
    its own when one can be started (`start_private_redis`), else its own database on the shared server."""
    index = worker_index()
    if index is None:
        return
    if os.environ.get(POSTGRES_VAR):
        os.environ[POSTGRES_VAR] = worker_postgres_url(os.environ[POSTGRES_VAR], index)
    if os.environ.get(REDIS_VAR):
        private = start_private_redis()
        os.environ[REDIS_VAR] = private or worker_redis_url(os.environ[REDIS_VAR], index)


_private_redis: list[tuple[subprocess.Popen[bytes], Path]] = []


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the worker that started it dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_private_redis() -> str | None:
    """A redis-server of this process's own on a free loopback port (no persistence); its URL, or None when
    redis-server is not on PATH. Databases do not separate Redis pub/sub: a channel (the bus's `openim:bus:*`) is
    one for the whole server, so workers sharing a server would deliver their bus messages to each other."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    workdir = Path(tempfile.mkdtemp(prefix="openim-test-redis-"))
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen([*command, "--dir", str(workdir)], stdout=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    _private_redis.append((proc, workdir))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    stop_private_redis()
    return None


def stop_private_redis() -> None:
    """Stop the redis-server `start_private_redis` started, if any, and remove its directory."""
    while _private_redis:
        proc, workdir = _private_redis.pop()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def side_database_url(base_url: str, purpose: str) -> str:
    """A database of this process's own beside the test database: `<its name>_<purpose>` on the same server."""
    return with_database(base_url, f"{make_url(base_url).database}_{purpose}")


def _dsn(url: str, database: str | None = None) -> str:
    """`url` as asyncpg takes it (plain postgresql://), optionally naming another database."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def create_database(url: str, *, fresh: bool = False) -> None:
    """Create the database `url` names if it is missing (through the server's `postgres` database); with `fresh`,
    drop it first (closing its connections), so that it starts empty."""
    name = make_url(url).database
    assert name, url
    admin = await asyncpg.connect(_dsn(url, "postgres"))
    try:
        if fresh:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            try:
                await admin.execute(f'CREATE DATABASE "{name}"')
            except asyncpg.DuplicateDatabaseError:
                pass  # another process created it between the check and here
    finally:
        await admin.close()


_sqlite_template: list[Path] = []  # this process's migrated, empty SQLite file, made on first use


def _new_sqlite_file(url: str) -> Path | None:
    """The file of a sqlite:/// URL naming an absolute path where no file is yet; else None."""
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url.removeprefix("sqlite:///"))
    return path if path.is_absolute() and not path.exists() else None


def _copy(template: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)


async def copy_migrated_sqlite(url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """For a sqlite:/// URL naming an absolute path with no file yet: put a copy of a migrated, empty database
    there. A file copy costs ~1 ms, migrating a new file ~100 ms of CPU (tests/storage/test_migrate.py migrates
    new files itself)."""
    target = _new_sqlite_file(url)
    if target is None:
        return
    if not _sqlite_template:
        template = tmp_path_factory.mktemp("sqlite-template") / "openim.db"
        migrated = await open_storage(f"sqlite:///{template}", pool_size=1)
        await migrated.close()  # the last connection to close checkpoints the WAL into the file
        _sqlite_template.append(template)
    _copy(_sqlite_template[0], target)
