"""StatisticsRepo: the counts behind /statistics — users registered, groups created, messages sent, per UTC day.

Every answer is computed in the database, in one read transaction, from indexes: `user.create_time`,
`group.create_time`, and `msg (send_time, send_id, conversation_id)`, so a range is an index range scan that never
reads a message's `data` (the conversation kind and the sender are in the index entry). Days are UTC calendar
days ("YYYY-MM-DD", as MongoDB's `$dateToString` prints them for OpenIM): rows are grouped by
`time // 86 400 000` in SQL, which both databases compute the same way, and the day number is printed here.
Ranges are [start, end) in Unix ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, ColumnElement, Table, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from openim.storage.db import Db
from openim.storage.schema import group, msg, user

__all__ = ["ActiveCounts", "CreatedCounts", "StatisticsRepo", "day_of"]

DAY_MS = 86_400_000


def day_of(day_number: int) -> str:
    """ "YYYY-MM-DD" of a UTC day counted from the Unix epoch."""
    return datetime.fromtimestamp(day_number * 86_400, UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class CreatedCounts:
    """Rows created: all of them, those before the range, and those in it per day."""

    total: int
    before: int
    per_day: dict[str, int]


@dataclass(frozen=True, slots=True)
class ActiveCounts:
    """Messages in a range: how many, from how many senders (or in how many groups), per day, and one page of
    (senderID or groupID, messages) ordered by messages."""

    msg_count: int
    active_count: int
    per_day: dict[str, int]
    page: list[tuple[str, int]]


class StatisticsRepo:
    """Read-only counts; every method is one transaction named `statistics.<method>`."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def users_created(self, start: int, end: int) -> CreatedCounts:
        """Registered users: all, before `start`, and per day in [start, end)."""
        async with self.db.read("statistics.users_created") as conn:
            return await _created(conn, user, user.c.create_time, start, end)

    async def groups_created(self, start: int, end: int) -> CreatedCounts:
        """Created groups (dismissed ones included, as OpenIM counts them): all, before `start`, per day."""
        async with self.db.read("statistics.groups_created") as conn:
            return await _created(conn, group, group.c.create_time, start, end)

    async def active_senders(
        self, start: int, end: int, *, prefixes: Sequence[str], ascending: bool, offset: int, limit: int
    ) -> ActiveCounts:
        """Messages sent in [start, end) in conversations whose ID starts with one of `prefixes`, per sender."""
        async with self.db.read("statistics.active_senders") as conn:
            return await _active(conn, msg.c.send_id, start, end, prefixes, ascending, offset, limit)

    async def active_conversations(
        self, start: int, end: int, *, prefixes: Sequence[str], ascending: bool, offset: int, limit: int
    ) -> ActiveCounts:
        """Messages sent in [start, end) in conversations whose ID starts with one of `prefixes`, per conversation."""
        async with self.db.read("statistics.active_conversations") as conn:
            return await _active(conn, msg.c.conversation_id, start, end, prefixes, ascending, offset, limit)


async def _created(conn: AsyncConnection, table: Table, created: Column[int], start: int, end: int) -> CreatedCounts:
    total = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
    before = (await conn.execute(select(func.count()).select_from(table).where(created < start))).scalar_one()
    day = created // DAY_MS
    rows = await conn.execute(
        select(day, func.count()).where(created >= start, created < end).group_by(day).order_by(day)
    )
    return CreatedCounts(total, before, {day_of(d): n for d, n in rows})


async def _active(
    conn: AsyncConnection,
    key: Column[str],
    start: int,
    end: int,
    prefixes: Sequence[str],
    ascending: bool,
    offset: int,
    limit: int,
) -> ActiveCounts:
    # By conversation kind, as OpenIM selects its message documents (`si_`, `sg_`, `g_`): notifications stored
    # in `n_` conversations carry a chat's session type but are not counted. LIKE 'si/_%' (the `_` escaped):
    # PostgreSQL estimates a prefix from the column statistics and so picks hash aggregation over a year of rows
    # (with substr() it guessed a few hundred rows and sorted on disk). SQLite's LIKE ignores ASCII case, which
    # cannot matter here: every conversation ID starts with one of these lower-case prefixes or `n_`/`sn_`.
    kinds = [msg.c.conversation_id.startswith(p, autoescape=True) for p in prefixes]
    where: list[ColumnElement[bool]] = [msg.c.send_time >= start, msg.c.send_time < end, or_(*kinds)]
    day = msg.c.send_time // DAY_MS
    days = await conn.execute(select(day, func.count()).where(*where).group_by(day).order_by(day))
    per_day = {day_of(d): n for d, n in days}
    # The page and the number of keys in one scan: count(*) OVER () counts the groups before LIMIT applies
    # (a separate count(DISTINCT) was the slowest of the queries on a year of messages, on both databases).
    page: list[tuple[str, int]] = []
    active = 0
    if limit > 0:
        count = func.count().label("n")
        order = count.asc() if ascending else count.desc()
        rows = (
            await conn.execute(
                select(key, count, func.count().over().label("keys"))
                .where(*where)
                .group_by(key)
                .order_by(order, key)
                .offset(offset)
                .limit(limit)
            )
        ).all()
        page = [(k, n) for k, n, _ in rows]
        active = rows[0][2] if rows else 0
    if not page and per_day:  # a page past the end (or of size 0) carries no count: ask for it alone
        active = (await conn.execute(select(func.count(distinct(key))).where(*where))).scalar_one()
    return ActiveCounts(sum(per_day.values()), active, per_day, page)
