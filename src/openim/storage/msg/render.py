"""How stored messages look on the wire: placeholders, revoked bodies, notification contents, Go's JSON.

Pure functions over `MsgData`, no database: a seq without a readable message is `{seq, status: 4}`; a message
deleted for the reader has status 4 and no content; a revoked one has contentType 2101 and, as content, a
`NotificationElem` holding the Go JSON of `MessageRevokedContent` (docs/protocol/messages.md §3).
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.message import Message

from openim.protocol import gojson
from openim.protocol.constants import ContentType, MsgStatus
from openim.protocol.pb import sdkws_pb2
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.storage.msg.values import MsgRevoke, StoredMsg

__all__ = [
    "go_json",
    "notification_content",
    "parse_msg",
    "placeholder",
    "render",
    "revoke_from_json",
    "revoke_to_json",
    "revoked_body",
]


def placeholder(seq: int) -> MsgData:
    """What a seq without a readable message looks like on the wire: `{seq, status: 4}`, nothing else."""
    return MsgData(seq=seq, status=MsgStatus.HAS_DELETED)


def go_json(value: Any) -> str:
    """`value` (already in Go's shape, e.g. from `gojson.to_go`) as Go's `json.Marshal` writes it: compact,
    UTF-8, with `<`, `>`, `&`, U+2028 and U+2029 escaped."""
    return gojson.dumps(value).decode()


def notification_content(tips: Message) -> bytes:
    """The `content` of a notification: `{"detail": "<Go JSON of tips>"}`, both levels in Go's encoding."""
    return go_json({"detail": go_json(gojson.to_go(tips))}).encode()


def revoke_to_json(revoke: MsgRevoke) -> str:
    """The `msg.revoke` column value: OpenIM's RevokeModel fields as compact JSON."""
    return json.dumps(
        {"role": revoke.role, "user_id": revoke.user_id, "nickname": revoke.nickname, "time": revoke.time},
        separators=(",", ":"),
    )


def revoke_from_json(value: str | None) -> MsgRevoke | None:
    """The revoke of a `msg.revoke` column value; None when the message was not revoked."""
    if value is None:
        return None
    data = json.loads(value)
    return MsgRevoke(int(data["role"]), str(data["user_id"]), str(data["nickname"]), int(data["time"]))


def parse_msg(data: bytes) -> MsgData:
    """A `msg.data` column value back into MsgData."""
    m = MsgData()
    m.ParseFromString(data)
    return m


def revoked_body(stored: MsgData, revoke: MsgRevoke) -> bytes:
    """The content a revoked message is read with: NotificationElem{detail: Go JSON of MessageRevokedContent}."""
    return notification_content(
        sdkws_pb2.MessageRevokedContent(
            revokerID=revoke.user_id,
            revokerRole=revoke.role,
            clientMsgID=stored.clientMsgID,
            revokerNickname=revoke.nickname,
            revokeTime=revoke.time,
            sourceMessageSendTime=stored.sendTime,
            sourceMessageSendID=stored.sendID,
            sourceMessageSenderNickname=stored.senderNickname,
            sessionType=stored.sessionType,
            seq=stored.seq,
            ex=stored.ex,
        )
    )


def render(s: StoredMsg, hidden: bool) -> MsgData:
    """A stored message as one reader sees it: its read flag; status 4 and no content if `hidden` (deleted
    for that reader); contentType 2101 and the revoked body if it was revoked."""
    m = MsgData()
    m.CopyFrom(s.msg)
    m.isRead = s.is_read
    if hidden:
        m.content = b""
        m.status = MsgStatus.HAS_DELETED
    if s.revoke is not None:
        m.contentType = ContentType.MSG_REVOKE_NOTIFICATION
        m.content = revoked_body(s.msg, s.revoke)
    return m
