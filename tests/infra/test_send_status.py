"""Contract of `SendStatusStore`, run against every implementation: in memory, and in Redis (marker `redis`)."""

from __future__ import annotations

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
