"""`Outbox`: offline-push jobs written with their messages in the database, relayed to a Redis stream — none lost
between the commit and the stream, none relayed twice while the relaying process lives. SQLite and PostgreSQL,
against a redis-server of the test's own that it stops and starts."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.cluster import PrivateRedis
from tests.storage.msgs import text

from openim.infra.redis import connect
from openim.infra.redis.queue import RedisStreamQueue, stream_key
from openim.jobs.outbox import Outbox, outbox_topic
from openim.jobs.queue import DbQueue
from openim.jobs.worker import Worker
from openim.storage import Storage
from openim.storage.commit import Appended, MsgWriter
from openim.storage.schema import queue_job

pytestmark = pytest.mark.redis
TOPIC = "offline_push"
CLAIM_IDLE_S = 0.3


def _payloads(batch: list[Appended]) -> list[bytes]:
    return [a.msg.clientMsgID.encode() for a in batch if not a.duplicate]


def _now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def redis_server(tmp_path: Path, redis_url: str) -> Iterator[PrivateRedis]:
    del redis_url  # the shared test Redis must be there (CI); this test runs a private one it may stop
    server = PrivateRedis(tmp_path / "redis")
    yield server
    server.kill(wipe=True)


@contextlib.asynccontextmanager
async def _relaying(outbox: Outbox, consumer: str) -> AsyncIterator[Worker]:
    relay = outbox.relay(consumer=consumer)
    task = asyncio.ensure_future(relay.run())
    try:
        yield relay
    finally:
        relay.stop()
        await asyncio.wait_for(task, 15)


async def _outbox_rows(storage: Storage) -> int:
    async with storage.db.read("test.outbox") as conn:
        query = select(func.count()).where(queue_job.c.topic == outbox_topic(TOPIC))
        return int((await conn.execute(query)).scalar_one())


async def _stream(server: PrivateRedis) -> list[bytes]:
    client = await connect(server.url)
    try:
        entries = await client.xrange(stream_key(TOPIC))
        return [bytes(fields[b"p"]) for _, fields in entries]
    finally:
        await client.aclose()


async def _until(predicate: Callable[[], Awaitable[bool]], seconds: float = 10) -> None:
    async with asyncio.timeout(seconds):
        while not await predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_jobs_committed_with_messages_reach_the_stream_once_even_across_a_redis_outage(
    storage: Storage, redis_server: PrivateRedis
) -> None:
    """The jobs of committed messages reach the stream in order and leave the table; while Redis is down they wait
    in the table, held by their live relay (a second relay does not take them though the idle time passes), and
    each reaches the stream exactly once when Redis is back."""
    redis_server.start(persistent=False)
    client = await connect(redis_server.url)
    target = RedisStreamQueue(client)
    outbox = Outbox(
        DbQueue(storage.queue, _now_ms, claim_idle_s=CLAIM_IDLE_S, poll_s=0.05, keep_claims=True), target, TOPIC
    )
    writer = MsgWriter(storage.msg, on_commit=lambda batch: None, hook=outbox.with_messages(_payloads))
    try:
        async with _relaying(outbox, "host-a:1"), _relaying(outbox, "host-b:1"):
            await asyncio.sleep(0.2)  # both relays registered and waiting
            for i in range(3):
                await writer.append(text("a", "b", client_msg_id=f"up-{i}"))

            async def relayed() -> bool:
                return await _stream(redis_server) == [b"up-0", b"up-1", b"up-2"] and not await _outbox_rows(storage)

            await _until(relayed)

            redis_server.kill(wipe=False)
            for i in range(5):
                await writer.append(text("a", "b", client_msg_id=f"down-{i}"))
            await asyncio.sleep(6 * CLAIM_IDLE_S)  # idle time passes many times over: the holder renews its claims
            assert await _outbox_rows(storage) == 5
            redis_server.start(persistent=False)

            async def all_relayed() -> bool:
                return len(await _stream(redis_server)) >= 5 and not await _outbox_rows(storage)

            await _until(all_relayed, seconds=20)
            await asyncio.sleep(0.5)  # anything relayed twice would have arrived by now
            assert sorted(await _stream(redis_server)) == sorted(f"down-{i}".encode() for i in range(5))
    finally:
        await writer.close()
        await client.aclose()


async def test_rows_of_a_dead_relay_are_relayed_by_another_after_the_idle_time(
    storage: Storage, redis_server: PrivateRedis
) -> None:
    """Rows claimed by a relay of another host that died (never acknowledged) go to the stream through a live
    relay once they were idle for the claim idle time: a kill -9 between commit and stream loses no push."""
    redis_server.start(persistent=False)
    client = await connect(redis_server.url)
    rows = DbQueue(storage.queue, _now_ms, claim_idle_s=CLAIM_IDLE_S, poll_s=0.05, keep_claims=True)
    outbox = Outbox(rows, RedisStreamQueue(client), TOPIC)
    try:
        await rows.enqueue_many(outbox_topic(TOPIC), [b"orphan-0", b"orphan-1"])
        claimed = await storage.queue.claim(
            outbox_topic(TOPIC), "elsewhere:1", now=_now_ms(), idle_before=0, limit=2
        )  # the relay of a process on another host took them, then died
        assert len(claimed) == 2
        async with _relaying(outbox, "host-a:1"):

            async def relayed() -> bool:
                return await _stream(redis_server) == [b"orphan-0", b"orphan-1"] and not await _outbox_rows(storage)

            await _until(relayed)
    finally:
        await client.aclose()
