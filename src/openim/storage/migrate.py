"""Migrate: Alembic driven from code on our own async engine, so the package needs no alembic.ini.

Revisions live in `migrations/versions/` (written by hand, mirroring `schema.py`; a test checks that
the migrated database equals `schema.metadata` on both dialects). `upgrade` runs in one write
transaction named `storage.migrate`, under a cross-process lock (`dialect.lock_for_migration`), so
several processes starting at once migrate exactly once.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from openim.storage import dialect
from openim.storage.db import Db

__all__ = ["current_revision", "head_revision", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The newest revision this code ships."""
    head = _scripts().get_current_head()
    if head is None:
        raise RuntimeError(f"no Alembic revisions under {MIGRATIONS_DIR}")
    return head


async def current_revision(db: Db) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    async with db.read("storage.current_revision") as conn:
        return await conn.run_sync(_current)


async def upgrade(db: Db) -> None:
    """Bring the database to `head_revision()`; a no-op (one read) when it is already there."""
    if await current_revision(db) == head_revision():
        return
    async with db.write("storage.migrate") as conn:
        await dialect.lock_for_migration(conn)
        await conn.run_sync(_upgrade)


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _upgrade(conn: Connection) -> None:
    command.upgrade(_config(conn), "head")
