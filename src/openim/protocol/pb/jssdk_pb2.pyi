from openim.protocol.pb import conversation_pb2 as _conversation_pb2
from openim.protocol.pb import relation_pb2 as _relation_pb2
from openim.protocol.pb import sdkws_pb2 as _sdkws_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConversationMsg(_message.Message):
    __slots__ = ("conversation", "lastMsg", "user", "friend", "group", "maxSeq", "readSeq")
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    LASTMSG_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    FRIEND_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    MAXSEQ_FIELD_NUMBER: _ClassVar[int]
    READSEQ_FIELD_NUMBER: _ClassVar[int]
    conversation: _conversation_pb2.Conversation
    lastMsg: _sdkws_pb2.MsgData
    user: _sdkws_pb2.UserInfo
    friend: _relation_pb2.FriendInfoOnly
    group: _sdkws_pb2.GroupInfo
    maxSeq: int
    readSeq: int
    def __init__(self, conversation: _Optional[_Union[_conversation_pb2.Conversation, _Mapping]] = ..., lastMsg: _Optional[_Union[_sdkws_pb2.MsgData, _Mapping]] = ..., user: _Optional[_Union[_sdkws_pb2.UserInfo, _Mapping]] = ..., friend: _Optional[_Union[_relation_pb2.FriendInfoOnly, _Mapping]] = ..., group: _Optional[_Union[_sdkws_pb2.GroupInfo, _Mapping]] = ..., maxSeq: _Optional[int] = ..., readSeq: _Optional[int] = ...) -> None: ...

class GetActiveConversationsReq(_message.Message):
    __slots__ = ("ownerUserID", "count")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    count: int
    def __init__(self, ownerUserID: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class GetActiveConversationsResp(_message.Message):
    __slots__ = ("unreadCount", "conversations")
    UNREADCOUNT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    unreadCount: int
    conversations: _containers.RepeatedCompositeFieldContainer[ConversationMsg]
    def __init__(self, unreadCount: _Optional[int] = ..., conversations: _Optional[_Iterable[_Union[ConversationMsg, _Mapping]]] = ...) -> None: ...

class GetConversationsReq(_message.Message):
    __slots__ = ("ownerUserID", "conversationIDs")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ownerUserID: _Optional[str] = ..., conversationIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class GetConversationsResp(_message.Message):
    __slots__ = ("unreadCount", "conversations")
    UNREADCOUNT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    unreadCount: int
    conversations: _containers.RepeatedCompositeFieldContainer[ConversationMsg]
    def __init__(self, unreadCount: _Optional[int] = ..., conversations: _Optional[_Iterable[_Union[ConversationMsg, _Mapping]]] = ...) -> None: ...
