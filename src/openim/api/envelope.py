"""OpenIM's response envelope `{errCode, errMsg, errDlt, data}` in Go's JSON shape.

OpenIM encodes protobuf structs with Go's encoding/json and omitempty stripped: every field is present, nil
lists and maps are `null`, and `data` is absent when the response has no fields. Business errors are HTTP 200.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel
from starlette.responses import Response

from openim.protocol.errors import OpenIMError

__all__ = ["CORS_HEADERS", "EnvelopeResponse", "ExactEnvelopeResponse", "error_body", "go_shape", "ok_body"]

CORS_HEADERS: dict[str, str] = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "*",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Expose-Headers": "Content-Length, Access-Control-Allow-Origin, Access-Control-Allow-Headers,"
    "Cache-Control,Content-Language,Content-Type,Expires,Last-Modified,Pragma,FooBar",
    "Access-Control-Max-Age": "172800",
    "Access-Control-Allow-Credentials": "false",
}


def go_shape(value: Any) -> Any:
    """Plain data as Go's encoding/json would print it: empty lists and maps become null."""
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    if isinstance(value, dict):
        return {k: go_shape(v) for k, v in value.items()} if value else None
    if isinstance(value, list | tuple):
        return [go_shape(v) for v in value] if value else None
    return value


def ok_body(data: Any) -> bytes:
    body: dict[str, Any] = {"errCode": 0, "errMsg": "", "errDlt": ""}
    shaped = go_shape(data)
    if shaped is not None:
        body["data"] = shaped
    return orjson.dumps(body)


def error_body(error: OpenIMError) -> bytes:
    return orjson.dumps(error.to_wire())


class EnvelopeResponse(Response):
    """Wraps whatever a route returns in the success envelope."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return ok_body(content)


class ExactEnvelopeResponse(EnvelopeResponse):
    """The envelope for routers whose models choose null or `[]`/`{}` per field, as OpenIM's Go code does.

    `data` is printed as the model made it: None is null, empty lists and maps stay empty.
    """

    def render(self, content: Any) -> bytes:
        body: dict[str, Any] = {"errCode": 0, "errMsg": "", "errDlt": ""}
        if content is not None:
            body["data"] = content
        return orjson.dumps(body)
