"""Contract of `SendStatusStore`, run against every implementation: in memory, and in Redis (marker `redis`)."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator

import pytest

from openim.infra.redis import connect
from openim.infra.redis.send_status import RedisSendStatus, send_status_key
from openim.infra.send_status import MemorySendStatus, SendStatusStore


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[SendStatusStore]:
    if request.param == "memory":
        yield MemorySendStatus()
        return
    client = await connect(request.getfixturevalue("redis_url"))
    yield RedisSendStatus(client)
    await client.aclose()


async def test_owner_reads_its_status(store: SendStatusStore) -> None:
    """The sender reads the status it recorded; an unknown operationID reads 0."""
    await store.set("op1", "alice", 2)
    assert await store.get("op1", "alice") == 2
    assert await store.get("op2", "alice") == 0


async def test_another_user_reads_nothing(store: SendStatusStore) -> None:
    """Another user asking for the same operationID gets 0, not the sender's status."""
    await store.set("op1", "alice", 3)
    assert await store.get("op1", "bob") == 0


async def test_any_owner_reads_the_latest_send(store: SendStatusStore) -> None:
    """With any_owner (admins) the latest send under the operationID answers; one's own entry comes first."""
    await store.set("op1", "alice", 2)
    await store.set("op1", "bob", 3)
    assert await store.get("op1", "imAdmin", any_owner=True) == 3
    assert await store.get("op1", "alice", any_owner=True) == 2
    assert await store.get("op1", "bob") == 3


async def test_a_later_status_replaces_an_earlier_one(store: SendStatusStore) -> None:
    """A second send with the same operationID by the same user overwrites its status."""
    await store.set("op1", "alice", 3)
    await store.set("op1", "alice", 2)
    assert await store.get("op1", "alice") == 2


async def test_empty_operation_id_is_not_kept(store: SendStatusStore) -> None:
    """A send without operationID records nothing."""
    await store.set("", "alice", 2)
    assert await store.get("", "alice", any_owner=True) == 0


async def test_memory_store_is_bounded() -> None:
    """The in-memory store forgets the oldest operationIDs beyond its bound."""
    store = MemorySendStatus(max_entries=2)
    for op in ("a", "b", "c"):
        await store.set(op, "u", 2)
    assert [await store.get(op, "u") for op in ("a", "b", "c")] == [0, 2, 2]


async def test_memory_store_expires() -> None:
    """An entry older than the TTL reads as 0."""
    store = MemorySendStatus(ttl_s=-1)
    await store.set("op", "u", 2)
    assert await store.get("op", "u") == 0


@pytest.mark.redis
async def test_redis_entry_has_a_ttl(redis_url: str) -> None:
    """The Redis key expires (24 h by default), so Redis does not fill up with old operationIDs."""
    client = await connect(redis_url)
    try:
        await RedisSendStatus(client, ttl_s=60).set("op-ttl", "alice", 2)
        ttl = await client.pttl(send_status_key("op-ttl"))
        assert 0 < ttl <= 60_000
    finally:
        await client.aclose()


async def test_memory_store_bounds_the_owners_of_one_operation_id() -> None:
    """One operationID reused by many users keeps the latest `max_owners` of them, not every one: the entry
    bound alone would not bound memory then."""
    store = MemorySendStatus(max_owners=3)
    for user in ("u1", "u2", "u3", "u4"):
        await store.set("shared", user, 2)
    assert [await store.get("shared", user) for user in ("u1", "u2", "u3", "u4")] == [0, 2, 2, 2]
    await store.set("shared", "u2", 3)  # a send again moves its owner last: u3 is now the earliest
    await store.set("shared", "u5", 2)
    assert [await store.get("shared", user) for user in ("u2", "u3", "u4", "u5")] == [3, 0, 2, 2]
    assert await store.get("shared", "imAdmin", any_owner=True) == 2  # u5's, the latest


async def test_memory_store_entry_is_small() -> None:
    """A full store is what a busy process carries (every send adds an operationID, kept a day): an entry of one
    owner costs under 250 bytes besides its operationID string (about 150 measured; the dict per entry it
    replaced cost about 340), so 100,000 of them stay near 25 MiB with their operationIDs."""
    count = 20_000
    owners = [f"user{i}" for i in range(100)]  # user IDs are shared objects in the server (the caller's)
    operation_ids = [f"{owners[i % 100]}-op-{i:06d}" for i in range(count)]  # made before tracing: the request's
    store = MemorySendStatus(max_entries=count)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i, operation_id in enumerate(operation_ids):
            await store.set(operation_id, owners[i % 100], 2)
        per_entry = (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()
    assert await store.get(operation_ids[-1], owners[(count - 1) % 100]) == 2
    assert per_entry < 250, per_entry
