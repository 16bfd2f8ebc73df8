"""Contract of `Presence`, run against every implementation: in memory, and in Redis (marker `redis`).

Expiry is not part of the shared contract (nothing expires in memory); the Redis TTL is tested in
`tests/infra/redis/test_presence.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from openim.infra.presence import PRESENCE_REFRESH_INTERVAL_S, PRESENCE_TTL_S, MemoryPresence, Presence
from openim.infra.redis import RedisPresence, connect


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def presence(request: pytest.FixtureRequest) -> AsyncIterator[Presence]:
    """A presence store of the requested kind, empty."""
    if request.param == "memory":
        yield MemoryPresence()
        return
    client = await connect(request.getfixturevalue("redis_url"))
    yield RedisPresence(client)
    await client.aclose()


async def test_unknown_users_are_offline(presence: Presence) -> None:
    """Every requested user is in the answer; one never seen has no platforms."""
    assert await presence.online_platforms(["u1", "u2"]) == {"u1": [], "u2": []}


async def test_platforms_are_listed_sorted(presence: Presence) -> None:
    """A user online on several platforms lists each platform once, ascending."""
    await presence.set_online("u1", 5, "c1")
    await presence.set_online("u1", 2, "c2")
    await presence.set_online("u1", 5, "c3")
    assert await presence.online_platforms(["u1"]) == {"u1": [2, 5]}


async def test_platform_stays_online_until_its_last_connection_ends(presence: Presence) -> None:
    """Two connections on one platform: the platform goes offline only when both are gone."""
    await presence.set_online("u1", 5, "c1")
    await presence.set_online("u1", 5, "c2")
    await presence.set_offline("u1", 5, "c1")
    assert await presence.online_platforms(["u1"]) == {"u1": [5]}
    await presence.set_offline("u1", 5, "c2")
    assert await presence.online_platforms(["u1"]) == {"u1": []}


async def test_calls_are_idempotent(presence: Presence) -> None:
    """Registering twice or removing an unknown connection changes nothing and does not raise."""
    await presence.set_online("u1", 1, "c1")
    await presence.set_online("u1", 1, "c1")
    await presence.set_offline("u1", 1, "zz")
    await presence.set_offline("nobody", 3, "c9")
    await presence.set_offline("u1", 1, "c1")
    assert await presence.online_platforms(["u1", "nobody"]) == {"u1": [], "nobody": []}


async def test_connections_list_each_live_connection(presence: Presence) -> None:
    """connections() names every live (platform, connection) pair of each user, offline users with none."""
    await presence.set_online("u1", 5, "c2")
    await presence.set_online("u1", 2, "c1")
    await presence.set_online("u1", 5, "c3")
    await presence.set_offline("u1", 5, "c3")
    assert await presence.connections(["u1", "u2"]) == {"u1": [(2, "c1"), (5, "c2")], "u2": []}


async def test_refresh_keeps_a_registered_connection(presence: Presence) -> None:
    """Refreshing a registered connection reports True and leaves it, and only it, online."""
    await presence.set_online("u1", 5, "c1")
    assert await presence.refresh("u1", 5, "c1")
    assert await presence.connections(["u1"]) == {"u1": [(5, "c1")]}


async def test_refresh_never_registers(presence: Presence) -> None:
    """Refreshing an unknown or ended connection reports False and does not bring it online."""
    assert not await presence.refresh("u1", 5, "c1")
    await presence.set_online("u1", 5, "c1")
    await presence.set_offline("u1", 5, "c1")
    assert not await presence.refresh("u1", 5, "c1")
    assert not await presence.refresh("u1", 2, "c1")
    assert await presence.connections(["u1"]) == {"u1": []}


async def test_empty_request_gets_empty_answer(presence: Presence) -> None:
    """Asking about no users answers with an empty dict; duplicates are answered once."""
    await presence.set_online("u1", 1, "c1")
    assert await presence.online_platforms([]) == {}
    assert await presence.connections([]) == {}
    assert await presence.online_platforms(["u1", "u1"]) == {"u1": [1]}


async def test_connection_ids_may_contain_colons(presence: Presence) -> None:
    """A connection ID is opaque: one with colons is stored and listed whole."""
    await presence.set_online("u1", 3, "node-a:7:x")
    assert await presence.connections(["u1"]) == {"u1": [(3, "node-a:7:x")]}
    assert await presence.refresh("u1", 3, "node-a:7:x")
    await presence.set_offline("u1", 3, "node-a:7:x")
    assert await presence.connections(["u1"]) == {"u1": []}


def test_refresh_interval_leaves_room_for_a_lost_refresh() -> None:
    """A live connection survives one lost refresh: two refresh intervals are shorter than the TTL."""
    assert 2 * PRESENCE_REFRESH_INTERVAL_S < PRESENCE_TTL_S


async def test_tokens_list_each_live_connection(presence: Presence) -> None:
    """tokens() names the token of each live connection per platform; an ended connection's token is gone."""
    await presence.set_online("u1", 5, "c1", "tok-web")
    await presence.set_online("u1", 2, "c2", "tok-android")
    await presence.set_online("u1", 5, "c3", "tok-web")
    await presence.set_online("u1", 3, "c4")
    await presence.set_offline("u1", 2, "c2")
    assert await presence.tokens(["u1", "u2"]) == {"u1": [(3, ""), (5, "tok-web"), (5, "tok-web")], "u2": []}


async def test_refresh_keeps_the_token(presence: Presence) -> None:
    """A refreshed registration still lists its token."""
    await presence.set_online("u1", 5, "c1", "tok")
    assert await presence.refresh("u1", 5, "c1")
    assert await presence.tokens(["u1"]) == {"u1": [(5, "tok")]}


async def test_subscriptions_are_the_union_over_live_connections(presence: Presence) -> None:
    """subscribed() unions what the user's live connections watch; remove applies before add."""
    await presence.set_online("u1", 5, "c1")
    await presence.set_online("u1", 2, "c2")
    await presence.subscribe("u1", "c1", ["b", "a"], [])
    await presence.subscribe("u1", "c2", ["c", "a"], [])
    assert await presence.subscribed("u1") == ["a", "b", "c"]
    await presence.subscribe("u1", "c1", ["d"], ["b", "a"])
    assert await presence.subscribed("u1") == ["a", "c", "d"]
    assert await presence.subscribed("u2") == []


async def test_subscriptions_end_with_the_connection(presence: Presence) -> None:
    """A connection that goes offline takes its subscriptions with it; a new one starts with none."""
    await presence.set_online("u1", 5, "c1")
    await presence.subscribe("u1", "c1", ["b"], [])
    await presence.set_offline("u1", 5, "c1")
    assert await presence.subscribed("u1") == []
    await presence.set_online("u1", 5, "c2")
    assert await presence.subscribed("u1") == []


async def test_subscriptions_of_unknown_connections_are_not_read(presence: Presence) -> None:
    """Subscribing for a connection that is not registered leaves nothing a reader sees."""
    await presence.subscribe("u1", "ghost", ["b"], [])
    assert await presence.subscribed("u1") == []
    await presence.set_online("u1", 5, "c1")
    assert await presence.subscribed("u1") == []


async def test_background_flag_follows_the_connection(presence: Presence) -> None:
    """states() shows each connection's background flag: set at registration, changed by set_background (token
    and registration kept, through a refresh), forgotten with the connection; an unknown connection stays unknown."""
    await presence.set_online("u1", 1, "ios", "tok", background=True)
    await presence.set_online("u1", 5, "web")
    assert await presence.states(["u1", "u2"]) == {"u1": [(1, "ios", True), (5, "web", False)], "u2": []}
    await presence.set_background("u1", 1, "ios", False)
    await presence.set_background("u1", 5, "web", True)
    assert await presence.refresh("u1", 5, "web")
    assert await presence.states(["u1"]) == {"u1": [(1, "ios", False), (5, "web", True)]}
    assert await presence.tokens(["u1"]) == {"u1": [(1, "tok"), (5, "")]}
    await presence.set_background("u1", 2, "never-registered", True)
    await presence.set_offline("u1", 5, "web")
    await presence.set_online("u1", 5, "web")
    assert await presence.states(["u1"]) == {"u1": [(1, "ios", False), (5, "web", False)]}
    assert await presence.connections(["u1"]) == {"u1": [(1, "ios"), (5, "web")]}


async def test_pushed_on_mobile_is_android_or_ios_in_foreground(presence: Presence) -> None:
    """pushed_on_mobile() names the users whose phone takes online pushes: any Android connection (background too),
    an iOS one in foreground; web, desktop, an iOS app in background, no connection or a closed one do not count."""
    await presence.set_online("android", 2, "a1", background=True)
    await presence.set_online("ios", 1, "i1")
    await presence.set_online("ios-bg", 1, "i2", background=True)
    await presence.set_online("ios-two", 1, "i3", background=True)
    await presence.set_online("ios-two", 1, "i4")
    await presence.set_online("web", 5, "w1")
    await presence.set_online("gone", 2, "g1")
    await presence.set_offline("gone", 2, "g1")
    users = ["android", "ios", "ios-bg", "ios-two", "web", "gone", "never"]
    assert await presence.pushed_on_mobile(users) == {"android", "ios", "ios-two"}
    await presence.set_background("ios", 1, "i1", True)
    await presence.set_background("ios-bg", 1, "i2", False)
    assert await presence.pushed_on_mobile(users) == {"android", "ios-bg", "ios-two"}
    assert await presence.pushed_on_mobile([]) == set()
