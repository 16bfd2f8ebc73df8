"""Go `encoding/json` shape of protobuf messages, both ways: what OpenIM's REST API and notification contents use.

OpenIM marshals its protoc-gen-go structs with Go's `encoding/json` after stripping `omitempty`
(docs/protocol/go-json.md). So, unlike protobuf's canonical JSON mapping:

- keys are the proto field names as written (`userID`, `Msgs`, `IsPinned`, `sesstionType`), every field present;
- int64/uint64 are JSON numbers; enums are numbers; bytes are standard base64 with padding;
- an unset sub-message, an empty repeated field, an empty map and empty bytes are `null` (Go's nil);
- map keys are sorted (as Go writes them);
- OpenIM's wrappers (`openim.protobuf.StringValue`, `Int32Value`, …) are bare scalars, or `null` when unset.

`to_go(message) -> dict` produces that shape (serialise it with any JSON encoder); `from_go(cls, data)` decodes a
parsed JSON value as Go's decoder would: keys matched exactly, else case-insensitively; unknown keys ignored;
`null` leaves a field unset; types strict (a string for a number, a fraction or a bool for an integer, a number
for a string, an out-of-range integer → `ArgsError` whose detail names the field path). Wrappers take a bare
scalar (`BoolValue` also takes 0/1, as Go's `strconv.ParseBool` does); absent or `null` leaves them unset.

Field tables are built once per message class and cached.

`dumps(value)` writes a decoded value (e.g. what `to_go` returns) as Go's `json.Marshal` does — compact, UTF-8,
with `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c`… (its HTML-safe default) — by orjson; `string(s)` one
string literal. It is the one Go-JSON encoder of the tree: tokens, hashes, notification contents, the gateway's
JSON envelope.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from operator import attrgetter
from typing import Any, Final, TypeVar, cast

import orjson
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from openim.protocol.errors import ArgsError

__all__ = ["dumps", "from_go", "string", "to_go"]

M = TypeVar("M", bound=Message)

_WRAPPER_PACKAGE: Final = "openim.protobuf."
_WRAPPERS: Final = frozenset(
    _WRAPPER_PACKAGE + n
    for n in (
        "DoubleValue",
        "FloatValue",
        "Int64Value",
        "UInt64Value",
        "Int32Value",
        "UInt32Value",
        "BoolValue",
        "StringValue",
        "BytesValue",
    )
)

_T = FieldDescriptor
_INT_RANGES: Final[dict[int, tuple[int, int]]] = {
    _T.TYPE_INT32: (-(1 << 31), (1 << 31) - 1),
    _T.TYPE_SINT32: (-(1 << 31), (1 << 31) - 1),
    _T.TYPE_SFIXED32: (-(1 << 31), (1 << 31) - 1),
    _T.TYPE_ENUM: (-(1 << 31), (1 << 31) - 1),
    _T.TYPE_INT64: (-(1 << 63), (1 << 63) - 1),
    _T.TYPE_SINT64: (-(1 << 63), (1 << 63) - 1),
    _T.TYPE_SFIXED64: (-(1 << 63), (1 << 63) - 1),
    _T.TYPE_UINT32: (0, (1 << 32) - 1),
    _T.TYPE_FIXED32: (0, (1 << 32) - 1),
    _T.TYPE_UINT64: (0, (1 << 64) - 1),
    _T.TYPE_FIXED64: (0, (1 << 64) - 1),
}
_GO_TYPE_NAMES: Final[dict[int, str]] = {
    _T.TYPE_INT32: "int32",
    _T.TYPE_SINT32: "int32",
    _T.TYPE_SFIXED32: "int32",
    _T.TYPE_INT64: "int64",
    _T.TYPE_SINT64: "int64",
    _T.TYPE_SFIXED64: "int64",
    _T.TYPE_UINT32: "uint32",
    _T.TYPE_FIXED32: "uint32",
    _T.TYPE_UINT64: "uint64",
    _T.TYPE_FIXED64: "uint64",
    _T.TYPE_BOOL: "bool",
    _T.TYPE_STRING: "string",
    _T.TYPE_BYTES: "[]uint8",
    _T.TYPE_DOUBLE: "float64",
    _T.TYPE_FLOAT: "float32",
}

# Go's encoder escapes these although JSON does not require it; they can occur only inside strings.
_HTML_ESCAPES: Final = tuple((c.encode(), f"\\u{ord(c):04x}".encode()) for c in ("<", ">", "&", "\u2028", "\u2029"))
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_SORT: Final = orjson.OPT_SORT_KEYS


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """`value` as Go's `json.Marshal` writes it: compact, UTF-8, HTML characters and U+2028/9 escaped.

    Dicts keep their order (a struct's fields) unless `sort_keys` (a map, as Go sorts them). orjson refuses a lone
    surrogate and integers beyond 64 bits: those values take the stdlib path, the surrogate becoming U+FFFD as Go's
    decoder would have made it.
    """
    try:
        out = orjson.dumps(value, option=_SORT if sort_keys else 0)
    except (orjson.JSONEncodeError, TypeError):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
        out = _SURROGATE.sub("\ufffd", text).encode()
    for raw, escaped in _HTML_ESCAPES:
        if raw in out:
            out = out.replace(raw, escaped)
    return out


def string(s: str) -> str:
    """One JSON string literal, quotes included, as Go writes it."""
    return dumps(s).decode()


# Field kinds.
_SCALAR, _BYTES, _MESSAGE, _WRAPPER, _OPTIONAL, _REPEATED, _REPEATED_BYTES, _REPEATED_MESSAGE, _MAP = range(9)


def _is_map(field: FieldDescriptor) -> bool:
    mt = field.message_type
    return field.is_repeated and mt is not None and mt.GetOptions().map_entry


def _kind(field: FieldDescriptor) -> int:
    if _is_map(field):
        return _MAP
    if field.is_repeated:
        if field.type == _T.TYPE_MESSAGE:
            return _REPEATED_MESSAGE
        return _REPEATED_BYTES if field.type == _T.TYPE_BYTES else _REPEATED
    if field.type == _T.TYPE_MESSAGE:
        mt = field.message_type
        return _WRAPPER if mt is not None and mt.full_name in _WRAPPERS else _MESSAGE
    if field.has_presence:  # proto3 `optional` scalar: a Go pointer
        return _OPTIONAL
    return _BYTES if field.type == _T.TYPE_BYTES else _SCALAR


def _b64(data: bytes) -> str | None:
    return base64.b64encode(data).decode("ascii") if data else None


# --- encoding ---------------------------------------------------------------------------------------------

_MAP_SCALAR, _MAP_BYTES, _MAP_MESSAGE = range(3)


class _EncPlan:
    """How to write one message class: a template dict in field order, plain scalars read in one call."""

    __slots__ = ("others", "scalar_names", "scalars", "template", "wrapper")

    def __init__(self, desc: Descriptor) -> None:
        self.wrapper = desc.full_name in _WRAPPERS
        self.template: dict[str, Any] = {f.name: None for f in desc.fields}
        names = [f.name for f in desc.fields if _kind(f) == _SCALAR]
        self.scalar_names = tuple(names)
        self.scalars: Callable[[Message], tuple[Any, ...]] | None = None
        if len(names) == 1:  # attrgetter of one name returns the value, not a tuple
            single = attrgetter(names[0])
            self.scalars = lambda m: (single(m),)
        elif names:
            self.scalars = attrgetter(*names)
        self.others = tuple((f.name, _kind(f), _map_value_kind(f)) for f in desc.fields if _kind(f) != _SCALAR)


def _map_value_kind(field: FieldDescriptor) -> int:
    if not _is_map(field):
        return _MAP_SCALAR
    vt = field.message_type.fields_by_name["value"].type  # type: ignore[union-attr]
    return _MAP_MESSAGE if vt == _T.TYPE_MESSAGE else _MAP_BYTES if vt == _T.TYPE_BYTES else _MAP_SCALAR


_enc_plans: dict[type[Message], _EncPlan] = {}


def _encode_message(m: Message) -> Any:
    plan = _enc_plans.get(type(m))
    if plan is None:
        plan = _enc_plans[type(m)] = _EncPlan(cast(Descriptor, m.DESCRIPTOR))
    if plan.wrapper:
        value = m.value  # type: ignore[attr-defined]
        return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
    out = plan.template.copy()
    if plan.scalars is not None:
        out.update(zip(plan.scalar_names, plan.scalars(m), strict=True))
    for name, kind, map_kind in plan.others:
        if kind == _BYTES:
            out[name] = _b64(getattr(m, name))
        elif kind == _MESSAGE or kind == _WRAPPER:
            if m.HasField(name):
                out[name] = _encode_message(getattr(m, name))
        elif kind == _REPEATED:
            v = getattr(m, name)
            if v:
                out[name] = list(v)
        elif kind == _REPEATED_MESSAGE:
            v = getattr(m, name)
            if v:
                out[name] = [_encode_message(x) for x in v]
        elif kind == _MAP:
            v = getattr(m, name)
            if v:
                out[name] = _encode_map(map_kind, v)
        elif kind == _OPTIONAL:
            if m.HasField(name):
                out[name] = _b64_or_value(getattr(m, name))
        else:  # _REPEATED_BYTES
            v = getattr(m, name)
            if v:
                out[name] = [base64.b64encode(x).decode("ascii") for x in v]
    return out


def _b64_or_value(value: Any) -> Any:
    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value


def _encode_map(map_kind: int, v: Any) -> dict[str, Any]:
    keys = sorted((str(k), k) for k in v)  # Go sorts map keys as strings
    if map_kind == _MAP_MESSAGE:
        return {sk: _encode_message(v[k]) for sk, k in keys}
    if map_kind == _MAP_BYTES:
        return {sk: base64.b64encode(v[k]).decode("ascii") for sk, k in keys}
    return {sk: v[k] for sk, k in keys}


def to_go(message: Message) -> dict[str, Any]:
    """The Go `encoding/json` form of `message` (OpenIM's, without omitempty) as a JSON-ready dict."""
    out = _encode_message(message)
    if not isinstance(out, dict):
        raise TypeError(f"{message.DESCRIPTOR.full_name} is a wrapper, not a struct")
    return out


# --- decoding ---------------------------------------------------------------------------------------------


class _Field:
    __slots__ = ("check", "field", "go_type", "kind", "name")

    def __init__(self, field: FieldDescriptor) -> None:
        self.field = field
        self.name = field.name
        self.kind = _kind(field)
        self.go_type = _go_type(field)
        self.check = _scalar_checker(field) if self.kind in (_SCALAR, _BYTES, _OPTIONAL) else None


class _Plan:
    __slots__ = ("exact", "folded", "struct")

    def __init__(self, desc: Descriptor) -> None:
        self.struct = desc.name
        self.exact = {f.name: _Field(f) for f in desc.fields}
        self.folded: dict[str, _Field] = {}
        for name, f in self.exact.items():
            self.folded.setdefault(name.lower(), f)

    def lookup(self, key: str) -> _Field | None:
        return self.exact.get(key) or self.folded.get(key.lower())


_dec_plans: dict[Descriptor, _Plan] = {}


def _dec_plan(desc: Descriptor) -> _Plan:
    plan = _dec_plans.get(desc)
    if plan is None:
        plan = _dec_plans[desc] = _Plan(desc)
    return plan


def _go_message_name(desc: Descriptor) -> str:
    package = desc.full_name.rsplit(".", 2)
    return f"{package[-2]}.{desc.name}" if len(package) >= 2 else desc.name


def _go_type(field: FieldDescriptor) -> str:
    if _is_map(field):
        vf = field.message_type.fields_by_name["value"]  # type: ignore[union-attr]
        return f"map[string]{_go_type(vf)}"
    if field.type == _T.TYPE_MESSAGE:
        base = "*" + _go_message_name(field.message_type)  # type: ignore[arg-type]
    elif field.type == _T.TYPE_ENUM:
        base = _go_message_name(field.enum_type)  # type: ignore[arg-type]
    else:
        base = _GO_TYPE_NAMES.get(field.type, "?")
    return "[]" + base if field.is_repeated else base


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _type_error(value: Any, struct: str, path: str, go_type: str) -> ArgsError:
    return ArgsError(
        f"json: cannot unmarshal {_json_kind(value)} into Go struct field {struct}.{path} of type {go_type}"
    )


_Checker = Callable[[Any], Any]  # returns the value to store, or raises _Mismatch
_MISMATCH: Final = object()


def _scalar_checker(field: FieldDescriptor) -> _Checker:
    t = field.type
    if t == _T.TYPE_STRING:
        return lambda v: v if type(v) is str else _MISMATCH
    if t == _T.TYPE_BOOL:
        return lambda v: v if type(v) is bool else _MISMATCH
    if t == _T.TYPE_BYTES:
        return _check_bytes
    if t in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT):
        return lambda v: float(v) if type(v) in (int, float) else _MISMATCH
    lo, hi = _INT_RANGES[t]

    def check_int(v: Any) -> Any:
        return v if type(v) is int and lo <= v <= hi else _MISMATCH

    return check_int


def _check_bytes(v: Any) -> Any:
    if type(v) is not str:
        return _MISMATCH
    try:
        return base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        return _MISMATCH


def _wrapper_value(full_name: str, v: Any) -> Any:
    """The value a bare JSON scalar gives an OpenIM wrapper (its Go UnmarshalJSON rules), or _MISMATCH."""
    name = full_name[len(_WRAPPER_PACKAGE) :]
    tv = type(v)
    if name == "StringValue":
        return v if tv is str else _MISMATCH
    if name == "BoolValue":  # strconv.ParseBool on the raw JSON text: true/false, and also 1/0
        if tv is bool:
            return v
        return bool(v) if tv is int and v in (0, 1) else _MISMATCH
    if name == "BytesValue":
        return _check_bytes(v)
    if name in ("DoubleValue", "FloatValue"):
        return float(v) if tv in (int, float) else _MISMATCH
    lo, hi = {
        "Int32Value": (-(1 << 31), (1 << 31) - 1),
        "UInt32Value": (0, (1 << 32) - 1),
        "Int64Value": (-(1 << 63), (1 << 63) - 1),
        "UInt64Value": (0, (1 << 64) - 1),
    }[name]
    return v if tv is int and lo <= v <= hi else _MISMATCH


def _decode_into(m: Message, data: Any, path: str) -> None:
    desc = cast(Descriptor, m.DESCRIPTOR)
    plan = _dec_plan(desc)
    if not isinstance(data, dict):
        raise ArgsError(f"json: cannot unmarshal {_json_kind(data)} into Go value of type {_go_message_name(desc)}")
    for key, value in data.items():
        f = plan.lookup(key)
        if f is None:
            continue
        name = f.name
        kind = f.kind
        fpath = f"{path}.{name}" if path else name
        if value is None:  # a no-op for a Go scalar; nil for a pointer, slice or map
            if kind != _SCALAR:
                m.ClearField(name)
            continue
        if kind == _SCALAR or kind == _BYTES or kind == _OPTIONAL:
            v = f.check(value)  # type: ignore[misc]
            if v is _MISMATCH:
                raise _type_error(value, plan.struct, fpath, f.go_type)
            setattr(m, name, v)
        elif kind == _MESSAGE:
            if not isinstance(value, dict):
                raise _type_error(value, plan.struct, fpath, f.go_type)
            sub = getattr(m, name)
            _decode_into(sub, value, fpath)
            sub.SetInParent()
        elif kind == _WRAPPER:
            wrapper = f.field.message_type.full_name  # type: ignore[union-attr]
            v = _wrapper_value(wrapper, value)
            if v is _MISMATCH:
                raise ArgsError(
                    f"json: cannot unmarshal {_json_kind(value)} into {fpath} ({wrapper}): want a bare scalar"
                )
            getattr(m, name).value = v
        elif kind == _MAP:
            _decode_map(m, f, value, plan.struct, fpath)
        else:
            _decode_list(m, f, value, plan.struct, fpath)


def _zero(field: FieldDescriptor) -> Any:
    t = field.type
    if t == _T.TYPE_STRING:
        return ""
    if t == _T.TYPE_BYTES:
        return b""
    if t == _T.TYPE_BOOL:
        return False
    return 0.0 if t in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT) else 0


def _decode_list(m: Message, f: _Field, value: Any, struct: str, path: str) -> None:
    if not isinstance(value, list):
        raise _type_error(value, struct, path, f.go_type)
    m.ClearField(f.name)  # Go resets the slice, then appends
    target = getattr(m, f.name)
    if f.kind == _REPEATED_MESSAGE:
        for item in value:
            sub = target.add()
            if item is not None:
                if not isinstance(item, dict):
                    raise _type_error(item, struct, path, f.go_type)
                _decode_into(sub, item, path)
        return
    check = _scalar_checker(f.field)
    zero = _zero(f.field)
    items = []
    for item in value:
        if item is None:
            items.append(zero)
            continue
        v = check(item)
        if v is _MISMATCH:
            raise _type_error(item, struct, path, f.go_type[2:])
        items.append(v)
    target.extend(items)


def _decode_map(m: Message, f: _Field, value: Any, struct: str, path: str) -> None:
    if not isinstance(value, dict):
        raise _type_error(value, struct, path, f.go_type)
    entry = f.field.message_type
    key_field = entry.fields_by_name["key"]  # type: ignore[union-attr]
    value_field = entry.fields_by_name["value"]  # type: ignore[union-attr]
    target = getattr(m, f.name)
    key_check = None if key_field.type == _T.TYPE_STRING else _scalar_checker(key_field)
    for k, item in value.items():
        key: Any = k
        if key_check is not None:  # Go parses non-string keys from their text
            try:
                key = key_check(int(k))
            except ValueError:
                key = _MISMATCH
            if key is _MISMATCH:
                raise _type_error(k, struct, path, f.go_type)
        if value_field.type == _T.TYPE_MESSAGE:
            if key in target:
                del target[key]  # Go stores a freshly decoded value
            sub = target[key]
            if item is not None:
                if value_field.message_type.full_name in _WRAPPERS:  # type: ignore[union-attr]
                    v = _wrapper_value(value_field.message_type.full_name, item)  # type: ignore[union-attr]
                    if v is _MISMATCH:
                        raise _type_error(item, struct, path, f.go_type)
                    sub.value = v
                elif isinstance(item, dict):
                    _decode_into(sub, item, path)
                else:
                    raise _type_error(item, struct, path, f.go_type)
            continue
        if item is None:
            target[key] = _zero(value_field)
            continue
        v = _scalar_checker(value_field)(item)
        if v is _MISMATCH:
            raise _type_error(item, struct, path, f.go_type)
        target[key] = v


def from_go(cls: type[M], data: Any) -> M:
    """Decode a parsed JSON value into a new `cls` as Go's `encoding/json` would; `ArgsError` on a type mismatch.

    `data` None (JSON `null`) gives the zero message; anything but an object or null is an error.
    """
    message = cls()
    if data is not None:
        _decode_into(message, data, "")
    return message
