from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class FriendInfoOnly(_message.Message):
    __slots__ = ("ownerUserID", "friendUserID", "remark", "createTime", "addSource", "operatorUserID", "ex", "isPinned")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    FRIENDUSERID_FIELD_NUMBER: _ClassVar[int]
    REMARK_FIELD_NUMBER: _ClassVar[int]
    CREATETIME_FIELD_NUMBER: _ClassVar[int]
    ADDSOURCE_FIELD_NUMBER: _ClassVar[int]
    OPERATORUSERID_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    ISPINNED_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    friendUserID: str
    remark: str
    createTime: int
    addSource: int
    operatorUserID: str
    ex: str
    isPinned: bool
    def __init__(self, ownerUserID: _Optional[str] = ..., friendUserID: _Optional[str] = ..., remark: _Optional[str] = ..., createTime: _Optional[int] = ..., addSource: _Optional[int] = ..., operatorUserID: _Optional[str] = ..., ex: _Optional[str] = ..., isPinned: _Optional[bool] = ...) -> None: ...
