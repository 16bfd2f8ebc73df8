"""Bodies of /msg/batch_send_msg and /msg/send_business_notification, two more JSON (not protobuf) /msg routes.

batch_send_msg is apistruct.BatchSendMsgReq: send_msg's fields without `recvID`, plus `isSendAll` and `recvIDs`
(a required key, even with isSendAll: absent or null is 1001, [] is fine). send_business_notification is the
anonymous struct of OpenIM's api/msg.go: a 2001 BusinessNotification whose content is
`{"detail": "{\\"key\\":…,\\"data\\":…}"}`, to one user (sessionType 1) or one group (3).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import model_validator
from pydantic_core import PydanticCustomError

from openim.api.models.base import Req, Resp
from openim.api.models.msg import SendMsgReq, go_json
from openim.protocol.constants import ContentType, MsgFrom, SessionType
from openim.protocol.ids import new_client_msg_id
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.services.msg.tips import notification_options

__all__ = ["BatchSendMsgReq", "BatchSendMsgResp", "SendBusinessNotificationReq", "SingleReturnResult"]

_RELIABLE_NO_MSG = 2  # OpenIM's ReliableNotificationNoMsg: stored in the n_ conversation; any other level: online only


class BatchSendMsgReq(SendMsgReq):
    _recv_id_required: ClassVar[bool] = False
    isSendAll: bool = False
    recvIDs: list[str] | None = None

    @model_validator(mode="after")
    def _recv_ids_given(self) -> BatchSendMsgReq:
        if self.recvIDs is None:
            raise PydanticCustomError("required", "recvIDs required")
        return self


class SingleReturnResult(Resp):
    serverMsgID: str
    clientMsgID: str
    sendTime: int
    recvID: str


class BatchSendMsgResp(Resp):
    results: list[SingleReturnResult] | None
    failedUserIDs: list[str] | None


class SendBusinessNotificationReq(Req):
    key: str = ""
    data: str = ""
    sendUserID: str = ""
    recvUserID: str = ""
    recvGroupID: str = ""
    sendMsg: bool = False
    reliabilityLevel: int | None = None  # absent: 1 (online only)

    @model_validator(mode="after")
    def _bind(self) -> SendBusinessNotificationReq:
        if not self.sendUserID:
            raise PydanticCustomError("required", "sendUserID required")
        if not self.recvUserID and not self.recvGroupID:
            raise PydanticCustomError("recv", "recvUserID and recvGroupID cannot be empty at the same time")
        if self.recvUserID and self.recvGroupID:
            raise PydanticCustomError("recv", "recvUserID and recvGroupID cannot be set at the same time")
        return self

    def msg_data(self) -> MsgData:
        """The MsgData OpenIM's API builds: msgFrom 200, contentType 2001, options from (sendMsg, reliability)."""
        detail = go_json({"key": self.key, "data": self.data}, sort_keys=False)
        level = 1 if self.reliabilityLevel is None else self.reliabilityLevel
        options = notification_options(reliable=level == _RELIABLE_NO_MSG, send_msg=self.sendMsg)
        return MsgData(
            sendID=self.sendUserID,
            recvID=self.recvUserID,
            groupID=self.recvGroupID,
            clientMsgID=new_client_msg_id(self.sendUserID),
            sessionType=SessionType.SINGLE_CHAT if self.recvUserID else SessionType.READ_GROUP_CHAT,
            msgFrom=MsgFrom.SYSTEM,
            contentType=ContentType.BUSINESS_NOTIFICATION,
            content=go_json({"detail": detail}).encode(),
            options=options,
        )
