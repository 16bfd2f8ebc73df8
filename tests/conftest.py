"""Shared fixtures. One section per concern; add yours as a new section, keep each one small.

Databases: `db_url` runs a test on SQLite (a file under tmp_path) and on PostgreSQL (marker `postgres`,
URL from OPENIM_TEST_POSTGRES_URL). Without that URL PostgreSQL tests skip, unless CI=true, where a
missing or unreachable server fails them.

Redis: `redis_url` is OPENIM_TEST_REDIS_URL (a database tests may flush: `make test` uses db 15) with that
database flushed; use it from tests or params marked `redis`. Skips and failures as for PostgreSQL.

Parallel runs (pytest-xdist, `make test`): each worker gets a PostgreSQL database and a Redis server of its
own, derived from those two variables (tests/databases.py), so workers never empty each other's data.

etcd: `etcd_url` is OPENIM_TEST_ETCD_URL (scripts/test-services starts one on 127.0.0.1:12379), checked once;
`etcd_root` is a root directory of the test's own whose keys are deleted afterwards (the etcd may be shared).
Marker `etcd`; skips and failures as for PostgreSQL.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import asyncpg
import httpx
import pytest
import redis
from sqlalchemy import text
from tests.databases import (
    copy_migrated_sqlite,
    create_database,
    isolate_worker,
    stop_private_redis,
    worker_index,
)
from tests.webhook_receiver import WebhookReceiver

from openim.infra.redis import mask_url as mask_redis_url
from openim.storage import Storage, open_storage
from openim.storage.db import Db
from openim.storage.migrate import upgrade
from openim.storage.schema import metadata

# --- parallel workers ------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    """In an xdist worker, OPENIM_TEST_POSTGRES_URL and OPENIM_TEST_REDIS_URL become the worker's own; and the
    `soak` marker is registered (one hook: a second `pytest_configure` in this module would replace this one)."""
    # Registered here rather than in pyproject.toml's list, beside the test it marks.
    config.addinivalue_line(
        "markers",
        "soak: minutes of connection churn against a real server (tests/test_soak.py; long run: bench/README.md)",
    )
    try:
        isolate_worker()
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from exc


def pytest_unconfigure(config: pytest.Config) -> None:
    """The worker's own redis-server, if it started one, stops with it."""
    stop_private_redis()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker, the tests marked `slow` come first, longest first (`slow(seconds=N)`, 20 if not given).

    `make test` hands whole files to the workers in the order of their first test (`--dist loadfile
    --no-loadscope-reorder`), so the files holding long tests start at once, their long tests first, and overlap the
    many short files instead of ending the run alone on one worker. Every worker sorts the same.
    """
    if worker_index() is None:
        return

    def key(item: pytest.Item) -> float:
        slow = item.get_closest_marker("slow")
        return -float(slow.kwargs.get("seconds", 20)) if slow is not None else 0.0

    items.sort(key=key)  # stable: the order within each class of duration stays as collected


# --- databases -------------------------------------------------------------------------------------------


@dataclass
class _Postgres:
    url: str
    ready: bool = False  # schema reset and migrated once this session
    error: str = ""  # why the server could not be prepared, to skip or fail fast after the first try


def _unavailable(reason: str, service: str = "PostgreSQL") -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{service} is required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _postgres() -> _Postgres:
    url = os.environ.get("OPENIM_TEST_POSTGRES_URL", "")
    if not url:
        _unavailable("set OPENIM_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run it")
    return _Postgres(url)


# The tables that hold a row. TRUNCATE costs per table named (new files, fsync at commit: ~20 ms each, 0.4 s for
# all of them), and a test fills only a few, so emptying only those makes the per-test reset ~10 times cheaper.
_FILLED_TABLES = " UNION ALL ".join(
    f"SELECT '{t.name}' FROM (SELECT FROM \"{t.name}\" LIMIT 1) AS t{i}" for i, t in enumerate(metadata.sorted_tables)
)


async def _prepare_postgres(pg: _Postgres) -> None:
    """First use: create the database if missing (an xdist worker's), drop and recreate schema `public`, migrate.
    Later uses: empty every table of `metadata` that holds a row."""
    if pg.error:
        _unavailable(pg.error)
    try:
        if not pg.ready:
            await create_database(pg.url)
        db = await Db.connect(pg.url, pool_size=1)
    except (ConnectionError, OSError, asyncpg.PostgresError) as exc:
        pg.error = str(exc)
        _unavailable(pg.error)
    try:
        if not pg.ready:
            async with db.write("test.reset_schema") as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await upgrade(db)
            pg.ready = True
        else:
            async with db.write("test.truncate") as conn:
                filled = (await conn.execute(text(_FILLED_TABLES))).scalars().all()
                if filled:
                    await conn.execute(text("TRUNCATE " + ", ".join(f'"{name}"' for name in filled) + " CASCADE"))
    finally:
        await db.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL with no rows in it: a new SQLite file, or the migrated PostgreSQL test database emptied."""
    return await empty_db_url(request, request.param, tmp_path)


async def empty_db_url(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> str:
    """What `db_url` gives, for fixtures that mix databases into other params ("sqlite" or "postgres")."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'openim.db'}"
    pg: _Postgres = request.getfixturevalue("_postgres")
    await _prepare_postgres(pg)
    return pg.url


@pytest.fixture
async def storage(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Storage]:
    """An open, migrated Storage on `db_url`, closed after the test."""
    await copy_migrated_sqlite(db_url, tmp_path_factory)
    opened = await open_storage(db_url, pool_size=5)
    yield opened
    await opened.close()


# --- redis -----------------------------------------------------------------------------------------------


@dataclass
class _Redis:
    url: str
    error: str = ""  # why the server could not be reached, to skip or fail fast after the first try


@pytest.fixture(scope="session")
def _redis() -> _Redis:
    url = os.environ.get("OPENIM_TEST_REDIS_URL", "")
    if not url:
        _unavailable("set OPENIM_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to run it", "Redis")
    return _Redis(url)


@pytest.fixture
def redis_url(_redis: _Redis) -> str:
    """The Redis test database's URL, that database flushed (FLUSHDB) before the test.

    Synchronous (a blocking client), so that async fixtures parametrized over memory and Redis can ask for it
    with `request.getfixturevalue("redis_url")`.
    """
    if _redis.error:
        _unavailable(_redis.error, "Redis")
    client = redis.Redis.from_url(_redis.url, socket_connect_timeout=5)
    try:
        client.flushdb()
    except (redis.RedisError, OSError) as exc:
        _redis.error = f"cannot reach Redis at {mask_redis_url(_redis.url)}: {type(exc).__name__}: {exc}"
        _unavailable(_redis.error, "Redis")
    finally:
        client.close()
    return _redis.url


# --- etcd ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def etcd_url() -> str:
    """The test etcd's client URL, once it answered /health."""
    url = os.environ.get("OPENIM_TEST_ETCD_URL", "")
    if not url:
        _unavailable("set OPENIM_TEST_ETCD_URL (scripts/test-services starts one: http://127.0.0.1:12379)", "etcd")
    try:
        healthy = httpx.get(f"{url}/health", timeout=5, trust_env=False).json().get("health") == "true"
    except (httpx.HTTPError, ValueError) as exc:
        _unavailable(f"cannot reach etcd at {url}: {type(exc).__name__}: {exc}", "etcd")
    if not healthy:
        _unavailable(f"etcd at {url} does not report itself healthy", "etcd")
    return url


@pytest.fixture
def etcd_root(etcd_url: str) -> Iterator[str]:
    """A root directory (`openim-test-<random>`) for this test alone; its keys are deleted afterwards."""
    root = f"openim-test-{uuid.uuid4().hex[:12]}"
    yield root
    prefix = base64.b64encode(f"/{root}/".encode()).decode()
    end = base64.b64encode(f"/{root}0".encode()).decode()
    httpx.post(f"{etcd_url}/v3/kv/deleterange", json={"key": prefix, "range_end": end}, timeout=5, trust_env=False)


# --- CI runs every test ------------------------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """With CI=true a skip is a failure: a tool or service that CI lacks must not pass unnoticed.

    `make test` installs and starts what the tests need (scripts/test-tools, scripts/test-services); a skip
    under CI means one of those steps is missing something.
    """
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get("CI") != "true" or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped under CI=true, which runs every test: {reason}"


# --- webhooks ----------------------------------------------------------------------------------------------------


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A started `tests/webhook_receiver.py` receiver on a free loopback port; `.url` is the webhooks.url to set."""
    with WebhookReceiver() as receiver:
        yield receiver
