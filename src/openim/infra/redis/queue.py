"""`RedisStreamQueue`: the `JobQueue` contract (`infra/queue.py`) over Redis Streams with consumer groups.

Topic `t` is the stream `openim:queue:<t>` (`stream_key(t)`); a job is one entry with the field `p` (payload),
its ID the entry ID. `consume` creates the group if needed (`XGROUP CREATE … 0 MKSTREAM`: a new group sees the
jobs already queued) and takes over at once the entries pending on consumers of this host whose process is gone
(`local_consumer_is_gone`: a restart after a kill -9 resumes them without the idle wait), then loops:
`XAUTOCLAIM` takes over entries pending longer than `claim_idle_s` (their consumer died or hangs; `deliveries`
is read back with `XPENDING`), else `XREADGROUP … >` blocks up to
`block_ms` for new ones. `ack` is `XACK` followed by `XDEL`, so the stream holds only unfinished jobs (one group
per topic is the intended use; with several, the first to finish removes the entry). `stats` reads `XLEN` and
`XINFO GROUPS` (pending); lag is length minus pending, as finished jobs are deleted. `bury` adds the job to the
stream `openim:dead:<t>` (fields `p`, `reason`, `id`, `at`, `n`; capped at DEAD_MAX entries) and acks it, in one
MULTI/EXEC; `dead_letters` reads that stream newest first.

The client is the caller's (`openim.infra.redis.connect`, bytes responses) and stays open.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from openim.infra.queue import CLAIM_IDLE_S, DEAD_MAX, DeadLetter, Job, QueueStats, local_consumer_is_gone

logger = logging.getLogger("openim.infra")
RETRY_MAX_S = 5.0  # longest pause between attempts while Redis does not answer

__all__ = ["DEAD_PREFIX", "STREAM_PREFIX", "RedisStreamQueue", "dead_key", "stream_key"]

STREAM_PREFIX = "openim:queue:"
DEAD_PREFIX = "openim:dead:"


def dead_key(topic: str) -> str:
    """The Redis stream holding the dead letters of `topic`."""
    return DEAD_PREFIX + topic


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
                for job in await self._take_over_gone(key, topic, group, consumer):
                    yield job
                async for job in self._consume(key, topic, group, consumer):
                    pause = 0.0
                    yield job
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                pause = min(max(pause * 2, 0.25), RETRY_MAX_S)
                logger.warning("queue %s: Redis unreachable (%s); retrying in %.2f s", topic, exc, pause)
                await asyncio.sleep(pause)

    async def _take_over_gone(self, key: str, topic: str, group: str, consumer: str) -> list[Job]:
        """XCLAIM (idle 0) every entry pending on a gone local consumer, delete that consumer; the jobs claimed."""
        jobs: list[Job] = []
        consumers: Any = await self._client.xinfo_consumers(key, group)
        for info in consumers:
            name = _text(info["name"])
            if name == consumer or not local_consumer_is_gone(name):
                continue
            while True:
                rows = await self._client.xpending_range(key, group, min="-", max="+", count=100, consumername=name)
                if not rows:
                    break
                delivered = {_text(r["message_id"]): int(r["times_delivered"]) for r in rows}
                claimed: Any = await self._client.xclaim(key, group, consumer, 0, list(delivered))
                for entry_id, fields in claimed:
                    if fields:  # an entry deleted meanwhile comes back without fields
                        entry = _text(entry_id)
                        jobs.append(Job(topic, group, entry, bytes(fields[b"p"]), delivered[entry] + 1))
            await self._client.xgroup_delconsumer(key, group, name)
            logger.info("queue %s: %d jobs of stopped consumer %s taken back", key, len(jobs), name)
        return jobs

    async def _consume(self, key: str, topic: str, group: str, consumer: str) -> AsyncIterator[Job]:
        while True:
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
        """XLEN and the group's pending and lag from XINFO GROUPS; XLEN of the dead letters."""
        key = stream_key(topic)
        length = int(await self._client.xlen(key))
        dead = int(await self._client.xlen(dead_key(topic)))
        try:
            groups = await self._client.xinfo_groups(key)
        except ResponseError:  # no such stream
            return QueueStats(0, 0, 0, dead)
        for info in groups:
            if _text(info["name"]) == group:
                pending = int(info["pending"])
                return QueueStats(length, max(length - pending, 0), pending, dead)  # acked entries are deleted
        return QueueStats(length, length, 0, dead)

    async def bury(self, job: Job, reason: str) -> None:
        """XADD to the dead-letter stream (capped), XACK and XDEL the job: one transaction."""
        dead = dead_key(job.topic)
        if int(await self._client.xlen(dead)) >= DEAD_MAX:
            logger.error("dead-letter list of %s is full (%d): the oldest is dropped", job.topic, DEAD_MAX)
        fields = {"p": job.payload, "reason": reason, "id": job.id, "at": int(time.time() * 1000), "n": job.deliveries}
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.xadd(dead, fields, maxlen=DEAD_MAX, approximate=False)  # type: ignore[arg-type]
            pipe.xack(stream_key(job.topic), job.group, job.id)
            pipe.xdel(stream_key(job.topic), job.id)
            await pipe.execute()

    async def dead_letters(self, topic: str, *, limit: int = 100) -> list[DeadLetter]:
        """XREVRANGE of the dead-letter stream."""
        rows: Any = await self._client.xrevrange(dead_key(topic), count=limit)
        return [
            DeadLetter(
                topic,
                _text(f[b"id"]),
                bytes(f[b"p"]),
                _text(f[b"reason"]),
                int(f[b"at"]),
                int(f[b"n"]),
            )
            for _, f in rows
        ]
