"""JobQueue: durable-enough work handed from the message path to the msgtransfer role (offline push, …).

`JobQueue` is the protocol every implementation keeps. `enqueue(topic, payload)` appends a job and returns its
ID. `consume(topic, group, consumer)` is an async iterator of jobs for one consumer of a consumer group: each job
of the topic goes to one consumer of each group; a job stays *pending* (delivered, not acknowledged) until
`ack(job)`. A pending job whose consumer has not acknowledged it for `claim_idle_s` (the consumer died, or hung)
is handed again to another consumer of the group that asks for work, with `deliveries` counting up: delivery is
at-least-once, so handlers must tolerate a job twice. `stats(topic, group)` reports the queue's state for the
operator (`openim doctor`, /metrics): `length` (jobs kept), `lag` (not yet delivered to the group), `pending` and
`dead`. A job that failed every try is `bury`-ed: acknowledged and kept in the topic's dead-letter list with the
reason (`dead_letters(topic)` lists them), so nothing a worker gives up on disappears without a trace. The list
keeps the newest `DEAD_MAX` per topic; burying beyond that drops the oldest, with an error in the log.

`MemoryQueue` serves one process (the embedded default; its jobs die with the process). `RedisStreamQueue`
(`infra/redis/queue.py`) keeps the same contract over Redis Streams with consumer groups, for scale-out.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

logger = logging.getLogger("openim.infra")

__all__ = [
    "CLAIM_IDLE_S",
    "DEAD_MAX",
    "DeadLetter",
    "Job",
    "JobQueue",
    "MemoryQueue",
    "QueueStats",
    "local_consumer_is_gone",
]

CLAIM_IDLE_S = 60.0  # a job delivered but not acknowledged for this long goes to another consumer
DEAD_MAX = 10_000  # dead letters kept per topic, newest first


def local_consumer_is_gone(consumer: str) -> bool:
    """True when `consumer` (host:pid, as the msgtransfer role names itself) is a process of this host that no
    longer exists: its pending jobs may be taken back at once instead of after `CLAIM_IDLE_S`."""
    host, _, pid = consumer.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


@dataclass(frozen=True, slots=True)
class Job:
    """One delivery of a job: its ID within the topic, payload, and how many times it was delivered (1 first)."""

    topic: str
    group: str
    id: str
    payload: bytes
    deliveries: int = 1


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A job that failed every try: its payload, why the last try failed, when (ms) and after how many tries."""

    topic: str
    id: str
    payload: bytes
    reason: str
    buried_ms: int
    deliveries: int


@dataclass(frozen=True, slots=True)
class QueueStats:
    """A topic as seen by one consumer group: jobs kept, not yet delivered (lag), delivered but not acked, and
    the topic's dead letters."""

    length: int
    lag: int
    pending: int
    dead: int = 0

    @property
    def depth(self) -> int:
        """Jobs the group still has to finish: lag plus pending."""
        return self.lag + self.pending


class JobQueue(Protocol):
    async def enqueue(self, topic: str, payload: bytes) -> str:
        """Append a job to `topic`; its ID."""
        ...

    def consume(self, topic: str, group: str, consumer: str) -> AsyncIterator[Job]:
        """The jobs of `topic` for `consumer` of `group`: reclaimed idle ones first, then new ones; never ends."""
        ...

    async def ack(self, job: Job) -> None:
        """The job is done: no consumer of its group gets it again."""
        ...

    async def stats(self, topic: str, group: str) -> QueueStats:
        """Length, lag, pending and dead of `topic` for `group` (zeros for an unknown topic or group)."""
        ...

    async def bury(self, job: Job, reason: str) -> None:
        """Keep the job in its topic's dead-letter list with `reason`, and acknowledge it."""
        ...

    async def dead_letters(self, topic: str, *, limit: int = 100) -> list[DeadLetter]:
        """The newest `limit` dead letters of `topic`, newest first."""
        ...


@dataclass
class _Group:
    next_index: int = 0  # position (counting trimmed jobs) of the first job not yet delivered
    pending: dict[str, tuple[str, float, int]] = field(default_factory=dict)  # id → (consumer, since, deliveries)


@dataclass
class _Topic:
    payloads: dict[str, bytes] = field(default_factory=dict)  # job ID → payload, of the jobs kept
    order: list[str] = field(default_factory=list)  # the IDs kept, oldest first
    offset: int = 0  # jobs trimmed from the front (done by every group)
    groups: dict[str, _Group] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class MemoryQueue:
    """The in-process JobQueue; `poll_s` bounds how long a waiting consumer takes to notice an idle pending job."""

    def __init__(self, *, claim_idle_s: float = CLAIM_IDLE_S, poll_s: float = 1.0) -> None:
        self._topics: dict[str, _Topic] = {}
        self._ids = itertools.count(1)
        self._claim_idle_s = claim_idle_s
        self._poll_s = poll_s
        self._dead: dict[str, deque[DeadLetter]] = {}

    def _topic(self, name: str) -> _Topic:
        return self._topics.setdefault(name, _Topic())

    async def enqueue(self, topic: str, payload: bytes) -> str:
        """Append a job and wake the consumers of `topic`."""
        t = self._topic(topic)
        job_id = str(next(self._ids))
        t.payloads[job_id] = payload
        t.order.append(job_id)
        async with t.changed:
            t.changed.notify_all()
        return job_id

    async def consume(self, topic: str, group: str, consumer: str) -> AsyncIterator[Job]:
        """Yield jobs for `consumer`: an idle pending job of another consumer first, else the next new one."""
        t = self._topic(topic)
        g = t.groups.setdefault(group, _Group(next_index=t.offset))
        while True:
            job = self._reclaim(t, g, topic, group, consumer) or self._next(t, g, topic, group, consumer)
            if job is not None:
                yield job
                continue
            async with t.changed:
                try:
                    await asyncio.wait_for(t.changed.wait(), timeout=self._poll_s)
                except TimeoutError:
                    pass

    def _reclaim(self, t: _Topic, g: _Group, topic: str, group: str, consumer: str) -> Job | None:
        now = time.monotonic()
        for job_id, (_, since, deliveries) in g.pending.items():
            if now - since >= self._claim_idle_s:
                g.pending[job_id] = (consumer, now, deliveries + 1)
                return Job(topic, group, job_id, t.payloads[job_id], deliveries + 1)
        return None

    def _next(self, t: _Topic, g: _Group, topic: str, group: str, consumer: str) -> Job | None:
        index = g.next_index - t.offset
        if index >= len(t.order):
            return None
        job_id = t.order[index]
        g.next_index += 1
        g.pending[job_id] = (consumer, time.monotonic(), 1)
        return Job(topic, group, job_id, t.payloads[job_id], 1)

    async def ack(self, job: Job) -> None:
        """Forget the job for its group; entries every group is done with are dropped."""
        t = self._topics.get(job.topic)
        if t is None:
            return
        g = t.groups.get(job.group)
        if g is not None:
            g.pending.pop(job.id, None)
        self._trim(t)

    def _trim(self, t: _Topic) -> None:
        if not t.groups:
            return
        delivered_to_all = min(g.next_index for g in t.groups.values()) - t.offset
        drop = 0
        while drop < delivered_to_all and not any(t.order[drop] in g.pending for g in t.groups.values()):
            drop += 1
        if drop:
            for job_id in t.order[:drop]:
                del t.payloads[job_id]
            del t.order[:drop]
            t.offset += drop

    async def stats(self, topic: str, group: str) -> QueueStats:
        """Length, lag, pending and dead of `topic` for `group`."""
        dead = len(self._dead.get(topic, ()))
        t = self._topics.get(topic)
        if t is None:
            return QueueStats(0, 0, 0, dead)
        g = t.groups.get(group)
        if g is None:
            return QueueStats(len(t.order), len(t.order), 0, dead)
        return QueueStats(len(t.order), t.offset + len(t.order) - g.next_index, len(g.pending), dead)

    async def bury(self, job: Job, reason: str) -> None:
        """Append to the in-memory dead-letter list (bounded by DEAD_MAX), then ack."""
        dead = self._dead.setdefault(job.topic, deque())
        if len(dead) >= DEAD_MAX:
            lost = dead.popleft()
            logger.error("dead-letter list of %s is full (%d): oldest %s dropped", job.topic, DEAD_MAX, lost.id)
        dead.append(DeadLetter(job.topic, job.id, job.payload, reason, int(time.time() * 1000), job.deliveries))
        await self.ack(job)

    async def dead_letters(self, topic: str, *, limit: int = 100) -> list[DeadLetter]:
        """The newest `limit` dead letters of `topic`, newest first."""
        return list(reversed(self._dead.get(topic, ())))[:limit]
