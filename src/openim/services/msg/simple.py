"""/msg/send_simple_msg: a bot answers a message an after-send webhook told it of (OpenIM's `SendSimpleMessage`
in `internal/api/msg.go` and `SendSimpleMsg` in `internal/rpc/msg/send.go`).

The `key` of the webhook's URL (base64 of `{"sendID","recvID","groupID"}` of the message the bot saw) says where
the answer goes: into the group (sessionType 3) from the body's `sendID`, or, for a single chat, back from its
receiver (the bot) to its sender. The answer is a markdown text (118) `{"content": …}` from platform 10 (admin),
with the sender's nickname and face, through the whole send path — so the caller must be that sender or an admin
(1002), and the before hooks see it too.
"""

from __future__ import annotations

import base64
import binascii
import json

import orjson

from openim.protocol.constants import ADMIN_PLATFORM_ID, ContentType, MsgFrom, SessionType
from openim.protocol.errors import ArgsError, RecordNotFoundError
from openim.protocol.ids import new_client_msg_id
from openim.protocol.inputs import check_json_value
from openim.protocol.pb import msg_pb2
from openim.protocol.pb.sdkws_pb2 import MsgData, OfflinePushInfo
from openim.services.auth import Caller
from openim.services.msg.send import SendMixin

__all__ = ["SimpleMixin"]

MAX_KEY = 4096  # a key encodes three IDs: anything longer is not one


class SimpleMixin(SendMixin):
    """send_simple of MsgService."""

    async def send_simple(
        self,
        caller: Caller,
        key: str | None,
        *,
        send_id: str,
        content: str,
        push: OfflinePushInfo | None,
        ex: str,
        operation_id: str,
    ) -> msg_pb2.SendMsgResp:
        """Send `content` where `key` points (see the module docstring)."""
        if key is None:
            raise ArgsError("missing key in query")
        key_send_id, key_recv_id, group_id = _decode_key(key)
        if group_id:
            session_type, sender, recv_id = SessionType.READ_GROUP_CHAT, send_id, ""
        else:
            session_type, sender, recv_id = SessionType.SINGLE_CHAT, key_recv_id, key_send_id
        if not key_send_id:
            raise ArgsError("missing recvID or GroupID")
        if not sender:
            raise ArgsError("missing sendID")
        user = await self.storage.user.get_user(sender)
        if user is None:
            raise RecordNotFoundError(f"user {sender} not found")
        msg = MsgData(
            sendID=sender,
            recvID=recv_id,
            groupID=group_id,
            clientMsgID=new_client_msg_id(sender),
            senderPlatformID=ADMIN_PLATFORM_ID,
            senderNickname=user.nickname,
            senderFaceURL=user.face_url,
            sessionType=session_type,
            msgFrom=MsgFrom.USER,
            contentType=ContentType.MARKDOWN_TEXT,
            content=json.dumps({"content": content}, ensure_ascii=False).encode(),
            ex=ex,
        )
        if push is not None:
            msg.offlinePushInfo.CopyFrom(push)
        return await self.send(caller, msg, operation_id=operation_id)


def _decode_key(key: str) -> tuple[str, str, str]:
    """(sendID, recvID, groupID) of a key; ArgsError when it is not base64 of such a JSON object."""
    if len(key) > MAX_KEY:
        raise ArgsError("key is too long")
    try:  # the input rules of a body apply to the key too: a NUL in an ID, nesting past the stack (1001, not 500)
        data = orjson.loads(base64.b64decode(key, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ArgsError(f"key: {exc}") from None
    check_json_value(data, "key")
    if not isinstance(data, dict):
        raise ArgsError("key: not a JSON object")
    fields = []
    for name in ("sendID", "recvID", "groupID"):
        value = data.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ArgsError(f"key: {name} must be a string")
        fields.append(value)
    return fields[0], fields[1], fields[2]
