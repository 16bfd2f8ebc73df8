"""GroupRepo, read side: tables `group`, `group_member` and `group_request`.

Groups with their owner and member
count (`GroupSummary`, what OpenIM's GroupInfo needs), the groups a user joined, members in OpenIM's order
(role first, then join time), and group requests newest first. Each method is one named transaction
(`group.<method>`). Group-member nicknames and faces are returned as stored ("" = the user's own); the group
service fills them in from the user's profile. Who may read what is the group service's business.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from openim.protocol.constants import GroupRole, GroupStatus
from openim.storage.db import Db
from openim.storage.facts import FactCache
from openim.storage.rows import Group, GroupMember, GroupRequest
from openim.storage.schema import group, group_member, group_request, user

__all__ = ["GroupReads", "GroupSummary"]

_IN_CHUNK = 1000  # ids per IN (…) list, far below both databases' bind-parameter limits

_GROUP = tuple(group.c[f.name] for f in fields(Group))
_MEMBER = tuple(group_member.c[f.name] for f in fields(GroupMember))
_REQUEST = tuple(group_request.c[f.name] for f in fields(GroupRequest))

# OpenIM: members by role_level desc then insertion; joined groups by group_name then create_time.
_MEMBER_ORDER = (group_member.c.role_level.desc(), group_member.c.join_time, group_member.c.user_id)
_JOINED_ORDER = (group.c.group_name, group.c.create_time, group.c.group_id)
_REQUEST_ORDER = (group_request.c.req_time.desc(), group_request.c.group_id, group_request.c.user_id)
_MANAGERS = (int(GroupRole.OWNER), int(GroupRole.ADMIN))


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """A group with what OpenIM's GroupInfo adds to the row: its owner ("" if none) and how many members it has."""

    group: Group
    owner_user_id: str
    member_count: int


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(ids), _IN_CHUNK):
        yield ids[i : i + _IN_CHUNK]


def _unique(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _joined(user_id: str) -> Select[Any]:
    """The user's memberships in groups that are not dismissed, joined with the group (for order and status)."""
    return (
        select(group.c.group_id)
        .select_from(group_member.join(group, group.c.group_id == group_member.c.group_id))
        .where(group_member.c.user_id == user_id, group.c.status != int(GroupStatus.DISMISSED))
    )


def _with_results(stmt: Select[Any], handle_results: Sequence[int]) -> Select[Any]:
    return stmt.where(group_request.c.handle_result.in_(list(handle_results))) if handle_results else stmt


async def _summaries(conn: AsyncConnection, group_ids: Sequence[str]) -> list[GroupSummary]:
    """GroupSummary of each existing group among `group_ids`, in that order, each once."""
    wanted = _unique(group_ids)
    groups: dict[str, Group] = {}
    counts: dict[str, int] = {}
    owners: dict[str, str] = {}
    for chunk in _chunks(wanted):
        for row in await conn.execute(select(*_GROUP).where(group.c.group_id.in_(chunk))):
            groups[row.group_id] = Group(*row)
        counted = await conn.execute(
            select(group_member.c.group_id, func.count())
            .where(group_member.c.group_id.in_(chunk))
            .group_by(group_member.c.group_id)
        )
        counts.update((group_id, int(n)) for group_id, n in counted)
        owned = await conn.execute(
            select(group_member.c.group_id, group_member.c.user_id)
            .where(group_member.c.group_id.in_(chunk), group_member.c.role_level == int(GroupRole.OWNER))
            .order_by(group_member.c.join_time.desc(), group_member.c.user_id.desc())
        )
        owners.update((group_id, user_id) for group_id, user_id in owned)  # the earliest owner wins
    return [GroupSummary(groups[g], owners.get(g, ""), counts.get(g, 0)) for g in wanted if g in groups]


class GroupReads:
    """Reads `group`, `group_member` and `group_request`; every method is one transaction named `group.<method>`."""

    def __init__(self, db: Db, facts: FactCache | None = None) -> None:
        self.db = db
        self.facts = facts if facts is not None else FactCache(db)

    # --- groups -------------------------------------------------------------------------------------------

    async def get_group(self, group_id: str) -> Group | None:
        """One group (dismissed ones included), or None when the groupID is unknown."""
        async with self.db.read("group.get_group") as conn:
            row = (await conn.execute(select(*_GROUP).where(group.c.group_id == group_id))).first()
        return None if row is None else Group(*row)

    async def get_groups(self, group_ids: Sequence[str]) -> list[GroupSummary]:
        """The existing groups among `group_ids` with owner and member count, in request order, each once."""
        async with self.db.read("group.get_groups") as conn:
            return await _summaries(conn, group_ids)

    async def search_groups(self, keyword: str, offset: int, limit: int) -> tuple[int, list[GroupSummary]]:
        """(matching total, one page) of groups not dismissed whose name contains `keyword` (ASCII case
        ignored, `%` and `_` literal; "" matches every name), newest first."""
        where: list[ColumnElement[bool]] = [group.c.status != int(GroupStatus.DISMISSED)]
        if keyword:
            where.append(group.c.group_name.icontains(keyword, autoescape=True))
        async with self.db.read("group.search_groups") as conn:
            total = (await conn.execute(select(func.count()).select_from(group).where(*where))).scalar_one()
            if limit <= 0 or offset >= total:
                return total, []
            page = await conn.execute(
                select(group.c.group_id)
                .where(*where)
                .order_by(group.c.create_time.desc(), group.c.group_id)
                .offset(offset)
                .limit(limit)
            )
            return total, await _summaries(conn, list(page.scalars()))

    async def joined_group_ids(self, user_id: str) -> list[str]:
        """The groups the user is a member of, dismissed ones left out, by group name then creation time."""
        async with self.db.read("group.joined_group_ids") as conn:
            return list((await conn.execute(_joined(user_id).order_by(*_JOINED_ORDER))).scalars())

    async def page_joined_groups(self, user_id: str, offset: int, limit: int) -> tuple[int, list[GroupSummary]]:
        """(joined groups, one page of them) in the order of `joined_group_ids`; past the end the page is empty."""
        async with self.db.read("group.page_joined_groups") as conn:
            total = (await conn.execute(select(func.count()).select_from(_joined(user_id).subquery()))).scalar_one()
            if limit <= 0 or offset >= total:
                return total, []
            page = await conn.execute(_joined(user_id).order_by(*_JOINED_ORDER).offset(offset).limit(limit))
            return total, await _summaries(conn, list(page.scalars()))

    # --- members ------------------------------------------------------------------------------------------

    async def member_ids(self, group_id: str) -> list[str]:
        """Every member's userID in member order: owner, admins, then members, each by join time."""
        async with self.db.read("group.member_ids") as conn:
            result = await conn.execute(
                select(group_member.c.user_id).where(group_member.c.group_id == group_id).order_by(*_MEMBER_ORDER)
            )
            return list(result.scalars())

    async def get_member(self, group_id: str, user_id: str) -> GroupMember | None:
        """The user's membership of the group, or None when it is not a member (or the group is unknown)."""
        async with self.db.read("group.get_member") as conn:
            row = (
                await conn.execute(
                    select(*_MEMBER).where(group_member.c.group_id == group_id, group_member.c.user_id == user_id)
                )
            ).first()
        return None if row is None else GroupMember(*row)

    async def get_members(self, group_id: str, user_ids: Sequence[str]) -> list[GroupMember]:
        """The members among `user_ids`, in request order, each once; non-members are omitted."""
        wanted = _unique(user_ids)
        found: dict[str, GroupMember] = {}
        async with self.db.read("group.get_members") as conn:
            for chunk in _chunks(wanted):
                result = await conn.execute(
                    select(*_MEMBER).where(group_member.c.group_id == group_id, group_member.c.user_id.in_(chunk))
                )
                for row in result:
                    found[row.user_id] = GroupMember(*row)
        return [found[i] for i in wanted if i in found]

    async def page_members(
        self, group_id: str, offset: int, limit: int, *, keyword: str = ""
    ) -> tuple[int, list[GroupMember]]:
        """(matching total, one page) of members in member order.

        A non-empty `keyword` keeps members whose nickname as shown contains it, ignoring ASCII case: the
        group nickname, or the user's own nickname where the group one is empty. `%`, `_`, `\\` match literally.
        """
        source = group_member.outerjoin(user, user.c.user_id == group_member.c.user_id)
        where: list[ColumnElement[bool]] = [group_member.c.group_id == group_id]
        if keyword:
            shown = func.coalesce(func.nullif(group_member.c.nickname, ""), user.c.nickname, "")
            where.append(shown.icontains(keyword, autoescape=True))
        async with self.db.read("group.page_members") as conn:
            total = (await conn.execute(select(func.count()).select_from(source).where(*where))).scalar_one()
            if limit <= 0 or offset >= total:
                return total, []
            result = await conn.execute(
                select(*_MEMBER).select_from(source).where(*where).order_by(*_MEMBER_ORDER).offset(offset).limit(limit)
            )
            return total, [GroupMember(*row) for row in result]

    async def manager_ids(self, group_id: str) -> list[str]:
        """The owner and the admins of the group, owner first, then by join time."""
        async with self.db.read("group.manager_ids") as conn:
            result = await conn.execute(
                select(group_member.c.user_id)
                .where(group_member.c.group_id == group_id, group_member.c.role_level.in_(_MANAGERS))
                .order_by(*_MEMBER_ORDER)
            )
            return list(result.scalars())

    async def all_members(self, group_id: str) -> list[GroupMember]:
        """Every member of the group, by userID (the order OpenIM hashes them in)."""
        async with self.db.read("group.all_members") as conn:
            result = await conn.execute(
                select(*_MEMBER).where(group_member.c.group_id == group_id).order_by(group_member.c.user_id)
            )
            return [GroupMember(*row) for row in result]

    async def managed_group_ids(self, user_id: str) -> list[str]:
        """The groups where the user is owner or admin (dismissed ones included), by groupID."""
        async with self.db.read("group.managed_group_ids") as conn:
            result = await conn.execute(
                select(group_member.c.group_id)
                .where(group_member.c.user_id == user_id, group_member.c.role_level.in_(_MANAGERS))
                .order_by(group_member.c.group_id)
            )
            return list(result.scalars())

    # --- group requests -----------------------------------------------------------------------------------

    async def get_requests(self, group_id: str, user_ids: Sequence[str]) -> list[GroupRequest]:
        """The requests of `user_ids` to join the group, newest first (at most one per user)."""
        wanted = _unique(user_ids)
        found: list[GroupRequest] = []
        async with self.db.read("group.get_requests") as conn:
            for chunk in _chunks(wanted):
                result = await conn.execute(
                    select(*_REQUEST).where(group_request.c.group_id == group_id, group_request.c.user_id.in_(chunk))
                )
                found.extend(GroupRequest(*row) for row in result)
        return sorted(found, key=lambda r: (-r.req_time, r.user_id))

    async def page_user_requests(
        self, user_id: str, group_ids: Sequence[str], handle_results: Sequence[int], offset: int, limit: int
    ) -> tuple[int, list[GroupRequest]]:
        """(matching total, one page) of the user's own requests, newest first; empty filters match everything."""
        where: list[ColumnElement[bool]] = [group_request.c.user_id == user_id]
        if group_ids:
            where.append(group_request.c.group_id.in_(_unique(group_ids)))
        return await self._page_requests("group.page_user_requests", where, handle_results, offset, limit)

    async def page_group_requests(
        self, group_ids: Sequence[str], handle_results: Sequence[int], offset: int, limit: int
    ) -> tuple[int, list[GroupRequest]]:
        """(matching total, one page) of requests to any of `group_ids`, newest first; no groups, no requests."""
        if not group_ids:
            return 0, []
        where = [group_request.c.group_id.in_(_unique(group_ids))]
        return await self._page_requests("group.page_group_requests", where, handle_results, offset, limit)

    async def count_unhandled_requests(self, group_ids: Sequence[str], *, after: int = 0) -> int:
        """Pending requests to any of `group_ids` made after `after` (ms; 0 = all)."""
        if not group_ids:
            return 0
        where: list[ColumnElement[bool]] = [
            group_request.c.group_id.in_(_unique(group_ids)),
            group_request.c.handle_result == 0,
        ]
        if after:
            where.append(group_request.c.req_time > after)
        async with self.db.read("group.count_unhandled_requests") as conn:
            return int((await conn.execute(select(func.count()).select_from(group_request).where(*where))).scalar_one())

    async def _page_requests(
        self,
        name: str,
        where: Sequence[ColumnElement[bool]],
        handle_results: Sequence[int],
        offset: int,
        limit: int,
    ) -> tuple[int, list[GroupRequest]]:
        async with self.db.read(name) as conn:
            count = _with_results(select(func.count()).select_from(group_request).where(*where), handle_results)
            total = (await conn.execute(count)).scalar_one()
            if limit <= 0 or offset >= total:
                return total, []
            page = _with_results(select(*_REQUEST).where(*where), handle_results)
            result = await conn.execute(page.order_by(*_REQUEST_ORDER).offset(offset).limit(limit))
            return total, [GroupRequest(*row) for row in result]
