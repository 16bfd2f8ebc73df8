"""`RedisTokenStore` on OpenIM's own keys: what an OpenIM server wrote is read, and what we write is OpenIM's.

The behaviour shared with the memory store is in `tests/infra/test_tokens.py`; here only the Redis layout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from openim.infra.redis import RedisTokenStore, connect

pytestmark = pytest.mark.redis


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client on the emptied test database."""
    opened = await connect(redis_url)
    yield opened
    await opened.aclose()


async def test_tokens_written_by_openim_are_read(client: aioredis.Redis) -> None:
    """A hash laid out as OpenIM writes it (state as a decimal string) reads as token → state."""
    await client.hset("UID_PID_TOKEN_STATUS:u1:Android", mapping={"eyJ.a": "0", "eyJ.b": "2"})
    await client.hset("UID_PID_TOKEN_STATUS:u1:OSX", mapping={"eyJ.m": "0"})
    store = RedisTokenStore(client)
    assert await store.get_platform_tokens("u1", "Android") == {"eyJ.a": 0, "eyJ.b": 2}
    assert await store.get_user_tokens("u1") == {"Android": {"eyJ.a": 0, "eyJ.b": 2}, "OSX": {"eyJ.m": 0}}


async def test_written_tokens_are_laid_out_as_openim(client: aioredis.Redis) -> None:
    """set_tokens leaves OpenIM's hash: state strings, one key per platform name, the TTL on the key."""
    store = RedisTokenStore(client)
    await store.set_tokens("u1", "IOS", {"eyJ.i": 0, "eyJ.k": 2}, 86_400)
    assert await client.keys("*") == [b"UID_PID_TOKEN_STATUS:u1:IOS"]
    assert await client.hgetall("UID_PID_TOKEN_STATUS:u1:IOS") == {b"eyJ.i": b"0", b"eyJ.k": b"2"}
    assert 86_390 < await client.ttl("UID_PID_TOKEN_STATUS:u1:IOS") <= 86_400


async def test_temporary_mark_is_openims_empty_string(client: aioredis.Redis) -> None:
    """add_temporary writes "" under OpenIM's double-colon key with the TTL; one written by OpenIM is seen."""
    store = RedisTokenStore(client)
    await store.add_temporary("u1", "Admin", "eyJ.t", 300)
    key = "UID_PID_TOKEN_STATUS::TEMPORARY:u1:Admin:eyJ.t"
    assert await client.get(key) == b""
    assert 290 < await client.ttl(key) <= 300
    await client.set("UID_PID_TOKEN_STATUS::TEMPORARY:u2:Admin:eyJ.o", "", ex=300)
    assert await store.has_temporary("u2", "Admin", "eyJ.o")


async def test_deleting_the_last_token_deletes_the_key(client: aioredis.Redis) -> None:
    """No empty hash is left behind: Redis drops the key with its last field."""
    store = RedisTokenStore(client)
    await store.set_tokens("u1", "Web", {"t1": 0}, 60)
    await store.delete_tokens("u1", "Web", ["t1"])
    assert await client.exists("UID_PID_TOKEN_STATUS:u1:Web") == 0
