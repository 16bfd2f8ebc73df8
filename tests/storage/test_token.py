"""`TokenRepo`'s own chores: expired rows are pruned, the read cache never hides this process's writes, the hot
read is one index probe.

The `TokenStore` contract it shares with memory and Redis is in `tests/infra/test_tokens.py`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from openim.infra.clock import FakeClock
from openim.storage import Storage, open_storage
from openim.storage import token as token_module
from openim.storage.schema import token_state, token_temporary
from openim.storage.token import CACHE_TTL_MS, PRUNE_EVERY_MS, TokenRepo, platform_tokens

NORMAL, KICKED = 0, 2


async def _rows(storage: Storage) -> int:
    async with storage.db.read("test.count_tokens") as conn:
        states = (await conn.execute(select(func.count()).select_from(token_state))).scalar_one()
        marks = (await conn.execute(select(func.count()).select_from(token_temporary))).scalar_one()
        return int(states) + int(marks)


async def test_expired_rows_are_pruned_by_later_writes(storage: Storage) -> None:
    """Rows of users never seen again go with the first write after a start, then at most a minute late."""
    clock = FakeClock()
    before_restart = TokenRepo(storage.db, clock.now_ms)
    for i in range(20):
        await before_restart.set_tokens(f"gone{i}", "Web", {"t": NORMAL}, 1)
        await before_restart.add_temporary(f"gone{i}", "Admin", "t", 1)
    clock.advance(2)
    repo = TokenRepo(storage.db, clock.now_ms)  # a restarted process
    await repo.set_tokens("u1", "Web", {"live": NORMAL}, 3600)
    assert await _rows(storage) == 1
    for i in range(5):
        await repo.set_tokens(f"soon{i}", "IOS", {"t": KICKED}, 1)
    clock.advance(2)
    await repo.set_tokens("u2", "Web", {"t": NORMAL}, 3600)
    assert await _rows(storage) == 7  # pruned less than a minute ago: the expired ones wait
    clock.advance(PRUNE_EVERY_MS / 1000)
    await repo.add_temporary("u1", "Admin", "x", 60)
    assert await _rows(storage) == 3
    assert await repo.purge_expired() == 0


async def test_expired_rows_never_come_back(storage: Storage) -> None:
    """An expired token whose row was not pruned yet stays gone when its (user, platform) is written again."""
    clock = FakeClock()
    repo = TokenRepo(storage.db, clock.now_ms)
    await repo.set_tokens("u0", "Web", {"x": NORMAL}, 3600)  # the first write prunes; the next ones wait a minute
    await repo.set_tokens("u1", "Web", {"old": KICKED}, 1)
    clock.advance(2)
    await repo.set_tokens("u1", "Web", {"new": NORMAL}, 60)
    assert await repo.get_platform_tokens("u1", "Web") == {"new": NORMAL}


async def test_this_process_sees_its_own_writes_at_once(storage: Storage) -> None:
    """The read cache never hides a write of the same repo: a login, a kick, a logout are seen by the next read."""
    clock = FakeClock()
    repo = TokenRepo(storage.db, clock.now_ms)
    assert await repo.get_platform_tokens("u1", "Android") == {}  # cached: nothing
    await repo.set_tokens("u1", "Android", {"t1": NORMAL}, 3600)
    assert await repo.get_platform_tokens("u1", "Android") == {"t1": NORMAL}
    await repo.set_tokens("u1", "Android", {"t1": KICKED}, 3600)
    assert await repo.get_platform_tokens("u1", "Android") == {"t1": KICKED}
    await repo.delete_tokens("u1", "Android", ["t1"])
    assert await repo.get_platform_tokens("u1", "Android") == {}


async def test_a_read_overlapping_a_write_does_not_cache_the_old_state(storage: Storage) -> None:
    """Reads racing a kick may answer either state, but the next read answers the kick, however they interleaved."""
    clock = FakeClock()
    repo = TokenRepo(storage.db, clock.now_ms)
    for round_ in range(20):
        token = f"t{round_}"
        await repo.set_tokens("u1", "Web", {token: NORMAL}, 3600)
        readers = [asyncio.create_task(repo.get_platform_tokens("u1", "Web")) for _ in range(3)]
        await asyncio.sleep(0)
        await repo.set_tokens("u1", "Web", {token: KICKED}, 3600)
        for got in await asyncio.gather(*readers):
            assert got[token] in (NORMAL, KICKED)
        assert (await repo.get_platform_tokens("u1", "Web"))[token] == KICKED, round_


async def test_another_process_sees_a_kick_within_the_cache_ttl(storage: Storage) -> None:
    """A second TokenRepo on the database (another process) sees a kick once its cached read is CACHE_TTL_MS old."""
    clock = FakeClock()
    issuer, checker = TokenRepo(storage.db, clock.now_ms), TokenRepo(storage.db, clock.now_ms)
    await issuer.set_tokens("u1", "Android", {"t1": NORMAL}, 3600)
    assert await checker.get_platform_tokens("u1", "Android") == {"t1": NORMAL}
    await issuer.set_tokens("u1", "Android", {"t1": KICKED}, 3600)
    clock.advance(CACHE_TTL_MS / 1000)
    assert await checker.get_platform_tokens("u1", "Android") == {"t1": KICKED}


async def test_a_cached_read_ends_with_the_hash(storage: Storage) -> None:
    """A cached read does not outlive the tokens' TTL: expired tokens are gone from the cache too."""
    clock = FakeClock()
    repo = TokenRepo(storage.db, clock.now_ms)
    await repo.set_tokens("u1", "Web", {"t1": NORMAL}, 1)
    clock.advance(0.5)
    assert await repo.get_platform_tokens("u1", "Web") == {"t1": NORMAL}
    clock.advance(0.5)
    assert await repo.get_platform_tokens("u1", "Web") == {}


async def test_stale_cached_answers_are_dropped_once_the_cache_is_big(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past _CACHE_PRUNE_AT entries, answers older than CACHE_TTL_MS are dropped (at most once a TTL), so the cache
    holds about the last second's users instead of every user until it is full."""
    monkeypatch.setattr(token_module, "_CACHE_PRUNE_AT", 4)
    clock = FakeClock()
    repo = TokenRepo(storage.db, clock.now_ms)
    for n in range(4):
        await repo.get_platform_tokens(f"old{n}", "Web")
    clock.advance(CACHE_TTL_MS / 1000)
    for n in range(3):
        await repo.get_platform_tokens(f"new{n}", "Web")
    assert set(repo._cache) == {("new0", "Web"), ("new1", "Web"), ("new2", "Web")}
    await repo.get_platform_tokens("new3", "Web")  # at the size again, but within a TTL of the last drop: kept
    assert len(repo._cache) == 4


async def test_the_token_check_is_one_primary_key_probe(tmp_path: Path) -> None:
    """The read behind every REST call and WS connect searches the primary key's prefix, never scans (SQLite plan).

    SQLite only: PostgreSQL plans a table this small as a scan whatever its indexes.
    """
    storage = await open_storage(f"sqlite:///{tmp_path / 'plan.db'}", pool_size=1)
    try:
        query = platform_tokens("u1", "Web", 0).compile(storage.db.engine, compile_kwargs={"literal_binds": True})
        async with storage.db.read("test.explain") as conn:
            plan = " ".join(str(row[-1]) for row in await conn.execute(text(f"EXPLAIN QUERY PLAN {query}")))
    finally:
        await storage.close()
    assert "SEARCH token_state USING INDEX sqlite_autoindex_token_state_1 (user_id=? AND platform=?)" in plan, plan
