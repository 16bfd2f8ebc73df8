"""/msg/*: REST send, seqs and pulls, read positions, revoke, deletes and clears (docs/protocol/messages.md).

Every route but send_msg, send_business_notification and batch_send_msg is defined by OpenIM in protobuf and goes
through the `api/pb.py` bridge to the msg service, which the WebSocket gateway calls too. Those three have their
own JSON bodies (`api/models/msg.py`, `api/models/msg_batch.py`).
"""

from __future__ import annotations

from openim.api.deps import AdminCallerDep, CallerDep, MsgDep, OperationID
from openim.api.json_body import JsonBodyRoute
from openim.api.models.msg import SendMsgReq, SendMsgResp, SendSimpleMsgReq
from openim.api.models.msg_batch import (
    BatchSendMsgReq,
    BatchSendMsgResp,
    SendBusinessNotificationReq,
    SingleReturnResult,
)
from openim.api.pb import PbRouter
from openim.protocol.pb import msg_pb2, sdkws_pb2

router = PbRouter(prefix="/msg", tags=["msg"], route_class=JsonBodyRoute)


@router.post("/send_msg")
async def send_msg(body: SendMsgReq, caller: AdminCallerDep, op: OperationID, msg: MsgDep) -> SendMsgResp:
    """Admin only: send a message built from `content` (an object) as `sendID`; status kept under operationID."""
    return SendMsgResp.of(await msg.send(caller, body.msg_data(), operation_id=op), body)


@router.post("/send_simple_msg")
async def send_simple_msg(
    body: SendSimpleMsgReq, caller: CallerDep, op: OperationID, msg: MsgDep, key: str | None = None
) -> SendMsgResp:
    """A bot answers a message an after-send webhook told it of: `?key=` from that call, a markdown text (118)
    back to the sender (or into the group, as `sendID`), from the token's user or, with an admin token, anyone."""
    resp = await msg.send_simple(
        caller, key, send_id=body.sendID, content=body.content, push=body.push_info(), ex=body.ex, operation_id=op
    )
    return SendMsgResp.of(resp)


@router.post("/send_business_notification")
async def send_business_notification(
    body: SendBusinessNotificationReq, caller: AdminCallerDep, op: OperationID, msg: MsgDep
) -> SendMsgResp:
    """Admin only: a 2001 BusinessNotification `{key, data}` from sendUserID to a user or a group."""
    return SendMsgResp.of(await msg.send(caller, body.msg_data(), operation_id=op))


@router.post("/batch_send_msg")
async def batch_send_msg(
    body: BatchSendMsgReq, caller: AdminCallerDep, op: OperationID, msg: MsgDep
) -> BatchSendMsgResp:
    """Admin only: send_msg's message to each of recvIDs (every user with isSendAll); failed recipients listed."""
    result = await msg.batch_send(caller, body.msg_data(), body.recvIDs or [], send_all=body.isSendAll, operation_id=op)
    return BatchSendMsgResp(
        results=[
            SingleReturnResult(
                serverMsgID=resp.serverMsgID, clientMsgID=resp.clientMsgID, sendTime=resp.sendTime, recvID=recv_id
            )
            for recv_id, resp in result.sent
        ]
        or None,
        failedUserIDs=result.failed or None,
    )


@router.pb("/check_msg_is_send_success")
async def check_msg_is_send_success(
    req: msg_pb2.GetSendMsgStatusReq, caller: CallerDep, op: OperationID, msg: MsgDep
) -> msg_pb2.GetSendMsgStatusResp:
    """Status (0 unknown, 1 sending, 2 success, 3 failed) of the send made with this request's operationID."""
    return msg_pb2.GetSendMsgStatusResp(status=await msg.check_msg_is_send_success(caller, op))


@router.pb("/search_msg")
async def search_msg(req: msg_pb2.SearchMessageReq, caller: CallerDep, msg: MsgDep) -> msg_pb2.SearchMessageResp:
    """Admin only: chat messages by sender, receiver (user or group), content and session type, and day."""
    return await msg.search_msg(caller, req)


@router.pb("/get_server_time")
async def get_server_time(req: msg_pb2.GetServerTimeReq, msg: MsgDep) -> msg_pb2.GetServerTimeResp:
    """The server's clock in milliseconds."""
    return msg_pb2.GetServerTimeResp(serverTime=await msg.server_time())


@router.pb("/newest_seq")
async def newest_seq(req: sdkws_pb2.GetMaxSeqReq, caller: CallerDep, msg: MsgDep) -> sdkws_pb2.GetMaxSeqResp:
    """The newest seq of each of the user's conversations (as WS 1001)."""
    return await msg.get_max_seq(caller, req)


@router.pb("/pull_msg_by_seq")
async def pull_msg_by_seq(
    req: sdkws_pb2.PullMessageBySeqsReq, caller: CallerDep, msg: MsgDep
) -> sdkws_pb2.PullMessageBySeqsResp:
    """Messages by seq range per conversation; `n_` conversations answer in notificationMsgs (as WS 1002)."""
    return await msg.pull_by_ranges(caller, req)


@router.pb("/get_conversations_has_read_and_max_seq")
async def get_conversations_has_read_and_max_seq(
    req: msg_pb2.GetConversationsHasReadAndMaxSeqReq, caller: CallerDep, msg: MsgDep
) -> msg_pb2.GetConversationsHasReadAndMaxSeqResp:
    """Read position, newest seq and its time per conversation (as WS 1006)."""
    return await msg.get_has_read_and_max_seq(caller, req)


@router.pb("/revoke_msg")
async def revoke_msg(req: msg_pb2.RevokeMsgReq, caller: CallerDep, op: OperationID, msg: MsgDep) -> None:
    """Revoke a message (1404 when already revoked); RevokeMsgTips (2101) to the conversation."""
    await msg.revoke(caller, req, operation_id=op)


@router.pb("/mark_msgs_as_read")
async def mark_msgs_as_read(req: msg_pb2.MarkMsgsAsReadReq, caller: CallerDep, op: OperationID, msg: MsgDep) -> None:
    """Mark messages read and raise the user's read position to the last of them."""
    await msg.mark_msgs_as_read(caller, req, operation_id=op)


@router.pb("/mark_conversation_as_read")
async def mark_conversation_as_read(
    req: msg_pb2.MarkConversationAsReadReq, caller: CallerDep, op: OperationID, msg: MsgDep
) -> None:
    """Raise the user's read position (and mark `seqs` read); MarkAsReadTips (2200)."""
    await msg.mark_conversation_as_read(caller, req, operation_id=op)


@router.pb("/set_conversation_has_read_seq")
async def set_conversation_has_read_seq(
    req: msg_pb2.SetConversationHasReadSeqReq, caller: CallerDep, op: OperationID, msg: MsgDep
) -> None:
    """Set the user's read position (at most the newest seq)."""
    await msg.set_conversation_has_read_seq(caller, req, operation_id=op)


@router.pb("/delete_msgs")
async def delete_msgs(req: msg_pb2.DeleteMsgsReq, caller: CallerDep, op: OperationID, msg: MsgDep) -> None:
    """Delete messages for the user, or for everyone with deleteSyncOpt.IsSyncOther."""
    await msg.delete_msgs(caller, req, operation_id=op)


@router.pb("/clear_conversation_msg")
async def clear_conversation_msg(
    req: msg_pb2.ClearConversationsMsgReq, caller: CallerDep, op: OperationID, msg: MsgDep
) -> None:
    """Clear conversations' history for the user, or for everyone with deleteSyncOpt.IsSyncOther."""
    await msg.clear_conversation_msg(caller, req, operation_id=op)


@router.pb("/user_clear_all_msg")
async def user_clear_all_msg(req: msg_pb2.UserClearAllMsgReq, caller: CallerDep, op: OperationID, msg: MsgDep) -> None:
    """Clear every conversation of the user, as clear_conversation_msg."""
    await msg.user_clear_all_msg(caller, req, operation_id=op)


@router.pb("/delete_msg_phsical_by_seq")  # sic: OpenIM's spelling
async def delete_msg_physical_by_seq(req: msg_pb2.DeleteMsgPhysicalBySeqReq, caller: CallerDep, msg: MsgDep) -> None:
    """Admin only: delete messages of a conversation for everyone."""
    await msg.delete_msg_physical_by_seq(caller, req)


@router.pb("/delete_msg_physical")
async def delete_msg_physical(req: msg_pb2.DeleteMsgPhysicalReq, caller: CallerDep, msg: MsgDep) -> None:
    """Admin only: delete, in the listed conversations, the messages sent before `timestamp` (Unix seconds)."""
    await msg.delete_msg_physical(caller, req)
