"""Conversation service: every /conversation/* route the SDKs call and the two /jssdk routes (docs/protocol/rest.md,
§3.8, §4.4, §4.7).

Requests and answers are the generated protobuf classes, shared by REST and any other transport. A user only
ever sees and changes its own conversations (the ownerUserID/userID of a request must be the caller, unless
the caller is an admin → else 1002). Beyond OpenIM, `set_conversations` creates a row only for a conversation
the user takes part in (its single chat with the named peer, a group it is a member of): OpenIM creates rows
for any ID, which then lets the user pull a stranger's messages. Each change is logged in the owner's
conversation version log by the repository, so `get_incremental_conversations` returns exactly the changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openim.infra.clock import Clock
from openim.protocol.constants import ContentType, RecvMsgOpt, SessionType
from openim.protocol.errors import ArgsError, NoPermissionError, RecordNotFoundError
from openim.protocol.idhash import id_hash
from openim.protocol.ids import conversation_id_by_session_type, group_conversation_id
from openim.protocol.pb import conversation_pb2 as pb
from openim.protocol.pb import jssdk_pb2, relation_pb2, sdkws_pb2
from openim.services.auth import Caller
from openim.services.notification import NotificationSender
from openim.services.wire import group_info_pb, user_info_pb
from openim.storage import Storage
from openim.storage.conversation import ConversationKey
from openim.storage.msg import SeqView
from openim.storage.rows import Conversation, User
from openim.storage.version import KIND_CONVERSATION

__all__ = ["ConversationService", "Destructed", "conversation_pb"]

_MAX_ACTIVE = 500


@dataclass(frozen=True, slots=True)
class Destructed:
    """One row the msg_destruct job handled: its owner's min_seq now `min_seq` (0: unchanged)."""

    owner_user_id: str
    conversation_id: str
    min_seq: int


_DEFAULT_ACTIVE = 100


def conversation_pb(row: Conversation) -> pb.Conversation:
    """The wire `Conversation` of a row."""
    return pb.Conversation(
        ownerUserID=row.owner_user_id,
        conversationID=row.conversation_id,
        recvMsgOpt=row.recv_msg_opt,
        conversationType=row.conversation_type,
        userID=row.user_id,
        groupID=row.group_id,
        isPinned=row.is_pinned,
        attachedInfo=row.attached_info,
        isPrivateChat=row.is_private_chat,
        groupAtType=row.group_at_type,
        ex=row.ex,
        burnDuration=row.burn_duration,
        minSeq=row.min_seq,
        maxSeq=row.max_seq,
        msgDestructTime=row.msg_destruct_time,
        latestMsgDestructTime=row.latest_msg_destruct_time,
        isMsgDestruct=row.is_msg_destruct,
    )


def _paginate(items: list[Any], page: sdkws_pb2.RequestPagination | None) -> list[Any]:
    """OpenIM's datautil.Paginate: 1-based pages; no page, or a non-positive number or size, is empty."""
    if page is None or page.pageNumber <= 0 or page.showNumber <= 0:
        return []
    start = (page.pageNumber - 1) * page.showNumber
    return items[start : start + page.showNumber]


class ConversationService:
    """Conversation lists, settings and incremental sync for the REST routes and the JS SDK's /jssdk routes."""

    def __init__(self, storage: Storage, notifications: NotificationSender, clock: Clock) -> None:
        self.storage = storage
        self.notifications = notifications
        self.clock = clock

    # ---- reads ----------------------------------------------------------------------------------------------

    async def get_conversation(self, caller: Caller, req: pb.GetConversationReq) -> pb.GetConversationResp:
        """One conversation of the owner; missing → 1004."""
        owner = _owner(caller, req.ownerUserID, "ownerUserID")
        if not req.conversationID:
            raise ArgsError("conversationID is empty")
        row = await self.storage.conversation.get(owner, req.conversationID)
        if row is None:
            raise RecordNotFoundError("conversation not found")
        return pb.GetConversationResp(conversation=conversation_pb(row))

    async def get_conversations(self, caller: Caller, req: pb.GetConversationsReq) -> pb.GetConversationsResp:
        """The owner's conversations among the IDs asked, in request order; missing ones omitted."""
        owner = _owner(caller, req.ownerUserID, "ownerUserID")
        rows = await self.storage.conversation.get_many(owner, req.conversationIDs)
        return pb.GetConversationsResp(conversations=[conversation_pb(r) for r in rows])

    async def get_all_conversations(self, caller: Caller, req: pb.GetAllConversationsReq) -> pb.GetAllConversationsResp:
        """Every conversation of the owner."""
        owner = _owner(caller, req.ownerUserID, "ownerUserID")
        rows = await self.storage.conversation.list_all(owner)
        return pb.GetAllConversationsResp(conversations=[conversation_pb(r) for r in rows])

    async def get_owner_conversation(
        self, caller: Caller, req: pb.GetOwnerConversationReq
    ) -> pb.GetOwnerConversationResp:
        """One page of the owner's conversations (by conversation ID) and their total."""
        owner = _owner(caller, req.userID, "userID")
        page = req.pagination if req.HasField("pagination") else None
        rows: list[Conversation]
        if page is None or page.pageNumber <= 0 or page.showNumber <= 0:
            total, rows = (await self.storage.conversation.page(owner, 0, 0))[0], []
        else:
            total, rows = await self.storage.conversation.page(
                owner, (page.pageNumber - 1) * page.showNumber, page.showNumber
            )
        return pb.GetOwnerConversationResp(total=total, conversations=[conversation_pb(r) for r in rows])

    async def get_full_conversation_ids(
        self, caller: Caller, req: pb.GetFullOwnerConversationIDsReq
    ) -> pb.GetFullOwnerConversationIDsResp:
        """All conversation IDs with the log's version; none when the client's idHash already matches."""
        owner = _owner(caller, req.userID, "userID")
        state = await self.storage.version.current(KIND_CONVERSATION, owner)  # read before the IDs: never newer
        ids = await self.storage.conversation.list_ids(owner)
        equal = req.idHash == id_hash(ids)
        return pb.GetFullOwnerConversationIDsResp(
            version=state.version, versionID=state.version_id, equal=equal, conversationIDs=[] if equal else ids
        )

    async def get_incremental_conversations(
        self, caller: Caller, req: pb.GetIncrementalConversationReq
    ) -> pb.GetIncrementalConversationResp:
        """The conversations changed since the client's (versionID, version), or full=true."""
        owner = _owner(caller, req.userID, "userID")
        delta = await self.storage.version.incremental(KIND_CONVERSATION, owner, req.versionID, req.version)
        resp = pb.GetIncrementalConversationResp(version=delta.version, versionID=delta.version_id, full=delta.full)
        if delta.full:
            return resp
        resp.delete.extend(delta.deleted)
        if delta.inserted:
            resp.insert.extend(
                conversation_pb(r) for r in await self.storage.conversation.get_many(owner, delta.inserted)
            )
        if delta.updated:
            resp.update.extend(
                conversation_pb(r) for r in await self.storage.conversation.get_many(owner, delta.updated)
            )
        return resp

    async def get_not_notify_conversation_ids(
        self, caller: Caller, req: pb.GetNotNotifyConversationIDsReq
    ) -> pb.GetNotNotifyConversationIDsResp:
        """The owner's conversations with recvMsgOpt 2 (receive, don't notify)."""
        owner = _owner(caller, req.userID, "userID")
        ids = await self.storage.conversation.ids_where(owner, recv_msg_opt=RecvMsgOpt.RECEIVE_NOT_NOTIFY)
        return pb.GetNotNotifyConversationIDsResp(conversationIDs=ids)

    async def get_pinned_conversation_ids(
        self, caller: Caller, req: pb.GetPinnedConversationIDsReq
    ) -> pb.GetPinnedConversationIDsResp:
        """The owner's pinned conversations."""
        owner = _owner(caller, req.userID, "userID")
        return pb.GetPinnedConversationIDsResp(
            conversationIDs=await self.storage.conversation.ids_where(owner, pinned=True)
        )

    async def get_conversation_offline_push_user_ids(
        self, caller: Caller, req: pb.GetConversationOfflinePushUserIDsReq
    ) -> pb.GetConversationOfflinePushUserIDsResp:
        """Admin/internal: of `userIDs`, those whose conversation does not mute offline push (recvMsgOpt 1 or 2)."""
        caller.require_admin()
        if not req.conversationID:
            raise ArgsError("conversationID is empty")
        muted = set(await self.storage.conversation.owner_ids(req.conversationID, recv_msg_opt=RecvMsgOpt.NOT_RECEIVE))
        muted |= set(
            await self.storage.conversation.owner_ids(req.conversationID, recv_msg_opt=RecvMsgOpt.RECEIVE_NOT_NOTIFY)
        )
        return pb.GetConversationOfflinePushUserIDsResp(userIDs=[u for u in req.userIDs if u not in muted])

    async def get_sorted_conversation_list(
        self, caller: Caller, req: pb.GetSortedConversationListReq
    ) -> pb.GetSortedConversationListResp:
        """Conversations with unread counts and their latest message: pinned first, then newest first."""
        owner = _owner(caller, req.userID, "userID")
        if not req.HasField("pagination") or req.pagination.pageNumber < 1:
            raise ArgsError("pagination is empty or pageNumber is invalid")
        rows = (
            await self.storage.conversation.get_many(owner, req.conversationIDs)
            if req.conversationIDs
            else await self.storage.conversation.list_all(owner)
        )
        if not rows:
            raise RecordNotFoundError("no conversations")
        views = await self.storage.msg.seq_views(owner, [r.conversation_id for r in rows])
        lasts = await self._last_msgs(owner, views)
        users = {u.user_id: u for u in await self.storage.user.get_users(_user_ids_of(owner, lasts.values()))}
        groups = await self._groups([m.groupID for m in lasts.values() if m.groupID])
        elems: list[tuple[bool, int, pb.ConversationElem]] = []
        unread_total = 0
        for row in rows:
            view = views[row.conversation_id]
            unread = max(0, view.visible_max - view.has_read_seq)
            unread_total += unread
            elem = pb.ConversationElem(
                conversationID=row.conversation_id,
                recvMsgOpt=row.recv_msg_opt,
                unreadCount=unread,
                IsPinned=row.is_pinned,
            )
            last = lasts.get(row.conversation_id)
            when = row.create_time
            if last is not None:
                elem.msgInfo.CopyFrom(_msg_info(owner, last, users, groups))
                when = last.sendTime
            elems.append((row.is_pinned, when, elem))
        elems.sort(key=lambda e: (not e[0], -e[1]))
        ordered = [e for _, _, e in elems]
        return pb.GetSortedConversationListResp(
            conversationTotal=len(ordered),
            unreadTotal=unread_total,
            conversationElems=_paginate(ordered, req.pagination),
        )

    # ---- self-destructing messages (the msgtransfer role's msg_destruct job) ----------------------------------

    async def destruct_due_msgs(self, now: int, *, batch: int = 100, max_batches: int = 100) -> list[Destructed]:
        """OpenIM's ClearUserConversationMsg, over every due row: hide from each owner of a conversation with
        isMsgDestruct on the messages sent more than msgDestructTime seconds before `now`.

        A row is due when its last run (latestMsgDestructTime) is msgDestructTime or more ago. Its owner's min_seq
        rises to one past the newest message sent at or before now − msgDestructTime (nothing is deleted: other
        members keep theirs), latestMsgDestructTime becomes `now`, and the owner gets 1300 ConversationChanged
        (online only) so its devices re-read the conversation. Unlike OpenIM, a run that hides nothing sends no
        1300 and logs no version change, and min_seq never goes down (a clear stays cleared). Internal: the job
        is the caller; no access check. At most `batch` × `max_batches` rows per call.
        """
        done: list[Destructed] = []
        for _ in range(max_batches):
            rows = await self.storage.conversation.due_for_destruct(now, batch)
            for row in rows:
                cutoff = now - row.msg_destruct_time * 1000
                seq = await self.storage.msg_expiry.last_seq_sent_by(row.conversation_id, cutoff)
                raised = await self.storage.conversation.destructed(
                    row.owner_user_id, row.conversation_id, min_seq=seq + 1 if seq > 0 else 0, now=now
                )
                done.append(Destructed(row.owner_user_id, row.conversation_id, seq + 1 if raised else 0))
                if raised:
                    await self.notifications.notify(
                        row.owner_user_id,
                        row.owner_user_id,
                        ContentType.CONVERSATION_CHANGE_NOTIFICATION,
                        sdkws_pb2.ConversationUpdateTips(
                            userID=row.owner_user_id, conversationIDList=[row.conversation_id]
                        ),
                    )
            if len(rows) < batch:
                break
        return done

    # ---- changes ----------------------------------------------------------------------------------------------

    async def set_conversations(
        self, caller: Caller, req: pb.SetConversationsReq, *, operation_id: str = ""
    ) -> pb.SetConversationsResp:
        """Set the present fields of `conversation` for each of `userIDs` (creating rows they take part in).

        Users whose values changed get 1300 (online only); `isPrivateChat` is mirrored to the peer with 1701.
        """
        if not req.userIDs:
            raise ArgsError("userID is empty")
        if not req.HasField("conversation"):
            raise ArgsError("conversation is empty")
        conv = req.conversation
        if not conv.conversationID:
            raise ArgsError("conversationID is empty")
        if conv.conversationType == 0:
            raise ArgsError("conversationType is invalid")
        if conv.conversationType == SessionType.SINGLE_CHAT and not conv.userID:
            raise ArgsError("userID is empty")
        if conv.conversationType == SessionType.READ_GROUP_CHAT and not conv.groupID:
            raise ArgsError("groupID is empty")
        for user_id in req.userIDs:
            caller.require_self_or_admin(user_id)
        changes = _changes(conv)
        key = ConversationKey(conv.conversationID, conv.conversationType, conv.userID, conv.groupID)
        owners = list(dict.fromkeys(req.userIDs))
        if not caller.is_admin:
            await self._require_participants(owners, key)
        now = self.clock.now_ms()
        if changes:
            touched = await self.storage.conversation.set_fields(owners, key, changes, now=now)
            for user_id in touched:
                await self.notifications.notify(
                    user_id,
                    user_id,
                    ContentType.CONVERSATION_CHANGE_NOTIFICATION,
                    sdkws_pb2.ConversationUpdateTips(userID=user_id, conversationIDList=[conv.conversationID]),
                    operation_id=operation_id,
                )
        if conv.HasField("isPrivateChat") and conv.conversationType != SessionType.READ_GROUP_CHAT:
            value = conv.isPrivateChat.value
            await self.storage.conversation.set_private_chat([(u, conv.userID) for u in owners], key, value, now=now)
            for user_id in owners:
                await self.notifications.notify(
                    user_id,
                    conv.userID,
                    ContentType.CONVERSATION_PRIVATE_CHAT_NOTIFICATION,
                    sdkws_pb2.ConversationSetPrivateTips(
                        recvID=conv.userID, sendID=user_id, isPrivate=value, conversationID=conv.conversationID
                    ),
                    operation_id=operation_id,
                )
        return pb.SetConversationsResp()

    async def update_conversations_by_user(
        self, caller: Caller, req: pb.UpdateConversationsByUserReq
    ) -> pb.UpdateConversationsByUserResp:
        """Set `ex` on every conversation of the user (when `ex` is present)."""
        owner = _owner(caller, req.userID, "userID")
        if req.HasField("ex"):
            await self.storage.conversation.set_ex_everywhere(owner, req.ex.value, now=self.clock.now_ms())
        return pb.UpdateConversationsByUserResp()

    async def delete_conversations(self, caller: Caller, req: pb.DeleteConversationsReq) -> pb.DeleteConversationsResp:
        """Delete the owner's listed conversations, or those whose last message is older than needDeleteTime days."""
        owner = _owner(caller, req.ownerUserID, "ownerUserID")
        if (req.needDeleteTime == 0) == (not req.conversationIDs):
            raise ArgsError("exactly one of needDeleteTime and conversationIDs must be set")
        ids = list(req.conversationIDs)
        if not ids:
            threshold = self.clock.now_ms() - req.needDeleteTime * 86_400_000
            all_ids = await self.storage.conversation.list_ids(owner)
            lasts = await self._last_msgs(owner, await self.storage.msg.seq_views(owner, all_ids))
            ids = [c for c, m in lasts.items() if m.sendTime < threshold]
        if ids:
            await self.storage.conversation.delete(owner, ids, now=self.clock.now_ms())
        return pb.DeleteConversationsResp()

    # ---- /jssdk ---------------------------------------------------------------------------------------------

    async def get_active_conversations(
        self, caller: Caller, req: jssdk_pb2.GetActiveConversationsReq
    ) -> jssdk_pb2.GetActiveConversationsResp:
        """The caller's `count` most recent conversations with messages (pinned first), and its total unread."""
        owner = caller.user_id
        count = req.count if 0 < req.count <= _MAX_ACTIVE else _DEFAULT_ACTIVE
        rows = {r.conversation_id: r for r in await self.storage.conversation.list_all(owner)}
        views = {c: v for c, v in (await self.storage.msg.seq_views(owner, rows)).items() if v.visible_max > 0}
        unread = sum(max(0, v.visible_max - v.has_read_seq) for v in views.values())
        order = sorted(views.values(), key=lambda v: (not rows[v.conversation_id].is_pinned, -v.max_seq_time))
        top = {v.conversation_id: v for v in order[:count]}
        items = await self._conversation_msgs(owner, [rows[c] for c in top], top)
        return jssdk_pb2.GetActiveConversationsResp(unreadCount=unread, conversations=items)

    async def jssdk_get_conversations(
        self, caller: Caller, req: jssdk_pb2.GetConversationsReq
    ) -> jssdk_pb2.GetConversationsResp:
        """The caller's listed conversations that have messages, with last message, seqs and peer/group info."""
        owner = caller.user_id
        rows = await self.storage.conversation.get_many(owner, req.conversationIDs)
        views = await self.storage.msg.seq_views(owner, [r.conversation_id for r in rows])
        unread = sum(max(0, v.visible_max - v.has_read_seq) for v in views.values())
        items = await self._conversation_msgs(owner, rows, views)
        return jssdk_pb2.GetConversationsResp(unreadCount=unread, conversations=items)

    # ---- helpers --------------------------------------------------------------------------------------------

    async def _conversation_msgs(
        self, owner: str, rows: list[Conversation], views: dict[str, SeqView]
    ) -> list[jssdk_pb2.ConversationMsg]:
        lasts = await self._last_msgs(owner, views)
        kept = [r for r in rows if r.conversation_id in lasts]
        peers = [r.user_id for r in kept if not r.group_id and r.user_id]
        users = {u.user_id: u for u in await self.storage.user.get_users(peers)} if peers else {}
        friends = await self._friends(owner, peers)
        groups = await self._groups([r.group_id for r in kept if r.group_id])
        out: list[jssdk_pb2.ConversationMsg] = []
        for row in kept:
            view = views[row.conversation_id]
            item = jssdk_pb2.ConversationMsg(
                conversation=conversation_pb(row),
                lastMsg=lasts[row.conversation_id],
                maxSeq=view.visible_max,
                readSeq=view.has_read_seq,
            )
            if row.group_id:
                if row.group_id in groups:
                    item.group.CopyFrom(groups[row.group_id])
            else:
                if row.user_id in users:
                    item.user.CopyFrom(user_info_pb(users[row.user_id]))
                if row.user_id in friends:
                    item.friend.CopyFrom(friends[row.user_id])
            out.append(item)
        return out

    async def _last_msgs(self, owner: str, views: dict[str, SeqView]) -> dict[str, sdkws_pb2.MsgData]:
        spans = {c: (v.visible_min, v.visible_max) for c, v in views.items() if v.owned and v.visible_max > 0}
        return await self.storage.msg.last_msgs(owner, spans) if spans else {}

    async def _friends(self, owner: str, user_ids: list[str]) -> dict[str, relation_pb2.FriendInfoOnly]:
        repo: Any = getattr(self.storage, "friend", None)
        if repo is None or not user_ids:
            return {}
        return {
            f.friend_user_id: relation_pb2.FriendInfoOnly(
                ownerUserID=f.owner_user_id,
                friendUserID=f.friend_user_id,
                remark=f.remark,
                createTime=f.create_time,
                addSource=f.add_source,
                operatorUserID=f.operator_user_id,
                ex=f.ex,
                isPinned=f.is_pinned,
            )
            for f in await repo.get_friends(owner, user_ids)
        }

    async def _groups(self, group_ids: list[str]) -> dict[str, sdkws_pb2.GroupInfo]:
        repo: Any = getattr(self.storage, "group", None)
        if repo is None or not group_ids:
            return {}
        return {s.group.group_id: group_info_pb(s) for s in await repo.get_groups(list(dict.fromkeys(group_ids)))}

    async def _require_participants(self, owners: list[str], key: ConversationKey) -> None:
        """A row may be created only for a conversation the owner takes part in; existing rows are its own."""
        existing = set(await self.storage.conversation.owner_ids(key.conversation_id))
        for owner in owners:
            if owner in existing:
                continue
            if key.conversation_type in (SessionType.SINGLE_CHAT, SessionType.NOTIFICATION_CHAT):
                ok = key.user_id != "" and key.conversation_id == conversation_id_by_session_type(
                    key.conversation_type, owner, key.user_id
                )
            elif key.conversation_type == SessionType.READ_GROUP_CHAT:
                ok = key.conversation_id == group_conversation_id(key.group_id) and await self._is_member(
                    key.group_id, owner
                )
            else:
                ok = False
            if not ok:
                raise NoPermissionError(f"{owner} does not take part in conversation {key.conversation_id}")

    async def _is_member(self, group_id: str, user_id: str) -> bool:
        repo: Any = getattr(self.storage, "group", None)
        return repo is not None and await repo.get_member(group_id, user_id) is not None


def _owner(caller: Caller, user_id: str, name: str) -> str:
    if not user_id:
        raise ArgsError(f"{name} is empty")
    caller.require_self_or_admin(user_id)
    return user_id


def _changes(conv: pb.ConversationReq) -> dict[str, Any]:
    """The settable fields present in the request (OpenIM's UpdateConversationsMap), by column name."""
    changes: dict[str, Any] = {}
    if conv.HasField("recvMsgOpt"):
        if conv.recvMsgOpt.value not in (0, 1, 2):
            raise ArgsError("recvMsgOpt must be 0, 1 or 2")
        changes["recv_msg_opt"] = conv.recvMsgOpt.value
    if conv.HasField("attachedInfo"):
        changes["attached_info"] = conv.attachedInfo.value
    if conv.HasField("ex"):
        changes["ex"] = conv.ex.value
    if conv.HasField("isPinned"):
        changes["is_pinned"] = conv.isPinned.value
    if conv.HasField("groupAtType"):
        changes["group_at_type"] = conv.groupAtType.value
    if conv.HasField("msgDestructTime"):
        changes["msg_destruct_time"] = conv.msgDestructTime.value
    if conv.HasField("isMsgDestruct"):
        changes["is_msg_destruct"] = conv.isMsgDestruct.value
    if conv.HasField("burnDuration"):
        changes["burn_duration"] = conv.burnDuration.value
    return changes


def _user_ids_of(owner: str, msgs: Any) -> list[str]:
    ids: list[str] = []
    for m in msgs:
        ids.append(m.sendID)
        if m.sessionType == SessionType.SINGLE_CHAT and m.sendID == owner:
            ids.append(m.recvID)
    return list(dict.fromkeys(i for i in ids if i))


def _msg_info(
    owner: str, m: sdkws_pb2.MsgData, users: dict[str, User], groups: dict[str, sdkws_pb2.GroupInfo]
) -> pb.MsgInfo:
    info = pb.MsgInfo(
        serverMsgID=m.serverMsgID,
        clientMsgID=m.clientMsgID,
        sessionType=m.sessionType,
        sendID=m.sendID,
        recvID=m.recvID,
        LatestMsgRecvTime=m.sendTime,
        msgFrom=m.msgFrom,
        contentType=m.contentType,
        content=m.content.decode("utf-8", "replace"),
        ex=m.ex,
    )
    if m.sessionType == SessionType.READ_GROUP_CHAT:
        info.groupID = m.groupID
        group = groups.get(m.groupID)
        if group is not None:
            info.groupName = group.groupName
            info.groupFaceURL = group.faceURL
            info.groupMemberCount = group.memberCount
            info.groupType = group.groupType
        if m.sendID in users:
            info.senderName = users[m.sendID].nickname
    else:
        shown = users.get(m.recvID if m.sendID == owner else m.sendID)
        if shown is not None:
            info.senderName = shown.nickname
            info.faceURL = shown.face_url
    return info
