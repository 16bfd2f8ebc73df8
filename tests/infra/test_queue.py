"""Contract of `JobQueue`, run against every implementation (memory, the database on SQLite and PostgreSQL, and Redis
Streams under the `redis` marker): delivery to one consumer per group, acknowledgement, stats, reclaim of a dead
consumer's jobs, and immediate takeover of the jobs of a consumer of this host whose process is gone."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from tests.conftest import empty_db_url

from openim.infra.queue import Job, JobQueue, MemoryQueue, QueueStats, dead_local_consumers
from openim.infra.redis import connect
from openim.infra.redis.queue import RedisStreamQueue, stream_key
from openim.jobs.queue import DbQueue
from openim.storage import open_storage

CLAIM_IDLE_S = 0.3
KINDS = [
    "memory",
    "db-sqlite",
    pytest.param("db-postgres", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
]


@asynccontextmanager
async def _open(
    request: pytest.FixtureRequest, kind: str, tmp_path: Path, claim_idle_s: float
) -> AsyncIterator[JobQueue]:
    if kind == "memory":
        yield MemoryQueue(claim_idle_s=claim_idle_s, poll_s=0.05)
    elif kind.startswith("db-"):
        storage = await open_storage(await empty_db_url(request, kind.removeprefix("db-"), tmp_path), pool_size=5)
        try:
            yield DbQueue(storage.queue, lambda: int(time.time() * 1000), claim_idle_s=claim_idle_s, poll_s=0.05)
        finally:
            await storage.close()
    else:
        client = await connect(request.getfixturevalue("redis_url"))
        try:
            yield RedisStreamQueue(client, claim_idle_s=claim_idle_s, block_ms=50)
        finally:
            await client.aclose()


@pytest.fixture(params=KINDS)
async def queue(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobQueue]:
    """A queue of the requested kind whose idle jobs are reclaimed after 0.3 s."""
    async with _open(request, request.param, tmp_path, CLAIM_IDLE_S) as opened:
        yield opened


@pytest.fixture(params=KINDS)
async def slow_queue(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobQueue]:
    """A queue of the requested kind whose idle jobs are reclaimed only after a minute."""
    async with _open(request, request.param, tmp_path, 60.0) as opened:
        yield opened


def _dead_consumer_name() -> str:
    """host:pid of a process of this host that has exited."""
    child = subprocess.Popen(["true"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}"


async def _take(jobs: AsyncIterator[Job], n: int) -> list[Job]:
    return [await asyncio.wait_for(anext(jobs), timeout=3) for _ in range(n)]


async def test_jobs_come_in_enqueue_order(queue: JobQueue) -> None:
    """A consumer gets the jobs of a topic in the order they were enqueued, payloads intact."""
    for i in range(5):
        await queue.enqueue("t", f"job{i}".encode())
    jobs = await _take(queue.consume("t", "g", "c1"), 5)
    assert [j.payload for j in jobs] == [f"job{i}".encode() for i in range(5)]
    assert all(j.deliveries == 1 for j in jobs)


async def test_a_job_queued_after_the_consumer_waits_reaches_it(queue: JobQueue) -> None:
    """A waiting consumer wakes up for a job enqueued later."""
    jobs = queue.consume("t", "g", "c1")
    waiting = asyncio.ensure_future(anext(jobs))
    await asyncio.sleep(0.1)
    await queue.enqueue("t", b"late")
    assert (await asyncio.wait_for(waiting, timeout=3)).payload == b"late"


async def test_each_job_goes_to_one_consumer_of_the_group(slow_queue: JobQueue) -> None:
    """Two consumers of one group share the jobs: none is delivered twice while both are alive."""
    queue = slow_queue  # no reclaim of the first consumer's jobs however slow the machine is
    for i in range(6):
        await queue.enqueue("t", str(i).encode())
    a, b = queue.consume("t", "g", "a"), queue.consume("t", "g", "b")
    got = await _take(a, 3) + await _take(b, 3)
    assert sorted(j.payload for j in got) == [str(i).encode() for i in range(6)]


async def test_stats_count_lag_and_pending_until_acked(queue: JobQueue) -> None:
    """Stats show undelivered jobs as lag, delivered ones as pending, and nothing once acknowledged."""
    jobs = queue.consume("t", "g", "c1")
    waiting = asyncio.ensure_future(anext(jobs))  # creates the group
    await queue.enqueue("t", b"1")
    first = await asyncio.wait_for(waiting, timeout=3)
    await queue.enqueue("t", b"2")
    stats = await queue.stats("t", "g")
    assert (stats.length, stats.lag, stats.pending, stats.depth) == (2, 1, 1, 2)
    await queue.ack(first)
    [second] = await _take(jobs, 1)
    await queue.ack(second)
    assert await queue.stats("t", "g") == QueueStats(0, 0, 0)


async def test_unknown_topic_has_empty_stats(queue: JobQueue) -> None:
    """A topic nobody used reports zeros."""
    assert await queue.stats("nothing", "g") == QueueStats(0, 0, 0)


async def test_dead_consumers_job_is_reclaimed_by_another(queue: JobQueue) -> None:
    """A job delivered to a consumer that never acknowledges it goes to another consumer after the idle time."""
    await queue.enqueue("t", b"orphan")
    dead = queue.consume("t", "g", "dead")
    [lost] = await _take(dead, 1)
    await dead.aclose()  # type: ignore[attr-defined]
    [again] = await _take(queue.consume("t", "g", "alive"), 1)
    assert (again.id, again.payload, again.deliveries) == (lost.id, b"orphan", 2)
    await queue.ack(again)
    assert (await queue.stats("t", "g")).depth == 0


async def test_acked_job_is_not_reclaimed(queue: JobQueue) -> None:
    """An acknowledged job never comes back, even after the idle time."""
    await queue.enqueue("t", b"done")
    [job] = await _take(queue.consume("t", "g", "a"), 1)
    await queue.ack(job)
    await asyncio.sleep(CLAIM_IDLE_S + 0.1)
    later = asyncio.ensure_future(anext(queue.consume("t", "g", "b")))
    await asyncio.sleep(0.3)
    assert not later.done()
    later.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(later, 5)  # the consumer stops (a second cancel on timeout, never a hang)


@pytest.mark.redis
async def test_redis_jobs_live_in_a_stream(redis_url: str) -> None:
    """RedisStreamQueue keeps a topic's unfinished jobs in the stream openim:queue:<topic>."""
    client = await connect(redis_url)
    try:
        queue = RedisStreamQueue(client)
        await queue.enqueue("offline_push", b"x")
        assert await client.xlen(stream_key("offline_push")) == 1
    finally:
        await client.aclose()


@pytest.mark.redis
@pytest.mark.parametrize("while_blocked", [True, False], ids=["while-blocked", "between-reads"])
async def test_redis_consumer_outlives_its_stream_being_deleted(redis_url: str, while_blocked: bool) -> None:
    """A stream deleted under a consumer (FLUSHDB, DEL) is made again with its group and consumption goes on: it
    once ended the consumer with NOGROUP, and the msgtransfer role with it."""
    client = await connect(redis_url)
    try:
        queue = RedisStreamQueue(client, block_ms=2000 if while_blocked else 20)
        jobs = queue.consume("gone", "g", "c1")
        await queue.enqueue("gone", b"first")
        assert (await _take(jobs, 1))[0].payload == b"first"
        pending = asyncio.ensure_future(anext(jobs))
        await asyncio.sleep(0.2)  # blocked in XREADGROUP (2 s) or between short reads
        await client.delete(stream_key("gone"))
        await asyncio.sleep(0.2)
        assert not pending.done()
        deadline = time.monotonic() + 5
        while not await client.exists(stream_key("gone")):  # the group is made again before a job is enqueued
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await queue.enqueue("gone", b"second")
        assert (await asyncio.wait_for(pending, 5)).payload == b"second"
        await jobs.aclose()  # type: ignore[attr-defined]
    finally:
        await client.aclose()


async def test_enqueue_many_keeps_the_order(queue: JobQueue) -> None:
    """Jobs appended together come out in their order, each with its own ID."""
    ids = await queue.enqueue_many("t", [b"a", b"b", b"c"])
    assert len(set(ids)) == 3
    jobs = await _take(queue.consume("t", "g", "c1"), 3)
    assert [(j.id, j.payload) for j in jobs] == list(zip(ids, [b"a", b"b", b"c"], strict=True))
    assert await queue.enqueue_many("t", []) == []


def test_dead_local_consumers_are_this_hosts_exited_processes() -> None:
    """Only host:pid names of this host whose process is gone count as dead; others and odd names do not."""
    dead, me = _dead_consumer_name(), f"{socket.gethostname()}:1"
    assert dead_local_consumers([dead, me, "otherhost:1", "no-pid", f"{socket.gethostname()}:x"]) == [dead]


async def test_jobs_of_a_stopped_local_process_are_taken_over_at_once(slow_queue: JobQueue) -> None:
    """A job held by a consumer of this host whose process exited goes to the next consumer without the idle wait."""
    dead = _dead_consumer_name()
    await slow_queue.enqueue("t", b"held")
    first = slow_queue.consume("t", "g", dead)
    [held] = await _take(first, 1)
    await first.aclose()  # type: ignore[attr-defined]
    [again] = await _take(slow_queue.consume("t", "g", "alive"), 1)
    assert (again.id, again.payload, again.deliveries) == (held.id, b"held", 2)
    await slow_queue.ack(again)
    assert (await slow_queue.stats("t", "g")).depth == 0


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_db_queue_claims_in_batches_and_acks_together(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    """DbQueue with claim_batch 4 claims four jobs per transaction, hands them out in order, and concurrent
    acknowledgements are one delete."""
    storage = await open_storage(await empty_db_url(request, kind, tmp_path), pool_size=5)
    try:
        queue = DbQueue(storage.queue, lambda: int(time.time() * 1000), poll_s=0.05, claim_batch=4)
        await queue.enqueue_many("t", [str(i).encode() for i in range(6)])
        jobs = queue.consume("t", "g", "c1")
        first = await _take(jobs, 1)
        assert (await queue.stats("t", "g")).pending == 4  # the batch is claimed, one handed out
        rest = await _take(jobs, 5)
        assert [j.payload for j in first + rest] == [str(i).encode() for i in range(6)]
        claims = storage.db.stats.by_name["queue.claim"].count
        assert claims == 2
        await asyncio.gather(*(queue.ack(j) for j in first + rest))
        assert storage.db.stats.by_name["queue.ack"].count == 1
        assert await queue.stats("t", "g") == QueueStats(0, 0, 0)
    finally:
        await storage.close()
