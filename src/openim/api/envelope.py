"""OpenIM's response envelope `{errCode, errMsg, errDlt, data}` in Go's JSON shape.

OpenIM encodes protobuf structs with Go's encoding/json and omitempty stripped: every field is present, nil
lists and maps are `null`, and `data` is absent when the response has no fields. Business errors are HTTP 200.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

from openim.protocol.errors import OpenIMError

__all__ = ["CORS_HEADERS", "EnvelopeResponse", "error_body"]

CORS_HEADERS: dict[str, str] = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "*",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Expose-Headers": "Content-Length, Access-Control-Allow-Origin, Access-Control-Allow-Headers,"
    "Cache-Control,Content-Language,Content-Type,Expires,Last-Modified,Pragma,FooBar",
    "Access-Control-Max-Age": "172800",
    "Access-Control-Allow-Credentials": "false",
}


def error_body(error: OpenIMError) -> bytes:
    return orjson.dumps(error.to_wire())


class EnvelopeResponse(JSONResponse):
    """The success envelope around what a route returns, printed exactly as its model made it.

    Models choose per field between null and `[]`/`{}` the way OpenIM's Go code ends up with a nil or an empty
    slice or map (a Mongo find of nothing: nil → null; `datautil.Slice` of nothing: empty → `[]`). `data` is
    absent when the route returns None (OpenIM's empty responses). A JSONResponse, so that FastAPI puts the route's
    response model in the OpenAPI document, which `api/openapi.py` then wraps in the envelope.
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        body: dict[str, Any] = {"errCode": 0, "errMsg": "", "errDlt": ""}
        if content is not None:
            body["data"] = content
        return orjson.dumps(body)
