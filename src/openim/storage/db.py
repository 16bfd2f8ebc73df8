"""Db: the connection pool and named transactions every repository runs in.

`Db` owns the engine, the transaction boundaries and their bookkeeping: `read(name)` and `write(name)`
yield an `AsyncConnection` inside a transaction that commits on success and rolls back on any exception.
Each transaction is timed into `db.stats` (count, total and max time, errors, the recent slow ones) and one
slower than `DbStats.slow_threshold_s` is logged as a WARNING on `openim.storage` with its name.

On SQLite there is exactly one writer: `write()` holds an asyncio.Lock and begins with BEGIN IMMEDIATE,
so readers (WAL) and the single writer never meet SQLITE_BUSY inside this process; `busy_timeout`
covers other processes on the same file. On PostgreSQL writes run concurrently and reads are READ ONLY.
Everything that differs between the two is in `dialect.py`; this module holds no SQL of its own.

`pool_status()` says how the pool is used right now (size, connections checked out, transactions waiting for a
connection or for SQLite's writer slot): the admin role's metrics and `openim doctor` read it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import QueuePool

from openim.storage import dialect
from openim.storage.dialect import DialectName

__all__ = ["Db", "DbStats", "PoolStatus", "SlowTransaction", "TxStat"]

logger = logging.getLogger("openim.storage")


@dataclass(slots=True)
class TxStat:
    """Totals for one transaction name; `errors` counts transactions that rolled back."""

    count: int = 0
    errors: int = 0
    total_s: float = 0.0
    max_s: float = 0.0


@dataclass(frozen=True, slots=True)
class SlowTransaction:
    """A transaction that took longer than the slow threshold; `at` is Unix time in seconds when it ended."""

    name: str
    seconds: float
    at: float
    ok: bool


@dataclass(frozen=True, slots=True)
class PoolStatus:
    """The pool right now: its size, connections in use, transactions waiting for one (or for the writer slot)."""

    size: int
    in_use: int
    waiting: int


@dataclass(slots=True)
class DbStats:
    """In-memory transaction statistics, read by metrics and `openim logs`; never persisted."""

    slow_threshold_s: float = 0.2
    by_name: dict[str, TxStat] = field(default_factory=dict)
    slow: deque[SlowTransaction] = field(default_factory=lambda: deque(maxlen=100))

    def record(self, name: str, seconds: float, *, ok: bool) -> None:
        """Account one finished transaction; warn on `openim.storage` when it was slow."""
        stat = self.by_name.get(name)
        if stat is None:
            stat = self.by_name[name] = TxStat()
        stat.count += 1
        stat.total_s += seconds
        if seconds > stat.max_s:
            stat.max_s = seconds
        if not ok:
            stat.errors += 1
        if seconds > self.slow_threshold_s:
            self.slow.append(SlowTransaction(name, seconds, time.time(), ok))
            logger.warning(
                "slow transaction %s took %.0f ms%s",
                name,
                seconds * 1000,
                "" if ok else " (rolled back)",
                extra={"tx_name": name, "duration_ms": round(seconds * 1000, 1)},
            )


class Db:
    """An open database: pool, named transactions and their statistics. Build with `await Db.connect(url)`."""

    def __init__(self, engine: AsyncEngine, url: URL) -> None:
        self._engine = engine
        self._url = url
        self._dialect: DialectName = "sqlite" if engine.dialect.name == "sqlite" else "postgresql"
        self._read_engine, self._write_engine = dialect.transaction_engines(engine)
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if self._dialect == "sqlite" else None
        self._waiting = 0
        self.stats = DbStats()

    @classmethod
    async def connect(cls, url: str, *, pool_size: int = 20) -> Db:
        """Open a pool on `url` (sqlite:///file.db or postgresql://…) and check that the database answers.

        Raises ValueError for a URL we cannot use, ConnectionError (masked URL and cause) when the
        database cannot be reached.
        """
        parsed = dialect.normalize_url(url)
        engine = dialect.make_engine(parsed, pool_size=pool_size)
        db = cls(engine, parsed)
        try:
            await db.ping()
        except Exception as exc:
            await engine.dispose()
            raise ConnectionError(f"cannot connect to {db.url}: {exc}") from exc
        return db

    @property
    def dialect(self) -> DialectName:
        """The database kind: "sqlite" or "postgresql"."""
        return self._dialect

    @property
    def url(self) -> str:
        """The URL in use, driver included, password masked."""
        return dialect.mask_url(self._url)

    @property
    def engine(self) -> AsyncEngine:
        """The underlying engine, for Alembic and ops tools; repositories use `read` and `write`."""
        return self._engine

    @asynccontextmanager
    async def read(self, name: str) -> AsyncIterator[AsyncConnection]:
        """A read transaction named `name` (READ ONLY on PostgreSQL, a WAL snapshot on SQLite)."""
        async with self._transaction(name, self._read_engine, nullcontext()) as conn:
            yield conn

    @asynccontextmanager
    async def write(self, name: str) -> AsyncIterator[AsyncConnection]:
        """A write transaction named `name`; on SQLite it waits for the single writer slot first.

        The time recorded includes waiting for that slot, since that is what the caller waited.
        """
        async with self._transaction(name, self._write_engine, self._write_lock or nullcontext()) as conn:
            yield conn

    @asynccontextmanager
    async def _transaction(
        self, name: str, engine: AsyncEngine, lock: AbstractAsyncContextManager[object]
    ) -> AsyncIterator[AsyncConnection]:
        """Count the caller as waiting until it holds `lock` and a connection, then record the named stat."""
        start = time.perf_counter()
        ok = False
        self._waiting += 1
        waiting = True
        try:
            async with lock, engine.begin() as conn:
                self._waiting -= 1
                waiting = False
                yield conn
            ok = True
        finally:
            if waiting:
                self._waiting -= 1
            self.stats.record(name, time.perf_counter() - start, ok=ok)

    def pool_status(self) -> PoolStatus:
        """How the connection pool is used right now (cheap: no I/O)."""
        pool = self._engine.pool
        size = pool.size() if isinstance(pool, QueuePool) else 0
        in_use = pool.checkedout() if isinstance(pool, QueuePool) else 0
        return PoolStatus(size=size, in_use=in_use, waiting=self._waiting)

    async def ping(self) -> float:
        """Round-trip `SELECT 1` on a pooled connection; returns the latency in seconds. Not counted in stats."""
        start = time.perf_counter()
        async with self._read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return time.perf_counter() - start

    async def close(self) -> None:
        """Close every pooled connection; the Db must not be used afterwards."""
        await self._engine.dispose()
