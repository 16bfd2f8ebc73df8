"""GroupRepo, write side: every change to a group, its members and its requests, one named transaction each.

Each method writes, in the same transaction, the version-log entries OpenIM writes for the change
(docs/protocol/rest.md §6): membership changes log each member's `join_group` and the group's `group_member` log
(one version bump per call, so the tip that follows can carry it); group-info changes log element "" in
`group_member`; a member update logs that member, plus the sort element when its role changed; deleting
every member drops the group's member log (clients resync fully). Joins and leaves also write the members'
chat-conversation rows (`chat.py`). Returned `VersionState`s are what the group tips carry as
groupMemberVersion/ID. Who may do what is the group service's business; this module checks nothing but
what keeps the rows consistent (a groupID taken, a request handled meanwhile).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openim.protocol.constants import GroupRole, GroupStatus
from openim.protocol.errors import GroupIDExisted, GroupRequestHandled
from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.facts import FACT_GROUP, FACT_MEMBERS, FactCache
from openim.storage.group.chat import close_rows, mark_announcement, open_rows
from openim.storage.rows import Group, GroupMember, GroupRequest
from openim.storage.schema import group, group_member, group_request
from openim.storage.version import (
    GROUP_ELEM_ID,
    KIND_GROUP_MEMBER,
    KIND_JOIN_GROUP,
    SORT_ELEM_ID,
    STATE_DELETE,
    STATE_INSERT,
    STATE_UPDATE,
    VersionState,
    drop,
    record,
    record_many,
)

__all__ = ["GroupWrites", "MemberChange"]

_IN_CHUNK = 1000
# What update_group and update_members may set, by column name.
_GROUP_COLUMNS = frozenset(
    {
        "group_name",
        "notification",
        "introduction",
        "face_url",
        "ex",
        "status",
        "need_verification",
        "look_member_info",
        "apply_member_friend",
        "notification_update_time",
        "notification_user_id",
    }
)
_MEMBER_COLUMNS = frozenset({"nickname", "face_url", "role_level", "ex", "mute_end_time"})
_REQUEST_UPDATE = tuple(f.name for f in fields(GroupRequest) if f.name not in ("group_id", "user_id"))


@dataclass(frozen=True, slots=True)
class MemberChange:
    """Columns to set on one membership: any of nickname, face_url, role_level, ex, mute_end_time."""

    group_id: str
    user_id: str
    values: Mapping[str, Any]


def _values(row: object) -> dict[str, Any]:
    return {f.name: getattr(row, f.name) for f in fields(row)}  # type: ignore[arg-type]


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(ids), _IN_CHUNK):
        yield ids[i : i + _IN_CHUNK]


def _check_columns(values: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"not settable: {sorted(unknown)}")


async def _join(
    conn: AsyncConnection, group_id: str, members: Sequence[GroupMember], *, now: int, hide_history: bool
) -> VersionState:
    """Insert `members` (none of them a member yet), log them, give them their chat rows."""
    user_ids = [m.user_id for m in members]
    await conn.execute(insert(group_member), [_values(m) for m in members])
    await record_many(conn, KIND_JOIN_GROUP, user_ids, [group_id], STATE_INSERT, now=now)
    state = await record(conn, KIND_GROUP_MEMBER, group_id, user_ids, STATE_INSERT, now=now)
    await open_rows(conn, group_id, user_ids, now=now, hide_history=hide_history)
    return state


async def _member_ids(conn: AsyncConnection, group_id: str) -> list[str]:
    result = await conn.execute(
        select(group_member.c.user_id).where(group_member.c.group_id == group_id).order_by(group_member.c.user_id)
    )
    return list(result.scalars())


class GroupWrites:
    """The write methods of GroupRepo (transactions `group.<method>`)."""

    db: Db
    facts: FactCache

    # --- groups -------------------------------------------------------------------------------------------

    async def create_group(self, row: Group, members: Sequence[GroupMember], *, now: int) -> VersionState:
        """Create the group with its first members; GroupIDExisted (1202) when the groupID is taken."""
        async with (
            self.facts.writing(FACT_GROUP, (row.group_id,)),
            self.facts.writing(FACT_MEMBERS, (row.group_id,)),
            self.db.write("group.create_group") as conn,
        ):
            taken = await conn.execute(select(group.c.group_id).where(group.c.group_id == row.group_id))
            if taken.first() is not None:
                raise GroupIDExisted(f"group id existed {row.group_id}")
            await conn.execute(insert(group).values(**_values(row)))
            return await _join(conn, row.group_id, members, now=now, hide_history=False)

    async def update_group(
        self, group_id: str, values: Mapping[str, Any], *, now: int, announce: bool = False
    ) -> tuple[VersionState, list[str]]:
        """Set group columns, logged as the group itself changing; with `announce`, also set groupAtType 4 on
        every member's chat row. Returns the log state and the owners whose chat row changed."""
        _check_columns(values, _GROUP_COLUMNS)
        async with self.facts.writing(FACT_GROUP, (group_id,)), self.db.write("group.update_group") as conn:
            await conn.execute(update(group).where(group.c.group_id == group_id).values(dict(values)))
            state = await record(conn, KIND_GROUP_MEMBER, group_id, [GROUP_ELEM_ID], STATE_UPDATE, now=now)
            touched = await mark_announcement(conn, group_id, now=now) if announce else []
        return state, touched

    async def dismiss_group(self, group_id: str, *, now: int, delete_members: bool) -> list[str]:
        """Status 2 (dismissed), logged as the group changing; with `delete_members` every member goes too
        (see `delete_all_members`). Returns the members deleted."""
        async with (
            self.facts.writing(FACT_GROUP, (group_id,)),
            self.facts.writing(FACT_MEMBERS, (group_id,) if delete_members else ()),
            self.db.write("group.dismiss_group") as conn,
        ):
            await conn.execute(
                update(group).where(group.c.group_id == group_id).values(status=int(GroupStatus.DISMISSED))
            )
            await record(conn, KIND_GROUP_MEMBER, group_id, [GROUP_ELEM_ID], STATE_UPDATE, now=now)
            return await self._delete_all(conn, group_id, now=now) if delete_members else []

    async def delete_all_members(self, group_id: str, *, now: int) -> list[str]:
        """Delete every member: each member's join log gets a delete, the group's member log is dropped."""
        async with (
            self.facts.writing(FACT_MEMBERS, (group_id,)),
            self.db.write("group.delete_all_members") as conn,
        ):
            return await self._delete_all(conn, group_id, now=now)

    @staticmethod
    async def _delete_all(conn: AsyncConnection, group_id: str, *, now: int) -> list[str]:
        user_ids = await _member_ids(conn, group_id)
        await conn.execute(delete(group_member).where(group_member.c.group_id == group_id))
        await record_many(conn, KIND_JOIN_GROUP, user_ids, [group_id], STATE_DELETE, now=now)
        await drop(conn, KIND_GROUP_MEMBER, group_id)
        return user_ids

    # --- members ------------------------------------------------------------------------------------------

    async def add_members(
        self, group_id: str, members: Sequence[GroupMember], *, now: int, hide_history: bool
    ) -> VersionState:
        """Add members that are not members yet (one version bump for all of them) with their chat rows."""
        async with self.facts.writing(FACT_MEMBERS, (group_id,)), self.db.write("group.add_members") as conn:
            return await _join(conn, group_id, members, now=now, hide_history=hide_history)

    async def remove_members(self, group_id: str, user_ids: Sequence[str], *, now: int) -> VersionState | None:
        """Remove members (quit, kick): logged as deletes, their chat rows capped. None if none was a member."""
        wanted = sorted(set(user_ids))
        async with self.facts.writing(FACT_MEMBERS, (group_id,)), self.db.write("group.remove_members") as conn:
            removed: list[str] = []
            for chunk in _chunks(wanted):
                result = await conn.execute(
                    delete(group_member)
                    .where(group_member.c.group_id == group_id, group_member.c.user_id.in_(chunk))
                    .returning(group_member.c.user_id)
                )
                removed.extend(result.scalars())
            if not removed:
                return None
            removed.sort()
            await record_many(conn, KIND_JOIN_GROUP, removed, [group_id], STATE_DELETE, now=now)
            state = await record(conn, KIND_GROUP_MEMBER, group_id, removed, STATE_DELETE, now=now)
            await close_rows(conn, group_id, removed, now=now)
            return state

    async def update_members(self, changes: Sequence[MemberChange], *, now: int) -> list[VersionState]:
        """Apply each change in order, each its own version bump (the sort element too when the role changes),
        so one tip per changed member can carry its own version. Returns the states in the order given."""
        for change in changes:
            _check_columns(change.values, _MEMBER_COLUMNS)
        states: list[VersionState] = []
        async with (
            self.facts.writing(FACT_MEMBERS, [c.group_id for c in changes]),
            self.db.write("group.update_members") as conn,
        ):
            for change in changes:
                await conn.execute(
                    update(group_member)
                    .where(group_member.c.group_id == change.group_id, group_member.c.user_id == change.user_id)
                    .values(dict(change.values))
                )
                e_ids = [SORT_ELEM_ID, change.user_id] if "role_level" in change.values else [change.user_id]
                states.append(await record(conn, KIND_GROUP_MEMBER, change.group_id, e_ids, STATE_UPDATE, now=now))
        return states

    async def touch_member_profile(self, user_id: str, *, now: int) -> dict[str, VersionState]:
        """The user's own nickname or face changed: log an update of its member entry in every live group whose
        member row shows the user's profile (an empty group nickname or face); the state of each log written."""
        async with self.db.write("group.touch_member_profile") as conn:
            result = await conn.execute(
                select(group_member.c.group_id)
                .join(group, group.c.group_id == group_member.c.group_id)
                .where(
                    group_member.c.user_id == user_id,
                    (group_member.c.nickname == "") | (group_member.c.face_url == ""),
                    group.c.status != GroupStatus.DISMISSED,
                )
                .order_by(group_member.c.group_id)
            )
            group_ids = list(result.scalars())
            if not group_ids:
                return {}
            return await record_many(conn, KIND_GROUP_MEMBER, group_ids, [user_id], STATE_UPDATE, now=now)

    async def transfer_owner(
        self, group_id: str, old_owner: str, new_owner: str, *, old_owner_role: int, now: int
    ) -> VersionState:
        """`new_owner` becomes owner (and is unmuted), `old_owner` takes the new owner's former role."""
        async with self.facts.writing(FACT_MEMBERS, (group_id,)), self.db.write("group.transfer_owner") as conn:
            await conn.execute(
                update(group_member)
                .where(group_member.c.group_id == group_id, group_member.c.user_id == new_owner)
                .values(role_level=int(GroupRole.OWNER), mute_end_time=0)
            )
            await conn.execute(
                update(group_member)
                .where(group_member.c.group_id == group_id, group_member.c.user_id == old_owner)
                .values(role_level=old_owner_role)
            )
            return await record(
                conn, KIND_GROUP_MEMBER, group_id, [SORT_ELEM_ID, old_owner, new_owner], STATE_UPDATE, now=now
            )

    # --- requests -----------------------------------------------------------------------------------------

    async def put_requests(self, requests: Sequence[GroupRequest]) -> None:
        """Store requests, each replacing any earlier request of the same user to the same group."""
        if not requests:
            return
        async with self.db.write("group.put_requests") as conn:
            await conn.execute(
                dialect.upsert(conn, group_request, ["group_id", "user_id"], _REQUEST_UPDATE),
                [_values(r) for r in requests],
            )

    async def respond_request(
        self,
        group_id: str,
        user_id: str,
        *,
        handle_result: int,
        handled_msg: str,
        handler: str,
        now: int,
        member: GroupMember | None = None,
        hide_history: bool = False,
    ) -> VersionState | None:
        """Mark a pending request handled and, given `member`, add it; GroupRequestHandled (1206) when the
        request is no longer pending. Returns the member log's state when a member was added."""
        async with (
            self.facts.writing(FACT_MEMBERS, (group_id,) if member is not None else ()),
            self.db.write("group.respond_request") as conn,
        ):
            result = await conn.execute(
                update(group_request)
                .where(
                    group_request.c.group_id == group_id,
                    group_request.c.user_id == user_id,
                    group_request.c.handle_result == 0,
                )
                .values(handle_result=handle_result, handled_msg=handled_msg, handle_user_id=handler, handled_time=now)
            )
            if result.rowcount != 1:
                raise GroupRequestHandled(f"the request of {user_id} to group {group_id} is handled already")
            if member is None:
                return None
            return await _join(conn, group_id, [member], now=now, hide_history=hide_history)
