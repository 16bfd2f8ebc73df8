"""Tests for openim.storage.db: URLs, connection setup, named transactions, statistics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from openim.storage.db import Db
from openim.storage.dialect import SQLITE_CACHE_KIB, SQLITE_MAX_POOL
from openim.storage.migrate import upgrade
from openim.storage.schema import user

# Narrows the `db_url` fixture to its PostgreSQL variant for tests about PostgreSQL-only behaviour.
POSTGRES_ONLY = pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Db]:
    """A migrated Db on each database."""
    opened = await Db.connect(db_url, pool_size=5)
    await upgrade(opened)
    yield opened
    await opened.close()


def _user_row(user_id: str, create_time: int = 1) -> dict[str, object]:
    return {"user_id": user_id, "nickname": user_id, "create_time": create_time}


async def _count_users(db: Db) -> int:
    async with db.read("test.count") as conn:
        return (await conn.execute(select(func.count()).select_from(user))).scalar_one()


async def test_sqlite_url_gets_aiosqlite_driver_and_parent_directory(tmp_path: Path) -> None:
    """A plain sqlite:/// URL is driven by aiosqlite and the file's missing parent directories are created."""
    path = tmp_path / "a" / "b" / "openim.db"
    db = await Db.connect(f"sqlite:///{path}")
    try:
        assert db.dialect == "sqlite"
        assert db.url == f"sqlite+aiosqlite:///{path}"
        assert path.parent.is_dir()
    finally:
        await db.close()
    assert path.exists()


async def test_relative_sqlite_path_is_relative_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sqlite:///data/x.db names a file under the current directory."""
    monkeypatch.chdir(tmp_path)
    db = await Db.connect("sqlite:///data/x.db")
    await db.close()
    assert (tmp_path / "data" / "x.db").exists()


async def test_url_with_explicit_driver_is_accepted(tmp_path: Path) -> None:
    """A URL that already names the async driver is used as given."""
    db = await Db.connect(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        assert db.url.startswith("sqlite+aiosqlite:///")
    finally:
        await db.close()


@pytest.mark.parametrize(
    "url",
    ["mysql://root@localhost/openim", "sqlite:///:memory:", "sqlite://", "postgresql+psycopg2://u@h/db", "nonsense"],
)
async def test_unusable_url_is_rejected(url: str) -> None:
    """Unsupported schemes, sync drivers and in-memory SQLite raise ValueError before anything is opened."""
    with pytest.raises(ValueError):
        await Db.connect(url)


async def test_unreachable_server_raises_connection_error_without_password() -> None:
    """A server that does not answer gives ConnectionError whose message masks the password."""
    with pytest.raises(ConnectionError) as info:
        await Db.connect("postgres://openim:s3cret@127.0.0.1:1/openim")
    assert "s3cret" not in str(info.value)
    assert "postgresql+asyncpg://openim:***@127.0.0.1:1/openim" in str(info.value)


@POSTGRES_ONLY
async def test_postgres_scheme_and_password_masking(db_url: str) -> None:
    """postgres:// selects asyncpg like postgresql:// does, and `url` never shows the password."""
    url = make_url(db_url).set(drivername="postgres", password="hunter2")
    db = await Db.connect(url.render_as_string(hide_password=False))  # trust auth ignores the password
    try:
        assert db.dialect == "postgresql"
        assert db.url.startswith("postgresql+asyncpg://")
        assert "hunter2" not in db.url and ":***@" in db.url
    finally:
        await db.close()


async def test_sqlite_pragmas_are_set_on_every_connection(tmp_path: Path) -> None:
    """Each pooled SQLite connection runs in WAL mode with busy_timeout, foreign keys, synchronous=FULL and a
    page cache of SQLITE_CACHE_KIB (what bounds the process's SQLite page cache: SQLITE_MAX_POOL × that)."""
    db = await Db.connect(f"sqlite:///{tmp_path / 'x.db'}", pool_size=3)
    try:

        async def pragmas() -> tuple[object, ...]:
            async with db.read("test.pragmas") as conn:
                names = ("journal_mode", "busy_timeout", "foreign_keys", "synchronous", "cache_size")
                values = [(await conn.execute(text(f"PRAGMA {n}"))).scalar() for n in names]
                await asyncio.sleep(0.01)  # hold the connection so the others open their own
                return tuple(values)

        assert await asyncio.gather(*(pragmas() for _ in range(3))) == [("wal", 5000, 1, 2, -SQLITE_CACHE_KIB)] * 3
    finally:
        await db.close()


async def test_sqlite_opens_at_most_its_cap_of_connections(tmp_path: Path) -> None:
    """On SQLite the pool stops at SQLITE_MAX_POOL whatever poolSize says: ten reads held at once share them
    (each connection is a thread and a page cache; a burst of handshakes opened all twenty of the default)."""
    db = await Db.connect(f"sqlite:///{tmp_path / 'x.db'}", pool_size=20)
    try:
        assert db.pool_status().size == SQLITE_MAX_POOL
        opened: set[int] = set()

        async def read() -> None:
            async with db.read("test.cap") as conn:
                opened.add(id((await conn.get_raw_connection()).driver_connection))
                await asyncio.sleep(0.02)

        await asyncio.gather(*(read() for _ in range(10)))
        assert len(opened) == SQLITE_MAX_POOL
    finally:
        await db.close()


async def test_ping_returns_latency(db: Db) -> None:
    """ping() answers with a small positive number of seconds."""
    latency = await db.ping()
    assert 0 < latency < 5


async def test_write_commits_on_success(db: Db) -> None:
    """Rows written in a write transaction are visible to later reads."""
    async with db.write("test.insert") as conn:
        await conn.execute(insert(user), [_user_row("u1"), _user_row("u2")])
    assert await _count_users(db) == 2


async def test_write_that_raises_rolls_back(db: Db) -> None:
    """An exception inside write() propagates and nothing of the transaction is kept."""
    with pytest.raises(RuntimeError, match="boom"):
        async with db.write("test.fail") as conn:
            await conn.execute(insert(user), [_user_row("u1")])
            raise RuntimeError("boom")
    assert await _count_users(db) == 0
    assert db.stats.by_name["test.fail"].errors == 1


async def test_database_error_rolls_back_earlier_statements(db: Db) -> None:
    """A failing statement aborts the whole transaction, including what ran before it."""
    with pytest.raises(DBAPIError):
        async with db.write("test.dup") as conn:
            await conn.execute(insert(user), [_user_row("u1")])
            await conn.execute(insert(user), [_user_row("u1")])
    assert await _count_users(db) == 0


@POSTGRES_ONLY
async def test_read_transaction_is_read_only_on_postgres(db: Db) -> None:
    """On PostgreSQL a write inside read() fails instead of slipping through (SQLite has no such mode)."""
    with pytest.raises(DBAPIError, match="read-only"):
        async with db.read("test.sneaky") as conn:
            await conn.execute(insert(user), [_user_row("u1")])


async def test_concurrent_writers_and_readers_never_see_busy(db: Db) -> None:
    """Many concurrent read-modify-write transactions all succeed and none is lost (one writer at a time on SQLite)."""
    async with db.write("test.seed") as conn:
        await conn.execute(insert(user), [_user_row("counter", create_time=0)])

    async def increment() -> None:
        async with db.write("test.increment") as conn:
            current = (
                await conn.execute(select(user.c.create_time).where(user.c.user_id == "counter").with_for_update())
            ).scalar_one()
            await asyncio.sleep(0)  # let other tasks run while this transaction is open
            await conn.execute(user.update().where(user.c.user_id == "counter").values(create_time=current + 1))

    async def reader() -> int:
        return await _count_users(db)

    results = await asyncio.gather(*(increment() for _ in range(30)), *(reader() for _ in range(30)))
    assert results[30:] == [1] * 30
    async with db.read("test.check") as conn:
        final = (await conn.execute(select(user.c.create_time).where(user.c.user_id == "counter"))).scalar_one()
    assert final == 30


async def test_reader_open_during_a_write_does_not_block_it(db: Db) -> None:
    """A write commits while a read transaction is still open on another connection."""
    async with db.read("test.long_read") as reader:
        assert (await reader.execute(select(func.count()).select_from(user))).scalar_one() == 0
        async with db.write("test.insert") as conn:
            await conn.execute(insert(user), [_user_row("u1")])
    assert await _count_users(db) == 1


async def test_stats_count_named_transactions(db: Db) -> None:
    """Each transaction adds one to its name's count and its duration to the total."""
    for _ in range(3):
        async with db.read("test.named"):
            pass
    stat = db.stats.by_name["test.named"]
    assert stat.count == 3
    assert stat.errors == 0
    assert 0 < stat.max_s <= stat.total_s


async def test_slow_transaction_is_logged_with_its_name(db: Db, caplog: pytest.LogCaptureFixture) -> None:
    """A transaction over the slow threshold is logged as a WARNING on openim.storage and kept in `slow`."""
    db.stats.slow.clear()  # the fixture's migration may itself have been slow on a loaded machine
    db.stats.slow_threshold_s = 0.15  # far above an empty read, even on a busy CI machine
    with caplog.at_level(logging.WARNING, logger="openim.storage"):
        async with db.write("test.slow"):
            await asyncio.sleep(0.2)
        async with db.read("test.fast"):
            pass
    messages = [r.getMessage() for r in caplog.records if r.name == "openim.storage"]
    assert len(messages) == 1 and "test.slow" in messages[0]
    assert [s.name for s in db.stats.slow] == ["test.slow"]
