"""Contract of `TokenStore`, run against every implementation; plus the memory implementation's own chores.

Implementations: memory, the database (`storage/token.py`, on SQLite and PostgreSQL) and Redis. The contract
tests reach time only through `Harness.advance`, so Redis advances by sleeping (its TTLs here are a few seconds
at most) while memory and the database move a FakeClock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.conftest import empty_db_url

from openim.infra.clock import FakeClock
from openim.infra.redis import RedisTokenStore, connect
from openim.infra.tokens import MemoryTokenStore, TokenStore, temporary_token_key, token_key
from openim.storage import open_storage
from openim.storage.token import TokenRepo

NORMAL, KICKED = 0, 2


@dataclass
class Harness:
    store: TokenStore
    advance: Callable[[float], Awaitable[None]]


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    """A store of the requested kind and a way to let time pass for it (Redis: sleep, on an emptied database)."""
    if request.param in ("memory", "sqlite", "postgres"):
        clock = FakeClock()

        async def advance(seconds: float) -> None:
            clock.advance(seconds)

        if request.param == "memory":
            yield Harness(MemoryTokenStore(clock), advance)
            return
        storage = await open_storage(await empty_db_url(request, request.param, tmp_path), pool_size=2)
        yield Harness(TokenRepo(storage.db, clock.now_ms), advance)
        await storage.close()
        return
    client = await connect(request.getfixturevalue("redis_url"))
    yield Harness(RedisTokenStore(client), asyncio.sleep)
    await client.aclose()


async def test_unknown_user_has_no_tokens(harness: Harness) -> None:
    """A user never written reads as empty, per platform and over all platforms."""
    assert await harness.store.get_platform_tokens("u1", "Android") == {}
    assert await harness.store.get_user_tokens("u1") == {}


async def test_set_then_get(harness: Harness) -> None:
    """Written states are read back for that user and platform only."""
    await harness.store.set_tokens("u1", "Android", {"t1": NORMAL, "t2": KICKED}, 60)
    assert await harness.store.get_platform_tokens("u1", "Android") == {"t1": NORMAL, "t2": KICKED}
    assert await harness.store.get_platform_tokens("u1", "IOS") == {}
    assert await harness.store.get_platform_tokens("u2", "Android") == {}


async def test_set_merges_like_hset(harness: Harness) -> None:
    """A second write overwrites the fields it names and keeps the others."""
    await harness.store.set_tokens("u1", "Web", {"t1": NORMAL, "t2": NORMAL}, 60)
    await harness.store.set_tokens("u1", "Web", {"t2": KICKED, "t3": NORMAL}, 60)
    assert await harness.store.get_platform_tokens("u1", "Web") == {"t1": NORMAL, "t2": KICKED, "t3": NORMAL}


async def test_results_are_copies(harness: Harness) -> None:
    """Changing a returned dict does not change the store."""
    await harness.store.set_tokens("u1", "Web", {"t1": NORMAL}, 60)
    got = await harness.store.get_platform_tokens("u1", "Web")
    got["t1"] = KICKED
    everything = await harness.store.get_user_tokens("u1")
    everything["Web"]["t1"] = KICKED
    assert await harness.store.get_platform_tokens("u1", "Web") == {"t1": NORMAL}


async def test_empty_states_write_nothing(harness: Harness) -> None:
    """Setting no states creates no hash."""
    await harness.store.set_tokens("u1", "Web", {}, 60)
    assert await harness.store.get_user_tokens("u1") == {}


@pytest.mark.parametrize("ttl_s", [0, -1])
async def test_non_positive_ttl_is_refused(harness: Harness, ttl_s: int) -> None:
    """A TTL that would delete the key at once is a caller bug and raises ValueError."""
    with pytest.raises(ValueError):
        await harness.store.set_tokens("u1", "Web", {"t1": NORMAL}, ttl_s)
    with pytest.raises(ValueError):
        await harness.store.add_temporary("u1", "Admin", "t1", ttl_s)


async def test_hash_expires_after_its_ttl(harness: Harness) -> None:
    """The hash is readable before its TTL runs out and gone after it."""
    await harness.store.set_tokens("u1", "Android", {"t1": NORMAL}, 2)
    await harness.advance(1)
    assert await harness.store.get_platform_tokens("u1", "Android") == {"t1": NORMAL}
    await harness.advance(1.5)
    assert await harness.store.get_platform_tokens("u1", "Android") == {}
    assert await harness.store.get_user_tokens("u1") == {}


async def test_set_resets_the_ttl_of_the_whole_hash(harness: Harness) -> None:
    """Writing one field extends the life of every field of that hash."""
    await harness.store.set_tokens("u1", "Android", {"old": NORMAL}, 2)
    await harness.advance(1.5)
    await harness.store.set_tokens("u1", "Android", {"new": NORMAL}, 2)
    await harness.advance(1.5)
    assert await harness.store.get_platform_tokens("u1", "Android") == {"old": NORMAL, "new": NORMAL}
    await harness.advance(1)
    assert await harness.store.get_platform_tokens("u1", "Android") == {}


async def test_ttl_is_per_platform(harness: Harness) -> None:
    """Writing one platform's hash does not extend another platform's."""
    await harness.store.set_tokens("u1", "Android", {"a": NORMAL}, 2)
    await harness.advance(1.5)
    await harness.store.set_tokens("u1", "IOS", {"i": NORMAL}, 2)
    await harness.advance(1)
    assert await harness.store.get_user_tokens("u1") == {"IOS": {"i": NORMAL}}


async def test_delete_removes_named_tokens_only(harness: Harness) -> None:
    """Deleting removes the named fields and ignores unknown ones."""
    await harness.store.set_tokens("u1", "Web", {"t1": NORMAL, "t2": KICKED, "t3": NORMAL}, 60)
    await harness.store.delete_tokens("u1", "Web", ["t1", "t2", "nope"])
    assert await harness.store.get_platform_tokens("u1", "Web") == {"t3": NORMAL}


async def test_delete_on_missing_hash_is_a_no_op(harness: Harness) -> None:
    """Deleting from a user or platform without tokens succeeds and creates nothing."""
    await harness.store.delete_tokens("u1", "Web", ["t1"])
    await harness.store.delete_tokens("u1", "Web", [])
    assert await harness.store.get_user_tokens("u1") == {}


async def test_delete_keeps_the_ttl(harness: Harness) -> None:
    """Deleting a field does not extend the remaining fields' life."""
    await harness.store.set_tokens("u1", "Web", {"t1": NORMAL, "t2": NORMAL}, 2)
    await harness.advance(1)
    await harness.store.delete_tokens("u1", "Web", ["t1"])
    await harness.advance(1.5)
    assert await harness.store.get_platform_tokens("u1", "Web") == {}


async def test_deleting_the_last_field_drops_the_hash(harness: Harness) -> None:
    """An emptied hash is gone, and a later write starts it with a fresh TTL."""
    await harness.store.set_tokens("u1", "Web", {"t1": NORMAL}, 2)
    await harness.advance(1.5)
    await harness.store.delete_tokens("u1", "Web", ["t1"])
    assert await harness.store.get_user_tokens("u1") == {}
    await harness.store.set_tokens("u1", "Web", {"t2": NORMAL}, 2)
    await harness.advance(1.5)
    assert await harness.store.get_platform_tokens("u1", "Web") == {"t2": NORMAL}


async def test_user_tokens_group_known_platforms(harness: Harness) -> None:
    """All platforms of one user come back keyed by platform name; other users and unknown names stay out."""
    await harness.store.set_tokens("u1", "Android", {"a": NORMAL}, 60)
    await harness.store.set_tokens("u1", "Windows", {"w": KICKED}, 60)
    await harness.store.set_tokens("u1", "Admin", {"ad": NORMAL}, 60)
    await harness.store.set_tokens("u1", "Unknown42", {"x": NORMAL}, 60)
    await harness.store.set_tokens("u2", "IOS", {"i": NORMAL}, 60)
    assert await harness.store.get_user_tokens("u1") == {
        "Android": {"a": NORMAL},
        "Windows": {"w": KICKED},
        "Admin": {"ad": NORMAL},
    }


async def test_temporary_mark_is_exact(harness: Harness) -> None:
    """A temporary mark exists for its own user, platform and token only."""
    await harness.store.add_temporary("u1", "Admin", "t1", 60)
    assert await harness.store.has_temporary("u1", "Admin", "t1")
    assert not await harness.store.has_temporary("u1", "Admin", "t2")
    assert not await harness.store.has_temporary("u1", "Web", "t1")
    assert not await harness.store.has_temporary("u2", "Admin", "t1")
    assert await harness.store.get_user_tokens("u1") == {}


async def test_temporary_mark_expires(harness: Harness) -> None:
    """A temporary mark lasts its TTL and no longer."""
    await harness.store.add_temporary("u1", "Admin", "t1", 2)
    await harness.advance(1)
    assert await harness.store.has_temporary("u1", "Admin", "t1")
    await harness.advance(1.5)
    assert not await harness.store.has_temporary("u1", "Admin", "t1")


def test_keys_are_spelled_as_openim() -> None:
    """The Redis keys are OpenIM's, including the double colon of the temporary key."""
    assert token_key("u1", "Android") == "UID_PID_TOKEN_STATUS:u1:Android"
    assert temporary_token_key("u1", "Admin", "abc") == "UID_PID_TOKEN_STATUS::TEMPORARY:u1:Admin:abc"


async def test_memory_expiry_is_exact_to_the_millisecond() -> None:
    """In memory a hash and a mark live exactly ttl_s seconds by the clock: present 1 ms before, gone at the mark."""
    clock = FakeClock()
    store = MemoryTokenStore(clock)
    await store.set_tokens("u1", "Web", {"t1": NORMAL}, 10)
    await store.add_temporary("u1", "Admin", "t1", 10)
    clock.advance(9.999)
    assert await store.get_platform_tokens("u1", "Web") == {"t1": NORMAL}
    assert await store.has_temporary("u1", "Admin", "t1")
    clock.advance(0.001)
    assert await store.get_platform_tokens("u1", "Web") == {}
    assert not await store.has_temporary("u1", "Admin", "t1")


async def test_memory_purge_drops_expired_entries() -> None:
    """`purge_expired` drops expired hashes and marks, keeps live ones, and reports the count."""
    clock = FakeClock()
    store = MemoryTokenStore(clock)
    await store.set_tokens("u1", "Web", {"t1": NORMAL}, 1)
    await store.add_temporary("u1", "Admin", "t1", 1)
    await store.set_tokens("u2", "Web", {"t2": NORMAL}, 100)
    clock.advance(5)
    assert store.purge_expired() == 2
    assert store.purge_expired() == 0
    assert await store.get_platform_tokens("u2", "Web") == {"t2": NORMAL}


async def test_memory_sweeps_while_writing() -> None:
    """Expired entries of users never read again are swept by later writes, so memory stays bounded."""
    clock = FakeClock()
    store = MemoryTokenStore(clock)
    for i in range(100):
        await store.set_tokens(f"gone{i}", "Web", {"t": NORMAL}, 1)
    clock.advance(2)
    for i in range(MemoryTokenStore._SWEEP_EVERY):
        await store.add_temporary("u1", "Admin", f"t{i}", 60)
    assert store.purge_expired() == 0
