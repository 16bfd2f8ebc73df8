"""Sans-I/O codec of the WS gateway's frames: bytes ⇄ `Req`/`Resp`; never sees a socket.

Binary frames carry OpenIM's envelope (spec: /work/shared/spec/gateway-protocol.md §1.4-§2.4):

- `gob` (Go and wasm SDKs): each frame is one complete Go `encoding/gob` stream, type definition first, then
  the value. Decoding is generic: the field table is read from the stream's own type definition (field order
  is not assumed, the struct name is not checked, unknown fields are skipped, a known field of the wrong kind
  is an error). Encoding a `Resp` writes a precomputed type definition then the value (zero fields omitted).
- `json` (`sdkType=js`): Go `encoding/json` of the same structs; `data` is standard base64 or null.

Either may be gzip-wrapped per frame (`compression=gzip`). Anything malformed raises `FrameError`; the caller
closes the connection, as OpenIM does. Text frames only carry heartbeats (`parse_text_heartbeat`,
`pong_text`) and the handshake result (`handshake_text`).

The client side (`encode_req`, `decode_resp`) is here too, for tests and tools that play an SDK.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple

import orjson

__all__ = [
    "FrameCodec",
    "FrameError",
    "Heartbeat",
    "Req",
    "Resp",
    "decode_gob_struct",
    "gob_struct_typedef",
    "handshake_text",
    "parse_text_heartbeat",
    "pong_text",
]

MAX_DECOMPRESSED: Final = 4 << 20  # a gzip frame must not inflate past this (the raw frame limit is 51200)


class FrameError(Exception):
    """A frame that cannot be decoded: bad gzip, gob or JSON, or a field of the wrong kind."""


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


# --- gob primitives ---------------------------------------------------------------------------------------

# Built-in gob type ids; user-defined types get ids >= 65.
BOOL, INT, UINT, FLOAT, BYTES, STRING, COMPLEX, INTERFACE = 1, 2, 3, 4, 5, 6, 7, 8
FIRST_USER_ID: Final = 65
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
_MAX_DEPTH: Final = 64
_NOTHING: Final[Mapping[str, int]] = {}


def _put_uint(out: bytearray, u: int) -> None:
    if u < 0x80:
        out.append(u)
    else:
        n = (u.bit_length() + 7) >> 3
        out.append(256 - n)
        out += u.to_bytes(n, "big")


def _put_int(out: bytearray, i: int) -> None:
    if not _INT64_MIN <= i <= _INT64_MAX:
        raise ValueError(f"gob int out of range: {i}")
    _put_uint(out, i << 1 if i >= 0 else ((~i) << 1) | 1)


def _put_str(out: bytearray, raw: bytes) -> None:
    _put_uint(out, len(raw))
    out += raw


def _get_uint(b: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos >= end:
        raise FrameError("gob: truncated (unsigned integer)")
    c = b[pos]
    if c < 0x80:
        return c, pos + 1
    n = 256 - c
    if n > 8:
        raise FrameError("gob: encoded unsigned integer out of range")
    stop = pos + 1 + n
    if stop > end:
        raise FrameError("gob: truncated (unsigned integer)")
    return int.from_bytes(b[pos + 1 : stop], "big"), stop


def _get_int(b: bytes, pos: int, end: int) -> tuple[int, int]:
    u, pos = _get_uint(b, pos, end)
    return (~(u >> 1) if u & 1 else u >> 1), pos


def _get_bytes(b: bytes, pos: int, end: int) -> tuple[bytes, int]:
    n, pos = _get_uint(b, pos, end)
    stop = pos + n
    if stop > end:
        raise FrameError("gob: truncated (string or bytes)")
    return b[pos:stop], stop


# --- gob type definitions ---------------------------------------------------------------------------------


class _Struct(NamedTuple):
    name: str
    fields: tuple[tuple[str, int], ...]  # (field name, type id) by field number


class _Slice(NamedTuple):
    elem: int


class _Array(NamedTuple):
    elem: int
    length: int


class _Map(NamedTuple):
    key: int
    elem: int


class _Opaque(NamedTuple):
    """GobEncoder / BinaryMarshaler / TextMarshaler: the value travels as a byte string."""

    name: str


_WireType = _Struct | _Slice | _Array | _Map | _Opaque

# Schemas of gob's bootstrap types (the wire form of type definitions): per field number, "s" string, "i" int,
# a nested schema tuple, or ("[]", schema) for a slice of structs.
_Schema = tuple[Any, ...]
_COMMON: _Schema = ("s", "i")  # CommonType{Name, Id}
_FIELD: _Schema = ("s", "i")  # fieldType{Name, Id}
_ARRAY: _Schema = (_COMMON, "i", "i")  # arrayType{CommonType, Elem, Len}
_SLICE: _Schema = (_COMMON, "i")  # sliceType{CommonType, Elem}
_STRUCT: _Schema = (_COMMON, ("[]", _FIELD))  # structType{CommonType, Field []*fieldType}
_MAP: _Schema = (_COMMON, "i", "i")  # mapType{CommonType, Key, Elem}
_GOBENC: _Schema = (_COMMON,)  # gobEncoderType{CommonType}
_WIRE: _Schema = (_ARRAY, _SLICE, _STRUCT, _MAP, _GOBENC, _GOBENC, _GOBENC)  # wireType{ArrayT, SliceT, ...}


def _read_schema(b: bytes, pos: int, end: int, schema: _Schema) -> tuple[list[Any], int]:
    values: list[Any] = [None] * len(schema)
    field = -1
    while True:
        delta, pos = _get_uint(b, pos, end)
        if delta == 0:
            return values, pos
        field += delta
        if field >= len(schema):
            raise FrameError("gob: bad field number in type definition")
        kind = schema[field]
        if kind == "s":
            raw, pos = _get_bytes(b, pos, end)
            values[field] = raw.decode("utf-8", "replace")
        elif kind == "i":
            values[field], pos = _get_int(b, pos, end)
        elif kind[0] == "[]":
            n, pos = _get_uint(b, pos, end)
            if n > end - pos:
                raise FrameError("gob: truncated (slice in type definition)")
            items = []
            for _ in range(n):
                item, pos = _read_schema(b, pos, end, kind[1])
                items.append(item)
            values[field] = items
        else:
            values[field], pos = _read_schema(b, pos, end, kind)


def _parse_wire_type(b: bytes, pos: int, end: int) -> _WireType:
    values, pos = _read_schema(b, pos, end, _WIRE)
    if pos != end:
        raise FrameError("gob: extra data in type definition")
    present = [i for i, v in enumerate(values) if v is not None]
    if len(present) != 1:
        raise FrameError("gob: type definition must define exactly one type")
    i = present[0]
    v = values[i]
    name = (v[0] or [None])[0] or ""
    if i == 0:
        return _Array(elem=v[1] or 0, length=v[2] or 0)
    if i == 1:
        return _Slice(elem=v[1] or 0)
    if i == 2:
        fields = tuple((f[0] or "", f[1] or 0) for f in (v[1] or ()))
        return _Struct(name=name, fields=fields)
    if i == 3:
        return _Map(key=v[1] or 0, elem=v[2] or 0)
    return _Opaque(name=name)


# Type definitions are identical in every frame of a connection: parse each distinct one once.
_typedef_cache: dict[bytes, _WireType] = {}
_TYPEDEF_CACHE_MAX: Final = 512


def _typedef(b: bytes, pos: int, end: int) -> _WireType:
    """The wire type defined by the message body b[pos:end] (just after its negative type id)."""
    key = b[pos:end]
    hit = _typedef_cache.get(key)
    if hit is None:
        hit = _parse_wire_type(b, pos, end)
        if len(_typedef_cache) >= _TYPEDEF_CACHE_MAX:
            _typedef_cache.clear()
        _typedef_cache[key] = hit
    return hit


def _skip(b: bytes, pos: int, end: int, tid: int, types: Mapping[int, _WireType], depth: int) -> int:
    """Skip one value of type `tid` (an unknown field); returns the position after it."""
    if tid in (BOOL, INT, UINT, FLOAT):
        return _get_uint(b, pos, end)[1]
    if tid in (BYTES, STRING):
        return _get_bytes(b, pos, end)[1]
    if tid == COMPLEX:  # real and imaginary parts
        return _get_uint(b, _get_uint(b, pos, end)[1], end)[1]
    if depth > _MAX_DEPTH:
        raise FrameError("gob: value nested too deeply")
    t = types.get(tid)
    if t is None:
        raise FrameError(f"gob: unknown type id {tid}")
    if isinstance(t, _Struct):
        return _walk_struct(b, pos, end, t, types, depth + 1, _NOTHING, {})
    if isinstance(t, _Opaque):
        return _get_bytes(b, pos, end)[1]
    n, pos = _get_uint(b, pos, end)
    if n > end - pos:
        raise FrameError("gob: truncated (collection)")
    if isinstance(t, _Array) and n != t.length:
        raise FrameError("gob: array length mismatch")
    for _ in range(n):
        if isinstance(t, _Map):
            pos = _skip(b, pos, end, t.key, types, depth + 1)
        pos = _skip(b, pos, end, t.elem, types, depth + 1)
    return pos


def _walk_struct(
    b: bytes,
    pos: int,
    end: int,
    t: _Struct,
    types: Mapping[int, _WireType],
    depth: int,
    expected: Mapping[str, int],
    out: dict[str, Any],
) -> int:
    """Read a struct value; fields named in `expected` (name → type id) go to `out`, the rest are skipped."""
    fields = t.fields
    nfields = len(fields)
    field = -1
    while True:
        if pos >= end:
            raise FrameError("gob: truncated (struct)")
        delta = b[pos]  # field deltas are almost always one byte
        if delta < 0x80:
            pos += 1
        else:
            delta, pos = _get_uint(b, pos, end)
        if delta == 0:
            return pos
        field += delta
        if field >= nfields:
            raise FrameError("gob: field number out of range")
        name, tid = fields[field]
        want = expected.get(name)
        if want is None:
            pos = _skip(b, pos, end, tid, types, depth)
        elif tid != want:
            raise FrameError(f"gob: field {name} has type id {tid}, want {want}")
        elif tid == INT:
            out[name], pos = _get_int(b, pos, end)
        else:  # STRING or BYTES: a length, then the raw bytes
            n = b[pos] if pos < end else 0xFF
            if n < 0x80:
                pos += 1
            else:
                n, pos = _get_uint(b, pos, end)
            stop = pos + n
            if stop > end:
                raise FrameError("gob: truncated (string or bytes)")
            out[name] = b[pos:stop].decode("utf-8", "replace") if tid == STRING else b[pos:stop]
            pos = stop


_checked: dict[_Struct, Mapping[str, int]] = {}  # struct → the `expected` it was last checked against


def _check_fields(t: _Struct, expected: Mapping[str, int]) -> None:
    """As Go compiles its decoder: some field must match by name, and every match must have the expected kind."""
    if _checked.get(t) is expected:
        return
    matched = False
    for name, tid in t.fields:
        want = expected.get(name)
        if want is not None:
            if tid != want:
                raise FrameError(f"gob: field {name} has type id {tid}, want {want}")
            matched = True
    if not matched:
        raise FrameError(f"gob: no fields of {t.name or 'the struct'} match")
    if len(_checked) >= _TYPEDEF_CACHE_MAX:
        _checked.clear()
    _checked[t] = expected


def decode_gob_struct(frame: bytes, expected: Mapping[str, int]) -> dict[str, Any]:
    """Decode one gob stream holding a struct value; returns the fields named in `expected` that were sent.

    `expected` maps field name → built-in type id (INT, STRING or BYTES); a field of that name with another
    type raises `FrameError`, fields of other names are skipped, a struct sharing no field name is an error
    (as Go's decoder). Fields the sender omitted (zero values) are absent from the result.
    """
    types: dict[int, _WireType] = {}
    pos, end = 0, len(frame)
    try:
        while True:
            if pos >= end:
                raise FrameError("gob: stream ended before a value")
            n, pos = _get_uint(frame, pos, end)
            mend = pos + n
            if n == 0 or mend > end:
                raise FrameError("gob: truncated message")
            tid, pos = _get_int(frame, pos, mend)
            if tid < 0:  # a type definition
                tid = -tid
                if tid < FIRST_USER_ID or tid in types:
                    raise FrameError(f"gob: duplicate or reserved type id {tid}")
                types[tid] = _typedef(frame, pos, mend)
                pos = mend
                continue
            t = types.get(tid)
            if not isinstance(t, _Struct):
                raise FrameError(f"gob: value of type id {tid} is not a defined struct")
            _check_fields(t, expected)
            out: dict[str, Any] = {}
            pos = _walk_struct(frame, pos, mend, t, types, 0, expected, out)
            if pos != mend:
                raise FrameError("gob: extra data after the value")
            return out
    except (IndexError, RecursionError) as exc:  # belt and braces: the readers check bounds themselves
        raise FrameError(f"gob: malformed stream ({exc.__class__.__name__})") from None


def gob_struct_typedef(name: str, fields: tuple[tuple[str, int], ...], type_id: int = FIRST_USER_ID) -> bytes:
    """The length-prefixed gob type-definition message of a flat struct, as Go's encoder writes it."""
    common = bytearray()
    if name:
        common.append(1)
        _put_str(common, name.encode())
        common.append(1)
    else:
        common.append(2)
    _put_int(common, type_id)
    common.append(0)
    body = bytearray()
    _put_int(body, -type_id)
    body.append(3)  # wireType field 2: StructT
    body.append(1)  # structType field 0: CommonType
    body += common
    body.append(1)  # structType field 1: Field
    _put_uint(body, len(fields))
    for fname, ftid in fields:
        body.append(1)
        _put_str(body, fname.encode())
        body.append(1)
        _put_int(body, ftid)
        body.append(0)
    body += b"\x00\x00"  # end structType, end wireType
    out = bytearray()
    _put_uint(out, len(body))
    return bytes(out + body)


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
                _put_int(v, x)
        else:
            raw = x.encode() if isinstance(x, str) else x
            n = len(raw)
            if n < 0x80:
                v.append(n)
            else:
                _put_uint(v, n)
            v += raw
    v.append(0)
    out = bytearray(typedef)
    _put_uint(out, len(v))
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

_GO_HTML_ESCAPES: Final = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def go_json_string(s: str) -> str:
    """A JSON string literal as Go's encoding/json writes it (UTF-8 kept, <, >, &, U+2028/9 escaped)."""
    return json.dumps(s, ensure_ascii=False).translate(_GO_HTML_ESCAPES)


def _go_json_value(value: Any) -> str:
    """Compact JSON of a decoded value, HTML-escaped as Go's json.Marshal does (used to echo ping bodies)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(_GO_HTML_ESCAPES)


def _b64(data: bytes) -> str:
    return '"' + base64.b64encode(data).decode("ascii") + '"' if data else "null"


def _json_encode_resp(r: Resp) -> bytes:
    return (
        f'{{"reqIdentifier":{int(r.req_identifier)},"msgIncr":{go_json_string(r.msg_incr)},'
        f'"operationID":{go_json_string(r.operation_id)},"errCode":{int(r.err_code)},'
        f'"errMsg":{go_json_string(r.err_msg)},"data":{_b64(r.data)}}}'
    ).encode()


def _json_encode_req(r: Req) -> bytes:
    return (
        f'{{"reqIdentifier":{int(r.req_identifier)},"token":{go_json_string(r.token)},'
        f'"sendID":{go_json_string(r.send_id)},"operationID":{go_json_string(r.operation_id)},'
        f'"msgIncr":{go_json_string(r.msg_incr)},"data":{_b64(r.data)}}}'
    ).encode()


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
    """Inflate one frame (one or more gzip members, as Go's reader accepts); `FrameError` if bad or too big."""
    out = bytearray()
    rest = data
    try:
        while True:
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
    if kind == "ping":
        return Heartbeat("ping", body)
    if kind == "pong":
        return Heartbeat("pong", body)
    return None


def pong_text(body: Any = None) -> str:
    """The text pong answering a ping: `{"type":"pong","body":<body echoed>}`; accepts the ping's `Heartbeat`."""
    if isinstance(body, Heartbeat):
        body = body.body
    return '{"type":"pong","body":' + _go_json_value(body) + "}"


def handshake_text(err_code: int = 0, err_msg: str = "", err_dlt: str = "") -> str:
    """The handshake result sent as the first text frame when `isMsgResp=true` (OpenIM's apiresp shape)."""
    return f'{{"errCode":{int(err_code)},"errMsg":{go_json_string(err_msg)},"errDlt":{go_json_string(err_dlt)}}}'
