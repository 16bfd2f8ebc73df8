"""JobQueue: durable-enough work handed from the message path to the msgtransfer role (offline push, …).

`JobQueue` is the protocol every implementation keeps. `enqueue(topic, payload)` appends a job and returns its
ID. `consume(topic, group, consumer)` is an async iterator of jobs for one consumer of a consumer group: each job
of the topic goes to one consumer of each group; a job stays *pending* (delivered, not acknowledged) until
`ack(job)`. A pending job whose consumer has not acknowledged it for `claim_idle_s` (the consumer died, or hung)
is handed again to another consumer of the group that asks for work, with `deliveries` counting up: delivery is
at-least-once, so handlers must tolerate a job twice. `stats(topic, group)` reports the queue's state for the
operator (`openim doctor`, /metrics): `length` (jobs kept), `lag` (not yet delivered to the group) and `pending`.
`enqueue_many` appends several jobs at once (one transaction or round trip for a batch of committed messages).

A job the worker gave up on is a *dead letter*: it is appended, payload unchanged, to the topic
`dead_letter_topic(topic)` (`<topic>.dead`), which nobody consumes; `openim doctor` shows its length, and an
operator can read it (in Redis the stream `openim:queue:<topic>.dead`, in the database the rows of that topic).

Consumer names are host:pid (`jobs/worker.py`); `dead_local_consumers` picks out those of this host whose process
is gone, so a restarted process can take over their pending jobs at once instead of after `claim_idle_s`.

`MemoryQueue` serves one process (tests, tools; its jobs die with the process). `DbQueue` (`jobs/queue.py`) keeps
the contract in the database, the embedded default's durable queue, and `RedisStreamQueue` (`infra/redis/queue.py`)
over Redis Streams with consumer groups, for scale-out.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "CLAIM_IDLE_S",
    "DEAD_LETTER_SUFFIX",
    "Job",
    "JobQueue",
    "MemoryQueue",
    "QueueStats",
    "dead_letter_topic",
    "dead_local_consumers",
]

CLAIM_IDLE_S = 60.0  # a job delivered but not acknowledged for this long goes to another consumer
DEAD_LETTER_SUFFIX = ".dead"


def dead_letter_topic(topic: str) -> str:
    """Where the dead letters of `topic` are kept: `<topic>.dead`."""
    return topic + DEAD_LETTER_SUFFIX


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by another user
    return True


def dead_local_consumers(consumers: Sequence[str], *, host: str | None = None) -> list[str]:
    """Those of `consumers` (host:pid names) that ran on this host in a process that no longer exists."""
    host = host or socket.gethostname()
    dead: list[str] = []
    for name in consumers:
        consumer_host, _, pid = name.rpartition(":")
        if consumer_host == host and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            dead.append(name)
    return dead


@dataclass(frozen=True, slots=True)
class Job:
    """One delivery of a job: its ID within the topic, payload, and how many times it was delivered (1 first)."""

    topic: str
    group: str
    id: str
    payload: bytes
    deliveries: int = 1


@dataclass(frozen=True, slots=True)
class QueueStats:
    """A topic as seen by one consumer group: jobs kept, not yet delivered (lag), delivered but not acked."""

    length: int
    lag: int
    pending: int

    @property
    def depth(self) -> int:
        """Jobs the group still has to finish: lag plus pending."""
        return self.lag + self.pending


class JobQueue(Protocol):
    async def enqueue(self, topic: str, payload: bytes) -> str:
        """Append a job to `topic`; its ID."""
        ...

    async def enqueue_many(self, topic: str, payloads: Sequence[bytes]) -> list[str]:
        """Append a job per payload to `topic`, in order; their IDs."""
        ...

    def consume(self, topic: str, group: str, consumer: str) -> AsyncIterator[Job]:
        """The jobs of `topic` for `consumer` of `group`: reclaimed idle ones first, then new ones; never ends."""
        ...

    async def ack(self, job: Job) -> None:
        """The job is done: no consumer of its group gets it again."""
        ...

    async def stats(self, topic: str, group: str) -> QueueStats:
        """Length, lag and pending of `topic` for `group` (zeros for an unknown topic or group)."""
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

    async def enqueue_many(self, topic: str, payloads: Sequence[bytes]) -> list[str]:
        """`enqueue` each payload."""
        return [await self.enqueue(topic, payload) for payload in payloads]

    async def consume(self, topic: str, group: str, consumer: str) -> AsyncIterator[Job]:
        """Yield jobs for `consumer`: an idle pending job of another consumer first, else the next new one."""
        t = self._topic(topic)
        g = t.groups.setdefault(group, _Group(next_index=t.offset))
        dead = set(dead_local_consumers(sorted({holder for holder, _, _ in g.pending.values()})))
        for job_id, (holder, _, deliveries) in list(g.pending.items()):
            if holder in dead:
                g.pending[job_id] = (holder, float("-inf"), deliveries)  # idle since forever: reclaimed first
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
        """Length, lag and pending of `topic` for `group`."""
        t = self._topics.get(topic)
        if t is None:
            return QueueStats(0, 0, 0)
        g = t.groups.get(group)
        if g is None:
            return QueueStats(len(t.order), len(t.order), 0)
        return QueueStats(len(t.order), t.offset + len(t.order) - g.next_index, len(g.pending))
