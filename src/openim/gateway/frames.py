"""Sans-I/O codec of the WS gateway's frames: bytes ⇄ `Req`/`Resp`; never sees a socket.

Binary frames carry OpenIM's envelope (docs/protocol/gateway.md §2):

- `gob` (Go and wasm SDKs): each frame is one complete Go `encoding/gob` stream, type definition first, then
  the value. Decoding is generic: the field table is read from the stream's own type definition (field order
  is not assumed, the struct name is not checked, unknown fields are skipped, a known field of the wrong kind
  is an error). Encoding a `Resp` writes a precomputed type definition then the value (zero fields omitted).
- `json` (`sdkType=js`): Go `encoding/json` of the same structs; `data` is standard base64 or null.

Either may be gzip-wrapped per frame (`compression=gzip`): the server inflates at most `max_decompressed` bytes
(msggateway.websocketMaxMsgLen × websocketMaxInflateRatio, 200 KiB by default), streaming, so a gzip bomb costs
what the limit costs and no more, and at most MAX_GZIP_MEMBERS members. Anything malformed raises `FrameError`;
the caller closes the connection, as OpenIM does. Text frames only carry heartbeats (`parse_text_heartbeat`,
`pong_text`) and the handshake result (`handshake_text`).

The client side (`encode_req`, `decode_resp`) is here too, for tests and tools that play an SDK.
"""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple

import orjson

from openim.gateway._gob import (
    BYTES,
    INT,
    STRING,
    FrameError,
    decode_gob_struct,
    gob_struct_typedef,
    put_int,
    put_uint,
)
from openim.protocol import gojson

__all__ = [
    "MAX_DECOMPRESSED",
    "MAX_GZIP_MEMBERS",
    "FrameCodec",
    "FrameError",
    "Heartbeat",
    "Req",
    "Resp",
    "decode_gob_struct",
    "go_json_string",
    "gob_struct_typedef",
    "gunzip",
    "gzip_frame",
    "handshake_text",
    "parse_text_heartbeat",
    "pong_text",
    "ws_binary_frame",
]

_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
_WS_FIN_BINARY = 0x82  # RFC 6455 §5.2: FIN set, opcode 2 (binary)
# What a gzip frame may inflate to when the caller names no limit: the client side (tests, tools, `openim bench`)
# reading server frames, which the SDKs cap at 1 MiB. The gateway passes its own, far smaller limit.
MAX_DECOMPRESSED: Final = 4 << 20
# Go's reader accepts concatenated gzip members; the SDKs write one. Each member re-reads the rest of the frame, so
# their number is capped to keep the inflate linear in the frame.
MAX_GZIP_MEMBERS: Final = 8
MAX_HEARTBEAT_DEPTH: Final = 64  # a text ping's body nests at most this deep (the SDKs send none or a flat one)


@dataclass(frozen=True, slots=True)
class Req:
    """Client → server envelope (Go SDK `GeneralWsReq`, server `Req`); `data` is the protobuf request."""

    req_identifier: int
    token: str = ""
    send_id: str = ""
    operation_id: str = ""
    msg_incr: str = ""
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class Resp:
    """Server → client envelope (server `Resp`, Go SDK `GeneralWsResp`); pushes have an empty `msg_incr`."""

    req_identifier: int
    msg_incr: str = ""
    operation_id: str = ""
    err_code: int = 0
    err_msg: str = ""
    data: bytes = b""


_RESP_FIELDS: Final = (
    ("ReqIdentifier", INT),
    ("MsgIncr", STRING),
    ("OperationID", STRING),
    ("ErrCode", INT),
    ("ErrMsg", STRING),
    ("Data", BYTES),
)
_REQ_FIELDS: Final = (  # the Go SDK's GeneralWsReq order
    ("ReqIdentifier", INT),
    ("Token", STRING),
    ("SendID", STRING),
    ("OperationID", STRING),
    ("MsgIncr", STRING),
    ("Data", BYTES),
)
_RESP_TYPEDEF: Final = gob_struct_typedef("Resp", _RESP_FIELDS)
_REQ_TYPEDEF: Final = gob_struct_typedef("GeneralWsReq", _REQ_FIELDS)
_RESP_EXPECTED: Final = dict(_RESP_FIELDS)
_REQ_EXPECTED: Final = dict(_REQ_FIELDS)
_VALUE_HEAD: Final = b"\xff\x82"  # type id 65


def _gob_value(typedef: bytes, values: tuple[int | str | bytes, ...]) -> bytes:
    """A typedef followed by the struct value whose fields, by number, are `values` (zero ones omitted)."""
    v = bytearray(_VALUE_HEAD)
    prev = -1
    for i, x in enumerate(values):
        if not x:
            continue
        v.append(i - prev)
        prev = i
        if isinstance(x, int):
            if 0 <= x < 64:
                v.append(x << 1)
            else:
                put_int(v, x)
        else:
            raw = x.encode() if isinstance(x, str) else x
            n = len(raw)
            if n < 0x80:
                v.append(n)
            else:
                put_uint(v, n)
            v += raw
    v.append(0)
    out = bytearray(typedef)
    put_uint(out, len(v))
    out += v
    return bytes(out)


def _gob_encode_resp(r: Resp) -> bytes:
    return _gob_value(_RESP_TYPEDEF, (r.req_identifier, r.msg_incr, r.operation_id, r.err_code, r.err_msg, r.data))


def _gob_encode_req(r: Req) -> bytes:
    return _gob_value(_REQ_TYPEDEF, (r.req_identifier, r.token, r.send_id, r.operation_id, r.msg_incr, r.data))


def _int32(value: Any, what: str) -> int:
    if not _INT32_MIN <= value <= _INT32_MAX:
        raise FrameError(f"{what} out of int32 range: {value}")
    return int(value)


def _gob_decode_req(frame: bytes) -> Req:
    f = decode_gob_struct(frame, _REQ_EXPECTED)
    return Req(
        req_identifier=_int32(f.get("ReqIdentifier", 0), "ReqIdentifier"),
        token=f.get("Token", ""),
        send_id=f.get("SendID", ""),
        operation_id=f.get("OperationID", ""),
        msg_incr=f.get("MsgIncr", ""),
        data=f.get("Data", b""),
    )


def _gob_decode_resp(frame: bytes) -> Resp:
    f = decode_gob_struct(frame, _RESP_EXPECTED)
    return Resp(
        req_identifier=_int32(f.get("ReqIdentifier", 0), "ReqIdentifier"),
        msg_incr=f.get("MsgIncr", ""),
        operation_id=f.get("OperationID", ""),
        err_code=f.get("ErrCode", 0),
        err_msg=f.get("ErrMsg", ""),
        data=f.get("Data", b""),
    )


# --- JSON envelope (sdkType=js) ---------------------------------------------------------------------------

go_json_string = gojson.string  # a JSON string literal as Go's encoding/json writes it


def _b64(data: bytes) -> str | None:
    return base64.b64encode(data).decode("ascii") if data else None


def _json_encode_resp(r: Resp) -> bytes:
    """Go's json.Marshal of the Resp struct, fields in its order (one orjson call: protocol/gojson.py)."""
    return gojson.dumps(
        {
            "reqIdentifier": int(r.req_identifier),
            "msgIncr": r.msg_incr,
            "operationID": r.operation_id,
            "errCode": int(r.err_code),
            "errMsg": r.err_msg,
            "data": _b64(r.data),
        }
    )


def _json_encode_req(r: Req) -> bytes:
    return gojson.dumps(
        {
            "reqIdentifier": int(r.req_identifier),
            "token": r.token,
            "sendID": r.send_id,
            "operationID": r.operation_id,
            "msgIncr": r.msg_incr,
            "data": _b64(r.data),
        }
    )


def _json_object(frame: bytes, fields: Mapping[str, str], kinds: Mapping[str, str]) -> dict[str, Any]:
    """Decode a JSON envelope as Go would into its struct: keys case-insensitive, unknown ignored, strict kinds."""
    try:
        obj = orjson.loads(frame)
    except orjson.JSONDecodeError as exc:
        raise FrameError(f"json: {exc}") from None
    if not isinstance(obj, dict):
        raise FrameError("json: the envelope is not an object")
    out: dict[str, Any] = {}
    for key, value in obj.items():
        attr = fields.get(key) or fields.get(key.lower())
        if attr is None or value is None:
            continue
        kind = kinds[attr]
        if kind == "int":
            if type(value) is not int:
                raise FrameError(f"json: {key} must be an integer")
            out[attr] = _int32(value, key) if attr == "req_identifier" else value
        elif type(value) is not str:
            raise FrameError(f"json: {key} must be a string")
        elif kind == "bytes":
            try:
                out[attr] = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise FrameError(f"json: {key} is not standard base64") from None
        else:
            out[attr] = value
    return out


def _json_keys(*pairs: tuple[str, str, str]) -> tuple[dict[str, str], dict[str, str]]:
    fields = {k: a for k, a, _ in pairs} | {k.lower(): a for k, a, _ in pairs}
    return fields, {a: kind for _, a, kind in pairs}


_REQ_JSON: Final = _json_keys(
    ("reqIdentifier", "req_identifier", "int"),
    ("token", "token", "str"),
    ("sendID", "send_id", "str"),
    ("operationID", "operation_id", "str"),
    ("msgIncr", "msg_incr", "str"),
    ("data", "data", "bytes"),
)
_RESP_JSON: Final = _json_keys(
    ("reqIdentifier", "req_identifier", "int"),
    ("msgIncr", "msg_incr", "str"),
    ("operationID", "operation_id", "str"),
    ("errCode", "err_code", "int"),
    ("errMsg", "err_msg", "str"),
    ("data", "data", "bytes"),
)


def _json_decode_req(frame: bytes) -> Req:
    f = _json_object(frame, *_REQ_JSON)
    return Req(req_identifier=f.pop("req_identifier", 0), **f)


def _json_decode_resp(frame: bytes) -> Resp:
    f = _json_object(frame, *_RESP_JSON)
    return Resp(req_identifier=f.pop("req_identifier", 0), **f)


# --- gzip -------------------------------------------------------------------------------------------------


def gunzip(data: bytes, limit: int = MAX_DECOMPRESSED) -> bytes:
    """Inflate one frame (one or more gzip members, as Go's reader accepts); `FrameError` if bad or too big.

    zlib stops after `limit + 1` output bytes (`max_length`), so a bomb is refused having inflated just past
    the limit.
    """
    out = bytearray()
    rest = data
    try:
        for _ in range(MAX_GZIP_MEMBERS):
            d = zlib.decompressobj(31)
            out += d.decompress(rest, limit - len(out) + 1)
            if len(out) > limit:
                raise FrameError(f"gzip: frame inflates past {limit} bytes")
            if not d.eof:
                raise FrameError("gzip: truncated or not gzip")
            rest = d.unused_data
            if not rest:
                return bytes(out)
    except zlib.error as exc:
        raise FrameError(f"gzip: {exc}") from None
    raise FrameError(f"gzip: more than {MAX_GZIP_MEMBERS} members")


def gzip_frame(data: bytes) -> bytes:
    """One gzip member at Go's default level (6), mtime 0."""
    return zlib.compress(data, 6, wbits=31)


# --- the codec --------------------------------------------------------------------------------------------


class FrameCodec:
    """Encodes and decodes one connection's binary frames: envelope `kind` ("gob" | "json"), optional gzip."""

    __slots__ = ("_decode_req", "_decode_resp", "_encode_req", "_encode_resp", "gzip", "kind", "max_decompressed")

    def __init__(
        self, kind: Literal["gob", "json"] = "gob", gzip: bool = False, *, max_decompressed: int = MAX_DECOMPRESSED
    ) -> None:
        if kind == "gob":
            self._decode_req: Callable[[bytes], Req] = _gob_decode_req
            self._encode_resp: Callable[[Resp], bytes] = _gob_encode_resp
            self._encode_req: Callable[[Req], bytes] = _gob_encode_req
            self._decode_resp: Callable[[bytes], Resp] = _gob_decode_resp
        elif kind == "json":
            self._decode_req = _json_decode_req
            self._encode_resp = _json_encode_resp
            self._encode_req = _json_encode_req
            self._decode_resp = _json_decode_resp
        else:
            raise ValueError(f"unknown frame kind {kind!r}")
        self.kind = kind
        self.gzip = gzip
        self.max_decompressed = max_decompressed

    def __repr__(self) -> str:
        return f"FrameCodec({self.kind!r}, gzip={self.gzip})"

    def decode_req(self, frame: bytes) -> Req:
        """A client's binary frame → `Req`; `FrameError` if it is malformed."""
        if self.gzip:
            frame = gunzip(frame, self.max_decompressed)
        return self._decode_req(frame)

    def encode_resp(self, resp: Resp) -> bytes:
        """`Resp` → the binary frame to send."""
        frame = self._encode_resp(resp)
        return gzip_frame(frame) if self.gzip else frame

    def encode_req(self, req: Req) -> bytes:
        """Client side: `Req` → the binary frame an SDK would send."""
        frame = self._encode_req(req)
        return gzip_frame(frame) if self.gzip else frame

    def decode_resp(self, frame: bytes) -> Resp:
        """Client side: a server's binary frame → `Resp`; `FrameError` if it is malformed."""
        if self.gzip:
            frame = gunzip(frame, self.max_decompressed)
        return self._decode_resp(frame)


# --- text frames ------------------------------------------------------------------------------------------


class Heartbeat(NamedTuple):
    """An app-level heartbeat text frame: `type` "ping" or "pong", `body` the decoded JSON body (None if absent)."""

    type: Literal["ping", "pong"]
    body: Any


def parse_text_heartbeat(text: str | bytes) -> Heartbeat | None:
    """`{"type":"ping"|"pong","body":…}` → `Heartbeat`; None for anything else (OpenIM then closes the connection).

    As Go's decoder into `{Type string; Body json.RawMessage}`: keys case-insensitive, `type` must be a string.
    A body nested deeper than `MAX_HEARTBEAT_DEPTH` is not a heartbeat either: echoing it would exhaust Python's
    recursion limit (a ping whose body was 1,000 arrays deep raised RecursionError in `pong_text`).
    """
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    kind: Any = None
    body: Any = None
    for key, value in obj.items():
        low = key.lower()
        if low == "type":
            if value is not None and type(value) is not str:
                return None
            kind = value if value is not None else kind
        elif low == "body":
            body = value
    if not _nested_at_most(body, MAX_HEARTBEAT_DEPTH):
        return None
    if kind == "ping":
        return Heartbeat("ping", body)
    if kind == "pong":
        return Heartbeat("pong", body)
    return None


def _nested_at_most(value: Any, depth: int) -> bool:
    """Whether `value` (decoded JSON) nests arrays and objects at most `depth` levels deep; iterative."""
    level: list[Any] = [value]
    for _ in range(depth):
        level = [c for v in level for c in (v.values() if isinstance(v, dict) else v if isinstance(v, list) else ())]
        if not level:
            return True
    return False


def pong_text(body: Any = None) -> str:
    """The text pong answering a ping: `{"type":"pong","body":<body echoed>}`; accepts the ping's `Heartbeat`."""
    if isinstance(body, Heartbeat):
        body = body.body
    return '{"type":"pong","body":' + gojson.dumps(body).decode() + "}"


def handshake_text(err_code: int = 0, err_msg: str = "", err_dlt: str = "") -> str:
    """The handshake result sent as the first text frame when `isMsgResp=true` (OpenIM's apiresp shape)."""
    return f'{{"errCode":{int(err_code)},"errMsg":{go_json_string(err_msg)},"errDlt":{go_json_string(err_dlt)}}}'


def ws_binary_frame(payload: bytes) -> bytes:
    """`payload` as one unmasked, unfragmented binary WebSocket frame (RFC 6455 §5.2), as a server sends it.

    A server frame depends on nothing but its payload (no mask, no extension here: permessage-deflate is never
    negotiated), so a push is framed once and the same bytes go to every connection (push.py, conn.py).
    """
    n = len(payload)
    if n < 126:
        return bytes((_WS_FIN_BINARY, n)) + payload
    if n < 1 << 16:
        return struct.pack("!BBH", _WS_FIN_BINARY, 126, n) + payload
    return struct.pack("!BBQ", _WS_FIN_BINARY, 127, n) + payload
