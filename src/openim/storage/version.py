"""VersionRepo: the version logs behind OpenIM's incremental sync (docs/protocol/rest.md §6).

A log is one (kind, d_id) — ("conversation", ownerUserID), ("friend", ownerUserID), ("group_member", groupID),
("join_group", userID) — with a `version_id` (24 hex, the versionID clients keep), a `version` that starts at 1
and grows by one per change, and one entry per element (e_id) holding the state of its latest change (1 insert,
2 delete, 3 update) and the version it happened at. Deletion entries older than `cronTask.retainVersionLogs` days
are pruned by a scheduled job (`prune_deleted`), which raises the log's `deleted` to the newest version it
removed: a client holding an older version gets a full sync. A change is recorded with `record(conn, …)` inside the
transaction of the repository that makes it, so the change and its log entry commit together; `incremental`
answers a client's (versionID, version) with the delta since, or `full=True`.

Two element IDs are special, as in OpenIM: `GROUP_ELEM_ID` ("", "the group itself changed", in group_member
logs) and `SORT_ELEM_ID` (order changed). `incremental` strips them from the lists and reports them as
`group_changed` and `sort_version`. This module holds no business rules and never reads other tables.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.schema import version_log, version_log_entry

__all__ = [
    "GROUP_ELEM_ID",
    "KIND_CONVERSATION",
    "KIND_FRIEND",
    "KIND_GROUP_MEMBER",
    "KIND_JOIN_GROUP",
    "SORT_ELEM_ID",
    "STATE_DELETE",
    "STATE_INSERT",
    "STATE_UPDATE",
    "SYNC_LIMIT",
    "VersionDelta",
    "VersionRepo",
    "VersionState",
    "drop",
    "record",
    "record_many",
]

KIND_CONVERSATION = "conversation"  # d_id = ownerUserID, e_id = conversationID
KIND_FRIEND = "friend"  # d_id = ownerUserID, e_id = friendUserID
KIND_GROUP_MEMBER = "group_member"  # d_id = groupID, e_id = member userID ("" = the group itself)
KIND_JOIN_GROUP = "join_group"  # d_id = userID, e_id = groupID

STATE_INSERT, STATE_DELETE, STATE_UPDATE = 1, 2, 3
GROUP_ELEM_ID = ""
SORT_ELEM_ID = "____S_O_R_T_I_D____"
SYNC_LIMIT = 200  # OpenIM's syncLimit: more changed elements than this → full sync

_FIRST_VERSION = 1
_VERSION_ID = re.compile(r"[0-9a-f]{24}")
_ZERO_ID = "0" * 24
_IN_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class VersionState:
    """Where a log stands: its versionID and current version (what tips carry as *VersionID / *Version)."""

    version_id: str
    version: int


@dataclass(frozen=True, slots=True)
class VersionDelta:
    """The answer to (versionID, version): element IDs changed since, or `full` (then the lists are empty).

    `sort_version` is the version of the latest order change after the client's version (0 if none);
    `group_changed` says the group itself changed (group_member logs). Neither special ID is in the lists.
    """

    version_id: str
    version: int
    full: bool
    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    sort_version: int = 0
    group_changed: bool = False


def new_version_id() -> str:
    """A fresh versionID: 24 lowercase hex digits shaped like a Mongo ObjectID (time, then random)."""
    return f"{int(time.time()) & 0xFFFFFFFF:08x}{os.urandom(8).hex()}"


def valid_version_id(version_id: str) -> bool:
    """True for what OpenIM accepts as a versionID: 24 hex digits, not all zero."""
    return bool(_VERSION_ID.fullmatch(version_id.lower())) and version_id != _ZERO_ID


async def record(
    conn: AsyncConnection, kind: str, d_id: str, e_ids: Sequence[str], state: int, *, now: int
) -> VersionState:
    """Append a change of `e_ids` (state 1 insert, 2 delete, 3 update) to log (kind, d_id): one version bump.

    Runs on `conn`, inside the caller's write transaction; creates the log (version 1) if it does not exist.
    Each element keeps only its latest change.
    """
    return (await record_many(conn, kind, [d_id], e_ids, state, now=now))[d_id]


async def record_many(
    conn: AsyncConnection, kind: str, d_ids: Sequence[str], e_ids: Sequence[str], state: int, *, now: int
) -> dict[str, VersionState]:
    """`record` for several logs at once (the same `e_ids` in each): one version bump per log, few statements.

    Used when one change touches many owners, e.g. a group's first message creating every member's
    conversation row, or a group-info change seen by every member.
    """
    if state not in (STATE_INSERT, STATE_DELETE, STATE_UPDATE):
        raise ValueError(f"version log state must be 1, 2 or 3, not {state}")
    unique_d = list(dict.fromkeys(d_ids))
    unique_e = list(dict.fromkeys(e_ids))
    if not unique_d:
        return {}
    if not unique_e:
        raise ValueError("record needs at least one element ID")
    # A new log starts at version 0 so that the bump below makes its first change version 1, as OpenIM's initDoc.
    await conn.execute(
        dialect.insert_ignore(conn, version_log),
        [
            {"kind": kind, "d_id": d, "version_id": new_version_id(), "version": 0, "deleted": 0, "last_update": now}
            for d in sorted(unique_d)
        ],
    )
    states: dict[str, VersionState] = {}
    for chunk in _chunks(sorted(unique_d)):  # sorted: rows are locked in one order by every writer
        result = await conn.execute(
            update(version_log)
            .where(version_log.c.kind == kind, version_log.c.d_id.in_(chunk))
            .values(version=version_log.c.version + 1, last_update=now)
            .returning(version_log.c.d_id, version_log.c.version_id, version_log.c.version)
        )
        for d, version_id, version in result:
            states[d] = VersionState(version_id, version)
    await conn.execute(
        dialect.upsert(conn, version_log_entry, ["kind", "d_id", "e_id"], ["state", "version", "last_update"]),
        [
            {"kind": kind, "d_id": d, "e_id": e, "state": state, "version": states[d].version, "last_update": now}
            for d in sorted(unique_d)
            for e in unique_e
        ],
    )
    return states


async def drop(conn: AsyncConnection, kind: str, d_id: str) -> None:
    """Delete log (kind, d_id) and its entries: the next read creates a new versionID, so clients resync fully."""
    await conn.execute(
        delete(version_log_entry).where(version_log_entry.c.kind == kind, version_log_entry.c.d_id == d_id)
    )
    await conn.execute(delete(version_log).where(version_log.c.kind == kind, version_log.c.d_id == d_id))


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + _IN_CHUNK] for i in range(0, len(ids), _IN_CHUNK)]


class VersionRepo:
    """Reads of the version logs (transactions `version.<method>`); writes go through `record`."""

    record = staticmethod(record)
    record_many = staticmethod(record_many)
    drop = staticmethod(drop)

    def __init__(self, db: Db) -> None:
        self.db = db

    async def current(self, kind: str, d_id: str) -> VersionState:
        """The log's versionID and version, creating the log (version 1, no entries) if it does not exist."""
        async with self.db.read("version.current") as conn:
            row = (await conn.execute(_select_log(kind, d_id))).first()
        if row is not None:
            return VersionState(row.version_id, row.version)
        return await self._create(kind, d_id)

    async def incremental(
        self, kind: str, d_id: str, version_id: str, version: int, *, limit: int = SYNC_LIMIT
    ) -> VersionDelta:
        """What changed in log (kind, d_id) after the client's (`version_id`, `version`).

        `full=True` when the client's versionID is missing, malformed or not this log's, its version is 0 or
        ahead of the log, or more than `limit` elements changed since; the log is created first if it does
        not exist, so the answer always carries a real versionID. Same version → an empty delta.
        """
        async with self.db.read("version.incremental") as conn:
            row = (await conn.execute(_select_log(kind, d_id))).first()
            if row is not None:
                current = VersionState(row.version_id, row.version)
                if not _can_diff(current, version_id, version, row.deleted):
                    return VersionDelta(current.version_id, current.version, full=True)
                if version == current.version:
                    return VersionDelta(current.version_id, current.version, full=False)
                return await _delta(conn, kind, d_id, current, version, limit)
        created = await self._create(kind, d_id)
        return VersionDelta(created.version_id, created.version, full=True)

    async def prune_deleted(
        self, before: int, *, after: tuple[str, str, str] | None, limit: int
    ) -> tuple[list[tuple[str, str, str]], tuple[str, str, str] | None]:
        """Remove up to `limit` deletion entries (state 2) last changed before `before` (ms), walking the primary key
        after `after`; each touched log's `deleted` rises to the newest version removed, so a client holding an
        older version than that gets a full sync instead of a delta that lacks them. Returns the (kind, d_id,
        e_id) removed and where to continue (None at the end of the table)."""
        e = version_log_entry.c
        query = select(e.kind, e.d_id, e.e_id, e.version).where(e.state == STATE_DELETE, e.last_update < before)
        if after is not None:
            query = query.where(tuple_(e.kind, e.d_id, e.e_id) > tuple_(*after))
        query = query.order_by(e.kind, e.d_id, e.e_id).limit(limit)
        async with self.db.write("version.prune_deleted") as conn:
            rows = (await conn.execute(query)).all()
            if not rows:
                return [], None
            logs: dict[tuple[str, str], tuple[list[str], int]] = {}
            for kind, d_id, e_id, version in rows:
                ids, top = logs.get((kind, d_id), ([], 0))
                ids.append(e_id)
                logs[(kind, d_id)] = (ids, max(top, version))
            for (kind, d_id), (ids, top) in logs.items():
                for chunk in _chunks(ids):
                    await conn.execute(
                        delete(version_log_entry).where(e.kind == kind, e.d_id == d_id, e.e_id.in_(chunk))
                    )
                await conn.execute(
                    update(version_log)
                    .where(version_log.c.kind == kind, version_log.c.d_id == d_id, version_log.c.deleted < top)
                    .values(deleted=top)
                )
        removed = [(r.kind, r.d_id, r.e_id) for r in rows]
        return removed, (None if len(rows) < limit else removed[-1])

    async def _create(self, kind: str, d_id: str) -> VersionState:
        now = time.time_ns() // 1_000_000
        async with self.db.write("version.create") as conn:
            await conn.execute(
                dialect.insert_ignore(conn, version_log).values(
                    kind=kind,
                    d_id=d_id,
                    version_id=new_version_id(),
                    version=_FIRST_VERSION,
                    deleted=0,
                    last_update=now,
                )
            )
            row = (await conn.execute(_select_log(kind, d_id))).one()
        return VersionState(row.version_id, row.version)


def _select_log(kind: str, d_id: str) -> Select[Any]:
    return select(version_log.c.version_id, version_log.c.version, version_log.c.deleted).where(
        version_log.c.kind == kind, version_log.c.d_id == d_id
    )


def _can_diff(current: VersionState, version_id: str, version: int, deleted: int) -> bool:
    return (
        valid_version_id(version_id)
        and version_id.lower() == current.version_id
        and 0 < version <= current.version
        and version >= deleted  # deletions up to `deleted` were pruned: an older client may lack one of them
    )


async def _delta(
    conn: AsyncConnection, kind: str, d_id: str, current: VersionState, version: int, limit: int
) -> VersionDelta:
    where = (version_log_entry.c.kind == kind, version_log_entry.c.d_id == d_id, version_log_entry.c.version > version)
    count = (await conn.execute(select(func.count()).select_from(version_log_entry).where(*where))).scalar_one()
    if count > limit:
        return VersionDelta(current.version_id, current.version, full=True)
    result = await conn.execute(
        select(version_log_entry.c.e_id, version_log_entry.c.state, version_log_entry.c.version)
        .where(*where)
        .order_by(version_log_entry.c.version, version_log_entry.c.e_id)
    )
    delta = VersionDelta(current.version_id, current.version, full=False)
    sort_version = 0
    group_changed = False
    for e_id, state, entry_version in result:
        if e_id == SORT_ELEM_ID:
            sort_version = entry_version
        elif e_id == GROUP_ELEM_ID and kind == KIND_GROUP_MEMBER:
            group_changed = True
        elif state == STATE_INSERT:
            delta.inserted.append(e_id)
        elif state == STATE_DELETE:
            delta.deleted.append(e_id)
        else:
            delta.updated.append(e_id)
    return VersionDelta(
        current.version_id,
        current.version,
        full=False,
        inserted=delta.inserted,
        updated=delta.updated,
        deleted=delta.deleted,
        sort_version=sort_version,
        group_changed=group_changed,
    )
