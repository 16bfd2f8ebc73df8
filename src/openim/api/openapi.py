"""`/openapi.json` as a contract: what the API really answers, rewritten from FastAPI's schema in one place.

FastAPI describes a route as if its return value were the whole response and as if a bad body were an HTTP 422.
Neither holds here: every POST answers HTTP 200 with OpenIM's envelope `{errCode, errMsg, errDlt, data}` (an
error is a non-zero errCode without `data`; a body that does not validate is errCode 1001, `app.py`), and the
middleware demands the `operationID` header on every POST and the `token` header on every POST outside its
whitelist (`middleware.py`). `contract_openapi` therefore, for every operation:

- wraps the 200 answer in the envelope, with `data` the route's response model (pydantic routes) or response
  message (`api/pb.py`), and no `data` at all for routes that answer none;
- declares the `operationID` and `token` header parameters, required exactly where the middleware requires them;
- describes the request body as it is accepted (JSON whatever the Content-Type, Go's decoding rules);
- drops FastAPI's 422, which never happens, and its now unused HTTPValidationError schemas; declares the HTTP
  429 of the per-IP rate limit when it is on;
- leaves the GET routes (redirects, outside the middleware's checks) with the responses they declare themselves.

Nothing here is per route: a new route gets all of it by being registered. `tests/api/test_openapi.py` checks
every operation for these properties.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from openim.api.middleware import TOKEN_WHITELIST, UNTRACED_POSTS

__all__ = [
    "ENVELOPE_FIELDS",
    "contract_openapi",
    "envelope_schema",
    "install_contract",
    "plain_text",
    "redirect",
    "takes_operation_id",
    "takes_token",
]

ENVELOPE_FIELDS = ("errCode", "errMsg", "errDlt")
_HEADERS = {("header", "operationID"), ("header", "token")}
_UNUSED = ("HTTPValidationError", "ValidationError")
_JSON = "application/json"
_BODY = (
    "JSON, read as such whatever the Content-Type says (OpenIM's binding; /jssdk also takes "
    "application/x-protobuf). As Go decodes it: keys match case-insensitively, unknown keys are ignored, null is "
    "the zero value. A body that does not decode or validate is errCode 1001 with the reason in errDlt."
)
_OPERATION_ID = {
    "name": "operationID",
    "in": "header",
    "required": True,
    "description": "Any non-empty string identifying the call; echoed in the server's log lines. Without it: 1001.",
    "schema": {"type": "string", "minLength": 1},
}
_TOKEN = {
    "name": "token",
    "in": "header",
    "required": True,
    "description": "A user or admin token from /auth/get_user_token or /auth/get_admin_token. Without it: 1001; "
    "expired, kicked or unknown: 1501–1507 (docs/protocol/rest.md §3).",
    "schema": {"type": "string", "minLength": 1},
}


def takes_operation_id(method: str, path: str) -> bool:
    """Whether the middleware refuses this call without an operationID header (every traced POST); these are
    also the calls answered in the envelope, by the route or, for a refused call, by the middleware."""
    return method.upper() == "POST" and not path.startswith(UNTRACED_POSTS)


def takes_token(method: str, path: str) -> bool:
    """Whether the middleware refuses this call without a token header (traced POSTs outside the whitelist)."""
    return takes_operation_id(method, path) and not path.startswith(TOKEN_WHITELIST)


def redirect(description: str) -> dict[str, Any]:
    """A 302 answer as a GET route declares it in `responses=`."""
    return {"description": description, "headers": {"Location": {"schema": {"type": "string"}}}}


def plain_text(description: str) -> dict[str, Any]:
    """A plain-text answer (gin's style for GET routes) as a route declares it in `responses=`."""
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}


def envelope_schema(data: dict[str, Any] | None) -> dict[str, Any]:
    """The envelope around `data` (None: a route that answers no data).

    Success is errCode 0 with `data` (when the route has any); an error is a non-zero errCode, its message and
    detail, and no `data`. Nothing else is ever in the envelope.
    """
    head = {"errMsg": {"type": "string"}, "errDlt": {"type": "string"}}
    success: dict[str, Any] = {
        "type": "object",
        "title": "success",
        "properties": {"errCode": {"const": 0}, **head},
        "required": list(ENVELOPE_FIELDS),
        "additionalProperties": False,
    }
    if data is not None:
        success["properties"]["data"] = data
        if not _admits_null(data):  # a route that may return None answers without `data` then (envelope.py)
            success["required"] = [*ENVELOPE_FIELDS, "data"]
    error = {
        "type": "object",
        "title": "error",
        "properties": {"errCode": {"type": "integer", "not": {"const": 0}}, **head},
        "required": list(ENVELOPE_FIELDS),
        "additionalProperties": False,
    }
    return {"oneOf": [success, error]}


def contract_openapi(
    schema: dict[str, Any], *, max_operation_id: int | None = None, rate_limited: bool = False
) -> dict[str, Any]:
    """`schema` (FastAPI's document of `app`) rewritten in place as described in the module docstring.

    `max_operation_id` is the longest operationID the middleware takes (api.maxOperationIDLen); `rate_limited`
    declares the HTTP 429 every call may get when the per-IP rate limit is on (ratelimiter.enable)."""
    operation_id = copy.deepcopy(_OPERATION_ID)
    if max_operation_id is not None:
        operation_id["schema"] = {"type": "string", "minLength": 1, "maxLength": max_operation_id}
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            responses.pop("422", None)
            params = [p for p in operation.get("parameters", []) if (p.get("in"), p.get("name")) not in _HEADERS]
            if takes_operation_id(method, path):
                params.append(copy.deepcopy(operation_id))
            if takes_token(method, path):
                params.append(copy.deepcopy(_TOKEN))
            if params:
                operation["parameters"] = params
            if takes_operation_id(method, path) and "requestBody" in operation:
                operation["requestBody"].setdefault("description", _BODY)
            if takes_operation_id(method, path):  # every traced POST answers the envelope, errors included
                ok = responses.setdefault("200", {})
                data = ok.get("content", {}).get(_JSON, {}).get("schema")
                ok["description"] = "OpenIM's envelope: errCode 0 and `data`, or an errCode with its message"
                ok["content"] = {_JSON: {"schema": envelope_schema(data or None)}}
            if rate_limited:
                responses["429"] = {
                    "description": "too many requests from this address (ratelimiter.ipRequests): errCode 429",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                    "content": {_JSON: {"schema": envelope_schema(None)["oneOf"][1]}},
                }
    components = schema.get("components", {}).get("schemas", {})
    for name in _UNUSED:
        components.pop(name, None)
    return schema


def install_contract(app: FastAPI, *, max_operation_id: int | None = None, rate_limited: bool = False) -> None:
    """Serve the contract at /openapi.json (and to /docs): FastAPI's document, rewritten once per build of it."""
    build: Callable[[], dict[str, Any]] = app.openapi
    rewritten: list[dict[str, Any]] = []  # the last document rewritten; FastAPI rebuilds when the routes change

    def openapi() -> dict[str, Any]:
        schema = build()
        if not rewritten or rewritten[0] is not schema:
            rewritten[:] = [contract_openapi(schema, max_operation_id=max_operation_id, rate_limited=rate_limited)]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _admits_null(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return (
        kind == "null"
        or (isinstance(kind, list) and "null" in kind)
        or any(_admits_null(branch) for branch in schema.get("anyOf", []))
    )
