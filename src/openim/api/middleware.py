"""OpenIM's global middleware as one ASGI layer: CORS, preflight, operationID, token, last-resort errors.

Order is OpenIM's (`internal/api/router.go`): CORS headers on every response, OPTIONS answered at once, then for
POST the operationID check before the token check, so an unknown POST route without operationID still gets the
JSON 1001 error. Anything a route lets escape becomes errCode 500 with the operationID logged, never a traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openim.api.envelope import CORS_HEADERS, error_body
from openim.protocol.errors import ArgsError, OpenIMError, ServerInternalError
from openim.services.auth import Caller

__all__ = ["TOKEN_WHITELIST", "OpenIMMiddleware"]

TOKEN_WHITELIST = ("/auth/get_admin_token", "/auth/parse_token")
_CORS = [(k.lower().encode(), v.encode()) for k, v in CORS_HEADERS.items()]
_JSON = (b"content-type", b"application/json")

log = logging.getLogger("openim.api")

Authenticate = Callable[[str], Awaitable[Caller]]


class OpenIMMiddleware:
    def __init__(self, app: ASGIApp, *, authenticate: Authenticate) -> None:
        self.app = app
        self.authenticate = authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        state: dict[str, Any] = scope.setdefault("state", {})
        response_started = False

        async def send_with_cors(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                message["headers"] = [*message.get("headers", []), *_CORS]
            await send(message)

        method = scope["method"]
        path: str = scope["path"]
        try:
            if method == "OPTIONS":
                await _respond(send_with_cors, b'"Options Request!"')
                return
            if method == "POST":
                headers = _headers(scope)
                operation_id = headers.get("operationid", "")
                if not operation_id:
                    raise ArgsError("header must have operationID")
                state["operation_id"] = operation_id
                if not path.startswith(TOKEN_WHITELIST):
                    token = headers.get("token", "")
                    if not token:
                        raise ArgsError("header must have token")
                    state["caller"] = await self.authenticate(token)
            await self.app(scope, receive, send_with_cors)
        except OpenIMError as exc:
            state["err_code"] = exc.code
            await _respond(send_with_cors, error_body(exc))
        except Exception:
            state["err_code"] = ServerInternalError.code
            log.exception("unhandled error in %s %s", method, path, extra={"operationID": state.get("operation_id")})
            if response_started:
                raise
            await _respond(send_with_cors, error_body(ServerInternalError("internal error, see the server log")))
        finally:
            if method == "POST":
                caller = state.get("caller")
                log.info(
                    "%s errCode=%s response_time=%.1fms",
                    path,
                    state.get("err_code", 0),
                    (time.perf_counter() - started_at) * 1000,
                    extra={
                        "operationID": state.get("operation_id", ""),
                        "userID": caller.user_id if caller else "",
                        "route": path,
                        "errCode": state.get("err_code", 0),
                    },
                )


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def _respond(send: Send, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [_JSON, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
