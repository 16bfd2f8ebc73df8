"""What an SDK-like test client does on the gateway with the JSON envelope: send one text message and wait for its
reply, skipping the pushes that arrive before it (the fault and graceful-stop tests drive many such clients)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from openim.gateway.frames import FrameCodec, Req, Resp
from openim.protocol.constants import ReqIdentifier
from openim.protocol.pb import sdkws_pb2

__all__ = ["JSON_CODEC", "send_text"]

JSON_CODEC = FrameCodec("json", gzip=False)


async def send_text(ws: Any, sender: str, receiver: str, text: str, *, timeout_s: float) -> Resp:
    """Send `text` from `sender` to `receiver` (1:1; `text` is also the clientMsgID, operationID and msgIncr) on
    the open connection `ws`; the reply to it (its errCode may be non-zero)."""
    msg = sdkws_pb2.MsgData(
        sendID=sender,
        recvID=receiver,
        clientMsgID=text,
        sessionType=1,
        contentType=101,
        content=json.dumps({"content": text}).encode(),
    )
    req = Req(
        int(ReqIdentifier.SEND_MSG), send_id=sender, operation_id=text, msg_incr=text, data=msg.SerializeToString()
    )
    await ws.send(JSON_CODEC.encode_req(req))
    while True:
        resp = JSON_CODEC.decode_resp(await asyncio.wait_for(ws.recv(), timeout_s))
        if resp.msg_incr == text:
            return resp
