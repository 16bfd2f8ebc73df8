"""Message factories for storage, service and bench tests: ready-to-append `NewMsg`s with unique IDs."""

from __future__ import annotations

import itertools
import json

from openim.protocol.constants import ContentType, MsgStatus, SessionType
from openim.protocol.ids import group_conversation_id, single_conversation_id
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.storage.msg import NewMsg

_ids = itertools.count(1)


def text(send: str, recv: str, body: str = "hi", *, client_msg_id: str = "", send_time: int = 1000) -> NewMsg:
    """A single-chat text message from `send` to `recv`, ready to append (owners: both users)."""
    m = MsgData(
        sendID=send,
        recvID=recv,
        clientMsgID=client_msg_id or f"c{next(_ids)}",
        serverMsgID=f"s{next(_ids)}",
        sessionType=SessionType.SINGLE_CHAT,
        msgFrom=100,
        contentType=ContentType.TEXT,
        content=json.dumps({"content": body}).encode(),
        sendTime=send_time,
        status=MsgStatus.SEND_SUCCESS,
    )
    return NewMsg(single_conversation_id(send, recv), m, owners=tuple(dict.fromkeys((send, recv))))


def group_text(send: str, group: str, *, owners: tuple[str, ...] = ()) -> NewMsg:
    """A group text message; `owners` only for the group's first message."""
    m = MsgData(
        sendID=send,
        groupID=group,
        clientMsgID=f"c{next(_ids)}",
        serverMsgID=f"s{next(_ids)}",
        sessionType=SessionType.READ_GROUP_CHAT,
        contentType=ContentType.TEXT,
        content=b'{"content":"g"}',
        sendTime=1000,
    )
    return NewMsg(group_conversation_id(group), m, owners=owners)
