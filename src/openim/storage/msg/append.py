"""The message write path at the driver: one group-commit batch in as few statements as the driver allows.

`MsgRepo.append_batch` runs here inside its `msg.append_batch` transaction. Profiles showed SQLAlchemy's
per-statement work (compiling, parameter processing, result proxies) and, on SQLite, aiosqlite's thread hop per
statement costing more than the statements themselves, so this module speaks the driver directly:

- SQLite: the whole batch is one function run on aiosqlite's connection thread (one hop, not one per statement),
  with the stdlib `sqlite3` calls: a multi-row upsert allocating the seqs (`RETURNING` the new max), one
  `executemany` inserting the messages, one multi-row insert-ignore of the owners' conversation rows and one
  `executemany` raising the senders' `has_read_seq`.
- PostgreSQL: the same four statements over asyncpg, each one round trip with its rows as arrays (`unnest`);
  the first goes through SQLAlchemy so that its transaction starts (and commits) as every other.

Resends: a (send_id, client_msg_id) stored before breaks the unique index; the batch is then not written and
`append` raises `Resend`, and the caller runs it again with `check_resends=True`, which first looks the batch's
keys up and returns the stored messages as duplicates. A resend is rare (a client retrying a send it got no
answer to), so the common batch pays no lookup.

Seq allocation, row building and results follow `MsgRepo.append_batch`'s contract (storage/msg/repo.py); the
version-log entries of created conversation rows are written by the caller with `storage.version.record_many`,
in the same transaction.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs: its exceptions and connection are Any here
from sqlalchemy.ext.asyncio import AsyncConnection

from openim.protocol.constants import SessionType
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.storage.msg.render import parse_msg
from openim.storage.msg.values import Appended, NewMsg

__all__ = ["AppendOutcome", "Resend", "append", "find_sent", "recv_id_of"]

_CHUNK = 256  # most rows per multi-row VALUES on SQLite (3-7 parameters each, far below its 32,766): a power of two


class Resend(Exception):
    """A message of the batch was stored before (the unique index said so): nothing was written."""


def recv_id_of(stored: MsgData) -> str:
    """The `recv_id` column of a message: its groupID for group messages, else its recvID."""
    if stored.sessionType in (SessionType.WRITE_GROUP_CHAT, SessionType.READ_GROUP_CHAT):
        return stored.groupID
    return stored.recvID


@dataclass(slots=True)
class _Batch:
    """One batch on its way through the statements: what is new, by conversation, and what comes out."""

    news: Sequence[NewMsg]
    results: list[Appended | None]
    first_index: dict[tuple[str, str], int] = field(default_factory=dict)
    by_conversation: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    created: list[tuple[str, str]] = field(default_factory=list)  # (owner, conversation) rows made
    rows: int = 0


@dataclass(frozen=True, slots=True)
class AppendOutcome:
    """What `append` wrote: one Appended per input, the conversation rows it created, rows written in all."""

    results: list[Appended]
    created: list[tuple[str, str]]
    rows: int


def _plan(news: Sequence[NewMsg], stored_before: dict[tuple[str, str], Appended]) -> _Batch:
    batch = _Batch(news, [None] * len(news))
    for i, new in enumerate(news):
        key = (new.msg.sendID, new.msg.clientMsgID)
        before = stored_before.get(key)
        if before is not None:
            batch.results[i] = Appended(before.conversation_id, before.seq, before.msg, True, new.tag)
        elif key not in batch.first_index:
            batch.first_index[key] = i
            batch.by_conversation[new.conversation_id].append(i)
    return batch


def _allocations(batch: _Batch) -> list[tuple[str, int, int]]:
    """(conversation, messages, send time of its last one) in conversation order: one lock order for all."""
    return [(cid, len(idx), batch.news[idx[-1]].msg.sendTime) for cid, idx in sorted(batch.by_conversation.items())]


def _build(
    batch: _Batch, new_max: dict[str, int]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[str, str, int]]]:
    """Give each new message its seq; the msg rows, the owners' conversation rows wanted, the readers' seqs."""
    news, results = batch.news, batch.results
    msg_rows: list[tuple[Any, ...]] = []
    owner_rows: dict[tuple[str, str], tuple[Any, ...]] = {}
    readers: dict[tuple[str, str], int] = {}
    for cid in sorted(batch.by_conversation):
        indexes = batch.by_conversation[cid]
        first_seq = new_max[cid] - len(indexes) + 1
        is_first = first_seq == 1
        for offset, i in enumerate(indexes):
            new = news[i]
            stored = MsgData()
            stored.CopyFrom(new.msg)
            seq = stored.seq = first_seq + offset
            results[i] = Appended(cid, seq, stored, False, new.tag)
            msg_rows.append(
                (cid, seq, stored.clientMsgID, stored.serverMsgID, stored.sendID, stored.sessionType,
                 stored.contentType, stored.sendTime, stored.SerializeToString(), recv_id_of(stored))
            )  # fmt: skip
            if new.owners and (is_first or not new.owners_first_only):
                for owner in new.owners:
                    if (owner, cid) not in owner_rows:
                        owner_rows[(owner, cid)] = _owner_row(stored, owner, cid)
            if not cid.startswith("n_"):
                readers[(stored.sendID, cid)] = seq
    return msg_rows, [owner_rows[k] for k in sorted(owner_rows)], [(o, c, s) for (o, c), s in sorted(readers.items())]


def _owner_row(m: MsgData, owner: str, cid: str) -> tuple[Any, ...]:
    """(owner_user_id, conversation_id, conversation_type, user_id, group_id, create_time) of a new row."""
    if m.sessionType == SessionType.READ_GROUP_CHAT:
        user_id, group_id = "", m.groupID
    else:
        user_id, group_id = (m.recvID if owner == m.sendID else m.sendID), ""
    return (owner, cid, m.sessionType, user_id, group_id, m.sendTime)


def _finish(batch: _Batch) -> AppendOutcome:
    """Name the created rows' owners on their conversation's first message, resolve the in-batch repeats to their
    first copy."""
    if batch.created:
        owners: dict[str, list[str]] = defaultdict(list)
        for owner, cid in batch.created:
            owners[cid].append(owner)
        for cid, made in owners.items():
            i = batch.by_conversation[cid][0]
            first_of_cid = batch.results[i]
            assert first_of_cid is not None
            batch.results[i] = replace(first_of_cid, created=tuple(made))
    for i, new in enumerate(batch.news):
        if batch.results[i] is None:
            first = batch.results[batch.first_index[(new.msg.sendID, new.msg.clientMsgID)]]
            assert first is not None
            batch.results[i] = Appended(first.conversation_id, first.seq, first.msg, True, new.tag)
    return AppendOutcome([r for r in batch.results if r is not None], batch.created, batch.rows)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    """`items` in order, in pieces whose lengths are powers of two up to `size` (itself one): 300 rows go as
    256 + 32 + 8 + 4.

    A multi-row statement's SQL depends on its row count, and each pooled connection keeps the last 128 SQL texts
    it ran prepared (the sqlite3 module's statement cache), about 0.7 KiB per row of VALUES. With pieces of any
    length from 1 to 300, batches of varying size filled every connection's cache with variants of up to ~200
    KiB each: SQLite memory that grew as new batch sizes came, up to 128 per connection. With powers of two a
    statement has 9 variants, for at most 8 more executes per batch.
    """
    i = 0
    while i < len(items):
        n = min(size, 1 << ((len(items) - i).bit_length() - 1))
        yield items[i : i + n]
        i += n


# ---- SQLite -------------------------------------------------------------------------------------------------

_SQLITE_INSERT_MSG = (
    "INSERT INTO msg (conversation_id, seq, client_msg_id, server_msg_id, send_id, session_type, content_type, "
    "send_time, data, recv_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SQLITE_READ = (
    "UPDATE conversation SET has_read_seq = ? WHERE owner_user_id = ? AND conversation_id = ? AND has_read_seq < ?"
)


def _sqlite_find_sent(db: sqlite3.Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Appended]:
    wanted = set(keys)
    found: dict[tuple[str, str], Appended] = {}
    client_ids = sorted({c for _, c in wanted})
    for chunk in _chunks(client_ids):
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT send_id, client_msg_id, conversation_id, seq, data FROM msg WHERE client_msg_id IN ({marks})"
        for send_id, client_msg_id, cid, seq, data in db.execute(sql, chunk):
            if (send_id, client_msg_id) in wanted:
                found[(send_id, client_msg_id)] = Appended(cid, seq, parse_msg(data), duplicate=True)
    return found


def _sqlite_append(db: sqlite3.Connection, news: Sequence[NewMsg], check_resends: bool) -> AppendOutcome:
    """The whole batch, on aiosqlite's thread, inside the transaction SQLAlchemy began (BEGIN IMMEDIATE)."""
    stored_before = _sqlite_find_sent(db, [(n.msg.sendID, n.msg.clientMsgID) for n in news]) if check_resends else {}
    batch = _plan(news, stored_before)
    if batch.by_conversation:
        allocations = _allocations(batch)
        new_max: dict[str, int] = {}
        for chunk in _chunks(allocations):
            sql = (
                "INSERT INTO seq_conversation (conversation_id, max_seq, min_seq, max_seq_time) VALUES "
                + ",".join(["(?, ?, 0, ?)"] * len(chunk))
                + " ON CONFLICT (conversation_id) DO UPDATE SET max_seq = max_seq + excluded.max_seq,"
                " max_seq_time = excluded.max_seq_time RETURNING conversation_id, max_seq"
            )
            new_max.update(db.execute(sql, [v for row in chunk for v in row]).fetchall())
        msg_rows, owner_rows, readers = _build(batch, new_max)
        try:
            db.executemany(_SQLITE_INSERT_MSG, msg_rows)
        except sqlite3.IntegrityError as exc:
            raise Resend(str(exc)) from exc
        for chunk in _chunks(owner_rows):
            sql = (
                "INSERT INTO conversation (owner_user_id, conversation_id, conversation_type, user_id, group_id,"
                " create_time) VALUES "
                + ",".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk))
                + " ON CONFLICT DO NOTHING RETURNING owner_user_id, conversation_id"
            )
            batch.created += db.execute(sql, [v for row in chunk for v in row]).fetchall()
        db.executemany(_SQLITE_READ, [(s, o, c, s) for o, c, s in readers])
        batch.rows = len(msg_rows) + len(allocations) + 3 * len(batch.created) + len(readers)
    return _finish(batch)


# ---- PostgreSQL ---------------------------------------------------------------------------------------------

_PG_ALLOCATE = (
    "INSERT INTO seq_conversation AS s (conversation_id, max_seq, min_seq, max_seq_time) "
    "SELECT c, n, 0, t FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(c, n, t) "
    "ON CONFLICT (conversation_id) DO UPDATE SET max_seq = s.max_seq + excluded.max_seq, "
    "max_seq_time = excluded.max_seq_time RETURNING conversation_id, max_seq"
)
_PG_INSERT_MSG = (
    "INSERT INTO msg (conversation_id, seq, client_msg_id, server_msg_id, send_id, session_type, content_type, "
    "send_time, data, recv_id) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], "
    "$6::int[], $7::int[], $8::bigint[], $9::bytea[], $10::text[])"
)
_PG_OWNERS = (
    "INSERT INTO conversation (owner_user_id, conversation_id, conversation_type, user_id, group_id, create_time) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::bigint[]) "
    "ON CONFLICT DO NOTHING RETURNING owner_user_id, conversation_id"
)
_PG_READ = (
    "UPDATE conversation AS c SET has_read_seq = u.s FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(o, i, s) "
    "WHERE c.owner_user_id = u.o AND c.conversation_id = u.i AND c.has_read_seq < u.s"
)
_PG_FIND_SENT = (
    "SELECT send_id, client_msg_id, conversation_id, seq, data FROM msg WHERE client_msg_id = ANY($1::text[])"
)


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


async def _pg_find_sent(conn: AsyncConnection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Appended]:
    wanted = set(keys)
    stored: dict[tuple[str, str], Appended] = {}
    found: Any = await conn.exec_driver_sql(_PG_FIND_SENT, (sorted({c for _, c in wanted}),))
    for row in found.all():
        key = (row[0], row[1])
        if key in wanted:
            stored[key] = Appended(row[2], row[3], parse_msg(row[4]), duplicate=True)
    return stored


async def _pg_append(conn: AsyncConnection, pg: Any, news: Sequence[NewMsg], check_resends: bool) -> AppendOutcome:
    stored_before: dict[tuple[str, str], Appended] = {}
    if check_resends:
        stored_before = await _pg_find_sent(conn, [(n.msg.sendID, n.msg.clientMsgID) for n in news])
    batch = _plan(news, stored_before)
    if batch.by_conversation:
        allocations = _allocations(batch)
        # Through SQLAlchemy: it starts the transaction on its first statement (and commits it at the end).
        allocated: Any = await conn.exec_driver_sql(_PG_ALLOCATE, tuple(_columns(allocations, 3)))
        new_max: dict[str, int] = {row[0]: row[1] for row in allocated.all()}
        msg_rows, owner_rows, readers = _build(batch, new_max)
        try:
            await pg.execute(_PG_INSERT_MSG, *_columns(msg_rows, 10))
        except asyncpg.UniqueViolationError as exc:
            raise Resend(str(exc)) from exc
        if owner_rows:
            batch.created = [(o, c) for o, c in await pg.fetch(_PG_OWNERS, *_columns(owner_rows, 6))]
        if readers:
            await pg.execute(_PG_READ, *_columns(readers, 3))
        batch.rows = len(msg_rows) + len(allocations) + 3 * len(batch.created) + len(readers)
    return _finish(batch)


# ---- entry ----------------------------------------------------------------------------------------------------


async def append(conn: AsyncConnection, news: Sequence[NewMsg], *, check_resends: bool) -> AppendOutcome:
    """Store `news` on `conn` (a write transaction); Resend when a message was stored before and not checked."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if conn.dialect.name == "sqlite":
        # aiosqlite runs calls on its connection's thread; _execute is how its own methods queue one.
        outcome: AppendOutcome = await driver._execute(_sqlite_append, driver._conn, news, check_resends)
        return outcome
    return await _pg_append(conn, driver, news, check_resends)


async def find_sent(conn: AsyncConnection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Appended]:
    """The stored messages of `keys` ((send_id, client_msg_id)), as duplicates; keys not stored are absent."""
    if conn.dialect.name == "sqlite":
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        found: dict[tuple[str, str], Appended] = await driver._execute(_sqlite_find_sent, driver._conn, keys)
        return found
    return await _pg_find_sent(conn, keys)
