"""Batch send (REST /msg/batch_send_msg): one message to many users, admin only, one transaction per chunk.

OpenIM sends the message to each recipient in turn through SendMsg (one Kafka produce each) and collects the
recipients whose send failed. Here each chunk of BATCH_CHUNK recipients is checked recipient by recipient as
SendMsg checks (receiver exists, receive options, notification-account rules for sessionType 4), then stored
through the group-commit writer back to back (`MsgCore.deliver_many`): one transaction per chunk, not per
recipient. A recipient whose check fails, or whose chunk's transaction fails, is reported in `failed`.

Differences on purpose: each recipient's message gets its own clientMsgID (OpenIM reuses one for every recipient,
which the (sendID, clientMsgID) resend check here would fold into one message); only sessionType 1 and 4 (a
group session would send the same group message once per recipient in OpenIM); an explicit list holds at most
MAX_RECV_IDS recipients (isSendAll pages through every user, BATCH_CHUNK at a time).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from openim.metrics import MSG_SENT, child
from openim.protocol.constants import SessionType
from openim.protocol.errors import ArgsError, OpenIMError
from openim.protocol.ids import new_client_msg_id
from openim.protocol.pb import msg_pb2
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.services.auth import Caller
from openim.services.msg.send import SendMixin, check_msg

__all__ = ["BATCH_CHUNK", "MAX_RECV_IDS", "BatchMixin", "BatchResult"]

BATCH_CHUNK = 500  # recipients per transaction: the writer's default max_batch
MAX_RECV_IDS = 10_000


@dataclass(frozen=True, slots=True)
class BatchResult:
    sent: list[tuple[str, msg_pb2.SendMsgResp]]  # (recvID, its message's answer), in recipient order
    failed: list[str]


class BatchMixin(SendMixin):
    """The batch send of MsgService."""

    async def batch_send(
        self, caller: Caller, template: MsgData, recv_ids: list[str], *, send_all: bool, operation_id: str
    ) -> BatchResult:
        """Send `template` to each of `recv_ids` (or every user with `send_all`) as its own message."""
        caller.require_admin()
        if template.sessionType not in (SessionType.SINGLE_CHAT, SessionType.NOTIFICATION_CHAT):
            raise ArgsError("batch_send_msg sends to users: sessionType 1 or 4")
        if not send_all and len(recv_ids) > MAX_RECV_IDS:
            raise ArgsError(f"at most {MAX_RECV_IDS} recvIDs")
        self.limits.check(template)  # once for all: every recipient's copy is the same size
        sent: list[tuple[str, msg_pb2.SendMsgResp]] = []
        failed: list[str] = []
        async for chunk in self._recipient_chunks(recv_ids, send_all):
            await self._send_chunk(template, chunk, sent, failed, operation_id)
        return BatchResult(sent, failed)

    async def _recipient_chunks(self, recv_ids: list[str], send_all: bool) -> AsyncIterator[list[str]]:
        if not send_all:
            for start in range(0, len(recv_ids), BATCH_CHUNK):
                yield recv_ids[start : start + BATCH_CHUNK]
            return
        offset = 0
        while True:
            _, ids = await self.storage.user.page_user_ids(offset, BATCH_CHUNK)
            if ids:
                yield ids
            if len(ids) < BATCH_CHUNK:
                return
            offset += BATCH_CHUNK

    async def _send_chunk(
        self,
        template: MsgData,
        recv_ids: list[str],
        sent: list[tuple[str, msg_pb2.SendMsgResp]],
        failed: list[str],
        operation_id: str,
    ) -> None:
        ready: list[tuple[str, MsgData]] = []
        for recv_id in recv_ids:
            msg = MsgData()
            msg.CopyFrom(template)
            msg.recvID = recv_id
            msg.clientMsgID = new_client_msg_id(msg.sendID)
            try:
                check_msg(msg)
                self._encapsulate(msg)
                if msg.sessionType == SessionType.SINGLE_CHAT:
                    await self._verify_single(msg, operation_id=operation_id)
                    if self.hooks.before_msg_modify.enable:
                        await self._before_msg_modify(msg, operation_id)
                else:
                    await self._verify_notification_chat(msg)
            except OpenIMError:
                failed.append(recv_id)
                continue
            ready.append((recv_id, msg))
        outcomes = await self.deliver_many([msg for _, msg in ready], operation_id=operation_id)
        for (recv_id, msg), outcome in zip(ready, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                failed.append(recv_id)
                continue
            answer = outcome.msg if outcome is not None else msg
            if self.hooks.after_send_single_msg.enable:
                await self._after_send(answer, operation_id)
            resp = msg_pb2.SendMsgResp(
                serverMsgID=answer.serverMsgID, clientMsgID=answer.clientMsgID, sendTime=answer.sendTime
            )
            sent.append((recv_id, resp))
        if ready:
            child(MSG_SENT, "single" if ready[0][1].sessionType == SessionType.SINGLE_CHAT else "notification").inc(
                len(ready)
            )
