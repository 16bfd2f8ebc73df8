"""A subset of Go's `encoding/gob`: enough to read and write OpenIM's WS envelopes, and to skip anything else.

Each WS frame is one complete gob stream (docs/protocol/gateway.md §2.2): type definitions,
then one value. `decode_gob_struct` reads the struct value generically, from the field table of the stream's own
type definition (field order not assumed, struct name not checked, unknown fields of any gob type skipped, a
known field of another kind refused, as Go's decoder does); `gob_struct_typedef` writes the type definition of a
flat struct as Go's encoder does. Everything malformed raises `FrameError`. Used by `frames.py`.

Cost is bounded by the frame, whatever it declares (docs/security.md, "Hostile frames"): at most
MAX_TYPES_PER_FRAME type definitions of at most MAX_STRUCT_FIELDS fields each, at most MAX_SKIPPED_VALUES values
of unknown fields skipped, nesting at most 64 deep, and every declared length checked against the bytes left
before anything is walked. Past these the frame is refused, so the Python-level work per frame is a constant
and the rest (slicing, int parsing) is linear in its bytes: bench/hostile_frames.py measures it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NamedTuple

__all__ = [
    "BOOL",
    "BYTES",
    "COMPLEX",
    "FIRST_USER_ID",
    "FLOAT",
    "INT",
    "INTERFACE",
    "MAX_SKIPPED_ELEMENTS",
    "MAX_SKIPPED_VALUES",
    "MAX_STRUCT_FIELDS",
    "MAX_TYPES_PER_FRAME",
    "STRING",
    "UINT",
    "FrameError",
    "decode_gob_struct",
    "gob_struct_typedef",
    "put_int",
    "put_uint",
]


class FrameError(Exception):
    """A frame that cannot be decoded: bad gzip, gob or JSON, or a field of the wrong kind."""


# --- gob primitives ---------------------------------------------------------------------------------------

# Built-in gob type ids; Go gives user-defined types ids from 64 up (encoding/gob firstUserId), in the order a
# process first encodes them: the wasm core's GeneralWsReq is 64. Our own Resp typedef uses 65, the id whose
# bytes were checked against Go's decoder (tests/gateway/test_frames.py).
BOOL, INT, UINT, FLOAT, BYTES, STRING, COMPLEX, INTERFACE = 1, 2, 3, 4, 5, 6, 7, 8
FIRST_USER_ID: Final = 64
RESP_TYPE_ID: Final = 65
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
_MAX_DEPTH: Final = 64
# Values of unknown fields (scalars, collection elements, struct fields) skipped per frame. OpenIM's clients
# send no unknown fields at all; without a cap a 4 KB gzip frame declaring a 4-million-element []int field kept
# the event loop busy for seconds.
MAX_SKIPPED_VALUES: Final = 1024
MAX_SKIPPED_ELEMENTS: Final = MAX_SKIPPED_VALUES  # the name of the first version of this cap
# Type definitions per frame and fields per struct: OpenIM's SDKs send one definition of 6 fields. Without these a
# frame of tens of thousands of tiny definitions (or one struct of 30,000 fields) cost tens of ms of Python.
MAX_TYPES_PER_FRAME: Final = 16
MAX_STRUCT_FIELDS: Final = 64
_NOTHING: Final[Mapping[str, int]] = {}


def put_uint(out: bytearray, u: int) -> None:
    """Append gob's encoding of an unsigned int: one byte below 128, else a negated byte count and big-endian."""
    if u < 0x80:
        out.append(u)
    else:
        n = (u.bit_length() + 7) >> 3
        out.append(256 - n)
        out += u.to_bytes(n, "big")


def put_int(out: bytearray, i: int) -> None:
    """Append gob's encoding of a signed int (zig-zag: the sign in the low bit)."""
    if not _INT64_MIN <= i <= _INT64_MAX:
        raise ValueError(f"gob int out of range: {i}")
    put_uint(out, i << 1 if i >= 0 else ((~i) << 1) | 1)


def _put_str(out: bytearray, raw: bytes) -> None:
    put_uint(out, len(raw))
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
            if n > MAX_STRUCT_FIELDS:
                raise FrameError(f"gob: a struct of more than {MAX_STRUCT_FIELDS} fields")
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


# Type definitions are identical in every frame of a connection: parse each distinct one once. Only small ones
# are kept (OpenIM's envelope definitions are about 100 bytes), so the cache holds at most 512 KiB of keys.
_typedef_cache: dict[bytes, _WireType] = {}
_TYPEDEF_CACHE_MAX: Final = 512
_TYPEDEF_CACHE_KEY_MAX: Final = 1024


def _typedef(b: bytes, pos: int, end: int) -> _WireType:
    """The wire type defined by the message body b[pos:end] (just after its negative type id)."""
    if end - pos > _TYPEDEF_CACHE_KEY_MAX:
        return _parse_wire_type(b, pos, end)
    key = b[pos:end]
    hit = _typedef_cache.get(key)
    if hit is None:
        hit = _parse_wire_type(b, pos, end)
        if len(_typedef_cache) >= _TYPEDEF_CACHE_MAX:
            _typedef_cache.clear()
        _typedef_cache[key] = hit
    return hit


def _skip_bytes(b: bytes, pos: int, end: int) -> int:
    """The position after a string or byte slice, without copying it."""
    n, pos = _get_uint(b, pos, end)
    stop = pos + n
    if stop > end:
        raise FrameError("gob: truncated (string or bytes)")
    return stop


def _spend(budget: list[int], n: int) -> None:
    budget[0] -= n
    if budget[0] < 0:
        raise FrameError(f"gob: unknown fields hold more than {MAX_SKIPPED_VALUES} values")


def _skip(b: bytes, pos: int, end: int, tid: int, types: Mapping[int, _WireType], depth: int, budget: list[int]) -> int:
    """Skip one value of type `tid` (an unknown field); returns the position after it.

    `budget[0]` is how many more values (unknown fields, collection elements) this frame may skip: the caller spent
    one for this value; a collection spends its length before its elements are walked, so past the budget the frame
    is refused unwalked.
    """
    if tid in (BOOL, INT, UINT, FLOAT):
        return _get_uint(b, pos, end)[1]
    if tid in (BYTES, STRING):
        return _skip_bytes(b, pos, end)
    if tid == COMPLEX:  # real and imaginary parts
        return _get_uint(b, _get_uint(b, pos, end)[1], end)[1]
    if depth > _MAX_DEPTH:
        raise FrameError("gob: value nested too deeply")
    t = types.get(tid)
    if t is None:
        raise FrameError(f"gob: unknown type id {tid}")
    if isinstance(t, _Struct):
        return _walk_struct(b, pos, end, t, types, depth + 1, _NOTHING, {}, budget)
    if isinstance(t, _Opaque):
        return _skip_bytes(b, pos, end)
    n, pos = _get_uint(b, pos, end)
    if n > end - pos:  # every element takes at least one byte
        raise FrameError("gob: truncated (collection)")
    if isinstance(t, _Array) and n != t.length:
        raise FrameError("gob: array length mismatch")
    _spend(budget, n)
    for _ in range(n):
        if isinstance(t, _Map):
            pos = _skip(b, pos, end, t.key, types, depth + 1, budget)
        pos = _skip(b, pos, end, t.elem, types, depth + 1, budget)
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
    budget: list[int],
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
            _spend(budget, 1)
            pos = _skip(b, pos, end, tid, types, depth, budget)
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
                if len(types) >= MAX_TYPES_PER_FRAME:
                    raise FrameError(f"gob: more than {MAX_TYPES_PER_FRAME} type definitions")
                types[tid] = _typedef(frame, pos, mend)
                pos = mend
                continue
            t = types.get(tid)
            if not isinstance(t, _Struct):
                raise FrameError(f"gob: value of type id {tid} is not a defined struct")
            _check_fields(t, expected)
            out: dict[str, Any] = {}
            pos = _walk_struct(frame, pos, mend, t, types, 0, expected, out, [MAX_SKIPPED_VALUES])
            if pos != mend:
                raise FrameError("gob: extra data after the value")
            return out
    except (IndexError, RecursionError) as exc:  # belt and braces: the readers check bounds themselves
        raise FrameError(f"gob: malformed stream ({exc.__class__.__name__})") from None


def gob_struct_typedef(name: str, fields: tuple[tuple[str, int], ...], type_id: int = RESP_TYPE_ID) -> bytes:
    """The length-prefixed gob type-definition message of a flat struct, as Go's encoder writes it."""
    common = bytearray()
    if name:
        common.append(1)
        _put_str(common, name.encode())
        common.append(1)
    else:
        common.append(2)
    put_int(common, type_id)
    common.append(0)
    body = bytearray()
    put_int(body, -type_id)
    body.append(3)  # wireType field 2: StructT
    body.append(1)  # structType field 0: CommonType
    body += common
    body.append(1)  # structType field 1: Field
    put_uint(body, len(fields))
    for fname, ftid in fields:
        body.append(1)
        _put_str(body, fname.encode())
        body.append(1)
        put_int(body, ftid)
        body.append(0)
    body += b"\x00\x00"  # end structType, end wireType
    out = bytearray()
    put_uint(out, len(body))
    return bytes(out + body)
