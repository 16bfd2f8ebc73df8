from openim.protocol.pb import conversation_pb2 as _conversation_pb2
from openim.protocol.pb import sdkws_pb2 as _sdkws_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SendMsgReq(_message.Message):
    __slots__ = ("msgData",)
    MSGDATA_FIELD_NUMBER: _ClassVar[int]
    msgData: _sdkws_pb2.MsgData
    def __init__(self, msgData: _Optional[_Union[_sdkws_pb2.MsgData, _Mapping]] = ...) -> None: ...

class SendMsgResp(_message.Message):
    __slots__ = ("serverMsgID", "clientMsgID", "sendTime", "modify")
    SERVERMSGID_FIELD_NUMBER: _ClassVar[int]
    CLIENTMSGID_FIELD_NUMBER: _ClassVar[int]
    SENDTIME_FIELD_NUMBER: _ClassVar[int]
    MODIFY_FIELD_NUMBER: _ClassVar[int]
    serverMsgID: str
    clientMsgID: str
    sendTime: int
    modify: _sdkws_pb2.MsgData
    def __init__(self, serverMsgID: _Optional[str] = ..., clientMsgID: _Optional[str] = ..., sendTime: _Optional[int] = ..., modify: _Optional[_Union[_sdkws_pb2.MsgData, _Mapping]] = ...) -> None: ...

class SendSimpleMsgReq(_message.Message):
    __slots__ = ("msgData",)
    MSGDATA_FIELD_NUMBER: _ClassVar[int]
    msgData: _sdkws_pb2.MsgData
    def __init__(self, msgData: _Optional[_Union[_sdkws_pb2.MsgData, _Mapping]] = ...) -> None: ...

class SendSimpleMsgResp(_message.Message):
    __slots__ = ("serverMsgID", "clientMsgID", "sendTime", "modify")
    SERVERMSGID_FIELD_NUMBER: _ClassVar[int]
    CLIENTMSGID_FIELD_NUMBER: _ClassVar[int]
    SENDTIME_FIELD_NUMBER: _ClassVar[int]
    MODIFY_FIELD_NUMBER: _ClassVar[int]
    serverMsgID: str
    clientMsgID: str
    sendTime: int
    modify: _sdkws_pb2.MsgData
    def __init__(self, serverMsgID: _Optional[str] = ..., clientMsgID: _Optional[str] = ..., sendTime: _Optional[int] = ..., modify: _Optional[_Union[_sdkws_pb2.MsgData, _Mapping]] = ...) -> None: ...

class SetSendMsgStatusReq(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: int
    def __init__(self, status: _Optional[int] = ...) -> None: ...

class SetSendMsgStatusResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSendMsgStatusReq(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSendMsgStatusResp(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: int
    def __init__(self, status: _Optional[int] = ...) -> None: ...

class GetMaxAndMinSeqReq(_message.Message):
    __slots__ = ("UserID",)
    USERID_FIELD_NUMBER: _ClassVar[int]
    UserID: str
    def __init__(self, UserID: _Optional[str] = ...) -> None: ...

class GetMaxAndMinSeqResp(_message.Message):
    __slots__ = ("MaxSeq", "MinSeq")
    MAXSEQ_FIELD_NUMBER: _ClassVar[int]
    MINSEQ_FIELD_NUMBER: _ClassVar[int]
    MaxSeq: int
    MinSeq: int
    def __init__(self, MaxSeq: _Optional[int] = ..., MinSeq: _Optional[int] = ...) -> None: ...

class GetMaxSeqsReq(_message.Message):
    __slots__ = ("conversationIDs",)
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, conversationIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class GetHasReadSeqsReq(_message.Message):
    __slots__ = ("userID", "conversationIDs")
    USERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    userID: str
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, userID: _Optional[str] = ..., conversationIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class SeqsInfoResp(_message.Message):
    __slots__ = ("maxSeqs",)
    class MaxSeqsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    MAXSEQS_FIELD_NUMBER: _ClassVar[int]
    maxSeqs: _containers.ScalarMap[str, int]
    def __init__(self, maxSeqs: _Optional[_Mapping[str, int]] = ...) -> None: ...

class GetConversationMaxSeqReq(_message.Message):
    __slots__ = ("conversationID",)
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    def __init__(self, conversationID: _Optional[str] = ...) -> None: ...

class GetConversationMaxSeqResp(_message.Message):
    __slots__ = ("maxSeq",)
    MAXSEQ_FIELD_NUMBER: _ClassVar[int]
    maxSeq: int
    def __init__(self, maxSeq: _Optional[int] = ...) -> None: ...

class GetConversationsHasReadAndMaxSeqReq(_message.Message):
    __slots__ = ("userID", "conversationIDs", "returnPinned")
    USERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    RETURNPINNED_FIELD_NUMBER: _ClassVar[int]
    userID: str
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    returnPinned: bool
    def __init__(self, userID: _Optional[str] = ..., conversationIDs: _Optional[_Iterable[str]] = ..., returnPinned: _Optional[bool] = ...) -> None: ...

class Seqs(_message.Message):
    __slots__ = ("maxSeq", "hasReadSeq", "maxSeqTime")
    MAXSEQ_FIELD_NUMBER: _ClassVar[int]
    HASREADSEQ_FIELD_NUMBER: _ClassVar[int]
    MAXSEQTIME_FIELD_NUMBER: _ClassVar[int]
    maxSeq: int
    hasReadSeq: int
    maxSeqTime: int
    def __init__(self, maxSeq: _Optional[int] = ..., hasReadSeq: _Optional[int] = ..., maxSeqTime: _Optional[int] = ...) -> None: ...

class GetConversationsHasReadAndMaxSeqResp(_message.Message):
    __slots__ = ("seqs", "pinnedConversationIDs")
    class SeqsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Seqs
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Seqs, _Mapping]] = ...) -> None: ...
    SEQS_FIELD_NUMBER: _ClassVar[int]
    PINNEDCONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    seqs: _containers.MessageMap[str, Seqs]
    pinnedConversationIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, seqs: _Optional[_Mapping[str, Seqs]] = ..., pinnedConversationIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class ConversationSeqs(_message.Message):
    __slots__ = ("conversationID", "seqs")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    SEQS_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    seqs: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, conversationID: _Optional[str] = ..., seqs: _Optional[_Iterable[int]] = ...) -> None: ...

class GetSeqMessageReq(_message.Message):
    __slots__ = ("userID", "conversations", "order")
    USERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    userID: str
    conversations: _containers.RepeatedCompositeFieldContainer[ConversationSeqs]
    order: _sdkws_pb2.PullOrder
    def __init__(self, userID: _Optional[str] = ..., conversations: _Optional[_Iterable[_Union[ConversationSeqs, _Mapping]]] = ..., order: _Optional[_Union[_sdkws_pb2.PullOrder, str]] = ...) -> None: ...

class GetSeqMessageResp(_message.Message):
    __slots__ = ("msgs", "notificationMsgs")
    class MsgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _sdkws_pb2.PullMsgs
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_sdkws_pb2.PullMsgs, _Mapping]] = ...) -> None: ...
    class NotificationMsgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _sdkws_pb2.PullMsgs
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_sdkws_pb2.PullMsgs, _Mapping]] = ...) -> None: ...
    MSGS_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATIONMSGS_FIELD_NUMBER: _ClassVar[int]
    msgs: _containers.MessageMap[str, _sdkws_pb2.PullMsgs]
    notificationMsgs: _containers.MessageMap[str, _sdkws_pb2.PullMsgs]
    def __init__(self, msgs: _Optional[_Mapping[str, _sdkws_pb2.PullMsgs]] = ..., notificationMsgs: _Optional[_Mapping[str, _sdkws_pb2.PullMsgs]] = ...) -> None: ...

class GetLastMessageReq(_message.Message):
    __slots__ = ("userID", "conversationIDs")
    USERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    userID: str
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, userID: _Optional[str] = ..., conversationIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class GetLastMessageResp(_message.Message):
    __slots__ = ("msgs",)
    class MsgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _sdkws_pb2.MsgData
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_sdkws_pb2.MsgData, _Mapping]] = ...) -> None: ...
    MSGS_FIELD_NUMBER: _ClassVar[int]
    msgs: _containers.MessageMap[str, _sdkws_pb2.MsgData]
    def __init__(self, msgs: _Optional[_Mapping[str, _sdkws_pb2.MsgData]] = ...) -> None: ...

class GetMsgByConversationIDsReq(_message.Message):
    __slots__ = ("conversationIDs", "maxSeqs")
    class MaxSeqsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    MAXSEQS_FIELD_NUMBER: _ClassVar[int]
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    maxSeqs: _containers.ScalarMap[str, int]
    def __init__(self, conversationIDs: _Optional[_Iterable[str]] = ..., maxSeqs: _Optional[_Mapping[str, int]] = ...) -> None: ...

class GetMsgByConversationIDsResp(_message.Message):
    __slots__ = ("msgDatas",)
    class MsgDatasEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _sdkws_pb2.MsgData
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_sdkws_pb2.MsgData, _Mapping]] = ...) -> None: ...
    MSGDATAS_FIELD_NUMBER: _ClassVar[int]
    msgDatas: _containers.MessageMap[str, _sdkws_pb2.MsgData]
    def __init__(self, msgDatas: _Optional[_Mapping[str, _sdkws_pb2.MsgData]] = ...) -> None: ...

class GetLastMessageSeqByTimeReq(_message.Message):
    __slots__ = ("conversationID", "time")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    time: int
    def __init__(self, conversationID: _Optional[str] = ..., time: _Optional[int] = ...) -> None: ...

class GetLastMessageSeqByTimeResp(_message.Message):
    __slots__ = ("seq",)
    SEQ_FIELD_NUMBER: _ClassVar[int]
    seq: int
    def __init__(self, seq: _Optional[int] = ...) -> None: ...

class RevokeMsgReq(_message.Message):
    __slots__ = ("conversationID", "seq", "userID")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    seq: int
    userID: str
    def __init__(self, conversationID: _Optional[str] = ..., seq: _Optional[int] = ..., userID: _Optional[str] = ...) -> None: ...

class RevokeMsgResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MarkMsgsAsReadReq(_message.Message):
    __slots__ = ("conversationID", "seqs", "userID")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    SEQS_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    seqs: _containers.RepeatedScalarFieldContainer[int]
    userID: str
    def __init__(self, conversationID: _Optional[str] = ..., seqs: _Optional[_Iterable[int]] = ..., userID: _Optional[str] = ...) -> None: ...

class MarkMsgsAsReadResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MarkConversationAsReadReq(_message.Message):
    __slots__ = ("conversationID", "userID", "hasReadSeq", "seqs")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    HASREADSEQ_FIELD_NUMBER: _ClassVar[int]
    SEQS_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    userID: str
    hasReadSeq: int
    seqs: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, conversationID: _Optional[str] = ..., userID: _Optional[str] = ..., hasReadSeq: _Optional[int] = ..., seqs: _Optional[_Iterable[int]] = ...) -> None: ...

class MarkConversationAsReadResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetConversationHasReadSeqReq(_message.Message):
    __slots__ = ("conversationID", "userID", "hasReadSeq", "noNotification")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    HASREADSEQ_FIELD_NUMBER: _ClassVar[int]
    NONOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    userID: str
    hasReadSeq: int
    noNotification: bool
    def __init__(self, conversationID: _Optional[str] = ..., userID: _Optional[str] = ..., hasReadSeq: _Optional[int] = ..., noNotification: _Optional[bool] = ...) -> None: ...

class SetConversationHasReadSeqResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteSyncOpt(_message.Message):
    __slots__ = ("IsSyncSelf", "IsSyncOther")
    ISSYNCSELF_FIELD_NUMBER: _ClassVar[int]
    ISSYNCOTHER_FIELD_NUMBER: _ClassVar[int]
    IsSyncSelf: bool
    IsSyncOther: bool
    def __init__(self, IsSyncSelf: _Optional[bool] = ..., IsSyncOther: _Optional[bool] = ...) -> None: ...

class ClearConversationsMsgReq(_message.Message):
    __slots__ = ("conversationIDs", "userID", "deleteSyncOpt")
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    DELETESYNCOPT_FIELD_NUMBER: _ClassVar[int]
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    userID: str
    deleteSyncOpt: DeleteSyncOpt
    def __init__(self, conversationIDs: _Optional[_Iterable[str]] = ..., userID: _Optional[str] = ..., deleteSyncOpt: _Optional[_Union[DeleteSyncOpt, _Mapping]] = ...) -> None: ...

class ClearConversationsMsgResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UserClearAllMsgReq(_message.Message):
    __slots__ = ("userID", "deleteSyncOpt")
    USERID_FIELD_NUMBER: _ClassVar[int]
    DELETESYNCOPT_FIELD_NUMBER: _ClassVar[int]
    userID: str
    deleteSyncOpt: DeleteSyncOpt
    def __init__(self, userID: _Optional[str] = ..., deleteSyncOpt: _Optional[_Union[DeleteSyncOpt, _Mapping]] = ...) -> None: ...

class UserClearAllMsgResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteMsgsReq(_message.Message):
    __slots__ = ("conversationID", "seqs", "userID", "deleteSyncOpt")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    SEQS_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    DELETESYNCOPT_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    seqs: _containers.RepeatedScalarFieldContainer[int]
    userID: str
    deleteSyncOpt: DeleteSyncOpt
    def __init__(self, conversationID: _Optional[str] = ..., seqs: _Optional[_Iterable[int]] = ..., userID: _Optional[str] = ..., deleteSyncOpt: _Optional[_Union[DeleteSyncOpt, _Mapping]] = ...) -> None: ...

class DeleteMsgsResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteMsgPhysicalReq(_message.Message):
    __slots__ = ("conversationIDs", "timestamp")
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    timestamp: int
    def __init__(self, conversationIDs: _Optional[_Iterable[str]] = ..., timestamp: _Optional[int] = ...) -> None: ...

class DeleteMsgPhysicalResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteMsgPhysicalBySeqReq(_message.Message):
    __slots__ = ("conversationID", "seqs")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    SEQS_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    seqs: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, conversationID: _Optional[str] = ..., seqs: _Optional[_Iterable[int]] = ...) -> None: ...

class DeleteMsgPhysicalBySeqResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClearMsgReq(_message.Message):
    __slots__ = ("conversations",)
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    conversations: _containers.RepeatedCompositeFieldContainer[_conversation_pb2.Conversation]
    def __init__(self, conversations: _Optional[_Iterable[_Union[_conversation_pb2.Conversation, _Mapping]]] = ...) -> None: ...

class ClearMsgResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DestructMsgsReq(_message.Message):
    __slots__ = ("timestamp", "limit")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    limit: int
    def __init__(self, timestamp: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class DestructMsgsResp(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class SetUserConversationsMinSeqReq(_message.Message):
    __slots__ = ("userIDs", "conversationID", "seq")
    USERIDS_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    userIDs: _containers.RepeatedScalarFieldContainer[str]
    conversationID: str
    seq: int
    def __init__(self, userIDs: _Optional[_Iterable[str]] = ..., conversationID: _Optional[str] = ..., seq: _Optional[int] = ...) -> None: ...

class SetUserConversationsMinSeqResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetUserConversationMaxSeqReq(_message.Message):
    __slots__ = ("conversationID", "ownerUserID", "maxSeq")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    MAXSEQ_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    ownerUserID: _containers.RepeatedScalarFieldContainer[str]
    maxSeq: int
    def __init__(self, conversationID: _Optional[str] = ..., ownerUserID: _Optional[_Iterable[str]] = ..., maxSeq: _Optional[int] = ...) -> None: ...

class SetUserConversationMaxSeqResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetUserConversationMinSeqReq(_message.Message):
    __slots__ = ("conversationID", "ownerUserID", "minSeq")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    MINSEQ_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    ownerUserID: _containers.RepeatedScalarFieldContainer[str]
    minSeq: int
    def __init__(self, conversationID: _Optional[str] = ..., ownerUserID: _Optional[_Iterable[str]] = ..., minSeq: _Optional[int] = ...) -> None: ...

class SetUserConversationMinSeqResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetServerTimeReq(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetServerTimeResp(_message.Message):
    __slots__ = ("serverTime",)
    SERVERTIME_FIELD_NUMBER: _ClassVar[int]
    serverTime: int
    def __init__(self, serverTime: _Optional[int] = ...) -> None: ...

class SearchMessageReq(_message.Message):
    __slots__ = ("sendID", "recvID", "contentType", "sendTime", "sessionType", "pagination")
    SENDID_FIELD_NUMBER: _ClassVar[int]
    RECVID_FIELD_NUMBER: _ClassVar[int]
    CONTENTTYPE_FIELD_NUMBER: _ClassVar[int]
    SENDTIME_FIELD_NUMBER: _ClassVar[int]
    SESSIONTYPE_FIELD_NUMBER: _ClassVar[int]
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    sendID: str
    recvID: str
    contentType: int
    sendTime: str
    sessionType: int
    pagination: _sdkws_pb2.RequestPagination
    def __init__(self, sendID: _Optional[str] = ..., recvID: _Optional[str] = ..., contentType: _Optional[int] = ..., sendTime: _Optional[str] = ..., sessionType: _Optional[int] = ..., pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ...) -> None: ...

class SearchChatLog(_message.Message):
    __slots__ = ("chatLog", "isRevoked")
    CHATLOG_FIELD_NUMBER: _ClassVar[int]
    ISREVOKED_FIELD_NUMBER: _ClassVar[int]
    chatLog: ChatLog
    isRevoked: bool
    def __init__(self, chatLog: _Optional[_Union[ChatLog, _Mapping]] = ..., isRevoked: _Optional[bool] = ...) -> None: ...

class SearchedMsgData(_message.Message):
    __slots__ = ("msgData", "isRevoked")
    MSGDATA_FIELD_NUMBER: _ClassVar[int]
    ISREVOKED_FIELD_NUMBER: _ClassVar[int]
    msgData: _sdkws_pb2.MsgData
    isRevoked: bool
    def __init__(self, msgData: _Optional[_Union[_sdkws_pb2.MsgData, _Mapping]] = ..., isRevoked: _Optional[bool] = ...) -> None: ...

class SearchMessageResp(_message.Message):
    __slots__ = ("chatLogs", "chatLogsNum")
    CHATLOGS_FIELD_NUMBER: _ClassVar[int]
    CHATLOGSNUM_FIELD_NUMBER: _ClassVar[int]
    chatLogs: _containers.RepeatedCompositeFieldContainer[SearchChatLog]
    chatLogsNum: int
    def __init__(self, chatLogs: _Optional[_Iterable[_Union[SearchChatLog, _Mapping]]] = ..., chatLogsNum: _Optional[int] = ...) -> None: ...

class ChatLog(_message.Message):
    __slots__ = ("serverMsgID", "clientMsgID", "sendID", "recvID", "groupID", "recvNickname", "senderPlatformID", "senderNickname", "senderFaceURL", "groupName", "sessionType", "msgFrom", "contentType", "content", "status", "sendTime", "createTime", "ex", "groupFaceURL", "groupMemberCount", "seq", "groupOwner", "groupType")
    SERVERMSGID_FIELD_NUMBER: _ClassVar[int]
    CLIENTMSGID_FIELD_NUMBER: _ClassVar[int]
    SENDID_FIELD_NUMBER: _ClassVar[int]
    RECVID_FIELD_NUMBER: _ClassVar[int]
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    RECVNICKNAME_FIELD_NUMBER: _ClassVar[int]
    SENDERPLATFORMID_FIELD_NUMBER: _ClassVar[int]
    SENDERNICKNAME_FIELD_NUMBER: _ClassVar[int]
    SENDERFACEURL_FIELD_NUMBER: _ClassVar[int]
    GROUPNAME_FIELD_NUMBER: _ClassVar[int]
    SESSIONTYPE_FIELD_NUMBER: _ClassVar[int]
    MSGFROM_FIELD_NUMBER: _ClassVar[int]
    CONTENTTYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SENDTIME_FIELD_NUMBER: _ClassVar[int]
    CREATETIME_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    GROUPFACEURL_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERCOUNT_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    GROUPOWNER_FIELD_NUMBER: _ClassVar[int]
    GROUPTYPE_FIELD_NUMBER: _ClassVar[int]
    serverMsgID: str
    clientMsgID: str
    sendID: str
    recvID: str
    groupID: str
    recvNickname: str
    senderPlatformID: int
    senderNickname: str
    senderFaceURL: str
    groupName: str
    sessionType: int
    msgFrom: int
    contentType: int
    content: str
    status: int
    sendTime: int
    createTime: int
    ex: str
    groupFaceURL: str
    groupMemberCount: int
    seq: int
    groupOwner: str
    groupType: int
    def __init__(self, serverMsgID: _Optional[str] = ..., clientMsgID: _Optional[str] = ..., sendID: _Optional[str] = ..., recvID: _Optional[str] = ..., groupID: _Optional[str] = ..., recvNickname: _Optional[str] = ..., senderPlatformID: _Optional[int] = ..., senderNickname: _Optional[str] = ..., senderFaceURL: _Optional[str] = ..., groupName: _Optional[str] = ..., sessionType: _Optional[int] = ..., msgFrom: _Optional[int] = ..., contentType: _Optional[int] = ..., content: _Optional[str] = ..., status: _Optional[int] = ..., sendTime: _Optional[int] = ..., createTime: _Optional[int] = ..., ex: _Optional[str] = ..., groupFaceURL: _Optional[str] = ..., groupMemberCount: _Optional[int] = ..., seq: _Optional[int] = ..., groupOwner: _Optional[str] = ..., groupType: _Optional[int] = ...) -> None: ...

class batchSendMessageReq(_message.Message):
    __slots__ = ("recvIDList", "msgData")
    RECVIDLIST_FIELD_NUMBER: _ClassVar[int]
    MSGDATA_FIELD_NUMBER: _ClassVar[int]
    recvIDList: _containers.RepeatedScalarFieldContainer[str]
    msgData: _sdkws_pb2.MsgData
    def __init__(self, recvIDList: _Optional[_Iterable[str]] = ..., msgData: _Optional[_Union[_sdkws_pb2.MsgData, _Mapping]] = ...) -> None: ...

class batchSendMessageResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetActiveUserReq(_message.Message):
    __slots__ = ("start", "end", "ase", "group", "pagination")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    ASE_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    ase: bool
    group: bool
    pagination: _sdkws_pb2.RequestPagination
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ..., ase: _Optional[bool] = ..., group: _Optional[bool] = ..., pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ...) -> None: ...

class ActiveUser(_message.Message):
    __slots__ = ("user", "count")
    USER_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    user: _sdkws_pb2.UserInfo
    count: int
    def __init__(self, user: _Optional[_Union[_sdkws_pb2.UserInfo, _Mapping]] = ..., count: _Optional[int] = ...) -> None: ...

class GetActiveUserResp(_message.Message):
    __slots__ = ("msgCount", "userCount", "dateCount", "users")
    class DateCountEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    MSGCOUNT_FIELD_NUMBER: _ClassVar[int]
    USERCOUNT_FIELD_NUMBER: _ClassVar[int]
    DATECOUNT_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    msgCount: int
    userCount: int
    dateCount: _containers.ScalarMap[str, int]
    users: _containers.RepeatedCompositeFieldContainer[ActiveUser]
    def __init__(self, msgCount: _Optional[int] = ..., userCount: _Optional[int] = ..., dateCount: _Optional[_Mapping[str, int]] = ..., users: _Optional[_Iterable[_Union[ActiveUser, _Mapping]]] = ...) -> None: ...

class GetActiveGroupReq(_message.Message):
    __slots__ = ("start", "end", "ase", "pagination")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    ASE_FIELD_NUMBER: _ClassVar[int]
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    ase: bool
    pagination: _sdkws_pb2.RequestPagination
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ..., ase: _Optional[bool] = ..., pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ...) -> None: ...

class ActiveGroup(_message.Message):
    __slots__ = ("group", "count")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    group: _sdkws_pb2.GroupInfo
    count: int
    def __init__(self, group: _Optional[_Union[_sdkws_pb2.GroupInfo, _Mapping]] = ..., count: _Optional[int] = ...) -> None: ...

class GetActiveGroupResp(_message.Message):
    __slots__ = ("msgCount", "groupCount", "dateCount", "groups")
    class DateCountEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    MSGCOUNT_FIELD_NUMBER: _ClassVar[int]
    GROUPCOUNT_FIELD_NUMBER: _ClassVar[int]
    DATECOUNT_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    msgCount: int
    groupCount: int
    dateCount: _containers.ScalarMap[str, int]
    groups: _containers.RepeatedCompositeFieldContainer[ActiveGroup]
    def __init__(self, msgCount: _Optional[int] = ..., groupCount: _Optional[int] = ..., dateCount: _Optional[_Mapping[str, int]] = ..., groups: _Optional[_Iterable[_Union[ActiveGroup, _Mapping]]] = ...) -> None: ...

class GetActiveConversationReq(_message.Message):
    __slots__ = ("conversationIDs", "limit")
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    limit: int
    def __init__(self, conversationIDs: _Optional[_Iterable[str]] = ..., limit: _Optional[int] = ...) -> None: ...

class ActiveConversation(_message.Message):
    __slots__ = ("conversationID", "lastTime", "maxSeq")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    LASTTIME_FIELD_NUMBER: _ClassVar[int]
    MAXSEQ_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    lastTime: int
    maxSeq: int
    def __init__(self, conversationID: _Optional[str] = ..., lastTime: _Optional[int] = ..., maxSeq: _Optional[int] = ...) -> None: ...

class GetActiveConversationResp(_message.Message):
    __slots__ = ("conversations",)
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    conversations: _containers.RepeatedCompositeFieldContainer[ActiveConversation]
    def __init__(self, conversations: _Optional[_Iterable[_Union[ActiveConversation, _Mapping]]] = ...) -> None: ...
