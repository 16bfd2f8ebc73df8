"""Dialect: the only module where SQLite and PostgreSQL differ.

It owns URL normalisation (`sqlite:///x.db` → aiosqlite, `postgres://…` → asyncpg), engine construction
with each database's connection setup, how read and write transactions begin, the cross-process
migration lock, and the INSERT variants whose spelling depends on the dialect (`insert_ignore`, `upsert`).
Repositories import it instead of testing `db.dialect` themselves; nothing else may branch on the dialect.

SQLite transaction control: the sqlite3 driver's own BEGIN handling is switched off (`isolation_level =
None`) and SQLAlchemy's `begin` event emits `BEGIN` for reads and `BEGIN IMMEDIATE` for writes, so a
writer takes the write lock when its transaction starts, never half-way through (no SQLITE_BUSY upgrade).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import Select, Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.sql.dml import Insert
from sqlalchemy.util import await_only

__all__ = [
    "DialectName",
    "insert_ignore",
    "lock_for_migration",
    "lock_skip_locked",
    "make_engine",
    "mask_url",
    "normalize_url",
    "transaction_engines",
    "upsert",
    "upsert_add",
]

DialectName = Literal["sqlite", "postgresql"]
_S = TypeVar("_S", bound="Select[Any]")

logger = logging.getLogger("openim.storage")

_DRIVERS: dict[str, str] = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "postgres+asyncpg": "postgresql+asyncpg",
}

# Page cache per pooled connection, in KiB (SQLite's own default, pinned so a build with another default does
# not change the bound): it fills as what the connection reads outgrows it and then stays, so the process carries
# up to SQLITE_MAX_POOL × this much (4 × 2,000 KiB ≈ 8 MiB). A soak's sends read their facts from memory: there
# it held under 3 MiB even with 20 connections (bench/README.md, Soak).
SQLITE_CACHE_KIB = 2000

# synchronous=FULL: in WAL mode each commit syncs the WAL to disk before it returns, so a message acknowledged
# after its commit survives a power cut or an OS crash too (NORMAL syncs only at checkpoints: it survives a killed
# process, not a crash). Group commit pays it once per batch: measured 2,037 → 1,640 one-to-one msg/s on this
# project's 2-core machine (docs/operations.md, "SQLite durability").
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=FULL",
    f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}",  # negative: KiB, not pages
)

# SQLite connections of one process, at most, whatever database.poolSize says: each is a thread (aiosqlite) with
# its own schema copy and page cache, about half a MiB of RSS once used, and a burst of handshakes (each reads its
# token state) opened all twenty of the default pool: 8 MiB, 8 KiB per connection of `openim bench idle-connections`
# (26 KiB instead of 17-18). Reads are short and the writer is one at a time, so more than four only cost memory.
SQLITE_MAX_POOL = 4

# Execution option set on the SQLite write engine; the `begin` listener turns it into BEGIN IMMEDIATE.
_WRITE_OPTION = "openim_write"

# Key of the PostgreSQL advisory lock held while migrating (any constant; "openim" in ASCII).
_MIGRATION_LOCK_KEY = 0x6F70656E696D


def normalize_url(url: str) -> URL:
    """Parse a database URL and pin its async driver; raise ValueError naming what is accepted."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with the URL in the message
        raise ValueError(f"not a database URL: {mask_url(url)!r}") from exc
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(
            f"unsupported database URL scheme {parsed.drivername!r}: use sqlite:///path/to/openim.db "
            "or postgresql://user:password@host:5432/dbname"
        )
    parsed = parsed.set(drivername=driver)
    if driver.startswith("sqlite"):
        database = parsed.database or ""
        if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
            raise ValueError("SQLite needs a file, e.g. sqlite:///data/openim.db; in-memory databases are unsupported")
    return parsed


def mask_url(url: str | URL) -> str:
    """The URL with its password replaced by ***, safe for logs and `openim doctor`."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except Exception:
        return "<unparsable database URL>"
    return parsed.render_as_string(hide_password=True)


def make_engine(url: URL, *, pool_size: int) -> AsyncEngine:
    """Build the async engine for a normalized URL, with the dialect's per-connection setup installed."""
    if url.get_backend_name() == "sqlite":
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, poolclass=AsyncAdaptedQueuePool, pool_size=min(pool_size, SQLITE_MAX_POOL), max_overflow=0
        )
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        connect_args={"timeout": 10, "server_settings": {"application_name": "openim"}},
    )


def transaction_engines(engine: AsyncEngine) -> tuple[AsyncEngine, AsyncEngine]:
    """(read, write) views of one engine, sharing its pool: PostgreSQL reads are READ ONLY, SQLite writes IMMEDIATE."""
    if engine.dialect.name == "sqlite":
        return engine, engine.execution_options(**{_WRITE_OPTION: True})
    return engine.execution_options(postgresql_readonly=True), engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see _sqlite_on_begin
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.execute("PRAGMA journal_mode")
        mode = cursor.fetchone()[0]
    finally:
        cursor.close()
    if mode != "wal":  # e.g. a network filesystem: readers then block the writer
        logger.warning("SQLite journal_mode is %s, not wal: readers and the writer will block each other", mode)


def _sqlite_on_begin(conn: Connection) -> None:
    sql = "BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE_OPTION) else "BEGIN"
    # Straight to aiosqlite, one hop to its connection thread: through a SQLAlchemy cursor it was three (cursor,
    # execute, close) plus the statement machinery, and every SQLite transaction starts here (profile of a send).
    driver: Any = conn.connection.driver_connection  # aiosqlite.Connection
    await_only(driver.execute(sql))


async def lock_for_migration(conn: AsyncConnection) -> None:
    """Serialize migrations across processes for the rest of this transaction.

    SQLite needs nothing: the migration runs in a BEGIN IMMEDIATE transaction, which excludes other writers.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})


def _insert(conn: AsyncConnection | Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(conn: AsyncConnection | Connection, table: Table) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING: rows that collide with any unique key are skipped silently."""
    return _insert(conn, table).on_conflict_do_nothing()


def upsert(
    conn: AsyncConnection | Connection,
    table: Table,
    index_elements: Sequence[str],
    update_columns: Sequence[str],
) -> Insert:
    """INSERT … ON CONFLICT (index_elements) DO UPDATE SET each of update_columns to the inserted value."""
    stmt = _insert(conn, table)
    if not update_columns:
        return stmt.on_conflict_do_nothing(index_elements=list(index_elements))
    return stmt.on_conflict_do_update(
        index_elements=list(index_elements),
        set_={name: stmt.excluded[name] for name in update_columns},
    )


def upsert_add(conn: AsyncConnection | Connection, table: Table, index_elements: Sequence[str], column: str) -> Insert:
    """INSERT … ON CONFLICT (index_elements) DO UPDATE SET column = column + the inserted value (a counter)."""
    stmt = _insert(conn, table)
    return stmt.on_conflict_do_update(
        index_elements=list(index_elements), set_={column: table.c[column] + stmt.excluded[column]}
    )


def lock_skip_locked(conn: AsyncConnection | Connection, query: _S) -> _S:
    """`query` locking the rows it reads against other writers, skipping rows already locked (PostgreSQL's
    FOR UPDATE SKIP LOCKED); SQLite's single writer needs no row lock, so there the query is unchanged."""
    if conn.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query
