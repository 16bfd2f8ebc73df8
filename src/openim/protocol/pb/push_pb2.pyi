from openim.protocol.pb import sdkws_pb2 as _sdkws_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PushMsgReq(_message.Message):
    __slots__ = ("msgData", "conversationID", "userIDs")
    MSGDATA_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    USERIDS_FIELD_NUMBER: _ClassVar[int]
    msgData: _sdkws_pb2.MsgData
    conversationID: str
    userIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, msgData: _Optional[_Union[_sdkws_pb2.MsgData, _Mapping]] = ..., conversationID: _Optional[str] = ..., userIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class PushMsgResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DelUserPushTokenReq(_message.Message):
    __slots__ = ("userID", "platformID")
    USERID_FIELD_NUMBER: _ClassVar[int]
    PLATFORMID_FIELD_NUMBER: _ClassVar[int]
    userID: str
    platformID: int
    def __init__(self, userID: _Optional[str] = ..., platformID: _Optional[int] = ...) -> None: ...

class DelUserPushTokenResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
