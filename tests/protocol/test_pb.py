"""The generated protobuf classes carry OpenIM's packages, message names, field names, numbers and types."""

from __future__ import annotations

import pytest
from google.protobuf.descriptor import FieldDescriptor as F
from google.protobuf.message import Message

from openim.protocol.pb import conversation_pb2, jssdk_pb2, msg_pb2, push_pb2, relation_pb2, sdkws_pb2, wrapperspb_pb2

# (message class, field name, number, type, repeated) — read from OpenIM's protocol repository
# (sdkws/sdkws.proto, msg/msg.proto, conversation/conversation.proto, jssdk/jssdk.proto, push/push.proto).
PINNED: list[tuple[type[Message], str, int, int, bool]] = [
    (sdkws_pb2.MsgData, "sendID", 1, F.TYPE_STRING, False),
    (sdkws_pb2.MsgData, "senderPlatformID", 6, F.TYPE_INT32, False),
    (sdkws_pb2.MsgData, "content", 12, F.TYPE_BYTES, False),
    (sdkws_pb2.MsgData, "seq", 14, F.TYPE_INT64, False),
    (sdkws_pb2.MsgData, "sendTime", 15, F.TYPE_INT64, False),
    (sdkws_pb2.MsgData, "status", 17, F.TYPE_INT32, False),
    (sdkws_pb2.MsgData, "isRead", 18, F.TYPE_BOOL, False),
    (sdkws_pb2.MsgData, "options", 19, F.TYPE_MESSAGE, True),
    (sdkws_pb2.MsgData, "offlinePushInfo", 20, F.TYPE_MESSAGE, False),
    (sdkws_pb2.MsgData, "atUserIDList", 21, F.TYPE_STRING, True),
    (sdkws_pb2.MsgData, "ex", 23, F.TYPE_STRING, False),
    (sdkws_pb2.OfflinePushInfo, "iOSPushSound", 4, F.TYPE_STRING, False),
    (sdkws_pb2.OfflinePushInfo, "iOSBadgeCount", 5, F.TYPE_BOOL, False),
    (sdkws_pb2.PullMsgs, "Msgs", 1, F.TYPE_MESSAGE, True),
    (sdkws_pb2.PullMsgs, "isEnd", 2, F.TYPE_BOOL, False),
    (sdkws_pb2.PullMsgs, "endSeq", 3, F.TYPE_INT64, False),
    (sdkws_pb2.SeqRange, "num", 4, F.TYPE_INT64, False),
    (sdkws_pb2.PullMessageBySeqsReq, "order", 3, F.TYPE_ENUM, False),
    (sdkws_pb2.PullMessageBySeqsResp, "notificationMsgs", 2, F.TYPE_MESSAGE, True),
    (sdkws_pb2.GetMaxSeqResp, "minSeqs", 2, F.TYPE_MESSAGE, True),
    (sdkws_pb2.PushMessages, "notificationMsgs", 2, F.TYPE_MESSAGE, True),
    (sdkws_pb2.SubUserOnlineStatusElem, "onlinePlatformIDs", 2, F.TYPE_INT32, True),
    (sdkws_pb2.RevokeMsgTips, "sesstionType", 5, F.TYPE_INT32, False),
    (sdkws_pb2.RevokeMsgTips, "isAdminRevoke", 8, F.TYPE_BOOL, False),
    (sdkws_pb2.MessageRevokedContent, "sessionType", 10, F.TYPE_INT32, False),
    (sdkws_pb2.MemberEnterTips, "groupMemberVersion", 5, F.TYPE_UINT64, False),
    (sdkws_pb2.GroupApplicationAcceptedTips, "handleMsg", 4, F.TYPE_STRING, False),
    (sdkws_pb2.GroupInfo, "memberCount", 8, F.TYPE_UINT32, False),
    (sdkws_pb2.GroupInfo, "notificationUserID", 17, F.TYPE_STRING, False),
    (sdkws_pb2.UserInfo, "appMangerLevel", 6, F.TYPE_INT32, False),
    (sdkws_pb2.UserInfoWithEx, "globalRecvMsgOpt", 7, F.TYPE_MESSAGE, False),
    (sdkws_pb2.GroupMemberFullInfo, "inviterUserID", 12, F.TYPE_STRING, False),
    (sdkws_pb2.FriendInfo, "isPinned", 8, F.TYPE_BOOL, False),
    (sdkws_pb2.GroupMemberMutedTips, "mutedSeconds", 5, F.TYPE_UINT32, False),
    (msg_pb2.SendMsgResp, "modify", 4, F.TYPE_MESSAGE, False),
    (msg_pb2.ConversationSeqs, "conversationID", 2, F.TYPE_STRING, False),
    (msg_pb2.ConversationSeqs, "seqs", 3, F.TYPE_INT64, True),
    (msg_pb2.GetSeqMessageReq, "order", 3, F.TYPE_ENUM, False),
    (msg_pb2.Seqs, "maxSeqTime", 3, F.TYPE_INT64, False),
    (msg_pb2.GetConversationsHasReadAndMaxSeqResp, "pinnedConversationIDs", 2, F.TYPE_STRING, True),
    (msg_pb2.DeleteSyncOpt, "IsSyncSelf", 3, F.TYPE_BOOL, False),
    (msg_pb2.DeleteSyncOpt, "IsSyncOther", 4, F.TYPE_BOOL, False),
    (msg_pb2.UserClearAllMsgReq, "deleteSyncOpt", 3, F.TYPE_MESSAGE, False),
    (msg_pb2.DeleteMsgsReq, "deleteSyncOpt", 4, F.TYPE_MESSAGE, False),
    (msg_pb2.SetConversationHasReadSeqReq, "noNotification", 4, F.TYPE_BOOL, False),
    (msg_pb2.GetSendMsgStatusResp, "status", 1, F.TYPE_INT32, False),
    (msg_pb2.GetServerTimeResp, "serverTime", 1, F.TYPE_INT64, False),
    (conversation_pb2.Conversation, "isMsgDestruct", 17, F.TYPE_BOOL, False),
    (conversation_pb2.ConversationReq, "isPinned", 6, F.TYPE_MESSAGE, False),
    (conversation_pb2.ConversationReq, "isMsgDestruct", 15, F.TYPE_MESSAGE, False),
    (conversation_pb2.ConversationElem, "IsPinned", 4, F.TYPE_BOOL, False),
    (conversation_pb2.MsgInfo, "LatestMsgRecvTime", 13, F.TYPE_INT64, False),
    (conversation_pb2.GetConversationsResp, "conversations", 2, F.TYPE_MESSAGE, True),
    (conversation_pb2.GetFullOwnerConversationIDsReq, "idHash", 1, F.TYPE_UINT64, False),
    (conversation_pb2.GetIncrementalConversationResp, "delete", 4, F.TYPE_STRING, True),
    (conversation_pb2.GetIncrementalConversationResp, "update", 6, F.TYPE_MESSAGE, True),
    (jssdk_pb2.ConversationMsg, "friend", 4, F.TYPE_MESSAGE, False),
    (jssdk_pb2.ConversationMsg, "readSeq", 7, F.TYPE_INT64, False),
    (jssdk_pb2.GetActiveConversationsReq, "count", 2, F.TYPE_INT64, False),
    (push_pb2.DelUserPushTokenReq, "platformID", 2, F.TYPE_INT32, False),
    (relation_pb2.FriendInfoOnly, "isPinned", 8, F.TYPE_BOOL, False),
]


@pytest.mark.parametrize(
    ("cls", "name", "number", "type_", "repeated"), PINNED, ids=[f"{c.__name__}.{n}" for c, n, *_ in PINNED]
)
def test_field_is_openims(cls: type[Message], name: str, number: int, type_: int, repeated: bool) -> None:
    """Each pinned field has OpenIM's exact name, number, type and cardinality."""
    field = cls.DESCRIPTOR.fields_by_name[name]
    assert (field.number, field.type, field.is_repeated) == (number, type_, repeated)


@pytest.mark.parametrize(
    ("cls", "full_name"),
    [
        (sdkws_pb2.MsgData, "openim.sdkws.MsgData"),
        (sdkws_pb2.seqs, "openim.sdkws.seqs"),
        (msg_pb2.GetSeqMessageReq, "openim.msg.GetSeqMessageReq"),
        (msg_pb2.batchSendMessageReq, "openim.msg.batchSendMessageReq"),
        (conversation_pb2.Conversation, "openim.conversation.Conversation"),
        (jssdk_pb2.ConversationMsg, "openim.jssdk.ConversationMsg"),
        (push_pb2.DelUserPushTokenReq, "openim.push.DelUserPushTokenReq"),
        (relation_pb2.FriendInfoOnly, "openim.relation.FriendInfoOnly"),
        (wrapperspb_pb2.StringValue, "openim.protobuf.StringValue"),
    ],
)
def test_packages_are_openims(cls: type[Message], full_name: str) -> None:
    """Messages live in OpenIM's packages under OpenIM's names (lower-case ones included)."""
    assert cls.DESCRIPTOR.full_name == full_name


def test_wrappers_are_openims_not_googles() -> None:
    """ConversationReq's optional settings use openim.protobuf wrappers."""
    fields = conversation_pb2.ConversationReq.DESCRIPTOR.fields_by_name
    assert fields["recvMsgOpt"].message_type.full_name == "openim.protobuf.Int32Value"
    assert fields["ex"].message_type.full_name == "openim.protobuf.StringValue"
    assert fields["minSeq"].message_type.full_name == "openim.protobuf.Int64Value"


def test_pull_order_values() -> None:
    """PullOrder is asc 0, desc 1."""
    assert sdkws_pb2.PullOrderAsc == 0 and sdkws_pb2.PullOrderDesc == 1


def test_msg_data_wire_bytes() -> None:
    """Tags on the wire: seq is field 14 (0x70), options field 19 (0x9a 0x01), content field 12 (0x62)."""
    assert sdkws_pb2.MsgData(seq=1).SerializeToString() == b"\x70\x01"
    assert sdkws_pb2.MsgData(content=b"x").SerializeToString() == b"\x62\x01x"
    assert sdkws_pb2.MsgData(options={"history": False}).SerializeToString() == (b"\x9a\x01\x0b\x0a\x07history\x10\x00")


def test_get_max_seq_resp_parses_go_bytes() -> None:
    """A GetMaxSeqResp as Go writes it (map entry: key 1, value 2) parses."""
    entry = b"\x0a\x04si_a" + b"\x10\x05"
    resp = sdkws_pb2.GetMaxSeqResp.FromString(b"\x0a" + bytes([len(entry)]) + entry)
    assert dict(resp.maxSeqs) == {"si_a": 5}
