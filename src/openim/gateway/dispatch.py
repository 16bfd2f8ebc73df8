"""ReqIdentifier → service call: the WebSocket "routes" (docs/protocol/gateway.md §5), and the gateway's one error
translation.

Each request's `Data` is decoded into the protobuf class OpenIM defines for it, one service method is called with the
connection's Caller, and the reply carries the same ReqIdentifier, MsgIncr and OperationID (docs/protocol/gateway.md
§2.5). Errors (house rule 2 of docs/development.md): an `OpenIMError` becomes ErrCode/ErrMsg with no Data and the
connection stays; `Data` that is not valid protobuf, or breaks the input rules of `openim.protocol.inputs` (a NUL in
any string), is 1001 ArgsError (the envelope was fine, so no close); anything else is 500, logged with its
operationID. An unknown ReqIdentifier raises ProtocolViolation: conn.py closes, as OpenIM
does, and sends nothing a Go SDK could not decode.

Each handled request is counted in `openim_ws_requests_total{reqIdentifier, errCode}` and timed in
`openim_ws_request_seconds`; while it runs, `openim.context` holds its operationID and the connection's userID.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from openim import context
from openim.gateway.conn import Conn, ProtocolViolation
from openim.gateway.frames import Req, Resp
from openim.gateway.hub import Hub
from openim.infra.ratelimit import Bucket, Rates
from openim.metrics import observe_ws
from openim.protocol.constants import ReqIdentifier
from openim.protocol.errors import (
    ArgsError,
    NetworkError,
    OpenIMError,
    ServerInternalError,
    TooManyRequests,
    unreachable,
)
from openim.protocol.inputs import check_message
from openim.protocol.pb import msg_pb2, push_pb2, sdkws_pb2
from openim.services.msg import MsgService
from openim.services.third import ThirdService

__all__ = ["Dispatcher"]

log = logging.getLogger("openim.gateway")

_Route = Callable[[Conn, Req], Awaitable[bytes]]
M = TypeVar("M", bound=Message)


def _decode(cls: type[M], data: bytes) -> M:
    try:
        message = cls.FromString(data)
    except DecodeError as exc:
        raise ArgsError(f"{cls.DESCRIPTOR.full_name}: {exc}") from None
    check_message(message, data)
    return message


_SENDS = frozenset((ReqIdentifier.SEND_MSG, ReqIdentifier.SEND_SIGNAL_MSG))


class Dispatcher:
    """Handles one decoded request of one connection and returns its reply (None: no reply)."""

    def __init__(self, *, msg: MsgService, third: ThirdService, hub: Hub, rates: Rates | None = None) -> None:
        self._msg = msg
        self._third = third
        self._hub = hub
        self._rates = rates
        self._routes: dict[int, _Route] = {
            ReqIdentifier.GET_NEWEST_SEQ: self._get_newest_seq,
            ReqIdentifier.PULL_MSG_BY_RANGE: self._pull_by_ranges,
            ReqIdentifier.SEND_MSG: self._send_msg,
            ReqIdentifier.SEND_SIGNAL_MSG: self._send_signal_msg,
            ReqIdentifier.PULL_MSG_BY_SEQ_LIST: self._pull_by_seqs,
            ReqIdentifier.GET_CONV_MAX_READ_SEQ: self._get_conv_max_read_seq,
            ReqIdentifier.PULL_CONV_LAST_MESSAGE: self._pull_conv_last_message,
            ReqIdentifier.LOGOUT_MSG: self._logout,
            ReqIdentifier.SET_BACKGROUND_STATUS: self._set_background,
            ReqIdentifier.SUB_USER_ONLINE_STATUS: self._sub_user_online_status,
        }

    async def handle(self, conn: Conn, req: Req) -> Resp | None:
        route = self._routes.get(req.req_identifier)
        if route is None:
            raise ProtocolViolation(f"unknown reqIdentifier {req.req_identifier}")
        err_code, err_msg, data = 0, "", b""
        started_at = time.perf_counter()
        op_token = context.operation_id.set(req.operation_id)
        user_token = context.user_id.set(conn.user_id)
        try:
            if self._rates is not None:
                await self._check_rates(conn, req)
            data = await route(conn, req)
        except OpenIMError as exc:
            err_code, err_msg = exc.code, exc.message
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "ws %d: %s %s",
                    req.req_identifier,
                    exc.code,
                    exc.detail,
                    extra={"operationID": req.operation_id, "userID": conn.user_id, "errCode": exc.code},
                )
        except Exception as exc:
            if unreachable(exc):  # PostgreSQL or Redis away: NetworkError, which the SDK may retry
                log.warning("ws %d: %s", req.req_identifier, exc, extra={"operationID": req.operation_id})
                err_code, err_msg = NetworkError.code, NetworkError.msg
            else:
                log.exception(
                    "ws %d failed",
                    req.req_identifier,
                    extra={"operationID": req.operation_id, "userID": conn.user_id, "errCode": 500},
                )
                err_code, err_msg = ServerInternalError.code, ServerInternalError.msg
        finally:
            context.user_id.reset(user_token)
            context.operation_id.reset(op_token)
        observe_ws(req.req_identifier, err_code, time.perf_counter() - started_at)
        resp = Resp(
            req_identifier=req.req_identifier,
            msg_incr=req.msg_incr,
            operation_id=req.operation_id,
            err_code=err_code,
            err_msg=err_msg,
            data=data,
        )
        if req.req_identifier == ReqIdentifier.LOGOUT_MSG and err_code == 0:
            conn.send(resp)
            conn.close("logout")
            return None
        return resp

    async def _check_rates(self, conn: Conn, req: Req) -> None:
        """TooManyRequests (429, the request unanswered otherwise) over the connection's frame budget or, for a
        send, over the user's send budget (shared by the user's connections, and processes with Redis)."""
        assert self._rates is not None
        if conn.frames is None:
            conn.frames = Bucket(self._rates.conn_frames)
        if not conn.frames.allow():
            raise TooManyRequests("ratelimiter.connFrames")
        if req.req_identifier in _SENDS and not await self._rates.limiter.allow(self._rates.user_sends, conn.user_id):
            raise TooManyRequests("ratelimiter.userSends")

    # ---- routes -------------------------------------------------------------------------------------------

    async def _get_newest_seq(self, conn: Conn, req: Req) -> bytes:
        resp = await self._msg.get_max_seq(conn.caller, _decode(sdkws_pb2.GetMaxSeqReq, req.data))
        return resp.SerializeToString()

    async def _pull_by_ranges(self, conn: Conn, req: Req) -> bytes:
        resp = await self._msg.pull_by_ranges(conn.caller, _decode(sdkws_pb2.PullMessageBySeqsReq, req.data))
        return resp.SerializeToString()

    async def _send_msg(self, conn: Conn, req: Req) -> bytes:
        msg = _decode(sdkws_pb2.MsgData, req.data)
        resp = await self._msg.send(conn.caller, msg, operation_id=req.operation_id)
        return resp.SerializeToString()

    async def _send_signal_msg(self, conn: Conn, req: Req) -> bytes:
        raise ArgsError("signal messages are not supported")  # OpenIM calls SendMsg with a nil request: an error

    async def _pull_by_seqs(self, conn: Conn, req: Req) -> bytes:
        resp = await self._msg.pull_by_seqs(conn.caller, _decode(msg_pb2.GetSeqMessageReq, req.data))
        return resp.SerializeToString()

    async def _get_conv_max_read_seq(self, conn: Conn, req: Req) -> bytes:
        decoded = _decode(msg_pb2.GetConversationsHasReadAndMaxSeqReq, req.data)
        resp = await self._msg.get_has_read_and_max_seq(conn.caller, decoded)
        return resp.SerializeToString()

    async def _pull_conv_last_message(self, conn: Conn, req: Req) -> bytes:
        resp = await self._msg.get_last_message(conn.caller, _decode(msg_pb2.GetLastMessageReq, req.data))
        return resp.SerializeToString()

    async def _logout(self, conn: Conn, req: Req) -> bytes:
        # OpenIM deletes the offline-push token of the (userID, platformID) the body names; the connection's
        # own device here (services/third.py), so a logout stops pushes to this device and to no one else's.
        _decode(push_pb2.DelUserPushTokenReq, req.data)
        await self._third.logout(conn.caller)
        return push_pb2.DelUserPushTokenResp().SerializeToString()

    async def _set_background(self, conn: Conn, req: Req) -> bytes:
        decoded = _decode(sdkws_pb2.SetAppBackgroundStatusReq, req.data)
        await self._hub.set_background(conn, decoded.isBackground)
        return b""

    async def _sub_user_online_status(self, conn: Conn, req: Req) -> bytes:
        sub = _decode(sdkws_pb2.SubUserOnlineStatus, req.data)
        await self._hub.subscribe_conn(conn, sub.subscribeUserID, sub.unsubscribeUserID)
        tips = sdkws_pb2.SubUserOnlineStatusTips()
        if sub.subscribeUserID:
            online = await self._hub.online_platforms(list(sub.subscribeUserID))
            for user_id in sub.subscribeUserID:
                tips.subscribers.add(userID=user_id, onlinePlatformIDs=online.get(user_id, []))
        return tips.SerializeToString()
