"""QueueRepo: the table `queue_job`, the job queue of the embedded default (no `redis.url`) and the outbox of jobs
relayed to Redis (with it, `jobs/outbox.py`).

A job is a row until it is acknowledged (then deleted). `claim` hands out one job of a topic to a consumer: first
a job another consumer claimed before `idle_before` and never acknowledged (it died or hangs), then the oldest
job nobody claimed. On PostgreSQL the candidate row is locked `FOR UPDATE SKIP LOCKED`, so consumers in several
processes never take the same job at once; SQLite has a single writer, which serializes claims by itself. Both
`claim` and `ack` take several jobs per transaction, so a busy queue costs a write per batch, not per job.
`rows` and `insert` write jobs inside another transaction (the message group commit writes the offline-push jobs of
its batch with the messages, `jobs/queue.py`), optionally claimed already by a consumer of this process.
`release` hands back the claims of named consumers (ones known to be dead) at once, without waiting for the idle
time. A job's ID is `(ms << 20) | n`, strictly growing within a process (n starts at a random point, so processes
sharing the database rarely meet; a collision is retried with new IDs): jobs come out in about the order they went
in, and the table needs no sequence (a backup restores it as it is). Times are the caller's clock in ms; the table
knows nothing of what a payload means. Each method is one named transaction `queue.<method>`. `jobs/queue.py`
turns this into the `JobQueue` contract.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.rows import QueuedJob
from openim.storage.schema import queue_job

__all__ = ["QueueRepo"]


class QueueRepo:
    """Reads and writes `queue_job`; every method is one transaction named `queue.<method>`."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self._last_id = 0

    def _new_ids(self, n: int, now: int) -> list[int]:
        first = max((now << 20) | secrets.randbelow(1 << 19), self._last_id + 1)
        self._last_id = first + n - 1
        return list(range(first, first + n))

    def rows(self, topic: str, payloads: Sequence[bytes], *, now: int, consumer: str = "") -> list[dict[str, Any]]:
        """The rows of new jobs of `topic`, with fresh IDs, for `insert`; claimed by `consumer` (delivered once)
        when one is named, so that a consumer of this process takes them without a claim transaction."""
        ids = self._new_ids(len(payloads), now)
        claimed_at, deliveries = (now, 1) if consumer else (0, 0)
        return [
            {
                "id": i,
                "topic": topic,
                "payload": p,
                "created_at": now,
                "claimed_at": claimed_at,
                "consumer": consumer,
                "deliveries": deliveries,
            }
            for i, p in zip(ids, payloads, strict=True)
        ]

    @staticmethod
    async def insert(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
        """Write `rows` (from `rows`) in the caller's write transaction: jobs committed with whatever it commits."""
        if rows:
            await conn.execute(insert(queue_job), list(rows))

    async def add(self, topic: str, payloads: Sequence[bytes], *, now: int) -> list[int]:
        """Append one job per payload to `topic`, in order, in one transaction; their IDs."""
        if not payloads:
            return []
        for attempt in range(3):
            rows = self.rows(topic, payloads, now=now)
            try:
                async with self.db.write("queue.add") as conn:
                    await self.insert(conn, rows)
                return [int(r["id"]) for r in rows]
            except IntegrityError:  # another process made the same IDs in the same millisecond
                if attempt == 2:
                    raise
                self._last_id += secrets.randbelow(1 << 19) + 1
        raise AssertionError("unreachable")

    async def claim(self, topic: str, consumer: str, *, now: int, idle_before: int, limit: int = 1) -> list[QueuedJob]:
        """Take up to `limit` jobs of `topic` for `consumer`: idle claimed ones first, then the oldest unclaimed."""
        async with self.db.write("queue.claim") as conn:
            idle = (
                select(queue_job.c.id)
                .where(queue_job.c.topic == topic, queue_job.c.claimed_at > 0, queue_job.c.claimed_at < idle_before)
                .order_by(queue_job.c.claimed_at)
                .limit(limit)
            )
            ids = [int(i) for i in (await conn.execute(dialect.lock_skip_locked(conn, idle))).scalars()]
            if len(ids) < limit:
                fresh = (
                    select(queue_job.c.id)
                    .where(queue_job.c.topic == topic, queue_job.c.claimed_at == 0)
                    .order_by(queue_job.c.id)
                    .limit(limit - len(ids))
                )
                ids += [int(i) for i in (await conn.execute(dialect.lock_skip_locked(conn, fresh))).scalars()]
            if not ids:
                return []
            rows = await conn.execute(
                update(queue_job)
                .where(queue_job.c.id.in_(ids))
                .values(claimed_at=now, consumer=consumer, deliveries=queue_job.c.deliveries + 1)
                .returning(queue_job.c.id, queue_job.c.topic, queue_job.c.payload, queue_job.c.deliveries)
            )
            claimed = {int(r[0]): QueuedJob(int(r[0]), str(r[1]), bytes(r[2]), int(r[3])) for r in rows}
            return [claimed[i] for i in ids if i in claimed]  # idle first, then oldest first

    @staticmethod
    async def delete_in(conn: AsyncConnection, job_ids: Sequence[int]) -> None:
        """`ack` in the caller's write transaction."""
        await conn.execute(delete(queue_job).where(queue_job.c.id.in_(list(job_ids))))

    async def ack(self, job_ids: Sequence[int]) -> None:
        """The jobs are done: delete them (those gone already are ignored)."""
        if not job_ids:
            return
        async with self.db.write("queue.ack") as conn:
            await self.delete_in(conn, job_ids)

    async def touch(self, topic: str, consumer: str, *, now: int, claimed_before: int) -> None:
        """Renew `consumer`'s claims of `topic` made before `claimed_before`: they are not idle, it is alive."""
        async with self.db.write("queue.touch") as conn:
            await conn.execute(
                update(queue_job)
                .where(queue_job.c.topic == topic, queue_job.c.consumer == consumer)
                .where(queue_job.c.claimed_at > 0, queue_job.c.claimed_at < claimed_before)
                .values(claimed_at=now)
            )

    async def consumers(self, topic: str) -> list[str]:
        """The consumers holding claimed jobs of `topic`."""
        async with self.db.read("queue.consumers") as conn:
            result = await conn.execute(
                select(queue_job.c.consumer).distinct().where(queue_job.c.topic == topic, queue_job.c.claimed_at > 0)
            )
            return sorted(str(name) for name in result.scalars())

    async def release(self, topic: str, consumers: Sequence[str]) -> int:
        """Hand the jobs of `topic` claimed by `consumers` back as unclaimed; how many there were."""
        if not consumers:
            return 0
        async with self.db.write("queue.release") as conn:
            result = await conn.execute(
                update(queue_job)
                .where(queue_job.c.topic == topic, queue_job.c.claimed_at > 0)
                .where(queue_job.c.consumer.in_(list(consumers)))
                .values(claimed_at=0, consumer="")
            )
            return int(result.rowcount or 0)

    async def stats(self, topic: str) -> tuple[int, int]:
        """(jobs kept, of which claimed and not acknowledged) for `topic`."""
        async with self.db.read("queue.stats") as conn:
            row = (
                await conn.execute(
                    select(func.count(), func.count().filter(queue_job.c.claimed_at > 0)).where(
                        queue_job.c.topic == topic
                    )
                )
            ).one()
            return int(row[0]), int(row[1])

    async def topics(self) -> list[str]:
        """Every topic with jobs kept (dead-letter topics included)."""
        async with self.db.read("queue.topics") as conn:
            result = await conn.execute(select(queue_job.c.topic).distinct())
            return sorted(str(t) for t in result.scalars())
