"""Changes to stored messages and read positions: revoke, mark read, delete, clear (docs/protocol/rest.md,
docs/protocol/messages.md §3).

Every call names a userID that must be the caller (or the caller an admin), and acts only in conversations
that user owns a row of. Notifications follow OpenIM: 2101 RevokeMsgTips and 2102 DeleteMsgsTips are stored
in the `n_` conversation, 2200 MarkAsReadTips is stored in `n_<pair>` for single chats and online-only to the
reader itself otherwise, 1703 ClearConversationTips and 1300 ConversationUpdateTips are online-only.
"""

from __future__ import annotations

from collections.abc import Sequence

from openim.protocol.constants import ContentType, GroupRole, SessionType
from openim.protocol.errors import ArgsError, NoPermissionError, RecordNotFoundError
from openim.protocol.pb import msg_pb2, sdkws_pb2
from openim.services.auth import Caller
from openim.services.msg.core import MsgCore
from openim.storage.msg import MsgRevoke
from openim.storage.rows import Conversation

__all__ = ["FUTURE_SLACK_S", "MAX_PHYSICAL_CONVERSATIONS", "ManageMixin"]

MAX_PHYSICAL_CONVERSATIONS = 1000  # conversationIDs per /msg/delete_msg_physical call: bounded work per request
FUTURE_SLACK_S = 3600  # an app server's clock may run ahead of ours; a millisecond timestamp is ~1000× past it


def _peer(row: Conversation) -> str:
    """Where a conversation's notifications go: the group, or the other user (OpenIM conversationAndGetRecvID)."""
    if row.conversation_type in (SessionType.READ_GROUP_CHAT, SessionType.WRITE_GROUP_CHAT):
        return row.group_id
    return row.user_id


def _sync_opts(opt: msg_pb2.DeleteSyncOpt | None) -> tuple[bool, bool]:
    if opt is None:
        return False, False
    return opt.IsSyncSelf, opt.IsSyncOther


class ManageMixin(MsgCore):
    """Revoke, read receipts, deletes and clears of MsgService."""

    # ---- revoke ---------------------------------------------------------------------------------------------

    async def revoke(self, caller: Caller, req: msg_pb2.RevokeMsgReq, *, operation_id: str) -> None:
        """Revoke a message once (1404 the second time) and send RevokeMsgTips (2101) into the `n_` conversation.

        Non-admins: in a single chat only their own messages; in a group their own, any (owner) or ordinary
        members' (admin). The revoker must own a row of the conversation.
        """
        if not req.conversationID:
            raise ArgsError("conversationID is empty")
        if req.seq < 1:
            raise ArgsError("seq is invalid")
        if not req.userID:
            raise ArgsError("userID is empty")
        caller.require_self_or_admin(req.userID)
        row = await self.storage.conversation.get(req.userID, req.conversationID)
        if row is None and not caller.is_admin:
            raise NoPermissionError(f"{req.userID} has no conversation {req.conversationID}")
        stored = await self.storage.msg.get_stored(req.conversationID, req.seq)
        if stored is None or (row is not None and not _visible(row, req.seq)):
            raise RecordNotFoundError("msg not found")
        target = stored.msg
        revoker = await self.storage.user.get_user(req.userID)
        role = revoker.app_manager_level if revoker is not None else 0
        if not caller.is_admin:
            if target.sessionType == SessionType.SINGLE_CHAT:
                if caller.user_id != target.sendID:
                    raise NoPermissionError("only the sender may revoke a single-chat message")
            elif target.sessionType == SessionType.READ_GROUP_CHAT:
                role = await self._group_revoke_role(target.groupID, req.userID, target.sendID)
            else:
                raise NoPermissionError(f"messages of sessionType {target.sessionType} cannot be revoked")
        now = self.clock.now_ms()
        nickname = revoker.nickname if revoker is not None else ""
        await self.storage.msg.revoke(req.conversationID, req.seq, MsgRevoke(role, req.userID, nickname, now))
        tips = sdkws_pb2.RevokeMsgTips(
            revokerUserID=caller.user_id,
            clientMsgID=target.clientMsgID,
            revokeTime=now,
            sesstionType=target.sessionType,
            seq=req.seq,
            conversationID=req.conversationID,
            isAdminRevoke=caller.is_admin,
        )
        recv_id = target.groupID if target.sessionType == SessionType.READ_GROUP_CHAT else target.recvID
        if target.sessionType == SessionType.SINGLE_CHAT and recv_id == req.userID:
            recv_id = target.sendID
        await self.notify(
            req.userID,
            recv_id,
            ContentType.MSG_REVOKE_NOTIFICATION,
            tips,
            session_type=target.sessionType,
            reliable=True,
            operation_id=operation_id,
        )
        if self.hooks.after_revoke_msg.enable:
            body = {"callbackCommand": "", "conversationID": req.conversationID, "seq": req.seq, "userID": req.userID}
            await self.hooks.after_revoke_msg.fire(body, operation_id=operation_id)
        if self.hooks.after_group_msg_revoke.enable and target.sessionType == SessionType.READ_GROUP_CHAT:
            body = {"callbackCommand": "", "conversationID": req.conversationID, "seq": req.seq, "userID": req.userID}
            await self.hooks.after_group_msg_revoke.fire(body, operation_id=operation_id)

    async def _group_revoke_role(self, group_id: str, revoker: str, sender: str) -> int:
        """The revoker's group role if it may revoke `sender`'s message, else NoPermissionError."""
        members = {m.user_id: m for m in await self.storage.group.get_members(group_id, [revoker, sender])}
        me = members.get(revoker)
        role = me.role_level if me is not None else 0
        if revoker == sender:
            return int(role)
        if role == GroupRole.OWNER:
            return int(role)
        if role == GroupRole.ADMIN:
            other = members.get(sender)
            if other is None or other.role_level == GroupRole.ORDINARY:
                return int(role)
        raise NoPermissionError("no permission to revoke this group message")

    # ---- read positions ---------------------------------------------------------------------------------------

    async def mark_msgs_as_read(self, caller: Caller, req: msg_pb2.MarkMsgsAsReadReq, *, operation_id: str) -> None:
        """Mark specific messages read, raise hasReadSeq to the newest of them, send 2200 to the peer."""
        if not req.conversationID or not req.userID:
            raise ArgsError("conversationID and userID are required")
        if not req.seqs or 0 in req.seqs:
            raise ArgsError("seqs is empty or has a 0 value")
        caller.require_self_or_admin(req.userID)
        row = await self._row(req.userID, req.conversationID)
        max_seq = await self._max_seq(req.conversationID)
        read_seq = max(req.seqs)
        if read_seq > max_seq:
            raise ArgsError("hasReadSeq must not be bigger than maxSeq")
        if row.conversation_type == SessionType.SINGLE_CHAT:
            await self.storage.msg.mark_read(req.conversationID, list(req.seqs), reader=req.userID)
        current = await self.storage.conversation.set_has_read_seq(
            req.userID, req.conversationID, read_seq, only_raise=True
        )
        if self.hooks.after_single_msg_read.enable:  # OpenIM fires it here whatever the conversation's type
            await self._after_single_read(row, req.userID, list(req.seqs), operation_id)
        await self._read_receipt(row, req.userID, list(req.seqs), current or read_seq, operation_id=operation_id)

    async def mark_conversation_as_read(
        self, caller: Caller, req: msg_pb2.MarkConversationAsReadReq, *, operation_id: str
    ) -> None:
        """Read a conversation up to hasReadSeq (plus `seqs`); single chats mark the peer's messages read."""
        if not req.conversationID or not req.userID:
            raise ArgsError("conversationID and userID are required")
        if req.hasReadSeq < 1 or 0 in req.seqs:
            raise ArgsError("hasReadSeq is invalid")
        caller.require_self_or_admin(req.userID)
        row = await self._row(req.userID, req.conversationID)
        new_read = min(req.hasReadSeq, await self._max_seq(req.conversationID))
        old_read = row.has_read_seq
        if row.conversation_type == SessionType.SINGLE_CHAT:
            extra = sorted({s for s in req.seqs if not old_read < s <= new_read})
            seqs = [*range(old_read + 1, new_read + 1), *extra]
            if seqs:
                await self.storage.msg.mark_read(
                    req.conversationID, extra, reader=req.userID, through=(old_read + 1, new_read)
                )
            read = old_read
            if new_read > old_read:
                read = (
                    await self.storage.conversation.set_has_read_seq(
                        req.userID, req.conversationID, new_read, only_raise=True
                    )
                    or new_read
                )
            await self._read_receipt(row, req.userID, seqs, read, operation_id=operation_id)
            if self.hooks.after_single_msg_read.enable:
                await self._after_single_read(row, row.owner_user_id, list(req.seqs), operation_id)
        else:
            read = old_read
            if new_read > old_read:
                read = (
                    await self.storage.conversation.set_has_read_seq(
                        req.userID, req.conversationID, new_read, only_raise=True
                    )
                    or new_read
                )
            await self._self_read_receipt(req.userID, req.conversationID, [], read, operation_id=operation_id)
            if self.hooks.after_group_msg_read.enable and row.conversation_type == SessionType.READ_GROUP_CHAT:
                body = {
                    "callbackCommand": "",
                    "sendID": row.owner_user_id,
                    "receiveID": req.userID,
                    "unreadMsgNum": req.hasReadSeq,  # sic: OpenIM puts the read position here
                    "contentType": row.conversation_type,
                }
                await self.hooks.after_group_msg_read.fire(body, operation_id=operation_id)

    async def _after_single_read(self, row: Conversation, user_id: str, seqs: list[int], operation_id: str) -> None:
        """afterSingleMsgRead: OpenIM's CallbackSingleMsgReadReq (`Seqs` capitalised, contentType = the
        conversation's type)."""
        body = {
            "callbackCommand": "",
            "conversationID": row.conversation_id,
            "userID": user_id,
            "Seqs": seqs or None,
            "contentType": row.conversation_type,
        }
        await self.hooks.after_single_msg_read.fire(body, operation_id=operation_id)

    async def set_conversation_has_read_seq(
        self, caller: Caller, req: msg_pb2.SetConversationHasReadSeqReq, *, operation_id: str
    ) -> None:
        """Set the read position directly (≤ maxSeq, else 1001) and tell the user's other devices (2200)."""
        if not req.conversationID or not req.userID:
            raise ArgsError("conversationID and userID are required")
        if req.hasReadSeq < 1:
            raise ArgsError("hasReadSeq is invalid")
        caller.require_self_or_admin(req.userID)
        await self._row(req.userID, req.conversationID)
        if req.hasReadSeq > await self._max_seq(req.conversationID):
            raise ArgsError("hasReadSeq must not be bigger than maxSeq")
        await self.storage.conversation.set_has_read_seq(
            req.userID, req.conversationID, req.hasReadSeq, only_raise=False
        )
        await self._self_read_receipt(req.userID, req.conversationID, [], req.hasReadSeq, operation_id=operation_id)

    async def _read_receipt(
        self, row: Conversation, reader: str, seqs: list[int], has_read_seq: int, *, operation_id: str
    ) -> None:
        tips = sdkws_pb2.MarkAsReadTips(
            markAsReadUserID=reader, conversationID=row.conversation_id, seqs=seqs, hasReadSeq=has_read_seq
        )
        await self.notify(
            reader,
            _peer(row),
            ContentType.HAS_READ_RECEIPT,
            tips,
            session_type=row.conversation_type,
            reliable=True,
            operation_id=operation_id,
        )

    async def _self_read_receipt(
        self, reader: str, conversation_id: str, seqs: list[int], has_read_seq: int, *, operation_id: str
    ) -> None:
        tips = sdkws_pb2.MarkAsReadTips(
            markAsReadUserID=reader, conversationID=conversation_id, seqs=seqs, hasReadSeq=has_read_seq
        )
        await self.notify(
            reader,
            reader,
            ContentType.HAS_READ_RECEIPT,
            tips,
            session_type=SessionType.SINGLE_CHAT,
            reliable=False,
            operation_id=operation_id,
        )

    # ---- deletes and clears ---------------------------------------------------------------------------------

    async def delete_msgs(self, caller: Caller, req: msg_pb2.DeleteMsgsReq, *, operation_id: str) -> None:
        """Delete messages for the user (2102 to its devices if IsSyncSelf), or for everyone (IsSyncOther).

        For everyone, non-admins may delete only their own messages in a group (OpenIM lets any member
        delete anyone's); in a single chat either side may, as in OpenIM.
        """
        if not req.conversationID or not req.userID:
            raise ArgsError("conversationID and userID are required")
        caller.require_self_or_admin(req.userID)
        row = await self._row(req.userID, req.conversationID)
        seqs = sorted({s for s in req.seqs if s > 0})
        sync_self, sync_other = _sync_opts(req.deleteSyncOpt if req.HasField("deleteSyncOpt") else None)
        tips = sdkws_pb2.DeleteMsgsTips(userID=req.userID, conversationID=req.conversationID, seqs=seqs)
        if sync_other:
            if row.conversation_type == SessionType.READ_GROUP_CHAT and not caller.is_admin:
                await self._require_own_messages(req.conversationID, seqs, req.userID)
            await self.storage.msg.delete_physical(req.conversationID, seqs)
            await self.notify(
                req.userID,
                _peer(row),
                ContentType.DELETE_MSGS_NOTIFICATION,
                tips,
                session_type=row.conversation_type,
                reliable=True,
                operation_id=operation_id,
            )
            return
        await self.storage.msg.delete_for_user(req.userID, req.conversationID, seqs)
        if sync_self:
            await self.notify(
                req.userID,
                req.userID,
                ContentType.DELETE_MSGS_NOTIFICATION,
                tips,
                session_type=SessionType.SINGLE_CHAT,
                reliable=True,
                operation_id=operation_id,
            )

    async def _require_own_messages(self, conversation_id: str, seqs: Sequence[int], user_id: str) -> None:
        for seq in seqs:
            stored = await self.storage.msg.get_stored(conversation_id, seq)
            if stored is not None and stored.msg.sendID != user_id:
                raise NoPermissionError("only the sender may delete a group message for everyone")

    async def clear_conversation_msg(
        self, caller: Caller, req: msg_pb2.ClearConversationsMsgReq, *, operation_id: str
    ) -> None:
        """Clear the user's conversations (or, IsSyncOther, everyone's); the read position moves to the end."""
        if not req.userID:
            raise ArgsError("userID is empty")
        caller.require_self_or_admin(req.userID)
        rows = await self.storage.conversation.get_many(req.userID, req.conversationIDs)
        await self._clear(req.userID, rows, req.deleteSyncOpt if req.HasField("deleteSyncOpt") else None, operation_id)

    async def user_clear_all_msg(self, caller: Caller, req: msg_pb2.UserClearAllMsgReq, *, operation_id: str) -> None:
        """clear_conversation_msg over every conversation of the user."""
        if not req.userID:
            raise ArgsError("userID is empty")
        caller.require_self_or_admin(req.userID)
        rows = await self.storage.conversation.list_all(req.userID)
        await self._clear(req.userID, rows, req.deleteSyncOpt if req.HasField("deleteSyncOpt") else None, operation_id)

    async def _clear(
        self, user_id: str, rows: list[Conversation], opt: msg_pb2.DeleteSyncOpt | None, operation_id: str
    ) -> None:
        sync_self, sync_other = _sync_opts(opt)
        ids = [r.conversation_id for r in rows]
        if not ids:
            return
        now = self.clock.now_ms()
        if not sync_other:
            cleared = await self.storage.conversation.clear_for_user(user_id, ids, now=now)
            if cleared:
                await self.notify(
                    user_id,
                    user_id,
                    ContentType.CONVERSATION_CHANGE_NOTIFICATION,
                    sdkws_pb2.ConversationUpdateTips(userID=user_id, conversationIDList=sorted(cleared)),
                    session_type=SessionType.SINGLE_CHAT,
                    reliable=False,
                    operation_id=operation_id,
                )
            if sync_self:
                await self.notify(
                    user_id,
                    user_id,
                    ContentType.CLEAR_CONVERSATION_NOTIFICATION,
                    sdkws_pb2.ClearConversationTips(userID=user_id, conversationIDs=ids),
                    session_type=SessionType.SINGLE_CHAT,
                    reliable=False,
                    operation_id=operation_id,
                )
            return
        await self.storage.msg.clear_for_everyone(user_id, ids)
        for row in rows:
            await self.notify(
                user_id,
                _peer(row),
                ContentType.CLEAR_CONVERSATION_NOTIFICATION,
                sdkws_pb2.ClearConversationTips(userID=user_id, conversationIDs=[row.conversation_id]),
                session_type=row.conversation_type,
                reliable=False,
                operation_id=operation_id,
            )

    async def delete_msg_physical_by_seq(self, caller: Caller, req: msg_pb2.DeleteMsgPhysicalBySeqReq) -> None:
        """Admin: delete messages of a conversation for everyone (/msg/delete_msg_phsical_by_seq)."""
        caller.require_admin()
        if not req.conversationID:
            raise ArgsError("conversationID is empty")
        await self.storage.msg.delete_physical(req.conversationID, list(req.seqs))

    async def delete_msg_physical(self, caller: Caller, req: msg_pb2.DeleteMsgPhysicalReq) -> None:
        """Admin: in each of `conversationIDs`, delete for everyone the messages sent before `timestamp`, a Unix
        time in seconds, and raise the conversation's min seq past them (/msg/delete_msg_physical).

        OpenIM computes remainTime = now_s − timestamp. Through v3.8 it then deleted, in each listed conversation,
        the messages with sendTime + remainTime·1000 < now_ms, that is sendTime < timestamp·1000: `timestamp` is
        an absolute cut-off in seconds. Later versions keep the subtraction but compare its result with
        millisecond send times across all conversations, which deletes nothing for any realistic value. Its
        `Check()` refuses a request without conversationIDs. So: no conversationIDs, or a timestamp that is
        missing, zero, negative or in the future (a millisecond value is ~1000× past now) deletes nothing and
        answers 1001.
        """
        caller.require_admin()
        ids = sorted(set(req.conversationIDs))
        if not ids:
            raise ArgsError("conversationIDs is empty")
        if len(ids) > MAX_PHYSICAL_CONVERSATIONS:
            raise ArgsError(f"at most {MAX_PHYSICAL_CONVERSATIONS} conversationIDs per call, got {len(ids)}")
        now_s = self.clock.now_ms() // 1000
        if req.timestamp <= 0:
            raise ArgsError(
                f"timestamp {req.timestamp} is not a cut-off: give a Unix time in seconds "
                f"(now {now_s}); messages sent before it are deleted"
            )
        if req.timestamp > now_s + FUTURE_SLACK_S:
            raise ArgsError(
                f"timestamp {req.timestamp} is in the future: give a Unix time in seconds, not milliseconds "
                f"(now {now_s}); messages sent before it are deleted"
            )
        await self.storage.msg.delete_sent_before(ids, req.timestamp * 1000)

    # ---- helpers --------------------------------------------------------------------------------------------

    async def _row(self, user_id: str, conversation_id: str) -> Conversation:
        row = await self.storage.conversation.get(user_id, conversation_id)
        if row is None:
            raise RecordNotFoundError(f"conversation {conversation_id} of {user_id} not found")
        return row

    async def _max_seq(self, conversation_id: str) -> int:
        state = (await self.storage.msg.seq_states([conversation_id])).get(conversation_id)
        return 0 if state is None else state.max_seq


def _visible(row: Conversation, seq: int) -> bool:
    """Whether `seq` is within the owner's caps (min_seq, and max_seq when set)."""
    return seq >= row.min_seq and (row.max_seq == 0 or seq <= row.max_seq)
