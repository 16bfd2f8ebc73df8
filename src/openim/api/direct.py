"""DirectRoutes: the JSON routes served without FastAPI's per-request machinery when their request is well formed.

A REST call spent most of its CPU in FastAPI, not in OpenIM's work: the router's matching, the dependency solver
(several passes over every dependency's parameters, an exit stack per request), the content-type parsing, the
telemetry hooks and the exception middleware (issue 13: /user/get_users_info cost ~265 µs of CPU in-process, the
route, its service and the cached read less than a tenth of that; ~85 µs this way). Most routes need none of it:
one pydantic body, a few dependencies that only read the request (`api/deps.py`), a pydantic response. For those,
this table maps the path to a handler that does the same steps itself, with the same objects: the body is decoded
by `load_json` as `JsonBodyRoute` does, validated by the route's own body field (`ModelField.validate`, the call
FastAPI makes), the dependencies are the route's own functions, the answer is validated and dumped by the route's
response field and rendered by `EnvelopeResponse`.

Anything but the plain success of decoding and validating (an empty body, JSON that does not decode, a body that
does not validate) is handed to the FastAPI app unchanged, with the body replayed: every error, its envelope and
its errDlt come from the one place they always came from. Whatever a dependency or the route raises propagates
as it does through FastAPI (the exception middleware handles only HTTPException and RequestValidationError, which
no eligible dependency or route raises), to `OpenIMMiddleware`. A route is eligible only if nothing in it needs
what is skipped; `direct_routes` says which are, at start. Dependency overrides (tests) turn the table off.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import ResponseValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openim.api.envelope import EnvelopeResponse
from openim.api.json_body import JsonBodyRoute
from openim.protocol.inputs import load_json

__all__ = ["DirectRoute", "direct_routes"]

_Dependency = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class _Dep:
    name: str  # the route's parameter it fills
    call: _Dependency
    request_param: str | None


class DirectRoute:
    """One eligible route: `await route(scope, receive, send, fallback)` answers the request."""

    def __init__(self, route: APIRoute, deps: list[_Dep]) -> None:
        assert route.body_field is not None
        self.route = route
        self.path = route.path
        self._body = route.body_field
        self._endpoint: _Dependency = route.dependant.call  # type: ignore[assignment]
        self._request_param = route.dependant.request_param_name
        self._deps = deps
        self._response = route.response_field

    async def __call__(self, scope: Scope, receive: Receive, send: Send, fallback: ASGIApp) -> None:
        app: FastAPI = scope["app"]
        if app.dependency_overrides:
            await fallback(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # a disconnect: the framework says what that means
                await fallback(scope, _replay(chunks, receive, message), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        value = self._decoded(body)
        if value is _INVALID:
            await fallback(scope, _replay([body], receive, None), send)
            return

        scope["route"] = self.route  # what the middleware's metrics label and log read, as routing sets it
        scope["endpoint"] = self._endpoint
        scope["path_params"] = {}
        request = Request(scope, receive)
        values: dict[str, Any] = {self._body.name: value}
        solved: dict[_Dependency, Any] = {}  # FastAPI calls a dependency used twice once per request
        for dep in self._deps:
            if dep.call in solved:
                values[dep.name] = solved[dep.call]
                continue
            result = await (dep.call(**{dep.request_param: request}) if dep.request_param else dep.call())
            solved[dep.call] = values[dep.name] = result
        if self._request_param is not None:
            values[self._request_param] = request
        raw = await self._endpoint(**values)
        if isinstance(raw, Response):
            await raw(scope, receive, send)
            return
        content: Any = None
        if self._response is not None:
            checked, problems = self._response.validate(raw, {}, loc=("response",))
            if problems:
                raise ResponseValidationError(errors=problems, body=raw)
            content = self._response.serialize(checked)
        elif raw is not None:
            content = jsonable_encoder(raw)
        await EnvelopeResponse(content)(scope, receive, send)

    def _decoded(self, body: bytes) -> Any:
        """The validated body, or _INVALID for whatever FastAPI must answer (empty, not JSON, not valid)."""
        if not body:
            return _INVALID
        try:
            decoded = load_json(body)
        except Exception:
            return _INVALID
        value, errors = self._body.validate(decoded, {}, loc=("body",))
        return _INVALID if errors else value


_INVALID = object()


def _replay(chunks: list[bytes], receive: Receive, last: Message | None) -> Receive:
    """`receive` that gives the body already read (then `last`, if it was not a body message), then the rest."""
    pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
    if last is not None:
        pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": True}, last] if chunks else [last]

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def direct_routes(routes: Iterable[BaseRoute]) -> dict[str, DirectRoute]:
    """The eligible POST routes among `routes` (those of routers included with the app's defaults), by path."""
    table: dict[str, DirectRoute] = {}
    for route in routes:
        direct = _direct(route)
        if direct is not None:
            table[direct.path] = direct
    return table


def _direct(route: BaseRoute) -> DirectRoute | None:
    if not isinstance(route, JsonBodyRoute) or route.methods != {"POST"} or "{" in route.path:
        return None
    dependant = route.dependant
    if (
        route.body_field is None
        or len(dependant.body_params) != 1
        or route._embed_body_fields
        or _has_params(dependant)
        or not inspect.iscoroutinefunction(dependant.call)
        or not isinstance(route.response_class, DefaultPlaceholder)  # the app's EnvelopeResponse
        or route.status_code is not None
        or route.response_model_include is not None
        or route.response_model_exclude is not None
        or not route.response_model_by_alias
        or route.response_model_exclude_unset
        or route.response_model_exclude_defaults
        or route.response_model_exclude_none
    ):
        return None
    deps: list[_Dep] = []
    for sub in dependant.dependencies:
        if (
            sub.name is None
            or sub.call is None
            or sub.dependencies
            or sub.body_params
            or _has_params(sub)
            or not inspect.iscoroutinefunction(sub.call)
        ):
            return None
        deps.append(_Dep(sub.name, sub.call, sub.request_param_name))
    return DirectRoute(route, deps)


def _has_params(dependant: Dependant) -> bool:
    """Anything FastAPI would fill from the request besides the body and the Request itself."""
    return bool(
        dependant.path_params
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or dependant.own_oauth_scopes
    )
