"""`openim queue status` and `openim queue reset` against real Redis Streams made by the real queue
(`RedisStreamQueue`): the figures of `kafka-consumer-groups --describe`, and both resets with their refusal."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from tests.process import OPENIM, clean_env

from openim.infra.queue import Job
from openim.infra.redis import RedisBus, connect
from openim.infra.redis.queue import RedisStreamQueue
from openim.ops.queue import QueueError, read_status, render_status, reset_group

pytestmark = pytest.mark.redis
TOPIC, GROUP = "offline_push", "msgtransfer"


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    opened = await connect(redis_url)
    yield opened
    await opened.aclose()


async def take(queue: RedisStreamQueue, consumer: str, n: int) -> list[Job]:
    jobs = queue.consume(TOPIC, GROUP, consumer)
    return [await asyncio.wait_for(anext(jobs), 3) for _ in range(n)]


async def backlog(client: Redis) -> RedisStreamQueue:
    """10 jobs queued; worker-a took 3 and finished 1, worker-b took 2 and finished none: lag 5, pending 4."""
    queue = RedisStreamQueue(client, claim_idle_s=60, block_ms=50)
    for i in range(10):
        await queue.enqueue(TOPIC, f"job{i}".encode())
    a = await take(queue, "worker-a", 3)
    await queue.ack(a[0])
    await take(queue, "worker-b", 2)
    return queue


async def test_status_describes_each_group_as_kafka_consumer_groups_does(client: Redis) -> None:
    """Length, lag, pending, each consumer's pending and idle time, the oldest pending and waiting job's age."""
    await backlog(client)
    await asyncio.sleep(0.2)
    status = await read_status(client)
    [stream] = status.streams
    assert (stream.topic, stream.key, stream.length) == (TOPIC, "openim:queue:offline_push", 9)
    [group] = stream.groups
    assert (group.group, group.lag, group.pending, group.lag_capped) == (GROUP, 5, 4, False)
    assert [(c.name, c.pending) for c in group.consumers] == [("worker-a", 2), ("worker-b", 2)]
    assert all(c.idle_s >= 0.2 for c in group.consumers)
    assert group.oldest_pending_age_s is not None and group.oldest_pending_age_s >= 0.2
    assert group.oldest_pending_idle_s is not None and group.oldest_pending_idle_s >= 0.2
    assert group.oldest_waiting_age_s is not None and group.oldest_waiting_age_s >= 0.2
    text = render_status(status)
    header, row = text.splitlines()[:2]
    assert header.split() == [
        "TOPIC", "STREAM", "GROUP", "LENGTH", "LAG", "PENDING", "CONSUMERS", "OLDEST-PENDING", "OLDEST-WAITING"
    ]  # fmt: skip
    assert row.split()[:7] == [TOPIC, "openim:queue:offline_push", GROUP, "9", "5", "4", "2"]
    assert "worker-a" in text and "no bus channel" in text


async def test_status_counts_lag_redis_cannot_report(client: Redis) -> None:
    """When an entry after the group's position was deleted (by hand: XDEL) Redis 7 no longer knows the lag (and
    Redis 6.2 never reports it): the entries after last-delivered are counted instead."""
    await backlog(client)
    key = "openim:queue:offline_push"
    [(last_id, _)] = await client.xrevrange(key, count=1)
    await client.xdel(key, last_id)
    info = {g["name"]: g for g in await client.xinfo_groups(key)}
    assert info[GROUP.encode()]["lag"] is None  # the case counted by hand
    [group] = (await read_status(client)).streams[0].groups
    assert (group.lag, group.lag_capped) == (4, False)


async def test_status_lists_bus_channels_with_their_subscribers(client: Redis) -> None:
    """Each pub/sub channel of the bus with how many processes listen (a gateway subscribes to push and kick)."""
    bus = RedisBus(client)
    subscription = bus.subscribe("push", lambda event: None)
    try:
        for _ in range(50):
            channels = (await read_status(client)).channels
            if channels:
                break
            await asyncio.sleep(0.05)
        assert [(c.channel, c.subscribers) for c in channels] == [("openim:bus:push", 1)]
        assert (await read_status(client)).streams == []
        assert "no queue stream" in render_status(await read_status(client))
    finally:
        await subscription.close()
        await bus.close()


async def test_reset_to_latest_skips_the_backlog_and_keeps_new_jobs(client: Redis) -> None:
    """--to latest: lag and pending go to 0 (the jobs acknowledged and deleted); a job queued after is delivered."""
    queue = await backlog(client)
    [plan] = await reset_group(client, GROUP, "latest")
    assert (plan.skipped, (await read_status(client)).streams[0].length) == (9, 9)  # a plan changes nothing
    [done] = await reset_group(client, GROUP, "latest", execute=True)
    assert done.skipped == 9
    [stream] = (await read_status(client)).streams
    assert (stream.length, stream.groups[0].lag, stream.groups[0].pending) == (0, 0, 0)
    await queue.enqueue(TOPIC, b"fresh")
    [job] = await take(queue, "worker-c", 1)
    assert job.payload == b"fresh"


async def test_reset_to_earliest_delivers_pending_jobs_again_at_once(client: Redis) -> None:
    """--to earliest: every job still in the stream is handed out again, the pending ones without waiting the
    60 s after which a dead consumer's jobs are reclaimed."""
    queue = await backlog(client)
    [done] = await reset_group(client, GROUP, "earliest", execute=True)
    assert (done.redelivered, done.moved_to_id) == (9, "0")
    got = await take(queue, "worker-c", 9)
    assert sorted(j.payload for j in got) == sorted(f"job{i}".encode() for i in range(1, 10))


async def test_reset_of_an_unknown_group_names_the_known_ones(client: Redis) -> None:
    """A group that no stream has is an error listing topic:group pairs."""
    await backlog(client)
    with pytest.raises(QueueError, match="offline_push:msgtransfer"):
        await reset_group(client, "msgToRedis", "latest")
    with pytest.raises(QueueError, match="topic nope"):
        await reset_group(client, GROUP, "latest", topic="nope")


def openim(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*OPENIM, *args], cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=60, check=False
    )


async def test_cli_refuses_without_yes_then_resets(tmp_path: Path, client: Redis, redis_url: str) -> None:
    """`openim queue reset` prints its plan and exits 1 without --yes, changing nothing; with --yes it resets;
    `openim queue status --json` shows the result."""
    await backlog(client)
    refused = await asyncio.to_thread(
        openim, "queue", "reset", "--group", GROUP, "--to", "latest", cwd=tmp_path, OPENIM_REDIS_URL=redis_url
    )
    assert refused.returncode == 1
    assert "would: skip 9 job(s)" in refused.stderr and "add --yes" in refused.stderr
    assert (await read_status(client)).streams[0].length == 9
    done = await asyncio.to_thread(
        openim, "queue", "reset", "--group", GROUP, "--to", "latest", "--yes", cwd=tmp_path, OPENIM_REDIS_URL=redis_url
    )
    assert done.returncode == 0 and "done: skip 9 job(s)" in done.stdout
    status = await asyncio.to_thread(openim, "queue", "status", "--json", cwd=tmp_path, OPENIM_REDIS_URL=redis_url)
    [stream] = json.loads(status.stdout)["streams"]
    assert (stream["length"], stream["groups"][0]["lag"], stream["groups"][0]["pending"]) == (0, 0, 0)


def test_cli_without_redis_says_where_the_queue_is(tmp_path: Path) -> None:
    """Without redis.url the queue is in the server process: both commands say so and exit 1."""
    for args in (["status"], ["reset", "--group", GROUP, "--to", "latest", "--yes"]):
        result = openim("queue", *args, cwd=tmp_path)
        assert result.returncode == 1 and "redis.url is not set" in result.stderr
    bad = openim("queue", "reset", "--group", GROUP, "--to", "middle", cwd=tmp_path)
    assert bad.returncode == 2 and "latest or earliest" in bad.stderr
