"""The gateway's listening socket on :10001: OpenIM's WebSocket handshake, `GET /health`, and a drained stop.

Owns docs/protocol/gateway.md §1: the query parameters (or the `v` base64-RawURL JSON
form), the order of checks — connection count (1601), parameters (1602; 500 for `isBackground`), token (1501-1507
via `AuthService`), token user/platform == `sendID`/`platformID` (1502) — and how a failure is reported: when
`isMsgResp` was parsed as true, the upgrade succeeds and one text frame carries `{"errCode","errMsg","errDlt"}`
before the TCP connection is dropped; otherwise an HTTP 200 JSON body answers and nothing is upgraded. On success
with `isMsgResp` the first frame is the text `{"errCode":0,"errMsg":"","errDlt":""}`.

Limits: a WebSocket message larger than `msggateway.websocketMaxMsgLen` bytes, as received, closes its connection
with 1009 "message too big", as gorilla's `SetReadLimit` does in OpenIM. The default is 51,200 bytes, the limit
OpenIM's gateway actually applies (`maxMessageSize` in `internal/msggateway/constant.go`); OpenIM's
openim-msggateway.yml lists `websocketMaxMsgLen: 4096` but its gateway never reads that value, so 4096 here would
close SDK connections that OpenIM keeps (a 5 KB text). No permessage-deflate (the SDKs gzip frames themselves). A
gzip'd frame may inflate to `websocketMaxInflateRatio` times the read limit (200 KiB by default); past that it
closes its connection as any undecodable frame does (docs/security.md, "Hostile frames").
Connection work after the handshake is `conn.py`'s; request handling is `dispatch.py`'s.

Stop (`close()`, on SIGTERM): the listening socket closes first, then every connection drains — one busy with a
request closes right after that request's reply is written, an idle one at once (TCP close, as OpenIM; the SDKs
reconnect) — and after `DRAIN_TIMEOUT` seconds whatever is left is closed by force. Handshakes are counted in
`openim_gateway_handshakes_total{errCode}` (0 = accepted).

Presence: while serving, one task refreshes every live connection in presence every
`presence_refresh_interval` seconds (`PRESENCE_REFRESH_INTERVAL_S`, `Hub.refresh_presence`); a failed round (Redis
unreachable) is logged and the next one tries again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from openim.gateway.conn import Conn, GatewayConnection, Timing
from openim.gateway.dispatch import Dispatcher
from openim.gateway.frames import FrameCodec, handshake_text
from openim.gateway.hub import Hub
from openim.gateway.push import PushDelivery
from openim.infra.bus import TOPIC_KICK, TOPIC_PUSH, TOPIC_STATUS, TOPIC_SUBSCRIBE, Bus
from openim.infra.clock import Clock
from openim.infra.presence import PRESENCE_REFRESH_INTERVAL_S, Presence
from openim.infra.ratelimit import Rates
from openim.metrics import GATEWAY_HANDSHAKES, child
from openim.protocol.constants import PLATFORM_NAMES
from openim.protocol.errors import (
    ConnArgsError,
    ConnOverMaxNumLimit,
    OpenIMError,
    TokenInvalidError,
    TooManyRequests,
)
from openim.services.auth import AuthService, Caller
from openim.services.msg import MsgService
from openim.services.third import ThirdService
from openim.settings import MsgGateway
from openim.webhooks import Webhooks

__all__ = ["DRAIN_TIMEOUT", "ConnArgs", "GatewayServer", "HandshakeError", "parse_conn_args"]

DRAIN_TIMEOUT = 10.0  # seconds a stopping gateway waits for requests in flight (as uvicorn's graceful shutdown)
log = logging.getLogger("openim.gateway")

_GO_INT = re.compile(r"[+-]?[0-9]+")
_RAW_URL_B64 = re.compile(r"[A-Za-z0-9_-]*")
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_SDK_TYPES = {"": "go", "go": "go", "js": "js"}


@dataclass(frozen=True, slots=True)
class ConnArgs:
    """The connection parameters of one handshake, validated as OpenIM's `UserConnContext.checkInfo` does."""

    user_id: str
    token: str
    platform_id: int
    operation_id: str
    compression: bool  # per-frame gzip (query `compression=gzip`, else the `compression` header)
    sdk_type: str  # "go" (gob envelope) or "js" (JSON envelope)
    send_response: bool  # isMsgResp: report the handshake result in a first text frame
    background: bool  # as sent; the connection itself starts in foreground (docs/protocol/gateway.md §1.2)
    sdk_version: str


class HandshakeError(Exception):
    """A handshake refused with a wire body; `send_response` says whether it may go in a text frame."""

    def __init__(self, body: dict[str, object], *, send_response: bool) -> None:
        super().__init__(body.get("errMsg"))
        self.body = body
        self.send_response = send_response

    @classmethod
    def of(cls, error: OpenIMError, *, send_response: bool) -> HandshakeError:
        return cls(error.to_wire(), send_response=send_response)


def _go_parse_bool(value: str) -> bool:
    if value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    raise ValueError(value)


def _conn_args_error(detail: str) -> HandshakeError:
    return HandshakeError.of(ConnArgsError(detail), send_response=False)


def parse_conn_args(query: str, headers: Mapping[str, str]) -> ConnArgs:
    """The connection parameters from a raw query string (and the `compression` header), or a HandshakeError.

    Follows OpenIM's `ParseEssentialArgs`: `v` (base64 RawURL of JSON) replaces every other parameter; else
    platformID must be a Go int, isMsgResp a Go bool when present, isBackground a Go bool (a plain error, so
    errCode 500); then operationID, token, sendID non-empty, platformID a known platform, sdkType ""/go/js.
    Parameter errors are never reported in a text frame: OpenIM knows isMsgResp only once all checks pass.
    """
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, value)  # Go's Values.Get: the first value
    if params.get("v"):
        return _check_args(_args_from_json(params["v"]))
    platform = params.get("platformID", "")
    if not _GO_INT.fullmatch(platform):
        raise _conn_args_error("platformID is not int")
    send_response = False
    if params.get("isMsgResp"):
        try:
            send_response = _go_parse_bool(params["isMsgResp"])
        except ValueError:
            raise _conn_args_error("isMsgResp is not bool") from None
    compression = params.get("compression", "") or headers.get("compression", "")
    background_text = params.get("isBackground", "")
    try:
        background = _go_parse_bool(background_text)
    except ValueError:
        # OpenIM returns strconv's own error here, which its error mapping turns into a 500.
        body = {"errCode": 500, "errMsg": f'strconv.ParseBool: parsing "{background_text}": invalid syntax'}
        raise HandshakeError({**body, "errDlt": ""}, send_response=False) from None
    return _check_args(
        {
            "token": params.get("token", ""),
            "userID": params.get("sendID", ""),
            "platformID": int(platform),
            "operationID": params.get("operationID", ""),
            "compression": compression,
            "sdkType": params.get("sdkType", ""),
            "sendResponse": send_response,
            "background": background,
            "sdkVersion": params.get("sdkVersion", ""),
        }
    )


_JSON_FIELDS: dict[str, type] = {
    "token": str,
    "userID": str,
    "platformID": int,
    "operationID": str,
    "compression": str,
    "sdkType": str,
    "sendResponse": bool,
    "background": bool,
    "sdkVersion": str,
}
_JSON_DEFAULTS: dict[str, Any] = {name: kind() for name, kind in _JSON_FIELDS.items()}


def _args_from_json(data: str) -> dict[str, Any]:
    """The `v` form: Go's base64.RawURLEncoding, then encoding/json into UserConnContextInfo (keys fold case)."""
    if not _RAW_URL_B64.fullmatch(data) or len(data) % 4 == 1:
        raise _conn_args_error("data is not base64")
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):  # nested past Python's stack: not OpenIM's JSON either
        raise _conn_args_error("data is not json") from None
    if decoded is None:
        decoded = {}
    if not isinstance(decoded, dict):
        raise _conn_args_error("data is not json")
    values = dict(_JSON_DEFAULTS)
    folded = {name.lower(): name for name in _JSON_FIELDS}
    for key, value in decoded.items():
        name = key if key in _JSON_FIELDS else folded.get(key.lower())
        if name is None or value is None:
            continue
        kind = _JSON_FIELDS[name]
        if kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
        else:
            ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
        if not ok:
            raise _conn_args_error("data is not json")
        values[name] = value
    return values


def _check_args(info: dict[str, Any]) -> ConnArgs:
    if not info["operationID"]:
        raise _conn_args_error("operationID is empty")
    if not info["token"]:
        raise _conn_args_error("token is empty")
    if not info["userID"]:
        raise _conn_args_error("sendID is empty")
    if info["platformID"] not in PLATFORM_NAMES:
        raise _conn_args_error("platformID is invalid")
    sdk_type = _SDK_TYPES.get(info["sdkType"])
    if sdk_type is None:
        raise _conn_args_error("sdkType is invalid")
    return ConnArgs(
        user_id=info["userID"],
        token=info["token"],
        platform_id=info["platformID"],
        operation_id=info["operationID"],
        compression=info["compression"] == "gzip",
        sdk_type=sdk_type,
        send_response=info["sendResponse"],
        background=info["background"],
        sdk_version=info["sdkVersion"],
    )


def _json_response(body: dict[str, object], status: HTTPStatus = HTTPStatus.OK) -> Response:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    headers = Headers([("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(payload)))])
    return Response(status.value, status.phrase, headers, payload)


def _count_handshake(err_code: object) -> None:
    child(GATEWAY_HANDSHAKES, str(err_code)).inc()


@dataclass(frozen=True, slots=True)
class _Accepted:
    args: ConnArgs
    caller: Caller


class GatewayServer:
    """The msggateway role: accepts OpenIM clients, keeps them in a Hub, dispatches their requests, delivers pushes.

    `timing` exists for tests (idle deadline, Web ping period); production uses OpenIM's 30 s / 27 s.
    """

    def __init__(
        self,
        settings: MsgGateway,
        *,
        auth: AuthService,
        msg: MsgService,
        third: ThirdService,
        bus: Bus,
        presence: Presence,
        clock: Clock,
        multi_login_policy: int,
        timing: Timing | None = None,
        rates: Rates | None = None,
        hooks: Webhooks | None = None,
    ) -> None:
        self.settings = settings
        self.auth = auth
        self.clock = clock
        self.timing = timing or Timing()
        self.hub = Hub(
            auth=auth, presence=presence, policy=multi_login_policy, bus=bus, hooks=hooks, now_ms=clock.now_ms
        )
        self.rates = rates  # ratelimiter.enable; None costs nothing
        self.dispatcher = Dispatcher(msg=msg, third=third, hub=self.hub, rates=rates)
        self.delivery = PushDelivery(self.hub)
        self._bus = bus
        self._pending: dict[ServerConnection, _Accepted | HandshakeError] = {}
        self._server: Server | None = None
        self._closed = asyncio.Event()
        self.ready = asyncio.Event()
        self.drain_timeout = DRAIN_TIMEOUT
        self.presence_refresh_interval: float = PRESENCE_REFRESH_INTERVAL_S

    @property
    def server(self) -> Server:
        """The running websockets server (for tests: its bound sockets); only valid once `ready` is set."""
        assert self._server is not None
        return self._server

    # ---- handshake ----------------------------------------------------------------------------------------

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        upgrade = "websocket" in request.headers.get("Upgrade", "").lower()
        if not upgrade and url.path == "/health":
            return _json_response({"status": "ok", "role": "msggateway", "connections": self.hub.count})
        if self.rates is not None:
            ip = connection.remote_address[0] if connection.remote_address else ""
            if not await self.rates.limiter.allow(self.rates.ip_connects, ip):
                _count_handshake(TooManyRequests.code)
                return _json_response(TooManyRequests().to_wire(), HTTPStatus.TOO_MANY_REQUESTS)
        try:
            self._pending[connection] = _Accepted(*await self._check(url.query, request.headers))
        except HandshakeError as exc:
            if not exc.send_response:
                _count_handshake(exc.body["errCode"])
                log.info("handshake refused: %s %s", exc.body["errCode"], exc.body["errDlt"])
                return _json_response(exc.body)
            self._pending[connection] = exc  # reported in a text frame after the upgrade
        return None

    async def _check(self, query: str, headers: Headers) -> tuple[ConnArgs, Caller]:
        """The checks of docs/protocol/gateway.md §1.3, in OpenIM's order; raises HandshakeError."""
        if self.hub.count >= self.settings.websocketMaxConnNum:
            raise HandshakeError.of(ConnOverMaxNumLimit("over max conn num limit"), send_response=False)
        args = parse_conn_args(query, headers)
        try:
            caller = await self.auth.authenticate(args.token)
        except OpenIMError as exc:
            raise HandshakeError.of(exc, send_response=args.send_response) from None
        if caller.user_id != args.user_id:
            error = TokenInvalidError(f"token uid {caller.user_id} != userID {args.user_id}")
            raise HandshakeError.of(error, send_response=args.send_response)
        if caller.platform_id != args.platform_id:
            error = TokenInvalidError(f"token platform {caller.platform_id} != platformID {args.platform_id}")
            raise HandshakeError.of(error, send_response=args.send_response)
        return args, caller

    async def _handler(self, ws: ServerConnection) -> None:
        state = self._pending.pop(ws, None)
        if state is None:  # the upgrade happened without our check (cannot, but never serve an unchecked client)
            ws.transport.abort()
            return
        if isinstance(state, HandshakeError):
            _count_handshake(state.body["errCode"])
            log.info("handshake refused after upgrade: %s %s", state.body["errCode"], state.body["errDlt"])
            body = state.body
            await ws.send(handshake_text(int(str(body["errCode"])), str(body["errMsg"]), str(body["errDlt"])))
            ws.transport.close()  # OpenIM drops the TCP connection: no close frame
            await ws.wait_closed()
            return
        if self._closed.is_set():  # stopping: accepted just before the listener closed; the client reconnects
            ws.transport.close()
            await ws.wait_closed()
            return
        _count_handshake(0)
        args, caller = state.args, state.caller
        if args.send_response:
            await ws.send(handshake_text())
        assert isinstance(ws, GatewayConnection)
        conn = Conn(
            ws,
            user_id=args.user_id,
            platform_id=args.platform_id,
            token=args.token,
            operation_id=args.operation_id,
            caller=caller,
            codec=FrameCodec(
                "json" if args.sdk_type == "js" else "gob",
                gzip=args.compression,
                max_decompressed=self.settings.max_inflated_len,
            ),
            timing=self.timing,
            connected_at_ms=self.clock.now_ms(),
        )
        await self.hub.register(conn)
        try:
            await conn.run(self.dispatcher.handle)
        finally:
            await self.hub.unregister(conn)

    # ---- lifecycle ----------------------------------------------------------------------------------------

    async def serve(self, sock: socket.socket) -> None:
        """Serve on an already bound socket until close() is called; then close every connection and return."""
        subscriptions = [
            self._bus.subscribe(TOPIC_PUSH, self.delivery.on_push),
            self._bus.subscribe(TOPIC_KICK, self.delivery.on_kick),
            self._bus.subscribe(TOPIC_STATUS, self.hub.on_status_change),
            self._bus.subscribe(TOPIC_SUBSCRIBE, self.hub.on_subscribe_change),
        ]
        refresher = asyncio.create_task(self._refresh_presence(), name="gateway-presence-refresh")
        try:
            async with serve(
                self._handler,
                sock=sock,
                process_request=self._process_request,
                create_connection=GatewayConnection,
                compression=None,
                max_size=self.settings.websocketMaxMsgLen,
                max_queue=4,
                open_timeout=self.settings.websocketTimeout,
                ping_interval=None,
                ping_timeout=None,
                close_timeout=2,
                server_header=None,
            ) as server:
                self._server = server
                self.ready.set()
                await self._closed.wait()
                await self._drain(server)
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
            for sub in subscriptions:
                await sub.close()

    async def _refresh_presence(self) -> None:
        """Every `presence_refresh_interval` seconds, keep this gateway's live connections online in presence."""
        while True:
            await asyncio.sleep(self.presence_refresh_interval)
            try:
                await self.hub.refresh_presence()
            except Exception as exc:  # Redis down: the next round retries; set_online/offline report their own
                log.warning("presence refresh failed: %s: %s", type(exc).__name__, exc)

    async def _drain(self, server: Server) -> None:
        """Stop accepting, let each connection finish the request it is handling, then close; force after a while."""
        server.close(close_connections=False)
        conns = list(self.hub.all_conns())
        log.info("draining %d connection(s)", len(conns))
        for conn in conns:
            conn.drain()
        try:
            await asyncio.wait_for(server.wait_closed(), self.drain_timeout)
        except TimeoutError:
            log.warning("connections still busy after %.0f s: closing them", self.drain_timeout)
            for connection in list(server.all_connections):
                connection.transport.abort()
            await server.wait_closed()

    def close(self) -> None:
        """Stop: see the module docstring; `serve` returns once every connection has ended."""
        self._closed.set()
