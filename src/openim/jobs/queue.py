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

Jobs written with the messages: `with_messages(topic, payloads_of)` is the message writer's `CommitHook`
(storage/commit.py): the jobs of each batch (`payloads_of(appended)`) are rows inserted in the batch's own
transaction — no transaction of their own, and nothing between the commit and the enqueue for a kill -9 to lose.
While a consumer of `topic` runs in this process, the rows are inserted claimed by it (`deliveries` 1) and, once
committed, handed to it in memory: no claim transaction either. They are pending like any claimed job: after a
kill -9 the restarted consumer releases them (below), and another consumer takes them after `claim_idle_s`.
With more than `MAX_IN_HAND` jobs waiting in memory (a slow pusher), new rows are left unclaimed for the database
path. A consumer fed this way still claims from the table at least every `poll_s` (jobs of other processes,
released and idle claims), and at once after any `enqueue` of this process.

When a consumer starts, the claims of consumers of this host whose process is gone (consumer names are host:pid,
`jobs/worker.py`) are released at once: after a kill -9 and a restart, the jobs the dead process held are handled
right away instead of after `claim_idle_s`. Claims of other hosts wait for the idle time, as in Redis.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from openim.infra.queue import CLAIM_IDLE_S, Job, QueueStats, dead_local_consumers
from openim.storage.msg import Appended
from openim.storage.queue import QueueRepo

__all__ = ["ACK_GATHER_S", "MAX_IN_HAND", "DbQueue", "JobsWithMessages"]

logger = logging.getLogger("openim.jobs")
# How long a delete waits for more acknowledgements to write with it: a write transaction each time, so not every
# few jobs (profiles of 1:1 sends showed the deletes at a third of the queue's cost with 10 ms).
ACK_GATHER_S = 0.05
RETRY_MAX_S = 5.0  # longest pause between claims while the database does not answer
MAX_IN_HAND = 4096  # jobs claimed at insert and waiting in memory for this process's consumer, at most


@dataclass(slots=True)
class _Local:
    """The consumer of a topic running in this process, and the jobs claimed for it at insert, in order."""

    consumer: str
    jobs: deque[tuple[int, bytes]] = field(default_factory=deque)
    ids: set[int] = field(default_factory=set)  # of `jobs`: a claim from the table skips them
    held: dict[int, int] = field(default_factory=dict)  # with keep_claims: job ID -> claim time (ms), until acked


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
        keep_claims: bool = False,
    ) -> None:
        self._repo = repo
        self._keep_claims = keep_claims
        self._now_ms = now_ms
        self._claim_idle_ms = int(claim_idle_s * 1000)
        self._poll_s = poll_s
        self._claim_batch = claim_batch
        self._wakeups: dict[str, asyncio.Event] = {}
        self._acks: list[int] = []  # job IDs waiting for the next delete
        self._acked: asyncio.Future[None] | None = None  # resolved when they are deleted
        self._flusher: asyncio.Future[None] | None = None  # the task writing them
        self._local: dict[str, _Local] = {}  # topic -> its consumer in this process, while it consumes
        self._dirty: set[str] = set()  # topics this process enqueued to the table since their consumer claimed

    def _wakeup(self, topic: str) -> asyncio.Event:
        return self._wakeups.setdefault(topic, asyncio.Event())

    async def enqueue(self, topic: str, payload: bytes) -> str:
        """Insert the job; its row ID."""
        return (await self.enqueue_many(topic, [payload]))[0]

    async def enqueue_many(self, topic: str, payloads: Sequence[bytes]) -> list[str]:
        """Insert the jobs in one transaction and wake this process's consumers of `topic`."""
        ids = await self._repo.add(topic, payloads, now=self._now_ms())
        if ids:
            self._dirty.add(topic)
            self._wakeup(topic).set()
        return [str(i) for i in ids]

    def with_messages(self, topic: str, payloads_of: Callable[[list[Appended]], list[bytes]]) -> JobsWithMessages:
        """The message writer's hook writing each batch's jobs of `topic` in its transaction; see the docstring."""
        return JobsWithMessages(self, topic, payloads_of)

    def _stage(self, topic: str, payloads: Sequence[bytes]) -> tuple[list[dict[str, Any]], bool]:
        """Rows for `payloads`, claimed by this process's consumer of `topic` when there is one with room."""
        local = self._local.get(topic)
        held = local is not None and len(local.jobs) < MAX_IN_HAND
        consumer = local.consumer if local is not None and held else ""
        return self._repo.rows(topic, payloads, now=self._now_ms(), consumer=consumer), held

    def _committed(self, topic: str, rows: list[dict[str, Any]], held: bool) -> None:
        """Rows of `topic` committed: claimed ones go to the consumer in memory, others wait in the table."""
        local = self._local.get(topic)
        if held and local is not None and rows[0]["consumer"] == local.consumer:
            for row in rows:
                local.jobs.append((row["id"], row["payload"]))
                local.ids.add(row["id"])
                if self._keep_claims:
                    local.held[row["id"]] = row["claimed_at"]
        else:
            self._dirty.add(topic)
        self._wakeup(topic).set()

    async def consume(self, topic: str, group: str, consumer: str) -> AsyncIterator[Job]:
        """Release dead local consumers' claims, then claim jobs one at a time, forever.

        A database that does not answer pauses the claims (0.25 s, doubling up to RETRY_MAX_S); it never ends
        the consumer, or the msgtransfer role — and with it the process — would stop. Jobs wait in the table.
        """
        wakeup = self._wakeup(topic)
        local = self._local.setdefault(topic, _Local(consumer))
        loop = asyncio.get_running_loop()
        claim_due = 0.0  # the table is read at once, then at least every poll_s
        released = False
        pause = 0.0
        try:
            while True:
                wakeup.clear()
                while local.jobs:  # claimed at insert (with_messages): no claim transaction
                    job_id, payload = local.jobs.popleft()
                    local.ids.discard(job_id)
                    yield Job(topic, group, str(job_id), payload, 1)
                if topic in self._dirty or loop.time() >= claim_due:
                    self._dirty.discard(topic)
                    claim_due = loop.time() + self._poll_s
                    try:
                        if not released:
                            await self._release_dead(topic)
                            released = True
                        now = self._now_ms()
                        await self._renew_claims(topic, local, now)
                        rows = await self._repo.claim(
                            topic, consumer, now=now, idle_before=now - self._claim_idle_ms, limit=self._claim_batch
                        )
                    except Exception as exc:
                        pause = min(max(pause * 2, 0.25), RETRY_MAX_S)
                        claim_due = loop.time() + pause
                        logger.warning("queue %s: database unreachable (%s); claims again in %.2fs", topic, exc, pause)
                        continue
                    pause = 0.0
                    for row in rows:
                        if row.id not in local.ids:  # else waiting in memory for so long that it was idle
                            if self._keep_claims:
                                local.held[row.id] = now
                            yield Job(topic, group, str(row.id), row.payload, row.deliveries)
                    if rows:
                        self._dirty.add(topic)  # there may be more
                        continue
                if local.jobs:
                    continue
                try:
                    await asyncio.wait_for(wakeup.wait(), timeout=max(0.0, claim_due - loop.time()))
                except TimeoutError:
                    pass
        finally:
            if self._local.get(topic) is local:
                del self._local[topic]  # jobs still in memory stay claimed: released at the next start, or idle

    async def _renew_claims(self, topic: str, local: _Local, now: int) -> None:
        """With keep_claims: renew this consumer's claims older than half the idle time, so that no other consumer
        takes a job this live one holds (waiting for a slot, or retried while the handler's target is away)."""
        if not local.held:
            return
        stale_before = now - self._claim_idle_ms // 2
        if min(local.held.values()) >= stale_before:
            return
        await self._repo.touch(topic, local.consumer, now=now, claimed_before=stale_before)
        for job_id, at in local.held.items():
            if at < stale_before:
                local.held[job_id] = now

    async def _release_dead(self, topic: str) -> None:
        """Hand out again the claims of this host's consumers whose process is gone (after a kill -9)."""
        dead = dead_local_consumers(await self._repo.consumers(topic))
        if dead:
            released = await self._repo.release(topic, dead)
            logger.warning("queue %s: %d jobs of stopped consumers %s handed out again", topic, released, dead)

    async def ack(self, job: Job) -> None:
        """Delete the job's row, together with the acknowledgements that arrive while a delete is being written."""
        local = self._local.get(job.topic)
        if local is not None:
            local.held.pop(int(job.id), None)  # its claim is no longer renewed: if the delete fails, it goes idle
        self._acks.append(int(job.id))
        if self._acked is None:
            self._acked = asyncio.get_running_loop().create_future()
        batch = self._acked
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_acks())
        await asyncio.shield(batch)

    def _take_acks(self) -> tuple[list[int], asyncio.Future[None] | None]:
        """The acknowledgements gathered so far, for a message transaction to delete (`JobsWithMessages`)."""
        ids, done = self._acks, self._acked
        self._acks, self._acked = [], None
        return ids, done

    def _return_acks(self, ids: list[int], done: asyncio.Future[None] | None) -> None:
        """Acknowledgements a failed message transaction held: gathered again, for the next delete."""
        if not ids or done is None:
            return
        self._acks[:0] = ids
        if self._acked is None:
            self._acked = done
        else:
            self._acked.add_done_callback(lambda f: _settle_like(done, f))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_acks())

    async def _flush_acks(self) -> None:
        """One delete per round for every acknowledgement gathered; rounds follow each other while more arrive."""
        while self._acks:
            await asyncio.sleep(ACK_GATHER_S)  # let the acknowledgements of the next moments join
            ids, done = self._take_acks()
            if done is None:
                continue  # a message transaction took them meanwhile
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


def _settle_like(future: asyncio.Future[None], model: asyncio.Future[None]) -> None:
    if future.done():
        return
    if model.cancelled() or model.exception() is None:
        future.set_result(None)
    else:
        future.set_exception(model.exception())  # type: ignore[arg-type]


class JobsWithMessages:
    """`CommitHook` of the message writer: each batch's jobs of one topic written in its transaction."""

    def __init__(self, queue: DbQueue, topic: str, payloads_of: Callable[[list[Appended]], list[bytes]]) -> None:
        self._queue = queue
        self._topic = topic
        self._payloads_of = payloads_of
        self._staged: tuple[list[dict[str, Any]], bool] | None = None  # the rows of the running transaction
        self._acks: tuple[list[int], asyncio.Future[None] | None] | None = None  # acknowledgements it deletes

    async def in_transaction(self, conn: AsyncConnection, appended: list[Appended]) -> None:
        """Insert the batch's jobs on `conn`, and delete the jobs acknowledged meanwhile (their delete rides along).

        A later run (the transaction again) replaces the staged rows and keeps the acknowledgements taken.
        """
        self._staged = None
        queue = self._queue
        if self._acks is None:
            self._acks = queue._take_acks()
        if self._acks[0]:
            await queue._repo.delete_in(conn, self._acks[0])
        payloads = self._payloads_of(appended)
        if not payloads:
            return
        rows, held = queue._stage(self._topic, payloads)
        await queue._repo.insert(conn, rows)
        self._staged = (rows, held)

    def committed(self) -> None:
        """Hand the committed jobs over (in memory to this process's consumer, else it finds them in the table)."""
        staged, self._staged = self._staged, None
        acks, self._acks = self._acks, None
        if acks is not None and acks[1] is not None and not acks[1].done():
            acks[1].set_result(None)
        if staged is not None:
            self._queue._committed(self._topic, *staged)

    def failed(self) -> None:
        """The transaction failed: the acknowledgements it held are written by the next delete instead."""
        self._staged = None
        acks, self._acks = self._acks, None
        if acks is not None:
            self._queue._return_acks(*acks)
