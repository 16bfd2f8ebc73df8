"""The fact cache across processes (storage/facts.py, services/facts_sync.py): two runtimes on one database and one
Redis, as two split processes are; a change made through one takes effect for a send handled by the other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tests import factories
from tests.services.msgkit import caller, text_msg

from openim.infra.bus import TOPIC_FACTS, Invalidate
from openim.infra.clock import FakeClock
from openim.protocol.constants import SessionType
from openim.protocol.errors import BlockedByPeer, MutedInGroup, NotInGroupYetError, NotPeersFriend
from openim.runtime import Runtime
from openim.settings import Settings
from openim.storage.facts import FACT_USER
from openim.storage.group import MemberChange
from openim.storage.rows import User


async def _live(rt: Runtime) -> None:
    """Wait until the runtime's fact cache is on: its bus subscription is confirmed by Redis."""
    async with asyncio.timeout(10):
        while not rt.storage.facts.enabled:  # noqa: ASYNC110 (the cache's state, set by a bus callback)
            await asyncio.sleep(0.01)


@pytest.fixture
async def pair(db_url: str, redis_url: str) -> AsyncIterator[tuple[Runtime, Runtime]]:
    """Two processes' runtimes (friendVerify on) sharing the database and Redis."""
    settings = Settings.model_validate(
        {"database": {"url": db_url}, "redis": {"url": redis_url}, "msg": {"friendVerify": True}}
    )
    clock = FakeClock()
    first = await Runtime.build(settings, clock=clock)
    second = await Runtime.build(settings, clock=clock)
    try:
        await _live(first)
        await _live(second)
        yield first, second
    finally:
        await second.close()
        await first.close()


async def _heard(writer: Runtime, sender: Runtime) -> None:
    """Wait as a client's next request would (it follows the writer's answer): until the sender's process
    applied every change the writer published. A change whose invalidation never comes times out here."""
    assert writer.fact_sync is not None and sender.fact_sync is not None
    origin, serial = writer.fact_sync.origin, writer.fact_sync.serial
    async with asyncio.timeout(10):
        while sender.fact_sync.seen(origin) < serial:  # noqa: ASYNC110 (a counter set by a bus callback)
            await asyncio.sleep(0.001)


async def test_a_change_in_one_process_takes_effect_in_another(pair: tuple[Runtime, Runtime]) -> None:
    """Block, unblock, unfriend, mute and kick made through one process decide the next send of the other."""
    writer, sender = pair
    now = writer.clock.now_ms()
    await writer.storage.user.create_users([User(u, u, "", "", 0, 0, now) for u in ("alice", "bob", "carol")])
    await writer.storage.friend.become_friends("bob", ["alice"], add_source=1, operator="bob", now=now)
    send = sender.services.msg.send

    async def alice_to_bob() -> None:
        await _heard(writer, sender)
        await send(caller("alice"), text_msg("alice", "bob"), operation_id="")

    await alice_to_bob()  # the sender's process now holds bob's blacklist and friends in memory
    await writer.storage.friend.add_black("bob", "alice", ex="", operator="bob", now=now)
    with pytest.raises(BlockedByPeer):
        await alice_to_bob()
    await writer.storage.friend.remove_black("bob", "alice", now=now)
    await alice_to_bob()
    await writer.storage.friend.delete_friend("bob", "alice", now=now)
    with pytest.raises(NotPeersFriend):
        await alice_to_bob()

    await factories.make_group(writer.storage, "g1", "alice", ["bob", "carol"], now=now)

    async def to_group(user_id: str) -> None:
        await _heard(writer, sender)
        msg = text_msg(user_id, "", sessionType=SessionType.READ_GROUP_CHAT, groupID="g1")
        await send(caller(user_id), msg, operation_id="")

    await to_group("bob")
    await writer.storage.group.update_members([MemberChange("g1", "bob", {"mute_end_time": now + 60_000})], now=now)
    with pytest.raises(MutedInGroup):
        await to_group("bob")
    await to_group("carol")
    await writer.storage.group.remove_members("g1", ["carol"], now=now)
    with pytest.raises(NotInGroupYetError):
        await to_group("carol")
    assert sender.storage.facts.hits > 0  # the unchanged facts were served from memory meanwhile


async def test_a_lost_invalidation_empties_the_cache(pair: tuple[Runtime, Runtime]) -> None:
    """An origin's events skipping a serial make the receiving process drop everything it holds."""
    first, second = pair
    facts = second.storage.facts
    await facts.users(["nobody"])
    misses = facts.misses
    await facts.users(["nobody"])
    assert facts.misses == misses  # served from memory
    first.bus.publish(TOPIC_FACTS, Invalidate("elsewhere", 1, FACT_USER, ("someone",)))
    first.bus.publish(TOPIC_FACTS, Invalidate("elsewhere", 3, FACT_USER, ("someone",)))  # 2 never came
    async with asyncio.timeout(10):
        while facts.misses == misses:
            await asyncio.sleep(0.01)
            await facts.users(["nobody"])
