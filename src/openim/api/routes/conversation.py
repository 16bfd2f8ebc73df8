"""/conversation/*: the owner's conversations, their settings and incremental sync (docs/protocol/rest.md §6).

All requests and responses are OpenIM's protobuf messages (`openim.conversation`), decoded and answered by the
`api/pb.py` bridge; the conversation service decides who may read or change what.
"""

from __future__ import annotations

from openim.api.deps import CallerDep, ConversationDep, OperationID
from openim.api.json_body import JsonBodyRoute
from openim.api.pb import PbRouter
from openim.protocol.pb import conversation_pb2 as pb

router = PbRouter(prefix="/conversation", tags=["conversation"], route_class=JsonBodyRoute)


@router.pb("/get_all_conversations")
async def get_all_conversations(
    req: pb.GetAllConversationsReq, caller: CallerDep, conversation: ConversationDep
) -> pb.GetAllConversationsResp:
    """Every conversation of ownerUserID."""
    return await conversation.get_all_conversations(caller, req)


@router.pb("/get_conversation")
async def get_conversation(
    req: pb.GetConversationReq, caller: CallerDep, conversation: ConversationDep
) -> pb.GetConversationResp:
    """One conversation of ownerUserID (1004 when it has none by that ID)."""
    return await conversation.get_conversation(caller, req)


@router.pb("/get_conversations")
async def get_conversations(
    req: pb.GetConversationsReq, caller: CallerDep, conversation: ConversationDep
) -> pb.GetConversationsResp:
    """The listed conversations of ownerUserID; missing ones are left out."""
    return await conversation.get_conversations(caller, req)


@router.pb("/get_sorted_conversation_list")
async def get_sorted_conversation_list(
    req: pb.GetSortedConversationListReq, caller: CallerDep, conversation: ConversationDep
) -> pb.GetSortedConversationListResp:
    """A page of conversations with unread counts and latest message, pinned first, newest first."""
    return await conversation.get_sorted_conversation_list(caller, req)


@router.pb("/set_conversations")
async def set_conversations(
    req: pb.SetConversationsReq, caller: CallerDep, op: OperationID, conversation: ConversationDep
) -> pb.SetConversationsResp:
    """Set the present (non-null) fields of `conversation` for each of userIDs."""
    return await conversation.set_conversations(caller, req, operation_id=op)


@router.pb("/get_full_conversation_ids")
async def get_full_conversation_ids(
    req: pb.GetFullOwnerConversationIDsReq, caller: CallerDep, conversation: ConversationDep
) -> pb.GetFullOwnerConversationIDsResp:
    """All conversation IDs of the user and the version log's version; none when idHash matches."""
    return await conversation.get_full_conversation_ids(caller, req)


@router.pb("/get_incremental_conversations")
async def get_incremental_conversations(
    req: pb.GetIncrementalConversationReq, caller: CallerDep, conversation: ConversationDep
) -> pb.GetIncrementalConversationResp:
    """The conversations changed since (versionID, version), or full=true."""
    return await conversation.get_incremental_conversations(caller, req)


@router.pb("/get_owner_conversation")
async def get_owner_conversation(
    req: pb.GetOwnerConversationReq, caller: CallerDep, conversation: ConversationDep
) -> pb.GetOwnerConversationResp:
    """A page of the user's conversations and their total."""
    return await conversation.get_owner_conversation(caller, req)


@router.pb("/get_not_notify_conversation_ids")
async def get_not_notify_conversation_ids(
    req: pb.GetNotNotifyConversationIDsReq, caller: CallerDep, conversation: ConversationDep
) -> pb.GetNotNotifyConversationIDsResp:
    """The user's conversations with recvMsgOpt 2 (receive, don't notify)."""
    return await conversation.get_not_notify_conversation_ids(caller, req)


@router.pb("/get_pinned_conversation_ids")
async def get_pinned_conversation_ids(
    req: pb.GetPinnedConversationIDsReq, caller: CallerDep, conversation: ConversationDep
) -> pb.GetPinnedConversationIDsResp:
    """The user's pinned conversations."""
    return await conversation.get_pinned_conversation_ids(caller, req)


@router.pb("/delete_conversations")
async def delete_conversations(
    req: pb.DeleteConversationsReq, caller: CallerDep, conversation: ConversationDep
) -> pb.DeleteConversationsResp:
    """Delete the listed conversations, or those idle for needDeleteTime days (exactly one of the two)."""
    return await conversation.delete_conversations(caller, req)


@router.pb("/update_conversations_by_user")
async def update_conversations_by_user(
    req: pb.UpdateConversationsByUserReq, caller: CallerDep, conversation: ConversationDep
) -> pb.UpdateConversationsByUserResp:
    """Set `ex` on every conversation of the user."""
    return await conversation.update_conversations_by_user(caller, req)


@router.pb("/get_conversation_offline_push_user_ids")
async def get_conversation_offline_push_user_ids(
    req: pb.GetConversationOfflinePushUserIDsReq, caller: CallerDep, conversation: ConversationDep
) -> pb.GetConversationOfflinePushUserIDsResp:
    """Admin: of `userIDs`, those whose settings of the conversation let offline pushes through (recvMsgOpt 0).

    OpenIM defines it and leaves the route commented out; served here for the routes audit (issue 11).
    """
    return await conversation.get_conversation_offline_push_user_ids(caller, req)
