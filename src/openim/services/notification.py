"""NotificationSender: OpenIM's notifications (friend, group, user, conversation tips) sent through the msg path.

A notification is a MsgData with msgFrom 200, the notification contentType and `{"detail": "<Go JSON of the tips>"}` as
content (`services.msg.tips`), sent by `MsgService.send_notification` without permission checks. Its options come from
OpenIM's per-type configuration (`notification.yml`; docs/protocol/messages.md §6): every configurable type is
online-only (reliability 1, seq 0, not stored); `isSendMsg` types also store a copy in the chat conversation (which
counts as unread); only 2101, 2102 and 2200 are stored in the `n_` conversation (a 2200 to oneself is online-only). The
session type of each content type is OpenIM's (`newSessionTypeConf`).

As in OpenIM a failed notification is logged and never fails the request that caused it. Callers: the friend,
group, user and conversation services (they sit to the right of this module; msg sits to its left).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from google.protobuf.message import Message

from openim.infra.bus import TOPIC_PUSH, Push
from openim.infra.clock import Clock
from openim.protocol.constants import ContentType, SessionType
from openim.protocol.ids import conversation_id_of
from openim.protocol.pb.sdkws_pb2 import OfflinePushInfo
from openim.services.msg import MsgService, build_notification, notification_options

__all__ = ["DEFAULT_CONFIG", "SESSION_TYPES", "NotificationConfig", "NotificationSender"]

logger = logging.getLogger("openim.services")

C = ContentType


@dataclass(frozen=True, slots=True)
class NotificationConfig:
    """One type's entry of notification.yml: copy into the chat (isSendMsg), offline push and its texts."""

    is_send_msg: bool = False
    offline_push: bool = False
    title: str = ""
    desc: str = ""
    ex: str = ""


# OpenIM's shipped notification.yml (isSendMsg / offlinePush.enable); types not listed are false/false.
DEFAULT_CONFIG: dict[int, NotificationConfig] = {
    **{
        t: NotificationConfig(is_send_msg=True)
        for t in (
            C.GROUP_CREATED_NOTIFICATION,
            C.MEMBER_QUIT_NOTIFICATION,
            C.GROUP_OWNER_TRANSFERRED_NOTIFICATION,
            C.MEMBER_KICKED_NOTIFICATION,
            C.MEMBER_INVITED_NOTIFICATION,
            C.MEMBER_ENTER_NOTIFICATION,
            C.GROUP_DISMISSED_NOTIFICATION,
            C.GROUP_MUTED_NOTIFICATION,
            C.GROUP_CANCEL_MUTED_NOTIFICATION,
            C.GROUP_MEMBER_MUTED_NOTIFICATION,
            C.GROUP_MEMBER_CANCEL_MUTED_NOTIFICATION,
            C.GROUP_INFO_SET_ANNOUNCEMENT_NOTIFICATION,
            C.GROUP_INFO_SET_NAME_NOTIFICATION,
            C.CONVERSATION_PRIVATE_CHAT_NOTIFICATION,
        )
    },
    C.FRIEND_APPLICATION_APPROVED_NOTIFICATION: NotificationConfig(is_send_msg=True, offline_push=True),
    **{
        t: NotificationConfig(offline_push=True)
        for t in (
            C.JOIN_GROUP_APPLICATION_NOTIFICATION,
            C.GROUP_APPLICATION_ACCEPTED_NOTIFICATION,
            C.GROUP_APPLICATION_REJECTED_NOTIFICATION,
            C.FRIEND_APPLICATION_NOTIFICATION,
            C.FRIEND_APPLICATION_REJECTED_NOTIFICATION,
        )
    },
}

# Types OpenIM stores in the `n_` conversation (reliability level 2); every other type is online-only.
_RELIABLE = frozenset({C.MSG_REVOKE_NOTIFICATION, C.HAS_READ_RECEIPT, C.DELETE_MSGS_NOTIFICATION})

_GROUP_TYPES = (
    C.GROUP_CREATED_NOTIFICATION,
    C.GROUP_INFO_SET_NOTIFICATION,
    C.MEMBER_QUIT_NOTIFICATION,
    C.GROUP_OWNER_TRANSFERRED_NOTIFICATION,
    C.MEMBER_KICKED_NOTIFICATION,
    C.MEMBER_INVITED_NOTIFICATION,
    C.MEMBER_ENTER_NOTIFICATION,
    C.GROUP_DISMISSED_NOTIFICATION,
    C.GROUP_MUTED_NOTIFICATION,
    C.GROUP_CANCEL_MUTED_NOTIFICATION,
    C.GROUP_MEMBER_MUTED_NOTIFICATION,
    C.GROUP_MEMBER_CANCEL_MUTED_NOTIFICATION,
    C.GROUP_MEMBER_INFO_SET_NOTIFICATION,
    C.GROUP_MEMBER_SET_TO_ADMIN_NOTIFICATION,
    C.GROUP_MEMBER_SET_TO_ORDINARY_USER_NOTIFICATION,
    C.GROUP_INFO_SET_ANNOUNCEMENT_NOTIFICATION,
    C.GROUP_INFO_SET_NAME_NOTIFICATION,
)

# OpenIM's newSessionTypeConf: group-wide tips go to the group (3), everything else to one user (1).
SESSION_TYPES: dict[int, int] = {
    **{t: SessionType.READ_GROUP_CHAT for t in _GROUP_TYPES},
    **{
        t: SessionType.SINGLE_CHAT
        for t in (
            C.JOIN_GROUP_APPLICATION_NOTIFICATION,
            C.GROUP_APPLICATION_ACCEPTED_NOTIFICATION,
            C.GROUP_APPLICATION_REJECTED_NOTIFICATION,
            C.USER_INFO_UPDATED_NOTIFICATION,
            C.USER_STATUS_CHANGE_NOTIFICATION,
            C.FRIEND_APPLICATION_NOTIFICATION,
            C.FRIEND_APPLICATION_APPROVED_NOTIFICATION,
            C.FRIEND_APPLICATION_REJECTED_NOTIFICATION,
            C.FRIEND_ADDED_NOTIFICATION,
            C.FRIEND_DELETED_NOTIFICATION,
            C.FRIEND_REMARK_SET_NOTIFICATION,
            C.BLACK_ADDED_NOTIFICATION,
            C.BLACK_DELETED_NOTIFICATION,
            C.FRIEND_INFO_UPDATED_NOTIFICATION,
            C.FRIENDS_INFO_UPDATE_NOTIFICATION,
            C.CONVERSATION_CHANGE_NOTIFICATION,
            C.CONVERSATION_UNREAD_NOTIFICATION,
            C.CONVERSATION_PRIVATE_CHAT_NOTIFICATION,
            C.DELETE_MSGS_NOTIFICATION,
        )
    },
}


class NotificationSender:
    """Builds and sends OpenIM notifications; one per process, shared by the services that notify."""

    def __init__(
        self, msg: MsgService, clock: Clock, *, config: Mapping[int, NotificationConfig] | None = None
    ) -> None:
        self.msg = msg
        self.clock = clock
        self.config = dict(DEFAULT_CONFIG if config is None else config)

    async def notify(
        self,
        send_id: str,
        recv_id: str,
        content_type: int,
        tips: Message,
        *,
        operation_id: str = "",
        session_type: int | None = None,
        send_message: bool | None = None,
        sender_nickname: str = "",
        sender_face_url: str = "",
        also_to: Sequence[str] = (),
    ) -> None:
        """Send notification `content_type` with `tips` from `send_id` to `recv_id` (a groupID for group types).

        `session_type` defaults to OpenIM's for the type; `send_message` overrides the type's isSendMsg (the
        `sendMessage` flag some group routes take); `also_to` are users the message path would not pick who
        get the notification's push too (OpenIM pushes 1504/1508 to the members who just left). Never raises:
        a failure is logged.
        """
        conf = self.config.get(content_type, NotificationConfig())
        is_send_msg = conf.is_send_msg if send_message is None else send_message
        reliable = content_type in _RELIABLE and not (send_id == recv_id and content_type == C.HAS_READ_RECEIPT)
        options = notification_options(
            reliable=reliable,
            send_msg=is_send_msg,
            offline_push=conf.offline_push,
            sender_sync=content_type != C.USER_STATUS_CHANGE_NOTIFICATION,
        )
        msg = build_notification(
            send_id,
            recv_id,
            content_type,
            tips,
            session_type=session_type if session_type is not None else SESSION_TYPES.get(content_type, 1),
            now=self.clock.now_ms(),
            options=options,
            offline_push_info=OfflinePushInfo(title=conf.title, desc=conf.desc, ex=conf.ex),
            sender_nickname=sender_nickname,
            sender_face_url=sender_face_url,
        )
        try:
            appended = await self.msg.send_notification(msg, operation_id=operation_id)
            if also_to:
                pushed = msg if appended is None else appended.msg
                self.msg.bus.publish(TOPIC_PUSH, Push(conversation_id_of(pushed), pushed, tuple(also_to), operation_id))
        except Exception:
            logger.exception("notification %d from %s to %s failed", content_type, send_id, recv_id)
