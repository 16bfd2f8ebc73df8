"""`RedisPresence`: registrations expire unless refreshed, by Redis's clock, and leave nothing behind.

The behaviour shared with the memory implementation is in `tests/infra/test_presence.py`; here the TTL, the
key layout and the cleanup. TTLs are fractions of a second so the tests can sleep through them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from openim.infra.presence import PRESENCE_TTL_S
from openim.infra.redis import RedisPresence, connect, presence_key
from openim.infra.redis.presence import subscription_key

pytestmark = pytest.mark.redis

TTL = 0.8  # long enough that a refresh TTL/4 late under a loaded CI is still in time


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client on the emptied test database."""
    opened = await connect(redis_url)
    yield opened
    await opened.aclose()


async def test_non_positive_ttl_is_refused(client: aioredis.Redis) -> None:
    """A TTL that would expire every registration at once is a configuration bug."""
    with pytest.raises(ValueError):
        RedisPresence(client, ttl_s=0)


async def test_layout_is_one_hash_per_user_with_a_key_ttl(client: aioredis.Redis) -> None:
    """Each connection is a field `<platformID>:<connID>` of `OPENIM_PRESENCE:<userID>`, the key has the TTL."""
    presence = RedisPresence(client)
    await presence.set_online("u1", 5, "gw1-7")
    assert presence_key("u1") == "OPENIM_PRESENCE:u1"
    assert await client.hkeys("OPENIM_PRESENCE:u1") == [b"5:gw1-7"]
    assert PRESENCE_TTL_S * 1000 - 1000 < await client.pttl("OPENIM_PRESENCE:u1") <= PRESENCE_TTL_S * 1000


async def test_unrefreshed_connection_expires(client: aioredis.Redis) -> None:
    """A gateway that stops refreshing (it crashed) loses its connections after the TTL, key included."""
    presence = RedisPresence(client, ttl_s=TTL)
    await presence.set_online("u1", 5, "c1")
    await asyncio.sleep(TTL + 0.1)
    assert await presence.online_platforms(["u1"]) == {"u1": []}
    assert await presence.connections(["u1"]) == {"u1": []}
    assert await client.exists(presence_key("u1")) == 0


async def test_refresh_keeps_a_connection_past_its_first_ttl(client: aioredis.Redis) -> None:
    """Refreshing more often than the TTL keeps a connection online for longer than one TTL."""
    presence = RedisPresence(client, ttl_s=TTL)
    await presence.set_online("u1", 5, "c1")
    for _ in range(5):
        await asyncio.sleep(TTL / 4)
        assert await presence.refresh("u1", 5, "c1")
    assert await presence.online_platforms(["u1"]) == {"u1": [5]}


async def test_expired_connection_is_not_refreshed(client: aioredis.Redis) -> None:
    """Once a registration expired, refresh reports False and the gateway must call set_online again."""
    presence = RedisPresence(client, ttl_s=TTL)
    await presence.set_online("u1", 5, "c1")
    await presence.set_online("u1", 6, "c2")
    await asyncio.sleep(TTL + 0.1)
    await presence.set_online("u1", 6, "c2")
    await asyncio.sleep(TTL / 2)
    assert await presence.refresh("u1", 6, "c2")
    assert not await presence.refresh("u1", 5, "c1")
    assert await presence.connections(["u1"]) == {"u1": [(6, "c2")]}
    await presence.set_online("u1", 5, "c1")
    assert await presence.online_platforms(["u1"]) == {"u1": [5, 6]}


async def test_expired_fields_are_hidden_then_pruned(client: aioredis.Redis) -> None:
    """A dead gateway's field is hidden from reads while the user stays online elsewhere, then pruned."""
    dead = RedisPresence(client, ttl_s=TTL)
    alive = RedisPresence(client, ttl_s=60)
    await dead.set_online("u1", 1, "dead")
    await alive.set_online("u1", 2, "live")
    await asyncio.sleep(TTL + 0.1)
    assert await alive.connections(["u1"]) == {"u1": [(2, "live")]}
    assert await client.hlen(presence_key("u1")) == 2
    await alive.set_online("u1", 3, "new")
    assert sorted(await client.hkeys(presence_key("u1"))) == [b"2:live", b"3:new"]


async def test_a_shorter_ttl_never_shortens_the_key(client: aioredis.Redis) -> None:
    """A gateway with a shorter TTL does not cut short the key holding another gateway's longer registration."""
    long_lived = RedisPresence(client, ttl_s=60)
    short_lived = RedisPresence(client, ttl_s=TTL)
    await long_lived.set_online("u1", 1, "a")
    await short_lived.set_online("u1", 2, "b")
    await asyncio.sleep(TTL + 0.1)
    assert await short_lived.online_platforms(["u1"]) == {"u1": [1]}
    assert await client.pttl(presence_key("u1")) > 50_000


async def test_two_gateways_share_one_view(redis_url: str) -> None:
    """Connections registered through two clients (two gateways) are seen by a third (the api)."""
    clients = [await connect(redis_url) for _ in range(3)]
    try:
        gw1, gw2, api = (RedisPresence(c) for c in clients)
        await gw1.set_online("u1", 1, "gw1-1")
        await gw2.set_online("u1", 1, "gw2-1")
        await gw2.set_online("u2", 5, "gw2-2")
        await gw1.set_offline("u1", 1, "gw1-1")
        assert await api.online_platforms(["u1", "u2", "u3"]) == {"u1": [1], "u2": [5], "u3": []}
    finally:
        for c in clients:
            await c.aclose()


async def test_subscriptions_expire_with_their_connection(client: aioredis.Redis) -> None:
    """A connection's subscription set lives as long as its registration: refresh extends both, and without
    refreshes (a crashed gateway) both are gone after the TTL."""
    presence = RedisPresence(client, ttl_s=TTL)
    await presence.set_online("u1", 5, "c1", "tok")
    await presence.subscribe("u1", "c1", ["b"], [])
    assert await client.smembers(subscription_key("u1", "c1")) == {b"b"}
    for _ in range(3):
        await asyncio.sleep(TTL / 2)
        assert await presence.refresh("u1", 5, "c1")
    assert await presence.subscribed("u1") == ["b"]
    await asyncio.sleep(TTL + 0.1)
    assert await presence.subscribed("u1") == []
    assert await client.exists(subscription_key("u1", "c1"), presence_key("u1")) == 0


async def test_token_rides_in_the_registration_value(client: aioredis.Redis) -> None:
    """The field's value is `<expiry ms>:<token>`, so one HGETALL reads liveness and tokens together."""
    presence = RedisPresence(client)
    await presence.set_online("u1", 5, "c1", "tok")
    value = (await client.hget(presence_key("u1"), "5:c1")).decode()
    expiry, _, token = value.partition(":")
    assert int(expiry) > 0 and token == "tok"
