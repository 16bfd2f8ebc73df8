"""DbQueue: the `JobQueue` contract (`infra/queue.py`) on the database, for jobs that must survive a kill -9
without Redis — the after-hook calls of the embedded default (`openim start`, SQLite).

A job is a row of `job` (`storage/queue.py`) from `enqueue` until `ack`; `bury` moves it to `job_dead`. So a job
enqueued is on disk when `enqueue` returns, and a process killed at any point leaves every unfinished job in the
table for the next start.

- `enqueue` is group-committed: calls made while a transaction is running are written by the next one, so a
  burst of after hooks costs a few transactions, not one each. `ack` is grouped the same way.
- `consume` claims the oldest job nobody holds (or whose claim is older than `claim_idle_s`), one per
  transaction: a consumer holds only the job it hands out, so no job waits behind a busy consumer while another
  is idle (as `infra/redis/queue.py`). A job's `deliveries` counts its claims.
- A consumer is named host:pid (`jobs/worker.default_consumer_name`). When `consume` starts, the claims of
  consumers of this host whose process is gone are released at once, so a restart after a kill -9 resumes the
  jobs in hand without waiting out `claim_idle_s`. Claims of other hosts are left to the idle limit.
- One consumer group per topic is the intended use (as with Redis): `group` is carried in the jobs, not stored.
- Waiting consumers of this process wake up when this process enqueues; others poll every `poll_s`, with a
  read (no write lock on SQLite) that claims only when there is something to claim.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

from openim.infra.queue import CLAIM_IDLE_S, DEAD_MAX, DeadLetter, Job, QueueStats, local_consumer_is_gone
from openim.storage.queue import DeadRow, JobRepo

__all__ = ["DbQueue"]

logger = logging.getLogger("openim.jobs")

T = TypeVar("T")
R = TypeVar("R")
MAX_GROUP = 500  # jobs written (or acknowledged) by one transaction at most


class _Grouped(Generic[T, R]):
    """Calls made while one batch runs go into the next: `await grouped(item)` → that item's result."""

    def __init__(self, run: Callable[[list[T]], Awaitable[list[R]]]) -> None:
        self._run = run
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._flusher is None:
            self._flusher = asyncio.ensure_future(self._flush())
        return await asyncio.shield(future)  # a caller that goes away does not cancel the others' transaction

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
                try:
                    results = await self._run([item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._flusher = None


class DbQueue:
    """JobQueue on the `job` table; see the module docstring."""

    def __init__(
        self,
        repo: JobRepo,
        *,
        claim_idle_s: float = CLAIM_IDLE_S,
        poll_s: float = 1.0,
        batch: int = 1,
        now_ms: Callable[[], int] | None = None,
    ) -> None:
        self.repo = repo
        self._claim_idle_ms = int(claim_idle_s * 1000)
        self._poll_s = poll_s
        self._batch = batch
        self._now_ms = now_ms or (lambda: int(time.time() * 1000))
        self._changed: dict[str, asyncio.Event] = {}
        self._enqueue: _Grouped[tuple[str, bytes], str] = _Grouped(self._write)
        self._ack: _Grouped[str, None] = _Grouped(self._delete)

    async def _write(self, jobs: list[tuple[str, bytes]]) -> list[str]:
        ids = await self.repo.enqueue_many(jobs, now_ms=self._now_ms())
        for topic in {t for t, _ in jobs}:
            event = self._changed.get(topic)
            if event is not None:
                event.set()
        return ids

    async def _delete(self, ids: list[str]) -> list[None]:
        await self.repo.ack(ids)
        return [None] * len(ids)

    async def enqueue(self, topic: str, payload: bytes) -> str:
        """Write the job (group-committed); its ID once it is on disk."""
        return await self._enqueue((topic, payload))

    async def consume(self, topic: str, group: str, consumer: str) -> AsyncIterator[Job]:
        """Jobs for `consumer`: released claims of dead local consumers first, then the oldest unclaimed ones."""
        gone = [c for c in await self.repo.consumers(topic) if local_consumer_is_gone(c)]
        if gone:
            released = await self.repo.release(topic, gone)
            logger.info("queue %s: %d jobs of stopped consumers %s taken back", topic, released, ", ".join(gone))
        changed = self._changed.setdefault(topic, asyncio.Event())
        while True:
            changed.clear()
            now = self._now_ms()
            rows = []
            if await self.repo.claimable(topic, stale_before_ms=now - self._claim_idle_ms):
                rows = await self.repo.claim(
                    topic, consumer, now_ms=now, stale_before_ms=now - self._claim_idle_ms, limit=self._batch
                )
            for row in rows:
                yield Job(topic, group, row.id, row.payload, row.deliveries)
            if rows:
                continue
            try:
                await asyncio.wait_for(changed.wait(), timeout=self._poll_s)
            except TimeoutError:
                pass

    async def ack(self, job: Job) -> None:
        """Delete the job (group-committed)."""
        await self._ack(job.id)

    async def stats(self, topic: str, group: str) -> QueueStats:
        """Rows kept, claimed (pending) and dead; lag is the unclaimed rest."""
        counts = await self.repo.counts(topic)
        return QueueStats(counts.length, counts.length - counts.claimed, counts.claimed, counts.dead)

    async def bury(self, job: Job, reason: str) -> None:
        """Move the job to `job_dead` (the newest DEAD_MAX of the topic are kept)."""
        dead = DeadRow(job.topic, job.id, job.payload, reason, self._now_ms(), job.deliveries)
        dropped = await self.repo.bury(dead, keep=DEAD_MAX)
        if dropped:
            logger.error("dead-letter list of %s is full (%d): %d oldest dropped", job.topic, DEAD_MAX, dropped)

    async def dead_letters(self, topic: str, *, limit: int = 100) -> list[DeadLetter]:
        """The newest `limit` dead letters of `topic`, newest first."""
        rows = await self.repo.dead_letters(topic, limit=limit)
        return [DeadLetter(r.topic, r.id, r.payload, r.reason, r.buried_at, r.deliveries) for r in rows]
