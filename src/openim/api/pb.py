"""The bridge for routes whose request and response OpenIM defines in protobuf (/msg, /conversation, /jssdk).

`PbRouter.pb(path)` registers a route written as a one-liner over the generated classes: the endpoint names its
request as a parameter annotated with a protobuf message class and returns a protobuf message (or None). The
bridge reads the body — JSON decoded with `gojson.from_go` (OpenIM's Go `encoding/json` rules), or, where the
route allows it as /jssdk does, `application/x-protobuf` bytes — calls the endpoint, and answers the envelope
with `data` = `gojson.to_go(resp)` (absent when the response message has no fields), or, for a protobuf request,
`data` = base64 of the serialized response (an empty string for an empty one, as Go's `[]byte` prints). Bodies
that do not decode, or break the input rules of `openim.protocol.inputs` (NUL in text, integers past 64 bits, deep
nesting), are 1001 ArgsError with a readable errDlt. The OpenAPI operation names the request and
response messages and carries a JSON schema derived from their descriptors. No business logic here.
"""

from __future__ import annotations

import base64
import inspect
import typing
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import orjson
from fastapi import APIRouter, Request
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message
from starlette.responses import Response

from openim.protocol import gojson
from openim.protocol.errors import ArgsError
from openim.protocol.inputs import check_message, load_json

__all__ = ["PROTOBUF_TYPES", "PbRouter", "decode_body", "decode_json", "json_schema", "render"]

M = TypeVar("M", bound=Message)
Endpoint = TypeVar("Endpoint", bound=Callable[..., Awaitable[Message | None]])

PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")
_WRAPPERS = "openim.protobuf."  # openim.protobuf.StringValue & co. print as bare scalars
_INT_FORMATS = {
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_SINT32: "int32",
    FieldDescriptor.TYPE_SFIXED32: "int32",
    FieldDescriptor.TYPE_UINT32: "uint32",
    FieldDescriptor.TYPE_FIXED32: "uint32",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_SINT64: "int64",
    FieldDescriptor.TYPE_SFIXED64: "int64",
    FieldDescriptor.TYPE_UINT64: "uint64",
    FieldDescriptor.TYPE_FIXED64: "uint64",
}


class PbRouter(APIRouter):
    """An APIRouter that also registers protobuf-defined routes with `@router.pb(path)`.

    `messages` maps each such route's full path to its request and response message classes (None: no response).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.messages: dict[str, tuple[type[Message], type[Message] | None]] = {}

    def pb(self, path: str, *, protobuf: bool = False) -> Callable[[Endpoint], Endpoint]:
        """Register a POST route: decode the request message, call the endpoint, answer its response message.

        `protobuf=True` also accepts `application/x-protobuf` bodies (and rejects content types other than JSON
        and protobuf with 1001, as OpenIM's /jssdk routes do).
        """

        def register(endpoint: Endpoint) -> Endpoint:
            handler, req_cls, resp_cls = _handler(endpoint, protobuf=protobuf)
            self.add_api_route(
                path,
                handler,
                methods=["POST"],
                name=endpoint.__name__,
                response_model=None,
                description=_description(endpoint, req_cls, resp_cls, protobuf=protobuf),
                openapi_extra=_openapi(req_cls, resp_cls, protobuf=protobuf),
            )
            self.messages[self.prefix + path] = (req_cls, resp_cls if _is_message_class(resp_cls) else None)
            return endpoint

        return register


async def decode_body(request: Request, cls: type[M], *, protobuf: bool = False) -> tuple[M, bool]:
    """The request message of `cls` from the body, and whether it came as protobuf bytes."""
    body = await request.body()
    if protobuf:
        content_type = request.headers.get("content-type", "")
        if any(t in content_type for t in PROTOBUF_TYPES):
            message = cls()
            try:
                message.ParseFromString(body)
            except DecodeError as exc:
                raise ArgsError(f"request body is not a valid protobuf {cls.DESCRIPTOR.full_name}: {exc}") from None
            check_message(message, body)
            return message, True
        if content_type and "application/json" not in content_type:
            raise ArgsError(f"unsupported content type {content_type!r}")
    return decode_json(body, cls), False


def decode_json(body: bytes, cls: type[M]) -> M:
    """Go's `json.Unmarshal` into the request struct: an empty body is an error, `null` the zero message."""
    if not body.strip():
        raise ArgsError("request body is empty")
    return gojson.from_go(cls, load_json(body))


def render(resp: Message | None, *, protobuf: bool = False) -> Response:
    """The success envelope for `resp`: Go-shaped JSON data, or base64 protobuf bytes for protobuf callers."""
    body: dict[str, Any] = {"errCode": 0, "errMsg": "", "errDlt": ""}
    if protobuf:
        body["data"] = base64.b64encode(resp.SerializeToString() if resp is not None else b"").decode("ascii")
    elif resp is not None and resp.DESCRIPTOR.fields:
        body["data"] = gojson.to_go(resp)
    return Response(orjson.dumps(body), media_type="application/json")


def json_schema(cls: type[Message]) -> dict[str, Any]:
    """An OpenAPI 3.1 schema of a message in Go's JSON shape (proto names, int64 numbers, bytes base64, nulls)."""
    return _message_schema(cast(Descriptor, cls.DESCRIPTOR), frozenset())


# --- registration --------------------------------------------------------------------------------------------


def _handler(endpoint: Endpoint, *, protobuf: bool) -> tuple[Callable[..., Awaitable[Response]], type[Message], Any]:
    hints = typing.get_type_hints(endpoint, include_extras=True)
    signature = inspect.signature(endpoint)
    req_names = [n for n in signature.parameters if _is_message_class(hints.get(n))]
    if len(req_names) != 1:
        raise TypeError(f"{endpoint.__qualname__}: exactly one parameter must be annotated with a protobuf message")
    req_name = req_names[0]
    req_cls: type[Message] = hints[req_name]
    resp_cls = hints.get("return")
    if resp_cls is not type(None) and not _is_message_class(resp_cls):
        raise TypeError(f"{endpoint.__qualname__}: must return a protobuf message or None")

    async def handler(_pb_request: Request, **kwargs: Any) -> Response:
        req, as_protobuf = await decode_body(_pb_request, req_cls, protobuf=protobuf)
        resp = await endpoint(**{req_name: req}, **kwargs)
        return render(resp, protobuf=as_protobuf)

    params = [inspect.Parameter("_pb_request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)]
    params += [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints.get(name, p.annotation))
        for name, p in signature.parameters.items()
        if name != req_name
    ]
    handler.__signature__ = inspect.Signature(params, return_annotation=Response)  # type: ignore[attr-defined]
    handler.__name__ = handler.__qualname__ = endpoint.__name__
    handler.__doc__ = endpoint.__doc__
    return handler, req_cls, resp_cls


def _is_message_class(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, Message)


def _description(endpoint: Callable[..., Any], req_cls: type[Message], resp_cls: Any, *, protobuf: bool) -> str:
    lines = [inspect.getdoc(endpoint) or ""]
    lines.append(f"Request body: `{req_cls.DESCRIPTOR.full_name}` in Go's JSON shape (proto field names).")
    if _is_message_class(resp_cls) and resp_cls.DESCRIPTOR.fields:
        lines.append(f"Response `data`: `{resp_cls.DESCRIPTOR.full_name}`.")
    else:
        lines.append("Response: the envelope without `data`.")
    if protobuf:
        lines.append(
            "Also accepts `Content-Type: application/x-protobuf` (the JS SDK): the body is the serialized request "
            "and `data` is the base64 of the serialized response."
        )
    return "\n\n".join(line for line in lines if line)


def _openapi(req_cls: type[Message], resp_cls: Any, *, protobuf: bool) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": json_schema(req_cls)}}
    if protobuf:
        content["application/x-protobuf"] = {
            "schema": {
                "type": "string",
                "format": "binary",
                "description": f"serialized {req_cls.DESCRIPTOR.full_name}",
            }
        }
    responses: dict[str, Any] = {}
    if _is_message_class(resp_cls) and resp_cls.DESCRIPTOR.fields:
        # The envelope's `data`; api/openapi.py wraps every route's 200 answer in the envelope.
        data = json_schema(resp_cls)
        if protobuf:
            data = {"oneOf": [data, {"type": "string", "format": "byte", "description": "protobuf callers"}]}
        responses["200"] = {"content": {"application/json": {"schema": data}}}
    return {"requestBody": {"required": True, "content": content}, **({"responses": responses} if responses else {})}


def _message_schema(descriptor: Descriptor, seen: frozenset[str]) -> dict[str, Any]:
    if descriptor.full_name in seen:  # a recursive message: name it instead of expanding it again
        return {"type": "object", "title": descriptor.full_name}
    seen = seen | {descriptor.full_name}
    return {
        "type": "object",
        "title": descriptor.full_name,
        "properties": {f.name: _field_schema(f, seen) for f in descriptor.fields},
    }


def _field_schema(field: FieldDescriptor, seen: frozenset[str]) -> dict[str, Any]:
    message = field.message_type
    if message is not None and message.GetOptions().map_entry:
        value = _single_schema(message.fields_by_name["value"], seen)
        return {"type": ["object", "null"], "additionalProperties": value}
    if field.is_repeated:
        return {"type": ["array", "null"], "items": _single_schema(field, seen)}
    return _single_schema(field, seen)


def _single_schema(field: FieldDescriptor, seen: frozenset[str]) -> dict[str, Any]:
    kind = field.type
    message = field.message_type
    if message is not None:
        if message.full_name.startswith(_WRAPPERS) and "value" in message.fields_by_name:
            scalar = _single_schema(message.fields_by_name["value"], seen)
            return {
                **scalar,
                "type": [scalar["type"], "null"],
                "description": f"{message.full_name}: bare; null = unset",
            }
        return {**_message_schema(message, seen), "type": ["object", "null"]}
    if kind in _INT_FORMATS:
        return {"type": "integer", "format": _INT_FORMATS[kind]}
    if field.enum_type is not None:
        return {"type": "integer", "description": f"enum {field.enum_type.full_name}"}
    if kind == FieldDescriptor.TYPE_BOOL:
        return {"type": "boolean"}
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return {"type": "number"}
    if kind == FieldDescriptor.TYPE_BYTES:
        return {"type": "string", "format": "byte"}
    return {"type": "string"}
