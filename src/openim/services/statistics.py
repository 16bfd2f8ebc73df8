"""StatisticsService: /statistics — users registered, groups created, most and least active users and groups.

All four are admin-only (OpenIM leaves user/register open to any token, internal/rpc/user/statistics.go). Counts
come from `storage.statistics`, per UTC day; message counts follow OpenIM's choice of conversations: single chats
(`si_`), plus groups (`sg_`, legacy `g_`) when asked, never notification conversations. Paging is OpenIM's 1-based
`pagination`, applied as (pageNumber-1)*showNumber (OpenIM's aggregation skips pageNumber-1 entries, a bug not
reproduced).
"""

from __future__ import annotations

from openim.protocol.errors import ArgsError
from openim.protocol.ids import GROUP_PREFIX, LEGACY_GROUP_PREFIX, SINGLE_PREFIX
from openim.protocol.pb import msg_pb2 as pb
from openim.protocol.pb import sdkws_pb2
from openim.services.auth import Caller
from openim.services.paging import Page
from openim.services.wire import group_info_pb, user_info_pb
from openim.storage import Storage
from openim.storage.statistics import CreatedCounts

__all__ = ["StatisticsService"]

_GROUP_PREFIXES = (GROUP_PREFIX, LEGACY_GROUP_PREFIX)


def _checked_range(start: int, end: int) -> None:
    """OpenIM's Check() of user/register and group/create, then its start > end test."""
    if start <= 0:
        raise ArgsError("start is invalid")
    if end <= 0:
        raise ArgsError("end is invalid")
    if start > end:
        raise ArgsError(f"start > end: {start} > {end}")


def _page(req: pb.GetActiveUserReq | pb.GetActiveGroupReq) -> Page:
    # OpenIM dereferences a missing pagination (a 500 there); 1001 here.
    if not req.HasField("pagination"):
        return Page.checked(None, None)
    return Page.checked(req.pagination.pageNumber, req.pagination.showNumber)


def _group_id(conversation_id: str) -> str:
    for prefix in _GROUP_PREFIXES:
        if conversation_id.startswith(prefix):
            return conversation_id[len(prefix) :]
    return conversation_id


class StatisticsService:
    """Admin-only counts over the database."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def user_register_count(self, caller: Caller, start: int, end: int) -> CreatedCounts:
        """All users, those registered before `start`, and those registered in [start, end) per day."""
        caller.require_admin()
        _checked_range(start, end)
        return await self.storage.statistics.users_created(start, end)

    async def group_create_count(self, caller: Caller, start: int, end: int) -> CreatedCounts:
        """All groups, those created before `start`, and those created in [start, end) per day."""
        caller.require_admin()
        _checked_range(start, end)
        return await self.storage.statistics.groups_created(start, end)

    async def active_users(self, caller: Caller, req: pb.GetActiveUserReq) -> pb.GetActiveUserResp:
        """Messages sent in [start, end) by sender: totals, per day, and a page of senders by count."""
        caller.require_admin()
        page = _page(req)
        prefixes = (SINGLE_PREFIX, *_GROUP_PREFIXES) if req.group else (SINGLE_PREFIX,)
        counts = await self.storage.statistics.active_senders(
            req.start, req.end, prefixes=prefixes, ascending=req.ase, offset=page.offset, limit=page.limit
        )
        users = {u.user_id: u for u in await self.storage.user.get_users([uid for uid, _ in counts.page])}
        resp = pb.GetActiveUserResp(msgCount=counts.msg_count, userCount=counts.active_count)
        resp.dateCount.update(counts.per_day)
        for user_id, count in counts.page:
            user = users.get(user_id)
            # OpenIM's stand-in for a sender no longer registered: its ID as nickname.
            info = user_info_pb(user) if user else sdkws_pb2.UserInfo(userID=user_id, nickname=user_id)
            resp.users.add(user=info, count=count)
        return resp

    async def active_groups(self, caller: Caller, req: pb.GetActiveGroupReq) -> pb.GetActiveGroupResp:
        """Messages sent in [start, end) in groups, by group: totals, per day, and a page of groups by count."""
        caller.require_admin()
        page = _page(req)
        counts = await self.storage.statistics.active_conversations(
            req.start, req.end, prefixes=_GROUP_PREFIXES, ascending=req.ase, offset=page.offset, limit=page.limit
        )
        ids = [_group_id(cid) for cid, _ in counts.page]
        groups = {s.group.group_id: s for s in await self.storage.group.get_groups(ids)}
        resp = pb.GetActiveGroupResp(msgCount=counts.msg_count, groupCount=counts.active_count)
        resp.dateCount.update(counts.per_day)
        for group_id, (_, count) in zip(ids, counts.page, strict=True):
            summary = groups.get(group_id)
            info = group_info_pb(summary) if summary else sdkws_pb2.GroupInfo(groupID=group_id, groupName=group_id)
            resp.groups.add(group=info, count=count)
        return resp
