"""Bus subscribers of the gateway: committed messages out to local connections (2001), kicks (2002).

Topic "push" (`infra.bus.Push`): every local connection of every recipient gets one 2001 frame whose `PushMessages`
holds one entry keyed by the conversation ID, in `notificationMsgs` for `n_` conversations else in `msgs`, with
OperationID = the sending request's and MsgIncr "" (docs/protocol/gateway.md §6). An iOS connection in background (2004)
is skipped, so offline push applies to it. The sending connection gets its copy after its 1003 reply (conn.py). Frames
are queued synchronously in the bus's delivery order, so the messages of a conversation reach each connection in seq
order; each event is encoded once per codec variant, WebSocket framing included (conn.Framed).

Topic "kick" (`infra.bus.Kick(user_id, platform_id, tokens)`, published by the auth service): the matching
local connections get 2002 and are closed.
"""

from __future__ import annotations

import logging

from openim.gateway.conn import Framed
from openim.gateway.frames import Resp
from openim.gateway.hub import Hub
from openim.infra.bus import Kick, Push
from openim.metrics import MSG_PUSHED
from openim.protocol.constants import IOS, ReqIdentifier
from openim.protocol.pb import sdkws_pb2

__all__ = ["PushDelivery", "push_messages"]

log = logging.getLogger("openim.gateway")


def push_messages(conversation_id: str, msg: sdkws_pb2.MsgData) -> sdkws_pb2.PushMessages:
    """The 2001 payload for one message: one map entry, in notificationMsgs when the conversation is `n_`."""
    push = sdkws_pb2.PushMessages()
    target = push.notificationMsgs if conversation_id.startswith("n_") else push.msgs
    target[conversation_id].Msgs.append(msg)
    return push


class PushDelivery:
    """Delivers bus events to the connections of one Hub."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    def on_push(self, event: object) -> None:
        """Queue one 2001 frame per local connection of each recipient (synchronously: keeps the bus's order)."""
        if not isinstance(event, Push):
            log.warning("push: ignoring %r", type(event))
            return
        hub = self._hub
        targets = [c for c in hub.conns_of(event.user_ids) if not (c.background and c.platform_id == IOS)]
        if not targets:
            return
        resp = Resp(
            req_identifier=int(ReqIdentifier.PUSH_MSG),
            msg_incr="",
            operation_id=event.operation_id,
            err_code=0,
            err_msg="",
            data=push_messages(event.conversation_id, event.msg).SerializeToString(),
        )
        encoded: dict[tuple[str, bool], Framed] = {}
        pushed = 0
        operation_id = event.operation_id
        for conn in targets:
            frame = encoded.get(conn.push_key)
            if frame is None:  # once per envelope kind: the same bytes, WebSocket framing included, for all
                frame = encoded[conn.push_key] = Framed.of(conn.codec.encode_resp(resp))
            pushed += conn.send_push(frame, operation_id)
        MSG_PUSHED.inc(pushed)

    def on_kick(self, event: object) -> None:
        """Send 2002 to, and close, the local connections of (user, platform) that use one of the event's tokens."""
        if not isinstance(event, Kick):
            log.warning("kick: ignoring %r", type(event))
            return
        kicked = self._hub.kick(event.user_id, event.platform_id, event.tokens)
        if kicked:
            log.info("kick %s/%s: closed %d connection(s)", event.user_id, event.platform_id, len(kicked))
