"""Notification messages as OpenIM builds them (`pkg/notification/msg.go`): MsgData from a tips message.

A notification is an ordinary `MsgData` with msgFrom 200, the notification contentType, a fresh clientMsgID and
`content` = `{"detail": "<Go JSON of the tips>"}`; its options (`notification_options`) start all false except
senderSync, so it goes to the `n_` conversation and, unless reliable, is pushed without being stored. The msg
service uses this for its own tips (2101, 2102, 2200, 1300, 1703); `services/notification.py` adds OpenIM's
per-type configuration for the friend, group, user and conversation notifications.
"""

from __future__ import annotations

from google.protobuf.message import Message

from openim.protocol.constants import (
    OPT_CONVERSATION_UPDATE,
    OPT_HISTORY,
    OPT_IS_NOT_NOTIFICATION,
    OPT_IS_SEND_MSG,
    OPT_NOT_PRIVATE,
    OPT_OFFLINE_PUSH,
    OPT_PERSISTENT,
    OPT_REACTION_FROM_CACHE,
    OPT_SENDER_CONVERSATION_UPDATE,
    OPT_SENDER_SYNC,
    OPT_UNREAD_COUNT,
    MsgFrom,
    MsgStatus,
    SessionType,
)
from openim.protocol.ids import new_client_msg_id
from openim.protocol.pb.sdkws_pb2 import MsgData, OfflinePushInfo
from openim.storage.msg import notification_content

__all__ = ["build_notification", "notification_options"]


def notification_options(
    *, reliable: bool, send_msg: bool = False, offline_push: bool = False, sender_sync: bool = True
) -> dict[str, bool]:
    """OpenIM's GetOptionsByNotification: every flag false but senderSync; `reliable` (level 2) stores it,
    `send_msg` also stores a copy in the chat conversation that counts as unread."""
    options = {
        OPT_IS_NOT_NOTIFICATION: False,
        OPT_IS_SEND_MSG: send_msg,
        OPT_HISTORY: reliable,
        OPT_PERSISTENT: reliable,
        OPT_OFFLINE_PUSH: offline_push,
        OPT_UNREAD_COUNT: send_msg,
        OPT_CONVERSATION_UPDATE: False,
        OPT_SENDER_SYNC: sender_sync,
        OPT_NOT_PRIVATE: False,
        OPT_SENDER_CONVERSATION_UPDATE: False,
        OPT_REACTION_FROM_CACHE: False,
    }
    return options


def build_notification(
    send_id: str,
    recv_id: str,
    content_type: int,
    tips: Message,
    *,
    session_type: int,
    now: int,
    options: dict[str, bool],
    offline_push_info: OfflinePushInfo | None = None,
    sender_nickname: str = "",
    sender_face_url: str = "",
) -> MsgData:
    """The MsgData of a notification from `send_id` to `recv_id` (a groupID for group session types)."""
    msg = MsgData(
        sendID=send_id,
        recvID=recv_id,
        clientMsgID=new_client_msg_id(send_id),
        senderNickname=sender_nickname,
        senderFaceURL=sender_face_url,
        sessionType=session_type,
        msgFrom=MsgFrom.SYSTEM,
        contentType=content_type,
        content=notification_content(tips),
        createTime=now,
        sendTime=now,
        status=MsgStatus.SEND_SUCCESS,
        offlinePushInfo=offline_push_info or OfflinePushInfo(),
    )
    if session_type in (SessionType.READ_GROUP_CHAT, SessionType.WRITE_GROUP_CHAT):
        msg.groupID = recv_id
    msg.options.update(options)
    return msg
