"""OpenIM's global middleware as one ASGI layer: CORS, preflight, operationID, token, last-resort errors.

Order is OpenIM's (`internal/api/router.go`): CORS headers on every response, OPTIONS answered at once, then for
POST the operationID check before the token check, so an unknown POST route without operationID still gets the
JSON 1001 error. Anything a route lets escape becomes errCode 500 with the operationID logged, never a traceback.

Every request except a preflight is counted in `openim_http_requests_total{route, errCode}` and timed in
`openim_http_request_seconds{route}`, by route template ("unmatched" for unknown paths, so labels stay bounded).
Every POST logs one INFO line `<path> errCode=<n> response_time=<ms>ms` with route, errCode and response_time as
extras (what `openim logs analyze` reads), only when INFO is enabled. The request's operationID and userID are set
in `openim.context` for its duration, so whatever a service or repository logs meanwhile carries them.

After the checks, a POST to a path of `direct` goes to `api/direct.py` (which hands what it does not answer itself
to the app below); everything else goes to the app, FastAPI's exception middleware and router.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openim import context
from openim.api.direct import DirectRoute
from openim.api.envelope import CORS_HEADERS, error_body
from openim.api.limits import BodyTooLarge, RestLimits
from openim.infra.ratelimit import RateLimiter, Rule
from openim.metrics import HTTP_BODY_TOO_LARGE, observe_http
from openim.protocol.errors import (
    ArgsError,
    NetworkError,
    OpenIMError,
    ServerInternalError,
    TooManyRequests,
    unreachable,
)
from openim.services.auth import Caller

__all__ = ["TOKEN_WHITELIST", "OpenIMMiddleware"]

TOKEN_WHITELIST = ("/auth/get_admin_token", "/auth/parse_token")
# A browser's POST-policy upload to the local object store carries its signature in the form, not a token.
STORAGE_PREFIX = "/storage/"
UNTRACED_POSTS = (STORAGE_PREFIX,)
_CORS = [(k.lower().encode(), v.encode()) for k, v in CORS_HEADERS.items()]
_JSON = (b"content-type", b"application/json")

log = logging.getLogger("openim.api")

Authenticate = Callable[[str], Awaitable[Caller]]


class OpenIMMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticate: Authenticate,
        limits: RestLimits | None = None,
        rate: tuple[RateLimiter, Rule] | None = None,
        direct: Mapping[str, DirectRoute] | None = None,
    ) -> None:
        self.app = app
        self.direct = direct or {}  # POST paths served by api/direct.py, which falls back on `app`
        self.authenticate = authenticate
        self.limits = limits or RestLimits()
        self.rate = rate  # ratelimiter.enable: the limiter and the per-IP rule; None costs nothing
        self._known_paths: frozenset[str] | None = None  # the app's routes, read once from its OpenAPI schema

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
        if self.rate is not None:
            limiter, rule = self.rate
            client = scope.get("client")
            if not await limiter.allow(rule, client[0] if client else ""):
                state["err_code"] = TooManyRequests.code
                await _respond(send_with_cors, error_body(TooManyRequests()), status=429, retry_after=rule.interval)
                observe_http(self._route_template(scope), TooManyRequests.code, time.perf_counter() - started_at)
                return
        if method == "OPTIONS":
            await _respond(send_with_cors, b'"Options Request!"')
            return
        op_token = user_token = None
        try:
            if not path.startswith(STORAGE_PREFIX):  # uploads to the local object store bound their own size
                receive = self._bounded(scope, receive)
            if method == "POST" and not path.startswith(UNTRACED_POSTS):
                headers = _headers(scope)
                operation_id = headers.get("operationid", "")
                if not operation_id:
                    raise ArgsError("header must have operationID")
                if len(operation_id) > self.limits.max_operation_id:
                    # It is copied into every log line of the request: a 100 KB one would flood the log.
                    raise ArgsError(f"operationID longer than {self.limits.max_operation_id} characters")
                state["operation_id"] = operation_id
                op_token = context.operation_id.set(operation_id)
                if not path.startswith(TOKEN_WHITELIST):
                    token = headers.get("token", "")
                    if not token:
                        raise ArgsError("header must have token")
                    authenticated = state["caller"] = await self.authenticate(token)
                    user_token = context.user_id.set(authenticated.user_id)
            direct = self.direct.get(path) if method == "POST" else None
            if direct is not None:
                await direct(scope, receive, send_with_cors, self.app)
            else:
                await self.app(scope, receive, send_with_cors)
        except OpenIMError as exc:
            state["err_code"] = exc.code
            await _respond(send_with_cors, error_body(exc))
        except Exception as exc:
            if unreachable(exc) and not response_started:  # PostgreSQL or Redis away: say so, the client retries
                state["err_code"] = NetworkError.code
                log.warning("%s %s: %s", method, path, exc, extra={"operationID": state.get("operation_id")})
                await _respond(send_with_cors, error_body(NetworkError("a backing service is unreachable")))
                return
            state["err_code"] = ServerInternalError.code
            log.exception("unhandled error in %s %s", method, path, extra={"operationID": state.get("operation_id")})
            if response_started:
                raise
            await _respond(send_with_cors, error_body(ServerInternalError("internal error, see the server log")))
        finally:
            seconds = time.perf_counter() - started_at
            err_code: int = state.get("err_code", 0)
            observe_http(self._route_template(scope), err_code, seconds)
            if method == "POST" and log.isEnabledFor(logging.INFO):
                caller = state.get("caller")
                ms = round(seconds * 1000, 1)
                log.info(
                    "%s errCode=%s response_time=%.1fms",
                    path,
                    err_code,
                    ms,
                    extra={
                        "operationID": state.get("operation_id", ""),
                        "userID": caller.user_id if caller else "",
                        "route": path,
                        "errCode": err_code,
                        "response_time": ms,
                    },
                )
            if user_token is not None:
                context.user_id.reset(user_token)
            if op_token is not None:
                context.operation_id.reset(op_token)

    def _bounded(self, scope: Scope, receive: Receive) -> Receive:
        """`receive` refusing (BodyTooLarge, 1001) a body over api.maxBodyBytes: at once when Content-Length says
        so, else as soon as the chunks read add up to more, so a large body is never held in memory whole."""
        limit = self.limits.max_body_bytes
        for key, value in scope["headers"]:
            if key == b"content-length":
                if not value.isdigit() or int(value) > limit:
                    HTTP_BODY_TOO_LARGE.inc()
                    raise BodyTooLarge(limit)
                break
        seen = 0

        async def bounded_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    HTTP_BODY_TOO_LARGE.inc()
                    raise BodyTooLarge(limit)
            return message

        return bounded_receive

    def _route_template(self, scope: Scope) -> str:
        """The matched route's path template; for a request refused before routing (a bad token), its path when
        that is a route of the app (OpenIM's routes are static paths); else "unmatched"."""
        route = scope.get("route")
        if route is not None:
            return str(getattr(route, "path", "unmatched"))
        if self._known_paths is None:
            openapi = getattr(scope.get("app"), "openapi", None)
            schema: dict[str, Any] = openapi() if openapi is not None else {}
            self._known_paths = frozenset(schema.get("paths", {}))
        path: str = scope["path"]
        return path if path in self._known_paths else "unmatched"


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def _respond(send: Send, body: bytes, *, status: int = 200, retry_after: float = 0) -> None:
    headers = [_JSON, (b"content-length", str(len(body)).encode())]
    if retry_after:
        headers.append((b"retry-after", str(max(1, math.ceil(retry_after))).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
