"""JobRepo: the tables `job` and `job_dead` — a durable job queue in the database (SQLite or PostgreSQL).

Job IDs are made here (`new_job_id`): 12 hex digits of Unix milliseconds, 4 of a per-process counter, 12 random,
so IDs sort by creation time (within a process, by order of creation) and two processes never pick the same.

The queue semantics (claims, reclaim after an idle limit, dead letters) are `jobs/db_queue.py`'s; this module
only runs their transactions, one named transaction each (`queue.<method>`). Claiming is one UPDATE … RETURNING
over the oldest unclaimed (or stale) rows of a topic: on PostgreSQL the rows are picked FOR UPDATE SKIP LOCKED,
so concurrent consumers never take the same job; on SQLite the single writer serialises them anyway.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, delete, func, insert, or_, select, update

from openim.storage.db import Db
from openim.storage.schema import job, job_dead

__all__ = ["DeadRow", "JobRepo", "JobRow", "QueueCounts", "new_job_id"]

_counter = itertools.count()


def new_job_id(now_ms: int | None = None) -> str:
    """A new job ID, sorting after every ID this process made before it (see the module docstring)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{ms & 0xFFFFFFFFFFFF:012x}{next(_counter) & 0xFFFF:04x}{os.urandom(6).hex()}"


@dataclass(frozen=True, slots=True)
class JobRow:
    """A claimed job: its row ID, payload and how many times it has been claimed (1 the first time)."""

    id: str
    payload: bytes
    deliveries: int


@dataclass(frozen=True, slots=True)
class DeadRow:
    """A dead letter as stored."""

    topic: str
    id: str
    payload: bytes
    reason: str
    buried_at: int
    deliveries: int


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """Rows of a topic: kept, claimed (pending), dead."""

    length: int
    claimed: int
    dead: int


class JobRepo:
    """Transactions of the durable job queue."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def enqueue_many(self, jobs: Sequence[tuple[str, bytes]], *, now_ms: int) -> list[str]:
        """Insert (topic, payload) jobs in one transaction; their IDs, in order."""
        rows = [{"id": new_job_id(now_ms), "topic": t, "payload": p, "created_at": now_ms} for t, p in jobs]
        async with self.db.write("queue.enqueue_many") as conn:
            await conn.execute(insert(job), rows)
        return [str(r["id"]) for r in rows]

    async def claimable(self, topic: str, *, stale_before_ms: int) -> bool:
        """Whether a claim would find a job: a read, so an idle consumer's polls take no write lock."""
        async with self.db.read("queue.claimable") as conn:
            found = await conn.execute(
                select(job.c.id)
                .where(job.c.topic == topic, or_(job.c.consumer == "", job.c.claimed_at < stale_before_ms))
                .limit(1)
            )
            return found.first() is not None

    async def claim(self, topic: str, consumer: str, *, now_ms: int, stale_before_ms: int, limit: int) -> list[JobRow]:
        """Claim up to `limit` of the oldest jobs of `topic` that nobody holds or whose claim is stale."""
        pick = (
            select(job.c.id)
            .where(job.c.topic == topic, or_(job.c.consumer == "", job.c.claimed_at < stale_before_ms))
            .order_by(job.c.id)
            .limit(limit)
        )
        if self.db.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        statement = (
            update(job)
            .where(job.c.id.in_(pick.scalar_subquery()))
            .values(consumer=consumer, claimed_at=now_ms, deliveries=job.c.deliveries + 1)
            .returning(job.c.id, job.c.payload, job.c.deliveries)
        )
        async with self.db.write("queue.claim") as conn:
            rows = (await conn.execute(statement)).all()
        return sorted((JobRow(str(r[0]), bytes(r[1]), int(r[2])) for r in rows), key=lambda r: r.id)

    async def ack(self, ids: Sequence[str]) -> None:
        """Delete finished jobs."""
        async with self.db.write("queue.ack") as conn:
            await conn.execute(delete(job).where(job.c.id.in_(list(ids))))

    async def consumers(self, topic: str) -> list[str]:
        """The consumers holding claims on `topic`."""
        async with self.db.read("queue.consumers") as conn:
            rows = await conn.execute(
                select(job.c.consumer).where(job.c.topic == topic, job.c.consumer != "").distinct()
            )
            return [str(r[0]) for r in rows]

    async def release(self, topic: str, consumers: Sequence[str]) -> int:
        """Unclaim the jobs of `topic` held by `consumers` (they are gone); how many."""
        async with self.db.write("queue.release") as conn:
            result = await conn.execute(
                update(job).where(job.c.topic == topic, job.c.consumer.in_(list(consumers))).values(consumer="")
            )
            return int(result.rowcount or 0)

    async def bury(self, dead: DeadRow, *, keep: int) -> int:
        """Move the job `dead.id` to `job_dead` (keeping the newest `keep` of its topic); how many old ones went."""
        async with self.db.write("queue.bury") as conn:
            await conn.execute(delete(job).where(job.c.id == dead.id))
            await conn.execute(
                insert(job_dead).values(
                    id=dead.id,
                    topic=dead.topic,
                    payload=dead.payload,
                    reason=dead.reason,
                    buried_at=dead.buried_at,
                    deliveries=dead.deliveries,
                )
            )
            count = (
                await conn.execute(select(func.count()).select_from(job_dead).where(job_dead.c.topic == dead.topic))
            ).scalar_one()
            if count <= keep:
                return 0
            oldest = (
                select(job_dead.c.id)
                .where(job_dead.c.topic == dead.topic)
                .order_by(job_dead.c.buried_at, job_dead.c.id)
                .limit(count - keep)
            )
            result = await conn.execute(delete(job_dead).where(job_dead.c.id.in_(oldest.scalar_subquery())))
            return int(result.rowcount or 0)

    async def counts(self, topic: str) -> QueueCounts:
        """Jobs kept, claimed, and dead letters of `topic`."""
        async with self.db.read("queue.counts") as conn:
            length, claimed = (
                await conn.execute(
                    select(func.count(), func.coalesce(func.sum(case((job.c.consumer != "", 1), else_=0)), 0))
                    .select_from(job)
                    .where(job.c.topic == topic)
                )
            ).one()
            dead = (
                await conn.execute(select(func.count()).select_from(job_dead).where(job_dead.c.topic == topic))
            ).scalar_one()
        return QueueCounts(int(length), int(claimed), int(dead))

    async def dead_letters(self, topic: str, *, limit: int) -> list[DeadRow]:
        """The newest `limit` dead letters of `topic`, newest first."""
        async with self.db.read("queue.dead_letters") as conn:
            rows = await conn.execute(
                select(
                    job_dead.c.topic,
                    job_dead.c.id,
                    job_dead.c.payload,
                    job_dead.c.reason,
                    job_dead.c.buried_at,
                    job_dead.c.deliveries,
                )
                .where(job_dead.c.topic == topic)
                .order_by(job_dead.c.buried_at.desc(), job_dead.c.id.desc())
                .limit(limit)
            )
            return [DeadRow(str(r[0]), str(r[1]), bytes(r[2]), str(r[3]), int(r[4]), int(r[5])) for r in rows]

    async def topics(self) -> list[str]:
        """Every topic with jobs or dead letters (the doctor lists them)."""
        async with self.db.read("queue.topics") as conn:
            queued = await conn.execute(select(job.c.topic).distinct())
            dead = await conn.execute(select(job_dead.c.topic).distinct())
            return sorted({str(r[0]) for r in queued} | {str(r[0]) for r in dead})
