"""`DbQueue.with_messages`: the jobs of a message batch written in the batch's own transaction (the embedded
default's offline-push jobs), claimed at insert by this process's consumer and handed to it in memory, and the
acknowledgements deleted by the next batch's transaction. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from tests.storage.msgs import text

from openim.infra.queue import Job
from openim.jobs.queue import DbQueue, JobsWithMessages
from openim.storage import Storage
from openim.storage.commit import Appended, MsgWriter
from openim.storage.schema import queue_job

TOPIC = "offline_push"


def _payloads(batch: list[Appended]) -> list[bytes]:
    return [a.msg.clientMsgID.encode() for a in batch if not a.duplicate]


def _queue(storage: Storage, poll_s: float = 0.05) -> DbQueue:
    return DbQueue(storage.queue, lambda: int(time.time() * 1000), poll_s=poll_s)


async def _rows(storage: Storage) -> list[tuple[bytes, int, str, int]]:
    async with storage.db.read("test.rows") as conn:
        result = await conn.execute(
            select(queue_job.c.payload, queue_job.c.claimed_at, queue_job.c.consumer, queue_job.c.deliveries)
            .where(queue_job.c.topic == TOPIC)
            .order_by(queue_job.c.id)
        )
        return [(bytes(p), int(c), str(n), int(d)) for p, c, n, d in result]


def _count(storage: Storage, name: str) -> int:
    stat = storage.db.stats.by_name.get(name)
    return stat.count if stat is not None else 0


async def _take(jobs: AsyncIterator[Job], n: int) -> list[Job]:
    return [await asyncio.wait_for(anext(jobs), 5) for _ in range(n)]


async def test_jobs_commit_with_the_messages_and_reach_the_local_consumer_in_memory(storage: Storage) -> None:
    """With a consumer running, a batch's jobs are rows claimed by it (delivered once), handed over without a claim
    transaction; their acknowledgement is deleted by the next batch's transaction, with no delete of its own."""
    queue = _queue(storage, poll_s=60)  # the table is read once, at start
    writer = MsgWriter(storage.msg, on_commit=lambda batch: None, hook=queue.with_messages(TOPIC, _payloads))
    jobs = queue.consume(TOPIC, "msgtransfer", "host:1")
    try:
        first = asyncio.ensure_future(anext(jobs))  # the consumer registers, claims the empty table and waits
        await asyncio.sleep(0.1)
        claims = _count(storage, "queue.claim")
        sent = [text("a", "b", client_msg_id=f"w{i}") for i in range(3)]
        await asyncio.gather(*(writer.append(new) for new in sent))
        got = [await asyncio.wait_for(first, 5), *await _take(jobs, 2)]
        assert [j.payload for j in got] == [b"w0", b"w1", b"w2"]
        assert {j.deliveries for j in got} == {1}
        assert _count(storage, "queue.claim") == claims  # in memory, not claimed from the table
        assert _count(storage, "queue.add") == 0  # no transaction of their own either
        rows = await _rows(storage)
        assert [(p, consumer, n) for p, _, consumer, n in rows] == [
            (b"w0", "host:1", 1),
            (b"w1", "host:1", 1),
            (b"w2", "host:1", 1),
        ]
        assert all(claimed_at > 0 for _, claimed_at, _, _ in rows)  # pending: a restart releases them (kill -9)

        acked = asyncio.gather(*(queue.ack(j) for j in got))
        await asyncio.sleep(0)
        await writer.append(text("a", "b", client_msg_id="w3"))  # its transaction deletes the three
        await asyncio.wait_for(acked, 5)
        assert _count(storage, "queue.ack") == 0
        assert [r[0] for r in await _rows(storage)] == [b"w3"]
    finally:
        await jobs.aclose()  # type: ignore[attr-defined]
        await writer.close()


async def test_without_a_local_consumer_the_jobs_wait_unclaimed_in_the_table(storage: Storage) -> None:
    """No consumer in this process: the rows are unclaimed, and a consumer started later claims them."""
    queue = _queue(storage)
    writer = MsgWriter(storage.msg, on_commit=lambda batch: None, hook=queue.with_messages(TOPIC, _payloads))
    try:
        await writer.append(text("a", "b", client_msg_id="u0"))
        assert await _rows(storage) == [(b"u0", 0, "", 0)]
        jobs = queue.consume(TOPIC, "msgtransfer", "host:2")
        try:
            (job,) = await _take(jobs, 1)
            assert (job.payload, job.deliveries) == (b"u0", 1)
        finally:
            await jobs.aclose()  # type: ignore[attr-defined]
    finally:
        await writer.close()


class _FailingAfterInsert(JobsWithMessages):
    """Writes the jobs (and the pending deletes), then fails the transaction once."""

    def __init__(self, queue: DbQueue) -> None:
        super().__init__(queue, TOPIC, _payloads)
        self.fail = True

    async def in_transaction(self, conn: AsyncConnection, appended: list[Appended]) -> None:
        await super().in_transaction(conn, appended)
        if self.fail:
            self.fail = False
            raise RuntimeError("disk gone")


async def test_a_failed_transaction_keeps_no_job_and_gives_back_its_acknowledgements(storage: Storage) -> None:
    """A batch whose transaction fails leaves no row and hands nothing to the consumer; the acknowledgements it
    was to delete are deleted by the queue's own delete instead, and the caller's ack returns."""
    queue = _queue(storage)
    hook = _FailingAfterInsert(queue)
    writer = MsgWriter(storage.msg, on_commit=lambda batch: None, hook=hook)
    jobs = queue.consume(TOPIC, "msgtransfer", "host:3")
    try:
        hook.fail = False
        first = asyncio.ensure_future(anext(jobs))
        await asyncio.sleep(0.1)
        await writer.append(text("a", "b", client_msg_id="f0"))
        done = await asyncio.wait_for(first, 5)

        hook.fail = True
        acked = asyncio.ensure_future(queue.ack(done))
        await asyncio.sleep(0)
        failed = await asyncio.gather(writer.append(text("a", "b", client_msg_id="f1")), return_exceptions=True)
        assert isinstance(failed[0], RuntimeError)
        await asyncio.wait_for(acked, 5)  # deleted by the flusher after the failure
        assert await _rows(storage) == []
        nothing = asyncio.ensure_future(anext(jobs))
        await asyncio.sleep(0.2)
        assert not nothing.done()  # f1's job was never handed out
        nothing.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await nothing  # the generator is closed by the cancellation; aclose below is then a no-op
        async with storage.db.read("test.count") as conn:
            assert (await conn.execute(select(func.count()).select_from(queue_job))).scalar_one() == 0
    finally:
        await jobs.aclose()  # type: ignore[attr-defined]
        await writer.close()
