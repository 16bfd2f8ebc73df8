"""The body of /msg/send_msg, the one /msg route OpenIM does not define in protobuf (docs/protocol/rest.md §5).

OpenIM binds it with gin's `BindJSON` into `apistruct.SendMsgReq` (`binding:"required"` = non-zero), then decodes
`content` weakly (mapstructure) into the element struct of its `contentType` and validates it; every other
content type is "unsupported". `SendMsgReq.msg_data()` builds the `MsgData` the msg service sends: msgFrom 200,
a new clientMsgID, `content` = the JSON of the caller's object (extra keys kept, keys sorted as Go prints a map;
1400 wrapped as `{"detail": ...}` with sessionType forced to 4), and the options of isOnlineOnly/notOfflinePush.
Everything else (admin only, who may send to whom) is the msg service's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from openim.api.models.base import Int64, Req, Resp
from openim.protocol import gojson
from openim.protocol.constants import (
    OPT_CONVERSATION_UPDATE,
    OPT_HISTORY,
    OPT_OFFLINE_PUSH,
    OPT_PERSISTENT,
    OPT_SENDER_SYNC,
    ContentType,
    MsgFrom,
    SessionType,
)
from openim.protocol.ids import new_client_msg_id
from openim.protocol.pb import msg_pb2
from openim.protocol.pb.sdkws_pb2 import MsgData, OfflinePushInfo
from openim.webhooks.bodies import modified_fields

__all__ = ["OfflinePushInfoIn", "SendMsgReq", "SendMsgResp", "go_json"]

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def go_json(value: Any, *, sort_keys: bool = True) -> str:
    """JSON text as Go's `json.Marshal` of a decoded `map[string]any` prints it: keys sorted, HTML escaped.

    Go decodes every JSON number into a float64, so an integral 2.0 prints back as 2. With `sort_keys` False the
    keys keep their order, as Go prints a struct's fields.
    """
    return gojson.dumps(_go_numbers(value), sort_keys=sort_keys).decode()


def _go_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _go_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_numbers(v) for v in value]
    return value


# --- content elements: lax types (mapstructure.WeakDecode), "required" = present and non-zero ---------------


class _Elem(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)
    _required_fields: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _required(self) -> _Elem:
        for name in self._required_fields:
            if not getattr(self, name):
                raise PydanticCustomError("required", f"{name} is required")
        return self


class _PictureBaseInfo(_Elem):
    _required_fields = ("type", "width", "height", "url")
    uuid: str = ""
    type: str = ""
    size: int = 0
    width: int = 0
    height: int = 0
    url: str = ""


class _PictureElem(_Elem):
    sourcePath: str = ""
    sourcePicture: _PictureBaseInfo
    bigPicture: _PictureBaseInfo
    snapshotPicture: _PictureBaseInfo


class _SoundElem(_Elem):
    _required_fields = ("sourceUrl", "duration")
    uuid: str = ""
    soundPath: str = ""
    sourceUrl: str = ""
    dataSize: int = 0
    duration: int = 0

    @model_validator(mode="after")
    def _min_duration(self) -> _SoundElem:
        if self.duration < 1:
            raise PydanticCustomError("min", "duration must be at least 1")
        return self


class _VideoElem(_Elem):
    _required_fields = (
        "videoUrl",
        "videoType",
        "videoSize",
        "duration",
        "snapshotUrl",
        "snapshotWidth",
        "snapshotHeight",
    )
    videoPath: str = ""
    videoUUID: str = ""
    videoUrl: str = ""
    videoType: str = ""
    videoSize: int = 0
    duration: int = 0
    snapshotPath: str = ""
    snapshotUUID: str = ""
    snapshotSize: int = 0
    snapshotUrl: str = ""
    snapshotWidth: int = 0
    snapshotHeight: int = 0


class _FileElem(_Elem):
    _required_fields = ("sourceUrl", "fileName", "fileSize")
    filePath: str = ""
    uuid: str = ""
    sourceUrl: str = ""
    fileName: str = ""
    fileSize: int = 0


class _AtElem(_Elem):
    _required_fields = ("atUserList",)
    text: str = ""
    atUserList: list[str] = Field(default_factory=list, max_length=1000)
    isAtSelf: bool = False


class _CustomElem(_Elem):
    _required_fields = ("data",)
    data: str = ""
    description: str = ""
    extension: str = ""


class _TextElem(_Elem):
    _required_fields = ("content",)
    content: str = ""


class _QuoteElem(_Elem):
    text: str = ""


class _OANotificationElem(_Elem):
    _required_fields = ("notificationName", "notificationType", "text")
    notificationName: str = ""
    notificationFaceURL: str = ""
    notificationType: int = 0
    text: str = ""
    url: str = ""
    mixType: int = Field(0, ge=0, le=5)
    ex: str = ""


_ELEMS: dict[int, type[_Elem]] = {
    ContentType.TEXT: _TextElem,
    ContentType.PICTURE: _PictureElem,
    ContentType.VOICE: _SoundElem,
    ContentType.VIDEO: _VideoElem,
    ContentType.FILE: _FileElem,
    ContentType.AT_TEXT: _AtElem,
    ContentType.CUSTOM: _CustomElem,
    ContentType.MARKDOWN_TEXT: _TextElem,
    ContentType.QUOTE: _QuoteElem,
    ContentType.OA_NOTIFICATION: _OANotificationElem,
}


# --- the request ------------------------------------------------------------------------------------------


class OfflinePushInfoIn(Req):
    title: str = ""
    desc: str = ""
    ex: str = ""
    iOSPushSound: str = ""
    iOSBadgeCount: bool = False
    signalInfo: str = ""


class SendSimpleMsgReq(Req):
    """apistruct.SendSingleMsgReq: a bot's answer through /msg/send_simple_msg (sendID only for groups)."""

    sendID: str = ""
    content: str = ""
    offlinePushInfo: OfflinePushInfoIn | None = None
    ex: str = ""

    @model_validator(mode="after")
    def _bind(self) -> SendSimpleMsgReq:
        if not self.content:
            raise PydanticCustomError("required", "content required")
        return self

    def push_info(self) -> OfflinePushInfo | None:
        info = self.offlinePushInfo
        if info is None:
            return None
        return OfflinePushInfo(
            title=info.title,
            desc=info.desc,
            ex=info.ex,
            iOSPushSound=info.iOSPushSound,
            iOSBadgeCount=info.iOSBadgeCount,
            signalInfo=info.signalInfo,
        )


class SendMsgReq(Req):
    """apistruct.SendMsgReq: the REST send of app servers (admin token)."""

    _recv_id_required: ClassVar[bool] = True  # apistruct.SendMsg (the batch's base) has no recvID
    sendID: str = ""
    recvID: str = ""
    groupID: str = ""
    senderNickname: str = ""
    senderFaceURL: str = ""
    senderPlatformID: int = Field(0, ge=_INT32_MIN, le=_INT32_MAX)
    content: dict[str, Any] | None = None
    contentType: int = Field(0, ge=_INT32_MIN, le=_INT32_MAX)
    sessionType: int = Field(0, ge=_INT32_MIN, le=_INT32_MAX)
    isOnlineOnly: bool = False
    notOfflinePush: bool = False
    sendTime: Int64 = 0
    offlinePushInfo: OfflinePushInfoIn | None = None
    ex: str = ""

    @model_validator(mode="after")
    def _bind(self) -> SendMsgReq:
        """gin's `binding` tags, then the content's element struct for its contentType."""
        missing = [name for name in ("sendID", "contentType", "sessionType") if not getattr(self, name)]
        if self.content is None:  # a map is "required" when non-nil: {} passes
            missing.insert(1, "content")
        recv_session = self.sessionType in (SessionType.SINGLE_CHAT, SessionType.NOTIFICATION_CHAT)
        if self._recv_id_required and recv_session and not self.recvID:
            missing.append("recvID")
        if self.sessionType in (SessionType.WRITE_GROUP_CHAT, SessionType.READ_GROUP_CHAT) and not self.groupID:
            missing.append("groupID")
        if missing:
            raise PydanticCustomError("required", f"{', '.join(missing)} required (sessionType {self.sessionType})")
        elem = _ELEMS.get(self.contentType)
        if elem is None:
            raise PydanticCustomError("content_type", f"unsupported content type {self.contentType}")
        try:
            elem.model_validate(self.content)
        except ValidationError as exc:
            raise PydanticCustomError("content", _first_problem(exc)) from None
        return self

    def msg_data(self) -> MsgData:
        """The MsgData OpenIM's API builds from this body (createTime and sendTime are left to the send path)."""
        content = self.content or {}
        session_type = self.sessionType
        if self.contentType == ContentType.OA_NOTIFICATION:
            text = go_json({"detail": go_json(content)})
            session_type = SessionType.NOTIFICATION_CHAT
        else:
            text = go_json(content)
        msg = MsgData(
            sendID=self.sendID,
            recvID=self.recvID,
            groupID=self.groupID,
            clientMsgID=new_client_msg_id(self.sendID),
            senderPlatformID=self.senderPlatformID,
            senderNickname=self.senderNickname,
            senderFaceURL=self.senderFaceURL,
            sessionType=session_type,
            msgFrom=MsgFrom.SYSTEM,
            contentType=self.contentType,
            content=text.encode(),
            sendTime=self.sendTime,
            ex=self.ex,
        )
        if self.contentType == ContentType.AT_TEXT:
            msg.atUserIDList.extend(_AtElem.model_validate(content).atUserList)
        if self.offlinePushInfo is not None:
            info = self.offlinePushInfo
            msg.offlinePushInfo.CopyFrom(
                OfflinePushInfo(
                    title=info.title,
                    desc=info.desc,
                    ex=info.ex,
                    iOSPushSound=info.iOSPushSound,
                    iOSBadgeCount=info.iOSBadgeCount,
                    signalInfo=info.signalInfo,
                )
            )
        if self.isOnlineOnly:
            for key in (OPT_HISTORY, OPT_PERSISTENT, OPT_SENDER_SYNC, OPT_CONVERSATION_UPDATE):
                msg.options[key] = False
        if self.notOfflinePush:
            msg.options[OPT_OFFLINE_PUSH] = False
        return msg


class SendMsgResp(Resp):
    serverMsgID: str
    clientMsgID: str
    sendTime: int
    # beforeMsgModify's changes (OpenIM's apistruct.SendMsgResp `modify,omitempty`): absent when none. A field
    # exclusion, not a model serializer, so that /openapi.json still shows the model's fields.
    modify: dict[str, Any] | None = Field(default=None, exclude_if=lambda value: value is None)

    @classmethod
    def of(cls, resp: msg_pb2.SendMsgResp, request: SendMsgReq | None = None) -> SendMsgResp:
        """The answer. When beforeMsgModify changed the message, `modify` holds every field of the stored message
        that differs from the MsgData the request makes (OpenIM's getModifyFields: the hook's changes, and what
        the send path filled in — serverMsgID, sendTime, status…)."""
        modify = None
        if request is not None and resp.HasField("modify"):
            sent = request.msg_data()
            sent.clientMsgID = resp.clientMsgID  # msg_data() draws a new one; the request's is the stored one
            modify = modified_fields(sent, resp.modify)
        return cls(serverMsgID=resp.serverMsgID, clientMsgID=resp.clientMsgID, sendTime=resp.sendTime, modify=modify)


def _first_problem(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    return f"content.{loc}: {err['msg']}" if loc else f"content: {err['msg']}"
