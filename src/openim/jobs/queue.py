"""DbQueue: the `JobQueue` contract (`infra/queue.py`) on the database — the embedded default's durable queue.

Without `redis.url` the jobs of the msgtransfer role (offline pushes) are rows of `queue_job` (`storage/queue.py`)
in the same SQLite or PostgreSQL database as the messages, so a job enqueued before a kill -9 is still there when
the process is back. One consumer group per topic is supported (as `RedisStreamQueue` intends): the group name is
accepted and not stored. `consume` claims a job at a time, reclaiming jobs pending longer than `claim_idle_s`
first; it waits for new ones on an in-process event (set by `enqueue` here) or `poll_s`, whichever comes first, so
jobs enqueued by another process sharing the database are seen within `poll_s`.

Each write is a transaction on the database the messages use (one writer at a time on SQLite), so the
acknowledgements that arrive while one is being written are written together, and jobs can be claimed
`claim_batch` at a time (handed out one by one). A claimed job not handed out yet is pending like the one in hand:
another consumer gets it only after `claim_idle_s`, so a batch above 1 suits a single consumer (the embedded
default, where runtime.py claims 16 at a time), not several sharing a topic.

When a consumer starts, the claims of consumers of this host whose process is gone (consumer names are host:pid,
`jobs/worker.py`) are released at once: after a kill -9 and a restart, the jobs the dead process held are handled
right away instead of after `claim_idle_s`. Claims of other hosts wait for the idle time, as in Redis.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence

from openim.infra.queue import CLAIM_IDLE_S, Job, QueueStats, dead_local_consumers
from openim.storage.queue import QueueRepo

__all__ = ["ACK_GATHER_S", "DbQueue"]

logger = logging.getLogger("openim.jobs")
ACK_GATHER_S = 0.01  # how long a delete waits for more acknowledgements to write with it


class DbQueue:
    """JobQueue over `QueueRepo`; `now_ms` is the clock claims are timed with."""

    def __init__(
        self,
        repo: QueueRepo,
        now_ms: Callable[[], int],
        *,
        claim_idle_s: float = CLAIM_IDLE_S,
        poll_s: float = 1.0,
        claim_batch: int = 1,
    ) -> None:
        self._repo = repo
        self._now_ms = now_ms
        self._claim_idle_ms = int(claim_idle_s * 1000)
        self._poll_s = poll_s
        self._claim_batch = claim_batch
        self._wakeups: dict[str, asyncio.Event] = {}
        self._acks: list[int] = []  # job IDs waiting for the next delete
        self._acked: asyncio.Future[None] | None = None  # resolved when they are deleted
        self._flusher: asyncio.Future[None] | None = None  # the task writing them

    def _wakeup(self, topic: str) -> asyncio.Event:
        return self._wakeups.setdefault(topic, asyncio.Event())

    async def enqueue(self, topic: str, payload: bytes) -> str:
        """Insert the job; its row ID."""
        return (await self.enqueue_many(topic, [payload]))[0]

    async def enqueue_many(self, topic: str, payloads: Sequence[bytes]) -> list[str]:
        """Insert the jobs in one transaction and wake this process's consumers of `topic`."""
        ids = await self._repo.add(topic, payloads, now=self._now_ms())
        if ids:
            self._wakeup(topic).set()
        return [str(i) for i in ids]

    async def consume(self, topic: str, group: str, consumer: str) -> AsyncIterator[Job]:
        """Release dead local consumers' claims, then claim jobs one at a time, forever."""
        dead = dead_local_consumers(await self._repo.consumers(topic))
        if dead:
            released = await self._repo.release(topic, dead)
            logger.warning("queue %s: %d jobs of stopped consumers %s handed out again", topic, released, dead)
        wakeup = self._wakeup(topic)
        while True:
            wakeup.clear()
            now = self._now_ms()
            rows = await self._repo.claim(
                topic, consumer, now=now, idle_before=now - self._claim_idle_ms, limit=self._claim_batch
            )
            for row in rows:
                yield Job(topic, group, str(row.id), row.payload, row.deliveries)
            if rows:
                continue
            try:
                await asyncio.wait_for(wakeup.wait(), timeout=self._poll_s)
            except TimeoutError:
                pass

    async def ack(self, job: Job) -> None:
        """Delete the job's row, together with the acknowledgements that arrive while a delete is being written."""
        self._acks.append(int(job.id))
        if self._acked is None:
            self._acked = asyncio.get_running_loop().create_future()
        batch = self._acked
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_acks())
        await asyncio.shield(batch)

    async def _flush_acks(self) -> None:
        """One delete per round for every acknowledgement gathered; rounds follow each other while more arrive."""
        while self._acks:
            await asyncio.sleep(ACK_GATHER_S)  # let the acknowledgements of the next moments join
            ids, done = self._acks, self._acked
            self._acks, self._acked = [], None
            assert done is not None
            try:
                await self._repo.ack(ids)
            except Exception as exc:
                done.set_exception(exc)
            else:
                done.set_result(None)

    async def stats(self, topic: str, group: str) -> QueueStats:
        """Rows kept, claimed (pending) and not yet claimed (lag) of `topic`."""
        length, pending = await self._repo.stats(topic)
        return QueueStats(length, length - pending, pending)
