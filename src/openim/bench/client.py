"""One SDK-like WebSocket connection to the gateway, for load: handshake, requests with replies, pushes.

Two envelopes, as the real SDKs speak them (docs/protocol/gateway.md; codec: `openim.gateway.frames`):
- `json`: `@openim/client-sdk` — platform Web (5), `isMsgResp=true&sdkType=js`, no gzip, first a text handshake
  frame, text `{"type":"ping"}` heartbeats;
- `gob`: the Go SDK — platform Android (2), `compression=gzip`, `sdkVersion`, HTTP 101 is the handshake,
  WebSocket control pings.

The codec is the server's own sans-I/O `FrameCodec` (its client half). A reader task per connection resolves
the request waiting for each reply (by `msgIncr`) and hands 2001 pushes to a callback; it never blocks.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import Callable
from typing import Literal

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from openim.gateway.frames import FrameCodec, Req, Resp
from openim.protocol.constants import ReqIdentifier

__all__ = ["ANDROID", "WEB", "Envelope", "GatewayClient", "GatewayError", "platform_of"]

Envelope = Literal["json", "gob"]
ANDROID, WEB = 2, 5
_PUSH = int(ReqIdentifier.PUSH_MSG)
_KICK = int(ReqIdentifier.KICK_ONLINE_MSG)
_PING_JSON = '{"type":"ping"}'


class GatewayError(Exception):
    """The handshake failed, a reply carried errCode ≠ 0, or the connection ended under a request."""


def platform_of(envelope: Envelope) -> int:
    """The platform the SDK that speaks `envelope` logs in with (JS SDK: Web; Go SDK: Android)."""
    return WEB if envelope == "json" else ANDROID


class GatewayClient:
    """A connection of `user_id`; `on_push(resp)` gets every 2001 frame, decoded to its envelope."""

    def __init__(self, user_id: str, codec: FrameCodec, ws: ClientConnection) -> None:
        self.user_id = user_id
        self.codec = codec
        self.ws = ws
        self.on_push: Callable[[Resp], None] | None = None
        self.kicked = False
        self._pending: dict[str, asyncio.Future[Resp]] = {}
        self._incr = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, ws_url: str, user_id: str, token: str, envelope: Envelope) -> GatewayClient:
        """Open and handshake as the SDK for `envelope` does; `GatewayError` if the server refuses."""
        op = f"bench-{user_id}"
        if envelope == "json":
            query = (
                f"sendID={user_id}&token={token}&platformID={WEB}&operationID={op}"
                "&isBackground=false&isMsgResp=true&sdkType=js"
            )
            codec = FrameCodec("json", gzip=False)
        else:
            query = (
                f"sendID={user_id}&token={token}&platformID={ANDROID}&operationID={op}"
                "&isBackground=false&sdkVersion=3.8.0&compression=gzip"
            )
            codec = FrameCodec("gob", gzip=True)
        sep = "&" if "?" in ws_url else "?"
        try:
            ws = await connect(
                f"{ws_url}{sep}{query}", compression=None, ping_interval=None, max_size=None, open_timeout=60
            )
        except Exception as exc:  # refused (HTTP 200 body), reset, timeout: all a failed handshake
            raise GatewayError(f"{user_id}: handshake: {exc}") from exc
        if envelope == "json":
            first = await asyncio.wait_for(ws.recv(), 30)
            result = orjson.loads(first)
            if result.get("errCode") != 0:
                await ws.close()
                raise GatewayError(f"{user_id}: handshake refused: {result}")
        client = cls(user_id, codec, ws)
        client._reader = asyncio.get_running_loop().create_task(client._read_loop())
        return client

    async def _read_loop(self) -> None:
        decode = _decode_json_resp if self.codec.kind == "json" else self.codec.decode_resp
        pending = self._pending
        try:
            async for frame in self.ws:
                if isinstance(frame, str):
                    continue  # a pong to our text ping
                resp = decode(frame)
                if resp.msg_incr:
                    waiter = pending.pop(resp.msg_incr, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(resp)
                elif resp.req_identifier == _PUSH:
                    if self.on_push is not None:
                        self.on_push(resp)
                elif resp.req_identifier == _KICK:
                    self.kicked = True
        except ConnectionClosed:
            pass
        finally:
            for waiter in pending.values():
                if not waiter.done():
                    waiter.set_exception(GatewayError(f"{self.user_id}: connection closed"))
            pending.clear()

    async def start_request(self, req_identifier: int, data: bytes, operation_id: str = "") -> asyncio.Future[Resp]:
        """Send one request; the returned future resolves to its reply (any errCode) or fails if the conn ends."""
        incr = f"{self.user_id}_{next(self._incr)}"
        waiter: asyncio.Future[Resp] = asyncio.get_running_loop().create_future()
        self._pending[incr] = waiter
        req = Req(req_identifier, "", self.user_id, operation_id or incr, incr, data)
        try:
            await self.ws.send(self.codec.encode_req(req))
        except ConnectionClosed:
            self._pending.pop(incr, None)
            raise GatewayError(f"{self.user_id}: connection closed") from None
        return waiter

    async def request(self, req_identifier: int, data: bytes, operation_id: str = "", wait_s: float = 60) -> bytes:
        """Send and wait for the reply's data; `GatewayError` when errCode ≠ 0."""
        waiter = await self.start_request(req_identifier, data, operation_id)
        resp = await asyncio.wait_for(waiter, wait_s)
        if resp.err_code:
            raise GatewayError(f"{self.user_id}: {req_identifier}: {resp.err_code} {resp.err_msg}")
        return resp.data

    async def heartbeat(self) -> None:
        """What the SDK sends every few seconds: a text ping (JS SDK) or a control ping (Go SDK)."""
        try:
            if self.codec.kind == "json":
                await self.ws.send(_PING_JSON)
            else:
                await self.ws.ping(b"bench")
        except ConnectionClosed:
            pass

    async def close(self) -> None:
        await self.ws.close()
        if self._reader is not None:
            await self._reader


def _decode_json_resp(frame: str | bytes) -> Resp:
    """A JSON-envelope frame the server sent → `Resp`, without the codec's Go-strict checks (3x cheaper).

    The load generator decodes every push of a fan-out: at tens of thousands a second the strict decoder
    (case-insensitive keys, kinds, validated base64; tested in tests/gateway/test_frames.py) would be the limit.
    """
    obj = orjson.loads(frame)
    data = obj.get("data")
    return Resp(
        obj.get("reqIdentifier") or 0,
        obj.get("msgIncr") or "",
        obj.get("operationID") or "",
        obj.get("errCode") or 0,
        obj.get("errMsg") or "",
        base64.b64decode(data) if data else b"",
    )
