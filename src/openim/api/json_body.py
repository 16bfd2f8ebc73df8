"""JsonBodyRoute: a route whose request body is read as JSON whatever its Content-Type says, as OpenIM's API does.

OpenIM binds every REST body with its own JSON binding (`openimsdk/tools` `a2r.ParseRequestNotCheck`, gin's
`ShouldBindWith(&req, jsonBind)`), which never looks at Content-Type. App servers and scripts rely on that:
`curl -d '{...}'` sends `application/x-www-form-urlencoded`, other clients send none or `text/plain`. FastAPI
parses a pydantic body as JSON only for `application/json` (or `+json`) and passes anything else on as raw bytes,
which then fails as "Input should be a valid dictionary". This route class presents the body to FastAPI as JSON
for routes that take a pydantic body. Routes without one (the protobuf routes of `api/pb.py`, which decode the
body themselves and let /jssdk choose protobuf by Content-Type) are left as they are.

The body is decoded here, by `openim.protocol.inputs.load_json` (orjson and the input rules: UTF-8, no NUL,
64-bit integers, depth), not by FastAPI's `json.loads`: what Starlette's parser let through (lone surrogates, NUL,
integers of any size, nesting up to the recursion limit) became errCode 500 further down, and what it refused
(invalid UTF-8, deep nesting) an HTTP 400 text/plain answer. Every such body is now 1001 ArgsError in the envelope.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from openim.protocol.inputs import load_json

__all__ = ["JsonBodyRoute", "as_json_request"]

_CONTENT_TYPE = b"content-type"
_JSON = b"application/json"


class JsonBodyRoute(APIRoute):
    """An APIRoute that decodes its pydantic body as JSON for any Content-Type (absent, text/plain, form...)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def json_handler(request: Request) -> Response:
            request = as_json_request(request)
            body = await request.body()
            if body:  # an empty body is FastAPI's to report ("request body is empty")
                # Starlette's Request.json() returns this cached value instead of parsing the body again.
                request._json = load_json(body)
            return await handler(request)

        return json_handler


def as_json_request(request: Request) -> Request:
    """The same request (same body stream, same state) with `Content-Type: application/json`."""
    headers = [(k, v) for k, v in request.scope["headers"] if k.lower() != _CONTENT_TYPE]
    headers.append((_CONTENT_TYPE, _JSON))
    return Request({**request.scope, "headers": headers}, request.receive)
