"""Contract of `Bus`, run against every implementation (["memory"] for now), plus MemoryBus's own limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from openim.infra.bus import TOPIC_KICK, TOPIC_PUSH, Bus, Kick, MemoryBus, Push
from openim.protocol.pb.sdkws_pb2 import MsgData


@pytest.fixture(params=["memory"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    """A bus of the requested kind, closed after the test."""
    assert request.param == "memory"
    memory = MemoryBus()
    yield memory
    await memory.close()


async def _collect(queue: asyncio.Queue[object], n: int) -> list[object]:
    return [await asyncio.wait_for(queue.get(), timeout=2) for _ in range(n)]


async def test_subscriber_gets_events_in_publish_order(bus: Bus) -> None:
    """Events published by one publisher reach a subscriber in the order they were published."""
    got: asyncio.Queue[object] = asyncio.Queue()
    bus.subscribe(TOPIC_PUSH, got.put_nowait)
    for i in range(100):
        bus.publish(TOPIC_PUSH, i)
    assert await _collect(got, 100) == list(range(100))


async def test_async_handlers_run_one_event_at_a_time(bus: Bus) -> None:
    """An async handler finishes one event before the next starts, so order survives awaits."""
    seen: list[int] = []
    done = asyncio.Event()

    async def handler(event: object) -> None:
        assert isinstance(event, int)
        await asyncio.sleep(0.001 * (5 - event % 5))
        seen.append(event)
        if len(seen) == 10:
            done.set()

    bus.subscribe(TOPIC_PUSH, handler)
    for i in range(10):
        bus.publish(TOPIC_PUSH, i)
    await asyncio.wait_for(done.wait(), 2)
    assert seen == list(range(10))


async def test_topics_are_separate_and_every_subscriber_gets_each_event(bus: Bus) -> None:
    """Each subscriber of a topic gets every event of that topic and nothing of other topics."""
    a: asyncio.Queue[object] = asyncio.Queue()
    b: asyncio.Queue[object] = asyncio.Queue()
    kicks: asyncio.Queue[object] = asyncio.Queue()
    bus.subscribe(TOPIC_PUSH, a.put_nowait)
    bus.subscribe(TOPIC_PUSH, b.put_nowait)
    bus.subscribe(TOPIC_KICK, kicks.put_nowait)
    push = Push("si_a_b", MsgData(seq=1), ("a", "b"), "op")
    kick = Kick("a", 5, ("tok",))
    bus.publish(TOPIC_PUSH, push)
    bus.publish(TOPIC_KICK, kick)
    assert await _collect(a, 1) == [push]
    assert await _collect(b, 1) == [push]
    assert await _collect(kicks, 1) == [kick]
    assert a.empty() and kicks.empty()


async def test_publish_without_subscribers_is_a_no_op(bus: Bus) -> None:
    """Publishing to a topic nobody listens to neither blocks nor raises."""
    bus.publish("nobody", object())


async def test_a_failing_handler_keeps_its_subscription(bus: Bus) -> None:
    """A handler that raises is logged; later events still reach it."""
    got: asyncio.Queue[object] = asyncio.Queue()

    def handler(event: object) -> None:
        if event == "bad":
            raise ValueError("boom")
        got.put_nowait(event)

    bus.subscribe(TOPIC_PUSH, handler)
    bus.publish(TOPIC_PUSH, "bad")
    bus.publish(TOPIC_PUSH, "good")
    assert await _collect(got, 1) == ["good"]


async def test_closed_subscription_gets_nothing_more(bus: Bus) -> None:
    """After close(), a subscription receives no further events."""
    got: asyncio.Queue[object] = asyncio.Queue()
    sub = bus.subscribe(TOPIC_PUSH, got.put_nowait)
    bus.publish(TOPIC_PUSH, 1)
    assert await _collect(got, 1) == [1]
    await sub.close()
    bus.publish(TOPIC_PUSH, 2)
    await asyncio.sleep(0.01)
    assert got.empty()


async def test_memory_bus_drops_oldest_when_a_subscriber_is_far_behind() -> None:
    """A subscriber max_pending events behind loses the oldest ones instead of growing without bound."""
    bus = MemoryBus(max_pending=3)
    got: list[object] = []
    bus.subscribe(TOPIC_PUSH, got.append)
    for i in range(10):
        bus.publish(TOPIC_PUSH, i)  # no await in between: the subscriber cannot run
    await bus.drain()
    assert got == [7, 8, 9]
    await bus.close()
