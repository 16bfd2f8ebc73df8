"""Tests for openim.storage.migrate: fresh database to head, idempotence, and migrations == schema.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from openim.storage import open_storage
from openim.storage.db import Db
from openim.storage.migrate import MIGRATIONS_DIR, current_revision, head_revision, upgrade
from openim.storage.schema import metadata


@pytest.fixture
async def empty_db_url(db_url: str) -> AsyncIterator[str]:
    """`db_url` with no tables at all; on PostgreSQL the schema is wiped first and migrated back afterwards."""
    if db_url.startswith("sqlite"):
        yield db_url
        return
    db = await Db.connect(db_url, pool_size=1)
    try:
        async with db.write("test.wipe") as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        yield db_url
        await upgrade(db)  # leave the shared test database migrated for the tests that follow
    finally:
        await db.close()


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
    return list(compare_metadata(context, metadata))


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def test_head_revision_is_the_newest_file() -> None:
    """head_revision() names the last revision under migrations/versions."""
    revisions = sorted(p.name.split("_", 1)[0] for p in (MIGRATIONS_DIR / "versions").glob("*.py"))
    assert head_revision() == revisions[-1]
    assert (MIGRATIONS_DIR / "env.py").is_file()


async def test_fresh_database_upgrades_to_head(empty_db_url: str) -> None:
    """A database never migrated reports no revision, and upgrade() brings it to head with every table."""
    db = await Db.connect(empty_db_url)
    try:
        assert await current_revision(db) is None
        await upgrade(db)
        assert await current_revision(db) == head_revision()
        async with db.read("test.tables") as conn:
            assert await conn.run_sync(_tables) >= set(metadata.tables)
    finally:
        await db.close()


async def test_upgrade_twice_is_a_no_op(empty_db_url: str) -> None:
    """A second upgrade() at head changes nothing and does not even open a write transaction."""
    db = await Db.connect(empty_db_url)
    try:
        await upgrade(db)
        await upgrade(db)
        assert await current_revision(db) == head_revision()
        assert db.stats.by_name["storage.migrate"].count == 1
    finally:
        await db.close()


async def test_migrated_schema_equals_schema_py(empty_db_url: str) -> None:
    """Alembic's autogenerate finds no difference between the migrated database and schema.metadata."""
    db = await Db.connect(empty_db_url)
    try:
        await upgrade(db)
        async with db.read("test.compare") as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await db.close()


async def test_concurrent_upgrades_migrate_once(empty_db_url: str) -> None:
    """Two processes' worth of Db starting at once both end at head, without errors."""
    first, second = await Db.connect(empty_db_url), await Db.connect(empty_db_url)
    try:
        await asyncio.gather(upgrade(first), upgrade(second))
        assert await current_revision(first) == await current_revision(second) == head_revision()
    finally:
        await first.close()
        await second.close()


async def test_open_storage_migrates_unless_told_not_to(empty_db_url: str) -> None:
    """open_storage(migrate=False) leaves the database untouched; the default migrates it."""
    storage = await open_storage(empty_db_url, migrate=False)
    try:
        assert await current_revision(storage.db) is None
    finally:
        await storage.close()
    storage = await open_storage(empty_db_url)
    try:
        assert await current_revision(storage.db) == head_revision()
        assert await storage.user.page_user_ids(0, 1) == (0, [])
    finally:
        await storage.close()


async def test_migrations_do_not_depend_on_the_working_directory(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """upgrade() finds its revisions from the package, wherever the process runs."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    db = await Db.connect(empty_db_url)
    try:
        await upgrade(db)
        assert await current_revision(db) == head_revision()
    finally:
        await db.close()
