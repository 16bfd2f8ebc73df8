"""The gateway's listening socket: HTTP health on `GET /health`, WebSocket upgrades for clients.

OpenIM's message protocol (handshake, frames, dispatch) arrives with the message-path work; until then an
upgrade is refused with a clear HTTP answer rather than accepted and dropped.
"""

from __future__ import annotations

import asyncio
import socket
from http import HTTPStatus

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from openim.settings import MsgGateway

__all__ = ["GatewayServer"]


def _json_response(status: HTTPStatus, body: dict[str, object]) -> Response:
    payload = orjson.dumps(body)
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return Response(status.value, status.phrase, headers, payload)


class GatewayServer:
    def __init__(self, settings: MsgGateway) -> None:
        self.settings = settings
        self._server: Server | None = None
        self._closed = asyncio.Event()

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == "/health":
            return _json_response(HTTPStatus.OK, {"status": "ok", "role": "msggateway"})
        return _json_response(
            HTTPStatus.NOT_FOUND,
            {"errCode": 404, "errMsg": "not found", "errDlt": "this gateway serves GET /health only"},
        )

    async def _handler(self, connection: ServerConnection) -> None:
        await connection.close()

    async def serve(self, sock: socket.socket) -> None:
        """Serve on an already bound socket until close() is called."""
        async with serve(
            self._handler,
            sock=sock,
            process_request=self._process_request,
            max_size=self.settings.websocketMaxMsgLen,
            open_timeout=self.settings.websocketTimeout,
            server_header=None,
        ) as server:
            self._server = server
            await self._closed.wait()
            server.close()
            await server.wait_closed()

    def close(self) -> None:
        self._closed.set()
