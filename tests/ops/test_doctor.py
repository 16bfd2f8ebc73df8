"""Tests for `openim doctor`: a healthy setup, and each broken setup the guide troubleshoots, run for real.

SQLite setups live under tmp_path; PostgreSQL tests use their own database `test_doctor` on the server of
OPENIM_TEST_POSTGRES_URL; Redis tests the server of OPENIM_TEST_REDIS_URL and a private redis-server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from tests.databases import create_database, side_database_url
from tests.process import OPENIM, START_TIMEOUT, ServerProcess, clean_env, free_port, start_server

from openim.ops.doctor import Check, Context, Status, Thresholds, check_clock, exit_code, run_checks
from openim.ops.doctor.host import check_somaxconn
from openim.ops.doctor.sockets import is_openim, listeners
from openim.settings import Settings
from openim.storage import open_storage
from openim.storage.dialect import SQLITE_MAX_POOL

SECRET = "a-test-secret-that-is-long-enough"


def write_config(tmp_path: Path, *, secret: str = SECRET, database: str | None = None, extra: str = "") -> Path:
    """A config with free ports, a SQLite file and a log folder under tmp_path; mode 600."""
    path = tmp_path / "config.yaml"
    url = database or f"sqlite:///{tmp_path / 'data' / 'openim.db'}"
    path.write_text(
        textwrap.dedent(
            f"""\
            secret: {secret}
            api:
              listenIP: 127.0.0.1
              ports: [{free_port()}]
            msggateway:
              listenIP: 127.0.0.1
              ports: [{free_port()}]
            admin:
              port: {free_port()}
            database:
              url: {url}
            log:
              storageLocation: {tmp_path / "logs"}
            """
        )
        + extra,
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


async def migrate(url: str) -> None:
    storage = await open_storage(url, pool_size=1)
    await storage.close()


async def healthy(tmp_path: Path) -> Path:
    """A config and a migrated SQLite database that is readable by its owner only."""
    config = write_config(tmp_path)
    await migrate(f"sqlite:///{tmp_path / 'data' / 'openim.db'}")
    (tmp_path / "data" / "openim.db").chmod(0o600)
    return config


async def doctor(
    config: Path | None, *, dev: bool = False, thresholds: Thresholds | None = None, **env: str
) -> dict[str, Check]:
    checks = await run_checks(config, clean_env(**env), dev=dev, thresholds=thresholds)
    return {c.name: c for c in checks}


def cli(
    *args: str, cwd: Path, preexec_fn: Callable[[], None] | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*OPENIM, "doctor", *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec_fn,
    )


# These depend on the setup, not on the machine the tests run on (limits, disk, memory may warn on any host).
SETUP_CHECKS = (
    "config",
    "config.permissions",
    "secret",
    "database",
    "database.file",
    "database.schema",
    "database.indexes",
    "database.connections",
    "redis",
    "queue",
    "discovery",
    "clock",
)


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each test in an empty directory, so no ./config/config.yaml is found by accident."""
    monkeypatch.chdir(tmp_path)


# --- a healthy setup ---------------------------------------------------------------------------------------


async def test_healthy_setup(tmp_path: Path) -> None:
    """On a healthy SQLite setup every setup check is OK, the ports are free, and nothing fails."""
    config = await healthy(tmp_path)
    checks = await doctor(config)
    for name in SETUP_CHECKS:
        assert checks[name].status is Status.OK, checks[name]
    ports = [c for n, c in checks.items() if n.startswith("port.")]
    assert len(ports) == 3 and all(c.status is Status.OK and "is free" in c.saw for c in ports)
    assert "at revision" in checks["database.schema"].saw
    assert checks["database.indexes"].saw.startswith("all ")
    assert {"limits.nofile", "net.somaxconn", "disk.data", "disk.logs", "memory"} <= set(checks)
    assert all(c.status is not Status.FAIL for c in checks.values())


async def test_cli_json_matches_exit_code(tmp_path: Path) -> None:
    """`openim doctor --json` prints every check with its remedy, and exits 0, 1 or 2 as its worst status."""
    config = await healthy(tmp_path)
    result = cli("--json", "--config", str(config), cwd=tmp_path)
    document = json.loads(result.stdout)
    statuses = [c["status"] for c in document["checks"]]
    expected = 2 if "FAIL" in statuses else 1 if "WARN" in statuses else 0
    assert result.returncode == document["exitCode"] == expected
    assert {"name", "status", "saw", "remedy"} == set(document["checks"][0])
    assert "FAIL" not in statuses


async def test_text_output_says_remedy(tmp_path: Path) -> None:
    """The text report prints one line per check, the remedy under a failed one, and a count with the exit code."""
    config = write_config(tmp_path, secret="openIM123", extra="env: production\n")
    result = cli("--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    secret = next(i for i, line in enumerate(lines) if line.split()[:2] == ["FAIL", "secret"])
    assert "remedy: set a long random secret" in lines[secret + 1]
    assert lines[-1].endswith("(exit 2)") and " FAIL, " in lines[-1]


def test_exit_code_is_the_worst_status() -> None:
    """Exit 0 for all OK, 1 for a warning, 2 for any failure."""
    ok, warn, fail = (Check("x", s, "") for s in (Status.OK, Status.WARN, Status.FAIL))
    assert (exit_code([ok]), exit_code([ok, warn]), exit_code([warn, fail, ok]), exit_code([])) == (0, 1, 2, 0)


# --- ports -------------------------------------------------------------------------------------------------


async def test_port_taken_names_the_process(tmp_path: Path) -> None:
    """A port held by another program fails, naming its pid and command, as `lsof -i` would."""
    config = await healthy(tmp_path)
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        checks = await doctor(config, OPENIM_API_PORTS=str(port))
        check = checks[f"port.api:{port}"]
        assert check.status is Status.FAIL
        assert f"127.0.0.1:{port} is held by another program, pid {os.getpid()}" in check.saw
        assert " ".join(sys.orig_argv[:2]) in check.saw  # `…/python -m` (pytest), or an xdist worker's `…/python -u`
        assert f"kill {os.getpid()}" in check.remedy and "$OPENIM_API_PORTS" in check.remedy
        # The CLI, another process, names this one too and exits 2.
        result = cli("--json", "--config", str(config), cwd=tmp_path, OPENIM_API_PORTS=str(port))
    assert result.returncode == 2
    found = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert f"pid {os.getpid()}" in found[f"port.api:{port}"]["saw"]


async def test_wildcard_holder_blocks_a_specific_address(tmp_path: Path) -> None:
    """A program on 0.0.0.0:PORT (or [::]) blocks our 127.0.0.1:PORT too, and is reported."""
    config = await healthy(tmp_path)
    port = free_port()
    with socket.socket(socket.AF_INET6) as holder:
        holder.bind(("::", port))
        holder.listen()
        checks = await doctor(config, OPENIM_MSGGATEWAY_PORTS=str(port))
    check = checks[f"port.msggateway:{port}"]
    assert check.status is Status.FAIL
    assert f"[::]:{port}" in check.saw or f":::{port}" in check.saw
    assert f"pid {os.getpid()}" in check.saw


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A real `openim start` on free ports, its database under tmp_path."""
    url = f"sqlite:///{tmp_path / 'srv' / 'openim.db'}"
    (tmp_path / "srv").mkdir()
    proc = start_server(tmp_path / "srv", OPENIM_DATABASE_URL=url, OPENIM_SECRET=SECRET)
    yield proc
    proc.stop()


async def test_ports_held_by_openim_are_ok(tmp_path: Path, server: ServerProcess) -> None:
    """The running server's own ports are OK ("held by openim"), and its pool and limits are read from it."""
    env = {
        "OPENIM_API_PORTS": str(server.api),
        "OPENIM_MSGGATEWAY_PORTS": str(server.gateway),
        "OPENIM_ADMIN_PORT": str(server.admin),
        "OPENIM_DATABASE_URL": f"sqlite:///{tmp_path / 'srv' / 'openim.db'}",
        "OPENIM_SECRET": SECRET,
    }
    checks = await doctor(None, **env)
    for port in (server.api, server.gateway, server.admin):
        check = next(c for n, c in checks.items() if n.startswith("port.") and n.endswith(f":{port}"))
        assert check.status is Status.OK
        assert f"held by openim (pid {server.proc.pid}" in check.saw
    assert f"openim pid {server.proc.pid}" in checks["limits.nofile"].saw
    assert f"openim pid {server.proc.pid} RSS" in checks["memory"].saw
    pool = checks["database.pool"]
    expected = f"running server's pool: 0 of {SQLITE_MAX_POOL} connections in use, 0 transaction(s) waiting"
    assert pool.saw.startswith(expected)  # SQLite opens at most SQLITE_MAX_POOL whatever database.poolSize says
    assert pool.status is not Status.FAIL  # a busy machine may make a transaction slow on average: WARN


def test_openim_command_lines() -> None:
    """openim is recognised as the console script, `python …/bin/openim` and `python -m openim`, nothing else."""
    assert is_openim(("/opt/openim/.venv/bin/openim", "start"))
    assert is_openim(("/usr/bin/python3", "/opt/openim/.venv/bin/openim", "start", "api"))
    assert is_openim(("python", "-m", "openim", "start"))
    assert not is_openim(("/home/openim-py/.venv/bin/python", "-m", "pytest"))
    assert not is_openim(("vim", "/etc/openim/config.yaml"))
    assert not is_openim(())


def test_listeners_decode_proc_net_tcp() -> None:
    """Listening sockets are read from /proc/net/tcp{,6} with their address, port and inode."""
    with socket.socket() as four, socket.socket(socket.AF_INET6) as six:
        four.bind(("127.0.0.1", 0))
        four.listen()
        six.bind(("::1", 0))
        six.listen()
        found = {(s.address, s.port) for s in listeners() or []}
        assert ("127.0.0.1", four.getsockname()[1]) in found
        assert ("::1", six.getsockname()[1]) in found


# --- configuration -----------------------------------------------------------------------------------------


async def test_bad_config_names_the_line(tmp_path: Path) -> None:
    """A broken config fails with its file:line, and the other checks still run on the defaults."""
    config = write_config(tmp_path)
    lines = config.read_text().splitlines()
    lines.insert(6, "    websocketMaxMsgLen: 4096")  # over-indented under `ports: [...]`, line 7
    config.write_text("\n".join(lines) + "\n")
    checks = await doctor(config)
    check = checks["config"]
    assert check.status is Status.FAIL
    assert f"{config}:7:" in check.saw
    assert "use the built-in defaults" in check.saw
    assert f"openim config check {config}" in check.remedy
    assert "port.api:10002" in checks and "memory" in checks
    result = cli("--config", str(config), cwd=tmp_path)
    assert result.returncode == 2 and f"{config}:7:" in result.stdout


async def test_invalid_value_names_the_key(tmp_path: Path) -> None:
    """A value out of range fails the config check with its line and key."""
    config = write_config(tmp_path, extra="multiLogin:\n  policy: 3\n")
    check = (await doctor(config))["config"]
    assert check.status is Status.FAIL
    line = config.read_text().splitlines().index("  policy: 3") + 1
    assert f"{config}:{line}:3 multiLogin.policy: must be 0 (keep up to maxNumOneEnd" in check.saw


async def test_default_secret_fails_in_production_warns_in_development(tmp_path: Path) -> None:
    """The default or a short secret fails with env: production (start refuses it), warns in development,
    and is accepted with --dev in development only; the config check itself stays OK."""
    config = await healthy(tmp_path)
    prod = await doctor(config, OPENIM_SECRET="openIM123", OPENIM_ENV="production")
    assert prod["secret"].status is Status.FAIL
    assert prod["secret"].saw.startswith("secret (from $OPENIM_SECRET) is OpenIM's published default openIM123")
    assert "with env: production `openim start` refuses it" in prod["secret"].saw
    assert "openssl rand -hex 32" in prod["secret"].remedy
    assert prod["config"].status is Status.OK, prod["config"]
    assert (await doctor(config, dev=True, OPENIM_SECRET="openIM123", OPENIM_ENV="production"))[
        "secret"
    ].status is Status.FAIL
    short_prod = await doctor(config, OPENIM_SECRET="hunter2", OPENIM_ENV="production")
    assert short_prod["secret"].status is Status.FAIL and "is 7 characters, fewer than 16" in short_prod["secret"].saw

    develop = await doctor(config, OPENIM_SECRET="openIM123")
    assert develop["secret"].status is Status.WARN
    assert "env: development, so `openim start` runs with it" in develop["secret"].saw
    assert "--dev" in develop["secret"].remedy
    dev = await doctor(config, dev=True, OPENIM_SECRET="openIM123")
    assert dev["secret"].status is Status.OK and "accepted with --dev" in dev["secret"].saw
    short = await doctor(config, OPENIM_SECRET="hunter2")
    assert short["secret"].status is Status.WARN and "is 7 characters" in short["secret"].saw
    assert (await doctor(config))["secret"].status is Status.OK
    assert (await doctor(config, OPENIM_ENV="production"))["secret"].status is Status.OK


async def test_config_permissions(tmp_path: Path) -> None:
    """A world-readable config holding a secret warns, a world-writable one fails, mode 600 is OK."""
    config = await healthy(tmp_path)
    config.chmod(0o644)
    check = (await doctor(config))["config.permissions"]
    assert check.status is Status.WARN
    assert "mode 0644" in check.saw and "holds secret" in check.saw
    assert f"chmod 640 {config}" in check.remedy
    config.chmod(0o666)
    assert (await doctor(config))["config.permissions"].status is Status.FAIL
    config.chmod(0o600)
    assert (await doctor(config))["config.permissions"].status is Status.OK


async def test_world_readable_config_without_secrets_is_ok(tmp_path: Path) -> None:
    """A world-readable file that sets no secret (it comes from the environment) is fine."""
    config = tmp_path / "config.yaml"
    config.write_text("api:\n  ports: [10002]\n")
    config.chmod(0o644)
    check = (await doctor(config, OPENIM_SECRET=SECRET))["config.permissions"]
    assert check.status is Status.OK and "holds no secret" in check.saw


async def test_world_readable_database_file_warns(tmp_path: Path) -> None:
    """A SQLite file every local user can read is a warning naming the chmod."""
    config = await healthy(tmp_path)
    (tmp_path / "data" / "openim.db").chmod(0o644)
    check = (await doctor(config))["database.file"]
    assert check.status is Status.WARN and "chmod 640" in check.remedy


# --- database ----------------------------------------------------------------------------------------------


async def test_unreachable_postgres_fails(tmp_path: Path) -> None:
    """A PostgreSQL URL pointing at a closed port fails with the masked URL and what to check."""
    port = free_port()
    config = write_config(tmp_path, database=f"postgresql://openim:s3cret@127.0.0.1:{port}/openim")
    checks = await doctor(config)
    check = checks["database"]
    assert check.status is Status.FAIL
    assert f"cannot connect to postgresql://openim:***@127.0.0.1:{port}/openim: " in check.saw
    assert "s3cret" not in check.saw
    assert "pg_isready" in check.remedy
    assert "database.schema" not in checks


async def test_missing_sqlite_file_warns(tmp_path: Path) -> None:
    """A SQLite file that does not exist yet is a warning, and the doctor does not create it."""
    config = write_config(tmp_path)
    check = (await doctor(config))["database"]
    assert check.status is Status.WARN and "does not exist yet" in check.saw
    assert not (tmp_path / "data" / "openim.db").exists()


async def test_missing_index_is_detected(tmp_path: Path) -> None:
    """An index dropped from the live database fails, with the DDL that recreates it."""
    config = await healthy(tmp_path)
    with sqlite3.connect(tmp_path / "data" / "openim.db") as conn:
        conn.execute("DROP INDEX ix_msg_client_msg_id_send_id")
        conn.execute("DROP INDEX ix_group_member_user_id")
    check = (await doctor(config))["database.indexes"]
    assert check.status is Status.FAIL
    assert "index ix_msg_client_msg_id_send_id on msg(client_msg_id, send_id)" in check.saw
    assert "index ix_group_member_user_id on group_member(user_id)" in check.saw
    assert "CREATE UNIQUE INDEX ix_msg_client_msg_id_send_id ON msg (client_msg_id, send_id);" in check.remedy
    # The DDL it prints repairs the database.
    with sqlite3.connect(tmp_path / "data" / "openim.db") as conn:
        conn.executescript(check.remedy.split("\n", 1)[1])
    assert (await doctor(config))["database.indexes"].status is Status.OK


async def test_schema_revisions(tmp_path: Path) -> None:
    """A database never migrated fails, an older revision warns, a revision from a newer version fails."""
    config = write_config(tmp_path)
    (tmp_path / "data").mkdir()
    sqlite3.connect(tmp_path / "data" / "openim.db").close()
    check = (await doctor(config))["database.schema"]
    assert check.status is Status.FAIL and "never migrated" in check.saw and "openim migrate" in check.remedy
    await migrate(f"sqlite:///{tmp_path / 'data' / 'openim.db'}")
    with sqlite3.connect(tmp_path / "data" / "openim.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0001'")
    check = (await doctor(config))["database.schema"]
    assert check.status is Status.WARN and "at revision 0001" in check.saw
    with sqlite3.connect(tmp_path / "data" / "openim.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    check = (await doctor(config))["database.schema"]
    assert check.status is Status.FAIL and "does not know" in check.saw


@pytest.fixture
async def pg_url(_postgres: object) -> AsyncIterator[str]:
    """A freshly migrated database of its own, `<test database>_doctor`, on the test PostgreSQL server."""
    url = side_database_url(os.environ["OPENIM_TEST_POSTGRES_URL"], "doctor")
    await create_database(url)
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    await migrate(url)
    yield url


@pytest.mark.postgres
async def test_postgres_healthy_and_missing_index(tmp_path: Path, pg_url: str) -> None:
    """On PostgreSQL: connections against max_connections, a clock offset, and a dropped index detected."""
    config = write_config(tmp_path, database=pg_url)
    storage = await open_storage(pg_url, pool_size=2)  # a server's pool: one idle connection to this database
    try:
        await storage.db.ping()
        checks = await doctor(config)
    finally:
        await storage.close()
    assert "openim holds 1 connection(s) to this database, 0 active" in checks["database.connections"].saw
    for name in ("database", "database.schema", "database.indexes", "database.connections", "database.slow"):
        assert checks[name].status is Status.OK, checks[name]
    assert "max_connections" in checks["database.connections"].saw
    assert checks["clock"].status is Status.OK and "offset to database" in checks["clock"].saw
    assert "disk.data" not in checks  # PostgreSQL's data directory is on its own server
    conn = await asyncpg.connect(make_url(pg_url).set(drivername="postgresql").render_as_string(False))
    try:
        await conn.execute("DROP INDEX ix_friend_request_to_user_id_create_time")
    finally:
        await conn.close()
    check = (await doctor(config))["database.indexes"]
    assert check.status is Status.FAIL
    assert (
        "CREATE INDEX ix_friend_request_to_user_id_create_time ON friend_request (to_user_id, create_time);"
        in check.remedy
    )


@pytest.mark.postgres
async def test_postgres_long_transaction_warns(tmp_path: Path, pg_url: str) -> None:
    """A transaction left open longer than the threshold is named with its pid and application."""
    config = write_config(tmp_path, database=pg_url)
    dsn = make_url(pg_url).set(drivername="postgresql").render_as_string(False)
    conn = await asyncpg.connect(dsn, server_settings={"application_name": "stuck-client"})
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("SELECT count(*) FROM msg")
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        await asyncio.sleep(0.6)
        checks = await doctor(config, thresholds=Thresholds(slow_transaction_s=0.5))
        await transaction.rollback()
    finally:
        await conn.close()
    check = checks["database.slow"]
    assert check.status is Status.WARN
    assert f"pid {pid} (stuck-client, idle in transaction)" in check.saw
    assert "pg_terminate_backend" in check.remedy


# --- Redis, queue, discovery, clock -----------------------------------------------------------------------------


def _redis_url() -> str:
    url = os.environ.get("OPENIM_TEST_REDIS_URL", "")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("Redis is required in CI: set OPENIM_TEST_REDIS_URL")
        pytest.skip("set OPENIM_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to run it")
    return url


async def test_redis_not_configured_and_database_queue_and_in_process_registry(tmp_path: Path) -> None:
    """Without redis.url Redis is "not configured", the queue is the database's table, the registry in-process."""
    checks = await doctor(await healthy(tmp_path))
    assert checks["redis"].status is Status.OK and checks["redis"].saw.startswith("not configured")
    assert checks["queue"].status is Status.OK and checks["queue"].saw.startswith("table queue_job")
    assert checks["discovery"].saw.startswith("in-process")
    assert "discovery.processes" not in checks


@pytest.mark.redis
async def test_redis_reachable(tmp_path: Path, redis_url: str) -> None:
    """A reachable Redis answers PONG; memory and the eviction policy are reported; its clock is compared."""
    checks = await doctor(await healthy(tmp_path), OPENIM_REDIS_URL=redis_url)  # flushed: no queue left by others
    assert checks["redis"].status is Status.OK and "PONG" in checks["redis"].saw
    assert "used" in checks["redis.memory"].saw
    assert "maxmemory-policy" in checks["redis.policy"].saw
    assert "redis" in checks["clock"].saw and checks["clock"].status is Status.OK
    queue = checks["queue"]
    assert queue.status is Status.OK and "openim:queue:offline_push" in queue.saw and "lag 0, pending 0" in queue.saw


@pytest.mark.redis
async def test_redis_unreachable_fails(tmp_path: Path) -> None:
    """A Redis URL on a closed port fails with the URL, its password masked."""
    _redis_url()
    port = free_port()
    checks = await doctor(await healthy(tmp_path), OPENIM_REDIS_URL=f"redis://:pw123@127.0.0.1:{port}/0")
    check = checks["redis"]
    assert check.status is Status.FAIL
    assert f"redis://:***@127.0.0.1:{port}/0" in check.saw and "pw123" not in check.saw
    assert "redis-cli" in check.remedy


@contextlib.contextmanager
def private_redis(tmp_path: Path, *options: str) -> Iterator[str]:
    """A redis-server of our own on a free port with these command-line options; yields its URL."""
    _redis_url()
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path), *options]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait()


@pytest.fixture
def lru_redis(tmp_path: Path) -> Iterator[str]:
    """A private redis-server with the guide's allkeys-lru and a memory limit."""
    options = ("--save", "", "--appendonly", "no", "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru")
    with private_redis(tmp_path, *options) as url:
        yield url


@pytest.mark.redis
async def test_redis_eviction_policy_fails(tmp_path: Path, lru_redis: str) -> None:
    """The guide's allkeys-lru with a memory limit fails: token states and presence must not be evicted."""
    checks = await doctor(await healthy(tmp_path), OPENIM_REDIS_URL=lru_redis)
    check = checks["redis.policy"]
    assert check.status is Status.FAIL
    assert "allkeys-lru" in check.saw and "revoked token valid again" in check.saw
    assert "noeviction" in check.remedy
    assert "of maxmemory 64.0 MiB" in checks["redis.memory"].saw


_NO_DISK = ("--save", "", "--appendonly", "no")


@pytest.mark.redis
async def test_redis_without_persistence_warns(tmp_path: Path) -> None:
    """A Redis that persists nothing warns, saying that its restart logs every user out, and how to fix it."""
    with private_redis(tmp_path, *_NO_DISK) as url:
        check = (await doctor(await healthy(tmp_path), OPENIM_REDIS_URL=url))["redis.persistence"]
    assert check.status is Status.WARN
    assert "persists nothing (appendonly no, save '')" in check.saw
    assert "every user is logged out" in check.saw and "1507" in check.saw
    assert "presence" in check.saw and "openim:queue:offline_push" in check.saw
    assert "config set appendonly yes" in check.remedy and "Running Redis for openim-py" in check.remedy


@pytest.mark.redis
@pytest.mark.parametrize(
    ("options", "saw"),
    [
        (("--save", "", "--appendonly", "yes"), "appendonly yes"),
        (("--save", "3600 1", "--appendonly", "no"), "RDB snapshots only (save '3600 1', appendonly no)"),
    ],
)
async def test_redis_with_persistence_is_ok(tmp_path: Path, options: tuple[str, ...], saw: str) -> None:
    """An append-only file, or RDB snapshots (saying what a restart still loses), are OK."""
    with private_redis(tmp_path, *options) as url:
        check = (await doctor(await healthy(tmp_path), OPENIM_REDIS_URL=url))["redis.persistence"]
    assert check.status is Status.OK and saw in check.saw, check


@pytest.mark.redis
@pytest.mark.parametrize(("appendonly", "status"), [("yes", Status.OK), ("no", Status.WARN)])
async def test_redis_persistence_without_config_command(tmp_path: Path, appendonly: str, status: Status) -> None:
    """Where CONFIG is disabled (managed Redis), INFO persistence's aof_enabled decides; unknown RDB rules warn."""
    options = ("--save", "", "--appendonly", appendonly, "--rename-command", "CONFIG", "")
    with private_redis(tmp_path, *options) as url:
        check = (await doctor(await healthy(tmp_path), OPENIM_REDIS_URL=url))["redis.persistence"]
    assert check.status is status, check
    assert f"aof_enabled:{int(appendonly == 'yes')}" in check.saw


def _context(**clocks: float) -> Context:
    return Context(None, {}, Settings(), True, clocks=dict(clocks))


def test_clock_offsets() -> None:
    """Offsets under a second are OK, over a second warn, from 5 s (the iat margin of tokens) fail."""
    assert check_clock(_context()).status is Status.OK
    assert check_clock(_context(database=0.2, redis=-0.1)).status is Status.OK
    warn = check_clock(_context(database=-2.0))
    assert warn.status is Status.WARN and "database -2000 ms" in warn.saw and "timedatectl" in warn.remedy
    fail = check_clock(_context(database=0.1, redis=7.5))
    assert fail.status is Status.FAIL and "not valid yet" in fail.saw


# --- the machine -------------------------------------------------------------------------------------------


async def test_disk_and_memory_thresholds(tmp_path: Path) -> None:
    """Disk and memory usage warn and fail at their thresholds (the guide's 80 % and 85 % by default)."""
    config = await healthy(tmp_path)
    warn = await doctor(config, thresholds=Thresholds(disk_warn_pct=0, memory_warn_pct=0))
    assert warn["disk.data"].status is Status.WARN and str(tmp_path / "data") in warn["disk.data"].saw
    assert warn["disk.logs"].status is Status.WARN and str(tmp_path / "logs") in warn["disk.logs"].saw
    assert warn["memory"].status is Status.WARN and "GiB" in warn["memory"].saw
    fail = await doctor(config, thresholds=Thresholds(disk_fail_pct=0, memory_fail_pct=0))
    assert fail["disk.data"].status is Status.FAIL and "openim backup" in fail["disk.data"].remedy
    assert fail["memory"].status is Status.FAIL
    relaxed = await doctor(config, thresholds=Thresholds(disk_warn_pct=101, disk_fail_pct=101))
    assert relaxed["disk.data"].status is Status.OK


@pytest.mark.slow
async def test_open_file_limit(tmp_path: Path) -> None:
    """A soft open-file limit under 65536 warns, naming LimitNOFILE; the CLI reads its own process's limit."""
    config = await healthy(tmp_path)

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    result = cli("--json", "--config", str(config), cwd=tmp_path, preexec_fn=low_limit)
    found = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert found["limits.nofile"]["status"] == "WARN"
    assert "soft limit is 1024" in found["limits.nofile"]["saw"]
    assert "LimitNOFILE=65536" in found["limits.nofile"]["remedy"]
    low = await doctor(config, thresholds=Thresholds(nofile_min=16))
    assert low["limits.nofile"].status is Status.OK


def test_somaxconn(tmp_path: Path) -> None:
    """net.core.somaxconn under openim's listen backlog of 2048 warns and points at deploy/sysctl.conf."""
    proc = tmp_path / "proc"
    (proc / "sys/net/core").mkdir(parents=True)
    (proc / "sys/net/core/somaxconn").write_text("128\n")
    context = replace(_context(), proc=proc)
    check = check_somaxconn(context)
    assert check.status is Status.WARN and "cuts it to 128" in check.saw and "deploy/sysctl.conf" in check.remedy
    (proc / "sys/net/core/somaxconn").write_text("65535\n")
    assert check_somaxconn(context).status is Status.OK


@pytest.mark.slow
def test_roles_split_over_processes_fail(tmp_path: Path) -> None:
    """api and msggateway served by two openim processes fail: each keeps tokens and pushes to itself."""
    url = f"sqlite:///{tmp_path / 'openim.db'}"
    api = start_server(tmp_path, "api", "admin", OPENIM_DATABASE_URL=url, OPENIM_SECRET=SECRET)
    gateway_port = free_port()
    env = clean_env(
        OPENIM_DATABASE_URL=url, OPENIM_SECRET=SECRET, OPENIM_MSGGATEWAY_PORTS=str(gateway_port), OPENIM_ADMIN_PORT="0"
    )
    gateway = subprocess.Popen([*OPENIM, "start", "msggateway"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", gateway_port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        checks = asyncio.run(
            doctor(
                None,
                OPENIM_API_PORTS=str(api.api),
                OPENIM_MSGGATEWAY_PORTS=str(gateway_port),
                OPENIM_ADMIN_PORT=str(api.admin),
                OPENIM_DATABASE_URL=url,
                OPENIM_SECRET=SECRET,
            )
        )
    finally:
        gateway.terminate()
        gateway.wait()
        api.stop()
    check = checks["roles"]
    assert check.status is Status.FAIL
    assert f"pid {api.proc.pid}: api :{api.api}, admin :{api.admin}" in check.saw
    assert f"pid {gateway.pid}: msggateway :{gateway_port}" in check.saw
    assert "not pushed by the other" in check.saw and "openim.service" in check.remedy


async def test_secret_not_judged_when_the_config_does_not_load(tmp_path: Path) -> None:
    """With a broken config the secret check says it could not look, instead of judging the defaults."""
    config = write_config(tmp_path, extra="api:\n  ports: [1]\n    bad: 1\n")
    check = (await doctor(config))["secret"]
    assert check.status is Status.WARN and "did not load" in check.saw
