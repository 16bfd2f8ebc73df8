"""/jssdk/*: the JS SDK's conversation list with last messages (OpenIM's internal/api/jssdk/jssdk.go), in JSON or in
protobuf.

Both routes accept `application/x-protobuf` bodies, as the JS SDK sends them, and then answer `data` as the
base64 of the serialized response (`api/pb.py`). They always act for the caller, whatever ownerUserID says.
"""

from __future__ import annotations

from openim.api.deps import CallerDep, ConversationDep
from openim.api.json_body import JsonBodyRoute
from openim.api.pb import PbRouter
from openim.protocol.pb import jssdk_pb2

router = PbRouter(prefix="/jssdk", tags=["jssdk"], route_class=JsonBodyRoute)


@router.pb("/get_active_conversations", protobuf=True)
async def get_active_conversations(
    req: jssdk_pb2.GetActiveConversationsReq, caller: CallerDep, conversation: ConversationDep
) -> jssdk_pb2.GetActiveConversationsResp:
    """The caller's `count` latest conversations with messages (pinned first) and its total unread count."""
    return await conversation.get_active_conversations(caller, req)


@router.pb("/get_conversations", protobuf=True)
async def get_conversations(
    req: jssdk_pb2.GetConversationsReq, caller: CallerDep, conversation: ConversationDep
) -> jssdk_pb2.GetConversationsResp:
    """The caller's listed conversations that have messages, with last message, seqs and peer or group."""
    return await conversation.jssdk_get_conversations(caller, req)
