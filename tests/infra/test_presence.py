"""Contract of `Presence`, run against every implementation (["memory"] for now)."""

from __future__ import annotations

import pytest

from openim.infra.presence import MemoryPresence, Presence


@pytest.fixture(params=["memory"])
async def presence(request: pytest.FixtureRequest) -> Presence:
    """A presence store of the requested kind, empty."""
    assert request.param == "memory"
    return MemoryPresence()


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
