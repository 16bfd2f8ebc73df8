"""Contract of `JobQueue`, run against every implementation (memory, Redis Streams under the `redis` marker, and
the database queue on SQLite and PostgreSQL): delivery to one consumer per group, acknowledgement, stats, reclaim
of a dead consumer's jobs, dead letters."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.conftest import empty_db_url

from openim.infra.queue import Job, JobQueue, MemoryQueue, QueueStats
from openim.infra.redis import connect
from openim.infra.redis.queue import RedisStreamQueue, stream_key
from openim.jobs.db_queue import DbQueue
from openim.storage import open_storage

CLAIM_IDLE_S = 1.0  # long enough that a busy machine does not make live claims look idle


@pytest.fixture(
    params=[
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        "db-sqlite",
        pytest.param("db-postgres", marks=pytest.mark.postgres),
    ]
)
async def queue(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobQueue]:
    """A queue of the requested kind whose idle jobs are reclaimed after CLAIM_IDLE_S."""
    if request.param == "memory":
        yield MemoryQueue(claim_idle_s=CLAIM_IDLE_S, poll_s=0.05)
        return
    if request.param.startswith("db-"):
        storage = await open_storage(await empty_db_url(request, request.param[3:], tmp_path), pool_size=4)
        yield DbQueue(storage.queue, claim_idle_s=CLAIM_IDLE_S, poll_s=0.05)
        await storage.close()
        return
    client = await connect(request.getfixturevalue("redis_url"))
    yield RedisStreamQueue(client, claim_idle_s=CLAIM_IDLE_S, block_ms=50)
    await client.aclose()


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


async def test_each_job_goes_to_one_consumer_of_the_group(queue: JobQueue) -> None:
    """Two consumers of one group share the jobs: none is delivered twice while both are alive."""
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


async def test_a_buried_job_is_a_dead_letter_with_its_reason(queue: JobQueue) -> None:
    """bury() acknowledges the job and keeps it, with the reason, in the topic's dead-letter list (newest first)."""
    await queue.enqueue("t", b"first")
    await queue.enqueue("t", b"second")
    jobs = queue.consume("t", "g", "c1")
    for job in await _take(jobs, 2):
        await queue.bury(job, f"gave up on {job.payload.decode()}")
    stats = await queue.stats("t", "g")
    assert (stats.length, stats.pending, stats.dead) == (0, 0, 2)
    dead = await queue.dead_letters("t")
    assert [(d.payload, d.reason) for d in dead] == [(b"second", "gave up on second"), (b"first", "gave up on first")]
    assert all(d.topic == "t" and d.buried_ms > 0 and d.deliveries == 1 for d in dead)
    assert await queue.dead_letters("other") == []
    assert (await queue.stats("other", "g")).dead == 0


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.redis
async def test_redis_takes_back_the_jobs_of_a_gone_local_consumer(redis_url: str) -> None:
    """A consumer named host:pid of this host whose process is gone leaves its pending job to the next consumer
    at once, without the idle wait (a restart after kill -9), and is removed from the group."""
    client = await connect(redis_url)
    try:
        queue = RedisStreamQueue(client, claim_idle_s=3600, block_ms=50)
        gone = f"{socket.gethostname()}:{_dead_pid()}"
        await queue.enqueue("t", b"held")
        held = queue.consume("t", "g", gone)
        [job] = await _take(held, 1)
        await held.aclose()  # type: ignore[attr-defined]
        [again] = await _take(queue.consume("t", "g", f"{socket.gethostname()}:{os.getpid()}"), 1)
        assert (again.id, again.payload, again.deliveries) == (job.id, b"held", 2)
        names = [c["name"] for c in await client.xinfo_consumers(stream_key("t"), "g")]
        assert gone.encode() not in names
    finally:
        await client.aclose()
