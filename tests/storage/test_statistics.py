"""Tests for openim.storage.statistics over a generated year with hand-counted answers (tests/storage/statsdata)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from openim.storage import Storage
from openim.storage.statistics import day_of

from .statsdata import (
    DAY,
    GROUP_BY_GROUP,
    GROUP_BY_SENDER,
    GROUP_TOTAL,
    SINGLE_BY_SENDER,
    SINGLE_TOTAL,
    YEAR_END,
    YEAR_START,
    day_ms,
    generate,
)

SINGLE = ("si_",)
GROUPS = ("sg_", "g_")
ALL = ("si_", "sg_", "g_")


def test_day_of_prints_utc_days() -> None:
    """Day numbers print as the UTC calendar day, epoch and leap day included."""
    assert day_of(0) == "1970-01-01"
    assert day_of(YEAR_START // DAY) == "2025-01-01"
    assert day_of(day_ms(364) // DAY) == "2025-12-31"
    assert day_of((1_709_164_800_000) // DAY) == "2024-02-29"


async def test_users_created_total_before_and_per_day(storage: Storage) -> None:
    """Users: all 10, 4 registered before day 100, one on each of days 120..270 in [day 100, year end)."""
    await generate(storage)
    counts = await storage.statistics.users_created(day_ms(100), YEAR_END)
    assert (counts.total, counts.before) == (10, 4)
    assert counts.per_day == {day_of(day_ms(30 * i) // DAY): 1 for i in range(4, 10)}
    assert "2025-05-01" in counts.per_day  # day 120, registered at noon UTC
    # The range is [start, end): a user registered at noon of day 120 is outside [.., noon).
    assert (await storage.statistics.users_created(day_ms(100), day_ms(120) + DAY // 2)).per_day == {}


async def test_groups_created_counts_dismissed_ones_too(storage: Storage) -> None:
    """Groups: 4 in all, 1 before day 50, g1 and g2 (dismissed) in the year after day 50, g3 next year."""
    await generate(storage)
    counts = await storage.statistics.groups_created(day_ms(50), YEAR_END)
    assert (counts.total, counts.before) == (4, 1)
    assert counts.per_day == {"2025-04-11": 1, "2025-07-20": 1}


async def test_active_senders_in_single_chats(storage: Storage) -> None:
    """Single chats only: 6 senders, 3283 messages, 365 days, notifications and next year's message excluded."""
    await generate(storage)
    counts = await storage.statistics.active_senders(
        YEAR_START, YEAR_END, prefixes=SINGLE, ascending=False, offset=0, limit=100
    )
    assert (counts.msg_count, counts.active_count) == (SINGLE_TOTAL, 6)
    assert len(counts.per_day) == 365
    assert (counts.per_day["2025-01-01"], counts.per_day["2025-12-31"]) == (7, 7)
    assert sum(counts.per_day.values()) == SINGLE_TOTAL
    # By count descending, ties by userID.
    assert counts.page == [("u3", 549), ("u2", 548), ("u1", 547), ("u5", 547), ("u0", 546), ("u4", 546)]
    assert dict(counts.page) == SINGLE_BY_SENDER


async def test_active_senders_with_groups_pages_in_both_orders(storage: Storage) -> None:
    """With groups: 9 senders, 3680 messages; pages are (pageNumber-1)*showNumber into the sorted list."""
    await generate(storage)
    stats = storage.statistics
    desc = await stats.active_senders(YEAR_START, YEAR_END, prefixes=ALL, ascending=False, offset=0, limit=100)
    assert (desc.msg_count, desc.active_count) == (SINGLE_TOTAL + GROUP_TOTAL, 9)
    assert (desc.per_day["2025-01-01"], desc.per_day["2025-12-31"]) == (10, 9)
    assert dict(desc.page) == {**SINGLE_BY_SENDER, **GROUP_BY_SENDER}
    asc = await stats.active_senders(YEAR_START, YEAR_END, prefixes=ALL, ascending=True, offset=3, limit=3)
    assert asc.page == [("u0", 546), ("u4", 546), ("u1", 547)]
    assert asc.active_count == 9
    beyond = await stats.active_senders(YEAR_START, YEAR_END, prefixes=ALL, ascending=True, offset=9, limit=3)
    assert (beyond.page, beyond.msg_count, beyond.active_count) == ([], SINGLE_TOTAL + GROUP_TOTAL, 9)
    sized0 = await stats.active_senders(YEAR_START, YEAR_END, prefixes=ALL, ascending=True, offset=0, limit=0)
    assert (sized0.page, sized0.active_count) == ([], 9)
    # One more millisecond of range takes in the message sent at the next year's first instant.
    wider = await stats.active_senders(YEAR_START, YEAR_END + 1, prefixes=SINGLE, ascending=False, offset=0, limit=9)
    assert (wider.msg_count, wider.per_day["2026-01-01"]) == (SINGLE_TOTAL + 1, 1)


async def test_active_conversations_of_groups(storage: Storage) -> None:
    """Groups: 3 active, 397 messages, sorted by count; a month's range counts that month only."""
    await generate(storage)
    stats = storage.statistics
    counts = await stats.active_conversations(
        YEAR_START, YEAR_END, prefixes=GROUPS, ascending=False, offset=0, limit=10
    )
    assert (counts.msg_count, counts.active_count) == (GROUP_TOTAL, 3)
    assert counts.page == [(f"sg_{g}", n) for g, n in GROUP_BY_GROUP.items()]
    # February 2025 = days 31..58: g0 on even days (14), g1 on multiples of 3 (9: 33..57), g2 of 4 (7: 32..56).
    feb = await stats.active_conversations(day_ms(31), day_ms(59), prefixes=GROUPS, ascending=True, offset=0, limit=10)
    assert feb.page == [("sg_g2", 7), ("sg_g1", 9), ("sg_g0", 14)]
    # Days with a group message: the 14 even ones and the odd multiples of 3 (33, 39, 45, 51, 57).
    assert (feb.msg_count, len(feb.per_day)) == (30, 19)


async def test_empty_range_counts_nothing(storage: Storage) -> None:
    """A range with no rows gives zeros and empty maps and pages."""
    await generate(storage)
    counts = await storage.statistics.active_senders(1, 2, prefixes=ALL, ascending=False, offset=0, limit=10)
    assert (counts.msg_count, counts.active_count, counts.per_day, counts.page) == (0, 0, {}, [])
    created = await storage.statistics.users_created(1, 2)
    assert (created.total, created.before, created.per_day) == (10, 0, {})


async def test_active_queries_read_the_msg_index_only(storage: Storage) -> None:
    """Every statement of the active counts is answered from ix_msg_send_time_send_id_conversation_id alone
    (SQLite: COVERING INDEX; PostgreSQL, told to avoid scanning the table: Index Only Scan), never the rows."""
    await generate(storage)
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if "FROM msg" in statement:
            statements.append((statement, parameters))

    engine = storage.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        await storage.statistics.active_senders(YEAR_START, YEAR_END, prefixes=ALL, ascending=False, offset=0, limit=5)
        await storage.statistics.active_conversations(
            YEAR_START, YEAR_END, prefixes=GROUPS, ascending=False, offset=9, limit=5
        )
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(statements) == 5  # per day and page for each, and the count of a page past the end
    index = "ix_msg_send_time_send_id_conversation_id"
    if storage.db.dialect == "postgresql":  # the visibility map, as autovacuum keeps it: index-only scans need it
        async with storage.db.engine.connect() as conn:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).exec_driver_sql("VACUUM ANALYZE msg")
    async with storage.db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        for statement, parameters in statements:
            if storage.db.dialect == "sqlite":
                plan = " ".join(str(r) for r in await raw.driver_connection.execute_fetchall(
                    f"EXPLAIN QUERY PLAN {statement}", parameters
                ))  # fmt: skip
                assert f"COVERING INDEX {index}" in plan, (statement, plan)
            else:
                await conn.exec_driver_sql("SET enable_seqscan = off")
                rows = await conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
                plan = " ".join(r[0] for r in rows)
                assert f"Index Only Scan using {index}" in plan, (statement, plan)
        await conn.rollback()
