"""Contract of `Bus`, run against every implementation (memory, and Redis under the `redis` marker), plus each
implementation's own limits: MemoryBus's bound, RedisBus's wire format, reconnection and drain on close."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from openim.infra.bus import (
    TOPIC_FACTS,
    TOPIC_KICK,
    TOPIC_PUSH,
    Bus,
    ConfigReload,
    Invalidate,
    Kick,
    MemoryBus,
    Push,
    StatusChange,
    SubscribeChange,
)
from openim.infra.redis import connect
from openim.infra.redis.bus import RedisBus, channel, decode, encode
from openim.protocol.pb.sdkws_pb2 import MsgData


def _push(seq: int, conversation_id: str = "si_a_b") -> Push:
    return Push(conversation_id, MsgData(seq=seq, sendID="a", recvID="b"), ("a", "b"), f"op{seq}")


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    """A bus of the requested kind, closed after the test."""
    if request.param == "memory":
        memory = MemoryBus()
        yield memory
        await memory.close()
        return
    client = await connect(request.getfixturevalue("redis_url"))
    redis_bus = RedisBus(client)
    yield redis_bus
    await redis_bus.close()
    await client.aclose()


async def _collect(queue: asyncio.Queue[object], n: int) -> list[object]:
    return [await asyncio.wait_for(queue.get(), timeout=2) for _ in range(n)]


def _seqs(events: list[object]) -> list[int]:
    return [e.msg.seq for e in events if isinstance(e, Push)]


async def test_subscriber_gets_events_in_publish_order(bus: Bus) -> None:
    """Events published by one publisher reach a subscriber in the order they were published."""
    got: asyncio.Queue[object] = asyncio.Queue()
    bus.subscribe(TOPIC_PUSH, got.put_nowait)
    for i in range(100):
        bus.publish(TOPIC_PUSH, _push(i))
    assert _seqs(await _collect(got, 100)) == list(range(100))


async def test_async_handlers_run_one_event_at_a_time(bus: Bus) -> None:
    """An async handler finishes one event before the next starts, so order survives awaits."""
    seen: list[int] = []
    done = asyncio.Event()

    async def handler(event: object) -> None:
        assert isinstance(event, Push)
        await asyncio.sleep(0.001 * (5 - event.msg.seq % 5))
        seen.append(event.msg.seq)
        if len(seen) == 10:
            done.set()

    bus.subscribe(TOPIC_PUSH, handler)
    for i in range(10):
        bus.publish(TOPIC_PUSH, _push(i))
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
    await asyncio.sleep(0.01)
    assert a.empty() and kicks.empty()


async def test_publish_without_subscribers_is_a_no_op(bus: Bus) -> None:
    """Publishing to a topic nobody listens to neither blocks nor raises."""
    bus.publish("nobody", _push(1))


async def test_a_failing_handler_keeps_its_subscription(bus: Bus) -> None:
    """A handler that raises is logged; later events still reach it."""
    got: asyncio.Queue[object] = asyncio.Queue()

    def handler(event: object) -> None:
        if isinstance(event, Push) and event.msg.seq == 1:
            raise ValueError("boom")
        got.put_nowait(event)

    bus.subscribe(TOPIC_PUSH, handler)
    bus.publish(TOPIC_PUSH, _push(1))
    bus.publish(TOPIC_PUSH, _push(2))
    assert _seqs(await _collect(got, 1)) == [2]


async def test_closed_subscription_gets_nothing_more(bus: Bus) -> None:
    """After close(), a subscription receives no further events."""
    got: asyncio.Queue[object] = asyncio.Queue()
    sub = bus.subscribe(TOPIC_PUSH, got.put_nowait)
    bus.publish(TOPIC_PUSH, _push(1))
    assert _seqs(await _collect(got, 1)) == [1]
    await sub.close()
    bus.publish(TOPIC_PUSH, _push(2))
    await asyncio.sleep(0.05)
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


async def test_a_subscriber_that_asked_hears_of_dropped_events() -> None:
    """on_gap(True) tells a subscriber that fell behind that it lost events (the fact cache then empties)."""
    bus = MemoryBus(max_pending=2)
    gaps: list[bool] = []
    bus.subscribe(TOPIC_FACTS, lambda event: None, on_gap=gaps.append)
    for i in range(3):
        bus.publish(TOPIC_FACTS, i)
    assert gaps == [True]
    await bus.flush()  # nothing to wait for in one process
    await bus.close()


# --- RedisBus ---------------------------------------------------------------------------------------------


def test_redis_wire_format_round_trips_push_and_kick() -> None:
    """Push, Kick and Invalidate survive encode/decode, including non-ASCII IDs, no recipients, an empty message,
    no keys and every key (None)."""
    msg = MsgData(seq=7, sendID="Ω-1", recvID="b", content=b"\x00\xff" * 40, clientMsgID="c" * 32)
    events: list[Push | Kick | Invalidate] = [
        Invalidate("origin-1", 2**40, "black", ("Ω", "b")),
        Invalidate("o", 1, "user", ()),
        Invalidate("o", 2, "members", None),
        Push("si_Ω-1_b", msg, ("Ω-1", "b", ""), "op-1"),
        Push("n_x_x", MsgData(), (), ""),
        Kick("u1", 5, ("tok-a", "tok-b")),
        Kick("u2", 0),
    ]
    for event in events:
        assert decode(encode(event)) == event
    assert len(encode(Kick("u1", 5, ("t",)))) == 1 + 4 + 2 + 4 + 2 + 2 + 1


def test_redis_wire_format_round_trips_control_events() -> None:
    """Status changes, REST subscriptions and config reloads travel as JSON and come back equal."""
    events: list[object] = [
        StatusChange("Ω-1"),
        SubscribeChange("alice", ("bob", "carol"), ()),
        SubscribeChange("alice", (), ("bob",)),
        ConfigReload("set_config", "op-9"),
    ]
    for event in events:
        assert decode(encode(event)) == event


def test_redis_wire_format_refuses_other_events_and_garbage() -> None:
    """Only the bus's events travel; bytes that are not an event decode to ValueError, never to a wrong event."""
    with pytest.raises(TypeError):
        encode(3)
    for garbage in (
        b"",
        b"X",
        b"P\x00",
        encode(Kick("u", 1, ("t",))) + b"extra",
        b"J{}",
        b'J{"e":"nope"}',
        b"J[",
        b'J"x"',
    ):
        with pytest.raises(ValueError):
            decode(garbage)


@pytest.mark.redis
async def test_redis_bus_publish_refuses_other_events(redis_url: str) -> None:
    """publish() raises TypeError at once for an event the wire format cannot carry."""
    client = await connect(redis_url)
    bus = RedisBus(client)
    with pytest.raises(TypeError):
        bus.publish(TOPIC_PUSH, "not an event")
    await bus.close()
    await client.aclose()


async def _subscribed(client: aioredis.Redis, topic: str) -> None:
    """Wait until Redis counts one subscriber on the topic's channel (another process's bus is listening)."""
    async with asyncio.timeout(2):
        while await client.pubsub_numsub(channel(topic)) != [(channel(topic).encode(), 1)]:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@pytest.mark.redis
async def test_redis_bus_events_cross_processes_in_order(redis_url: str) -> None:
    """A bus on another client (another process) receives a publisher's events in order, on `openim:bus:<topic>`."""
    publisher_client, subscriber_client = await connect(redis_url), await connect(redis_url)
    publisher, subscriber = RedisBus(publisher_client), RedisBus(subscriber_client)
    got: asyncio.Queue[object] = asyncio.Queue()
    subscriber.subscribe(TOPIC_PUSH, got.put_nowait)
    await _subscribed(publisher_client, TOPIC_PUSH)
    for i in range(1000):
        publisher.publish(TOPIC_PUSH, _push(i))
    assert _seqs([await asyncio.wait_for(got.get(), 5) for _ in range(1000)]) == list(range(1000))
    for bus in (publisher, subscriber):
        await bus.close()
    for client in (publisher_client, subscriber_client):
        await client.aclose()


@pytest.mark.redis
async def test_redis_bus_close_sends_what_was_queued(redis_url: str) -> None:
    """close() right after publishing still delivers every queued event to the other process's subscriber."""
    publisher_client, subscriber_client = await connect(redis_url), await connect(redis_url)
    subscriber = RedisBus(subscriber_client)
    got: asyncio.Queue[object] = asyncio.Queue()
    subscriber.subscribe(TOPIC_PUSH, got.put_nowait)
    await _subscribed(publisher_client, TOPIC_PUSH)
    publisher = RedisBus(publisher_client)
    for i in range(2000):
        publisher.publish(TOPIC_PUSH, _push(i))
    await publisher.close()
    publisher.publish(TOPIC_PUSH, _push(9999))  # after close: dropped with a warning, never raises
    assert _seqs([await asyncio.wait_for(got.get(), 5) for _ in range(2000)]) == list(range(2000))
    await asyncio.sleep(0.05)
    assert got.empty()
    await subscriber.close()
    for client in (publisher_client, subscriber_client):
        await client.aclose()


async def _kill_pubsub_connections(client: aioredis.Redis) -> int:
    """CLIENT KILL every pub/sub connection on this test database, as a Redis restart would cut them."""
    db = client.connection_pool.connection_kwargs.get("db", 0)
    killed = 0
    for entry in await client.client_list(_type="pubsub"):
        if int(entry["db"]) == int(db):
            killed += await client.client_kill_filter(_id=entry["id"])
    return killed


@pytest.mark.redis
async def test_redis_bus_resubscribes_after_its_connection_is_cut(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """When Redis drops the subscription connection the bus logs it, reconnects, and delivers again."""
    caplog.set_level(logging.INFO, logger="openim.infra")
    client = await connect(redis_url)
    bus = RedisBus(client)
    got: asyncio.Queue[object] = asyncio.Queue()
    bus.subscribe(TOPIC_PUSH, got.put_nowait)
    bus.publish(TOPIC_PUSH, _push(1))
    assert _seqs(await _collect(got, 1)) == [1]
    assert await _kill_pubsub_connections(client) == 1
    deadline = time.monotonic() + 10
    seq = 100
    while time.monotonic() < deadline:  # events published while it reconnects are lost (at-most-once)
        seq += 1
        bus.publish(TOPIC_PUSH, _push(seq))
        try:
            event = await asyncio.wait_for(got.get(), 0.2)
        except TimeoutError:
            continue
        assert isinstance(event, Push) and event.msg.seq > 100
        break
    else:
        pytest.fail("no event after the subscription connection was cut")
    messages = [r.getMessage() for r in caplog.records]
    assert any("lost its Redis subscription" in m for m in messages)
    assert any("listens to Redis again" in m for m in messages)
    await bus.close()
    await client.aclose()


@pytest.mark.redis
async def test_redis_bus_tells_a_subscriber_when_it_is_live_and_when_not(redis_url: str) -> None:
    """on_gap(True) once Redis confirmed the channel, on_gap(False) when the connection breaks, then True again;
    flush() returns once what was published was handed to Redis."""
    client = await connect(redis_url)
    bus = RedisBus(client)
    gaps: asyncio.Queue[bool] = asyncio.Queue()
    got: asyncio.Queue[object] = asyncio.Queue()
    bus.subscribe(TOPIC_FACTS, got.put_nowait, on_gap=gaps.put_nowait)
    assert await asyncio.wait_for(gaps.get(), 10) is True
    bus.publish(TOPIC_FACTS, Invalidate("o", 1, "user", ("u",)))
    await asyncio.wait_for(bus.flush(), 10)
    assert await asyncio.wait_for(got.get(), 10) == Invalidate("o", 1, "user", ("u",))
    assert await _kill_pubsub_connections(client) == 1
    assert await asyncio.wait_for(gaps.get(), 10) is False
    assert await asyncio.wait_for(gaps.get(), 10) is True
    await bus.close()
    await client.aclose()
