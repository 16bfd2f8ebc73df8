"""SearchMessage (REST /msg/search_msg): chat messages by sender, receiver, content type, session type and day.

OpenIM's fields: `sendID`, `recvID` (a user, or a group: recvID matches the receiver or the group),
`contentType`, `sessionType`, `sendTime` ("YYYY-MM-DD": that UTC day), `pagination`; the answer's chatLogs carry
each message with its sender's and receiver's nicknames and, for groups, the group's name, owner, type, face and
member count (OpenIM puts the group's face in senderFaceURL; so does this, and in groupFaceURL too), plus
isRevoked; chatLogsNum counts every match.

Differences on purpose: admin only (OpenIM checks no one: any token holder reads everyone's messages, the hole
its #3314 describes); pagination is required (1001) and showNumber at most MAX_SHOW; results are ordered by send
time (OpenIM by storage document).
"""

from __future__ import annotations

import datetime as dt

from openim.protocol.constants import SessionType
from openim.protocol.errors import ArgsError
from openim.protocol.pb import msg_pb2
from openim.services.auth import Caller
from openim.services.msg.core import MsgCore
from openim.services.paging import Page
from openim.storage.msg.search import FoundMsg, MsgQuery

__all__ = ["MAX_SHOW", "SearchMixin"]

MAX_SHOW = 1000
_DAY_MS = 86_400_000
_GROUPS = (SessionType.WRITE_GROUP_CHAT, SessionType.READ_GROUP_CHAT)


class SearchMixin(MsgCore):
    """The message search of MsgService."""

    async def search_msg(self, caller: Caller, req: msg_pb2.SearchMessageReq) -> msg_pb2.SearchMessageResp:
        caller.require_admin()
        page = Page.checked(
            req.pagination.pageNumber if req.HasField("pagination") else None, req.pagination.showNumber
        )
        if page.size > MAX_SHOW:
            raise ArgsError(f"showNumber is at most {MAX_SHOW}")
        start = _day_start(req.sendTime) if req.sendTime else None
        query = MsgQuery(
            send_id=req.sendID,
            recv_id=req.recvID,
            content_type=req.contentType,
            session_type=req.sessionType,
            start_ms=start,
            end_ms=None if start is None else start + _DAY_MS,
        )
        total, found = await self.storage.msg_search.search(query, page.offset, page.limit)
        resp = msg_pb2.SearchMessageResp(chatLogsNum=total)
        for chat_log, revoked in await self._chat_logs(found):
            resp.chatLogs.add(chatLog=chat_log, isRevoked=revoked)
        return resp

    async def _chat_logs(self, found: list[FoundMsg]) -> list[tuple[msg_pb2.ChatLog, bool]]:
        user_ids = {f.msg.sendID for f in found} | {f.msg.recvID for f in found if f.msg.sessionType not in _GROUPS}
        nicknames = {u.user_id: u.nickname for u in await self.storage.user.get_users(sorted(user_ids))}
        group_ids = sorted({f.msg.groupID for f in found if f.msg.sessionType in _GROUPS})
        groups = {g.group.group_id: g for g in await self.storage.group.get_groups(group_ids)} if group_ids else {}
        logs = []
        for f in found:
            m = f.msg
            log = msg_pb2.ChatLog(
                serverMsgID=m.serverMsgID,
                clientMsgID=m.clientMsgID,
                sendID=m.sendID,
                recvID=m.recvID,
                groupID=m.groupID,
                senderPlatformID=m.senderPlatformID,
                senderNickname=m.senderNickname or nicknames.get(m.sendID, ""),
                senderFaceURL=m.senderFaceURL,
                sessionType=m.sessionType,
                msgFrom=m.msgFrom,
                contentType=m.contentType,
                content=m.content.decode("utf-8", "replace"),
                status=m.status,
                sendTime=m.sendTime,
                createTime=m.createTime,
                ex=m.ex,
                seq=m.seq,
            )
            if m.sessionType in _GROUPS:
                summary = groups.get(m.groupID)
                if summary is not None:
                    log.recvID = m.groupID
                    log.groupName = summary.group.group_name
                    log.senderFaceURL = log.groupFaceURL = summary.group.face_url
                    log.groupMemberCount = summary.member_count
                    log.groupOwner = summary.owner_user_id
                    log.groupType = summary.group.group_type
            else:
                log.recvNickname = nicknames.get(m.recvID, "")
            logs.append((log, f.revoked))
        return logs


def _day_start(day: str) -> int:
    """Unix ms of 00:00 UTC of a "YYYY-MM-DD" day (Go's time.Parse(time.DateOnly)); 1001 otherwise."""
    try:
        parsed = dt.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=dt.UTC)
    except ValueError:
        raise ArgsError(f"invalid sendTime {day!r}: want YYYY-MM-DD") from None
    return int(parsed.timestamp() * 1000)
