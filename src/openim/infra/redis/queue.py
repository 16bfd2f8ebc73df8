"""`RedisStreamQueue`: the `JobQueue` contract (`infra/queue.py`) over Redis Streams with consumer groups.

Topic `t` is the stream `openim:queue:<t>` (`stream_key(t)`); a job is one entry with the field `p` (payload),
its ID the entry ID. `consume` creates the group if needed (`XGROUP CREATE … 0 MKSTREAM`: a new group sees the
jobs already queued), then loops: `XAUTOCLAIM` takes over entries pending longer than `claim_idle_s` (their
consumer died or hangs; `deliveries` is read back with `XPENDING`), else `XREADGROUP … >` blocks up to
`block_ms` for new ones. `ack` is `XACK` followed by `XDEL`, so the stream holds only unfinished jobs (one group
per topic is the intended use; with several, the first to finish removes the entry). `stats` reads `XLEN` and
`XINFO GROUPS` (pending); lag is length minus pending, as finished jobs are deleted. `enqueue_many` is one
pipelined round trip of XADDs. When a consumer starts, the pending entries of the group's consumers of this host
whose process is gone (`dead_local_consumers`) are taken over at once (`XCLAIM`, then `XGROUP DELCONSUMER`): after a
kill -9 and a restart their jobs run right away instead of after `claim_idle_s`.

The client is the caller's (`openim.infra.redis.connect`, bytes responses) and stays open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from openim.infra.queue import CLAIM_IDLE_S, Job, QueueStats, dead_local_consumers

logger = logging.getLogger("openim.infra")
RETRY_MAX_S = 5.0  # longest pause between attempts while Redis does not answer

__all__ = ["STREAM_PREFIX", "RedisStreamQueue", "stream_key"]

STREAM_PREFIX = "openim:queue:"


def stream_key(topic: str) -> str:
    """The Redis stream holding the jobs of `topic`."""
    return STREAM_PREFIX + topic


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisStreamQueue:
    """JobQueue on Redis Streams; `block_ms` per blocking read.

    One entry per read: a consumer holds only the job it is handing out, so jobs it has not started yet are never
    stuck behind it (and reclaimed from it) while other consumers are idle.
    """

    def __init__(self, client: aioredis.Redis, *, claim_idle_s: float = CLAIM_IDLE_S, block_ms: int = 1000) -> None:
        self._client = client
        self._claim_idle_ms = int(claim_idle_s * 1000)
        self._block_ms = block_ms

    async def enqueue(self, topic: str, payload: bytes) -> str:
        """XADD the job; its entry ID."""
        job_id = await self._client.xadd(stream_key(topic), {"p": payload})
        return _text(job_id)

    async def enqueue_many(self, topic: str, payloads: Sequence[bytes]) -> list[str]:
        """XADD every job in one pipelined round trip; their entry IDs."""
        if not payloads:
            return []
        async with self._client.pipeline(transaction=False) as pipe:
            for payload in payloads:
                pipe.xadd(stream_key(topic), {"p": payload})
            ids: list[Any] = await pipe.execute()
        return [_text(i) for i in ids]

    async def _take_over_dead(self, key: str, topic: str, group: str, consumer: str) -> list[Job]:
        """Claim for `consumer` the pending entries of dead local consumers, and forget those consumers."""
        infos: Any = await self._client.xinfo_consumers(key, group)
        dead = dead_local_consumers([_text(info["name"]) for info in infos])
        jobs: list[Job] = []
        for name in dead:
            rows: Any = await self._client.xpending_range(key, group, min="-", max="+", count=10_000, consumername=name)
            if rows:
                ids = [row["message_id"] for row in rows]
                deliveries = {_text(row["message_id"]): int(row["times_delivered"]) + 1 for row in rows}
                claimed: Any = await self._client.xclaim(key, group, consumer, min_idle_time=0, message_ids=ids)
                for entry_id, fields in claimed:
                    if fields:  # an entry deleted meanwhile comes back empty: nothing left to do for it
                        job_id = _text(entry_id)
                        jobs.append(Job(topic, group, job_id, bytes(fields[b"p"]), deliveries.get(job_id, 2)))
            if len(rows) < 10_000:  # DELCONSUMER drops what it still holds: only once everything was taken over
                await self._client.xgroup_delconsumer(key, group, name)
        if jobs:
            logger.warning("queue %s: %d jobs of stopped consumers %s handed out again", topic, len(jobs), dead)
        return jobs

    async def _ensure_group(self, key: str, group: str) -> None:
        try:
            await self._client.xgroup_create(key, group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def consume(self, topic: str, group: str, consumer: str) -> AsyncIterator[Job]:
        """Reclaimed idle jobs first (XAUTOCLAIM), then new ones (XREADGROUP), forever."""
        key = stream_key(topic)
        pause = 0.0
        while True:
            # A Redis that stops answering (restart, network) pauses consumption; it never ends it, or the
            # msgtransfer role — and with it the process — would stop. Jobs stay in the stream meanwhile.
            try:
                await self._ensure_group(key, group)
                for job in await self._take_over_dead(key, topic, group, consumer):
                    yield job
                async for job in self._consume(key, topic, group, consumer):
                    pause = 0.0
                    yield job
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                _stop_if_cancelled(exc)  # a consumer being cancelled stops, whatever the read raised
                pause = min(max(pause * 2, 0.25), RETRY_MAX_S)
                logger.warning("queue %s: Redis unreachable (%s); retrying in %.2f s", topic, exc, pause)
                await asyncio.sleep(pause)
            except ResponseError as exc:
                # The stream or its group went away under the consumer (a FLUSHDB, a DEL, a Redis restarted empty
                # behind a proxy): made again at the top of the loop. Jobs enqueued before that are gone with it.
                if not _stream_gone(exc):
                    raise
                _stop_if_cancelled(exc)
                logger.warning("queue %s: stream or group %s gone (%s); creating it again", topic, group, exc)

    async def _consume(self, key: str, topic: str, group: str, consumer: str) -> AsyncIterator[Job]:
        while True:
            _stop_if_cancelled()
            claimed: Any = await self._client.xautoclaim(
                key, group, consumer, min_idle_time=self._claim_idle_ms, start_id="0-0", count=1
            )
            entries = [e for e in claimed[1] if e[1]]  # entries deleted meanwhile come back with no fields
            for entry_id, fields in entries:
                deliveries = await self._deliveries(key, group, entry_id)
                yield Job(topic, group, _text(entry_id), bytes(fields[b"p"]), deliveries)
            if entries:
                continue
            read: Any = await self._client.xreadgroup(group, consumer, {key: ">"}, count=1, block=self._block_ms)
            for _, stream_entries in read or []:
                for entry_id, fields in stream_entries:
                    yield Job(topic, group, _text(entry_id), bytes(fields[b"p"]), 1)

    async def _deliveries(self, key: str, group: str, entry_id: Any) -> int:
        rows = await self._client.xpending_range(key, group, min=entry_id, max=entry_id, count=1)
        return int(rows[0]["times_delivered"]) if rows else 1

    async def ack(self, job: Job) -> None:
        """XACK and XDEL the entry."""
        key = stream_key(job.topic)
        await self._client.xack(key, job.group, job.id)
        await self._client.xdel(key, job.id)

    async def stats(self, topic: str, group: str) -> QueueStats:
        """XLEN and the group's pending and lag from XINFO GROUPS."""
        key = stream_key(topic)
        length = int(await self._client.xlen(key))
        try:
            groups = await self._client.xinfo_groups(key)
        except ResponseError:  # no such stream
            return QueueStats(0, 0, 0)
        for info in groups:
            if _text(info["name"]) == group:
                pending = int(info["pending"])
                return QueueStats(length, max(length - pending, 0), pending)  # acked entries are deleted
        return QueueStats(length, length, 0)


def _stream_gone(exc: ResponseError) -> bool:
    """Whether Redis answered that the consumer group (NOGROUP) or, to a blocked read, the stream no longer exists."""
    text = str(exc)
    return text.startswith("NOGROUP") or "no longer exists" in text


def _stop_if_cancelled(cause: BaseException | None = None) -> None:
    """Raise CancelledError when the running task was asked to stop.

    redis-py's asyncio client can swallow a cancellation that lands in a blocking read (redis/redis-py#2028: the
    command then returns as if nothing happened), so the consume loop checks before each command: a consumer that
    was cancelled stops at its next step instead of blocking in XREADGROUP again.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from cause
