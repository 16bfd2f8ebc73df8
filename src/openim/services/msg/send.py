"""SendMsg (WS 1003, REST /msg/send_msg): docs/protocol/messages.md §4, steps 1-7 and 9.

Order, as OpenIM: request check (1001; with openim-py's size limits, services/msg/limits.py) → sender is the caller
unless admin (1002) → what only the server may set (below) → encapsulate (serverMsgID, sendTime, option overrides
by content type) → by sessionType: single (sender/receiver exist, blacklist and
friend policy, the receiver's receive options), group (exists, not dismissed, member, mutes), notification
chat → store and push. Unlike OpenIM the answer comes after the commit, so an acknowledged message is durable;
a resend of a (sendID, clientMsgID) already stored answers with the stored message and stores nothing.

Every send is timed in `openim_msg_send_seconds` (checks, commit and answer, failures too); a successful one is
counted in `openim_msg_sent_total{sessionType}` (single, group, notification).

What only the server (or an imAdmin, through the REST API) may set, stricter than OpenIM, whose verify.go lets a
user send any of it (docs/security.md, "Input limits"): a notification content type (1000-5000; 1400 stays open to
notification accounts, which sessionType 4 checks) or msgFrom 200 is 1002 for a user; a user's sendTime is the
server's clock (OpenIM kept a client's, so a message could claim to be from 1970 or 2100: the SDKs send 0 or their
own clock and take the answer's), its status "sent" and isRead false; serverMsgID and seq are always the server's.
"""

from __future__ import annotations

import asyncio
import time

from openim.metrics import MSG_SEND_SECONDS, MSG_SENT, child
from openim.protocol.constants import (
    OPT_CONVERSATION_UPDATE,
    OPT_HISTORY,
    OPT_OFFLINE_PUSH,
    OPT_PERSISTENT,
    OPT_SENDER_CONVERSATION_UPDATE,
    OPT_SENDER_SYNC,
    OPT_UNREAD_COUNT,
    AppManagerLevel,
    ContentType,
    GroupRole,
    GroupStatus,
    GroupType,
    MsgFrom,
    MsgStatus,
    RecvMsgOpt,
    SendMsgStatus,
    SessionType,
    is_notification,
)
from openim.protocol.errors import (
    ArgsError,
    BlockedByPeer,
    DismissedAlreadyError,
    GroupIDNotFoundError,
    MutedGroup,
    MutedInGroup,
    NoPermissionError,
    NotInGroupYetError,
    NotPeersFriend,
    RecordNotFoundError,
)
from openim.protocol.ids import new_client_msg_id, new_server_msg_id, single_conversation_id
from openim.protocol.pb import msg_pb2
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.services.auth import Caller
from openim.services.msg.core import logger
from openim.services.msg.hooks import MsgHooksMixin

__all__ = ["SendMixin", "check_msg"]

# OpenIM's encapsulateMsgData: options forced off by content type (absent keys mean true, so they are set).
_FORCED_OFF: dict[int, tuple[str, ...]] = {
    ContentType.REVOKE: (OPT_UNREAD_COUNT, OPT_OFFLINE_PUSH),
    ContentType.HAS_READ_RECEIPT: (
        OPT_CONVERSATION_UPDATE,
        OPT_SENDER_CONVERSATION_UPDATE,
        OPT_UNREAD_COUNT,
        OPT_OFFLINE_PUSH,
    ),
    ContentType.TYPING: (
        OPT_HISTORY,
        OPT_PERSISTENT,
        OPT_SENDER_SYNC,
        OPT_CONVERSATION_UPDATE,
        OPT_SENDER_CONVERSATION_UPDATE,
        OPT_UNREAD_COUNT,
        OPT_OFFLINE_PUSH,
    ),
}


_SESSION_NAMES: dict[int, str] = {
    SessionType.SINGLE_CHAT: "single",
    SessionType.WRITE_GROUP_CHAT: "group",
    SessionType.READ_GROUP_CHAT: "group",
    SessionType.NOTIFICATION_CHAT: "notification",
}


class SendMixin(MsgHooksMixin):
    """The send pipeline of MsgService."""

    async def send(self, caller: Caller, msg: MsgData, *, operation_id: str) -> msg_pb2.SendMsgResp:
        """Check, store (or push online only) and answer a message sent by `caller`.

        The send's outcome (2 success, 3 failed) is kept under (`operation_id`, caller) for
        check_msg_is_send_success, in the shared store (Redis when configured): one write when the send ends.
        """
        started_at = time.perf_counter()
        try:
            resp = await self._send(caller, msg, operation_id=operation_id)
        except asyncio.CancelledError:
            MSG_SEND_SECONDS.observe(time.perf_counter() - started_at)
            raise
        except BaseException:
            MSG_SEND_SECONDS.observe(time.perf_counter() - started_at)
            await self._record_status(operation_id, caller.user_id, SendMsgStatus.FAILED)
            raise
        MSG_SEND_SECONDS.observe(time.perf_counter() - started_at)
        child(MSG_SENT, _SESSION_NAMES.get(msg.sessionType, "other")).inc()
        await self._record_status(operation_id, caller.user_id, SendMsgStatus.SUCCESS)
        return resp

    async def _record_status(self, operation_id: str, owner: str, status: int) -> None:
        """Keep the send's outcome; a store that fails (Redis down) costs the status, never the send's answer."""
        try:
            await self.send_status.set(operation_id, owner, status)
        except Exception as exc:
            logger.warning("send status of %s not kept: %s: %s", operation_id, type(exc).__name__, exc)

    async def check_msg_is_send_success(self, caller: Caller, operation_id: str) -> int:
        """The status of the caller's send made with `operation_id` (an admin's: anyone's latest): 0 unknown,
        2 success, 3 failed. A user never learns the outcome of another user's send (OpenIM: anyone's, #3314)."""
        return await self.send_status.get(operation_id, caller.user_id, any_owner=caller.is_admin)

    async def _send(self, caller: Caller, msg: MsgData, *, operation_id: str) -> msg_pb2.SendMsgResp:
        check_msg(msg)
        self.limits.check(msg)
        if not caller.is_admin:
            if msg.sendID != caller.user_id:
                raise NoPermissionError(f"user {caller.user_id} may not send as {msg.sendID}")
            _server_owned(msg)
        if msg.sessionType not in (
            SessionType.SINGLE_CHAT,
            SessionType.READ_GROUP_CHAT,
            SessionType.NOTIFICATION_CHAT,
        ):
            raise ArgsError("unknown sessionType")
        self._encapsulate(msg)
        # Each hook's `enable` is read here, so that a hook that is off costs an attribute read: no coroutine.
        hooks = self.hooks
        modified = False
        if msg.sessionType == SessionType.SINGLE_CHAT:
            await self._verify_single(msg, operation_id=operation_id)
            if hooks.before_msg_modify.enable:
                modified = await self._before_msg_modify(msg, operation_id)
        elif msg.sessionType == SessionType.READ_GROUP_CHAT:
            await self._verify_group(msg)
            if hooks.before_send_group_msg.enable:
                await self._before_send_group(msg, operation_id)
            if hooks.before_msg_modify.enable:
                modified = await self._before_msg_modify(msg, operation_id)
        else:
            await self._verify_notification_chat(msg)
        appended = await self.route(msg, operation_id=operation_id)
        answer = appended.msg if appended is not None else msg
        if hooks.after_send_single_msg.enable or hooks.after_send_group_msg.enable:
            await self._after_send(answer, operation_id)
        resp = msg_pb2.SendMsgResp(
            serverMsgID=answer.serverMsgID, clientMsgID=answer.clientMsgID, sendTime=answer.sendTime
        )
        if modified:  # the SDK replaces its local copy with this one (OpenIM's SendMsgResp.modify)
            resp.modify.CopyFrom(answer)
        return resp

    def _encapsulate(self, msg: MsgData) -> None:
        msg.serverMsgID = new_server_msg_id(msg.sendID)
        if msg.sendTime == 0:
            msg.sendTime = self.clock.now_ms()
        if not msg.clientMsgID:
            msg.clientMsgID = new_client_msg_id(msg.sendID)
        if msg.status in (0, MsgStatus.SENDING):
            msg.status = MsgStatus.SEND_SUCCESS
        msg.seq = 0
        for key in _FORCED_OFF.get(msg.contentType, ()):
            msg.options[key] = False

    # ---- single chat ----------------------------------------------------------------------------------------

    async def _verify_single(self, msg: MsgData, *, operation_id: str) -> None:
        """docs/protocol/messages.md §4 step 4: receiver exists; unless the sender is an admin or the content a
        notification: the beforeSendSingleMsg hook, then unless a notification account level: not blocked (1302),
        a friend when friendVerify (1303); then the receiver's global and per-conversation recvMsgOpt (1 refuses,
        2 mutes the offline push)."""
        if not msg.recvID:
            raise ArgsError("recvID is empty")
        gate = await self.storage.facts.single_chat_gate(
            msg.sendID, msg.recvID, single_conversation_id(msg.sendID, msg.recvID), with_friendship=self.friend_verify
        )
        receiver = gate.receiver
        if receiver is None:
            raise RecordNotFoundError(f"userID {msg.recvID} not found")
        notification = is_notification(msg.contentType)
        if msg.sendID not in self.admin_user_ids and not notification:
            if self.hooks.before_send_single_msg.enable:
                await self._before_send_single(msg, operation_id)
            if gate.sender is None:
                raise RecordNotFoundError(f"userID {msg.sendID} not found")
            if gate.sender.app_manager_level < AppManagerLevel.APP_ADMIN:
                if gate.blocked:
                    raise BlockedByPeer(f"{msg.recvID} blocked {msg.sendID}")
                if self.friend_verify and not gate.friends:
                    raise NotPeersFriend(f"{msg.sendID} is not a friend of {msg.recvID}")
        if notification:
            return
        if receiver.global_recv_msg_opt == RecvMsgOpt.NOT_RECEIVE:
            raise ArgsError("message is not sent")
        if receiver.global_recv_msg_opt == RecvMsgOpt.RECEIVE_NOT_NOTIFY:
            msg.options[OPT_OFFLINE_PUSH] = False
            return
        if gate.recv_msg_opt == RecvMsgOpt.NOT_RECEIVE and msg.contentType != ContentType.HAS_READ_RECEIPT:
            raise ArgsError("message is not sent")
        if gate.recv_msg_opt == RecvMsgOpt.RECEIVE_NOT_NOTIFY:
            msg.options[OPT_OFFLINE_PUSH] = False

    # ---- group chat -----------------------------------------------------------------------------------------

    async def _verify_group(self, msg: MsgData) -> None:
        """docs/protocol/messages.md §4 step 5: exists, not dismissed, sender a member and not muted."""
        if not msg.groupID:
            raise ArgsError("groupID is empty")
        facts = self.storage.facts  # in memory in the steady state (storage/facts.py)
        group = await facts.group(msg.groupID)
        if group is None:
            raise GroupIDNotFoundError(f"group {msg.groupID} not found")
        if group.status == GroupStatus.DISMISSED and msg.contentType != ContentType.GROUP_DISMISSED_NOTIFICATION:
            raise DismissedAlreadyError(f"group {msg.groupID} is dismissed")
        if group.group_type == GroupType.SUPER:
            return
        if msg.sendID in self.admin_user_ids or is_notification(msg.contentType):
            return
        member = (await facts.members(msg.groupID)).get(msg.sendID)
        if member is None:
            raise NotInGroupYetError(f"{msg.sendID} is not a member of group {msg.groupID}")
        if member.role_level == GroupRole.OWNER:
            return
        if member.mute_end_time >= self.clock.now_ms():
            raise MutedInGroup(f"{msg.sendID} is muted in group {msg.groupID}")
        if group.status == GroupStatus.MUTED and member.role_level != GroupRole.ADMIN:
            raise MutedGroup(f"group {msg.groupID} is muted")

    # ---- notification-account chat ------------------------------------------------------------------------

    async def _verify_notification_chat(self, msg: MsgData) -> None:
        """sessionType 4 (sn_): only admins and notification accounts may use it, to a user that exists.

        OpenIM checks nothing on this path; a user impersonating a notification account is a hole we close.
        """
        if not msg.recvID:
            raise ArgsError("recvID is empty")
        if msg.sendID not in self.admin_user_ids:
            sender = await self.storage.facts.user(msg.sendID)
            if sender is None or sender.app_manager_level < AppManagerLevel.APP_ADMIN:
                raise NoPermissionError(f"{msg.sendID} is not a notification account")
        if await self.storage.facts.user(msg.recvID) is None:
            raise RecordNotFoundError(f"userID {msg.recvID} not found")


def _server_owned(msg: MsgData) -> None:
    """A user's message: refuse what only the server sends, and set what only the server may set."""
    if is_notification(msg.contentType) and msg.contentType != ContentType.OA_NOTIFICATION:
        raise NoPermissionError(f"contentType {msg.contentType} is a notification: only the server sends it")
    if msg.msgFrom == MsgFrom.SYSTEM:
        raise NoPermissionError("msgFrom 200 (system) is the server's: a user's message is msgFrom 100")
    msg.sendTime = 0  # _encapsulate sets the server's clock
    msg.status = MsgStatus.SEND_SUCCESS
    msg.isRead = False


def check_msg(msg: MsgData) -> None:
    """OpenIM's MsgData.Check(), run before anything else (ArgsError 1001)."""
    if not msg.sendID:
        raise ArgsError("sendID is empty")
    if not msg.content:
        raise ArgsError("content is empty")
    if (msg.sessionType == SessionType.NOTIFICATION_CHAT) != (msg.contentType == ContentType.OA_NOTIFICATION):
        raise ArgsError("notification msg must have correct session type and content type")
