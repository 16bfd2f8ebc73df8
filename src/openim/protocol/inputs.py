"""What every decoded request must satisfy before a service sees it: no NUL in text, integers within 64 bits (int64
or uint64), JSON nested at most MAX_JSON_DEPTH deep. Anything else is 1001 ArgsError naming where (docs/security.md,
"Input limits").

The transports call these where they decode, and nowhere else: `load_json` for every REST JSON body
(`api/json_body.py`, `api/pb.py`), `check_message` for protobuf bodies (`api/pb.py`, /jssdk) and WebSocket requests
(`gateway/dispatch.py`). Why each rule:

- NUL (U+0000): PostgreSQL refuses it in text columns (an error deep in a write), SQLite stores it, so the same
  request would succeed on one database and fail on the other. OpenIM's IDs and names never hold it.
- Lone surrogates (`"\\ud800"`) and invalid UTF-8: not text at all; SQLite's driver fails on them. orjson refuses
  both while parsing, which `load_json` reports as invalid JSON.
- Integers past 64 bits (below int64's minimum or above uint64's maximum): no field of OpenIM's holds them (Go's
  decoder refuses them). orjson already reads them as floats, which integer fields refuse; each field's own range
  (int32, int64, uint64 such as `idHash`) is its model's to check (`api/models/base.py` Int32 and Int64, the
  protobuf field types in `gojson.from_go`), so that no value reaches a column it does not fit.
- Depth: Python's encoders and validators recurse; a body nested 1,000 deep ended as errCode 500. OpenIM's
  bodies nest a few levels.

Cheap on the common path: a JSON body is only walked when its bytes could break a rule (an escaped NUL, a run of
19 digits, more brackets than MAX_JSON_DEPTH), a protobuf one only when it holds a zero byte.
"""

from __future__ import annotations

import re
from typing import Any, Final

import orjson
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from openim.protocol.errors import ArgsError

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_JSON_DEPTH",
    "MAX_WALKED_MESSAGES",
    "UINT64_MAX",
    "check_json_value",
    "check_message",
    "load_json",
]

INT64_MIN: Final = -(1 << 63)
INT64_MAX: Final = (1 << 63) - 1
UINT64_MAX: Final = (1 << 64) - 1
MAX_JSON_DEPTH: Final = 64
# Nested protobuf messages walked for NUL in one request: OpenIM's SDKs send at most a few hundred (pull ranges).
MAX_WALKED_MESSAGES: Final = 4096
_LONG_DIGITS: Final = re.compile(rb"[0-9]{19}")
_NUL_ESCAPE: Final = b"\\u0000"
_NUL: Final = "\x00"
_STRING: Final = FieldDescriptor.TYPE_STRING
_MESSAGE: Final = FieldDescriptor.TYPE_MESSAGE


def load_json(body: bytes) -> Any:
    """A request body decoded as JSON and checked; ArgsError (1001) with a readable errDlt when it is not valid
    UTF-8 JSON (lone surrogates included) or breaks a rule of this module."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ArgsError(f"request body is not valid JSON: {exc}") from None
    if (
        _NUL_ESCAPE in body
        or _LONG_DIGITS.search(body) is not None
        or body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH
    ):
        check_json_value(value)
    return value


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def check_json_value(value: Any, where: str = "") -> None:
    """Walk a decoded JSON value (iteratively): ArgsError at the first NUL in a key or string, integer outside
    [INT64_MIN, UINT64_MAX], or container nested deeper than MAX_JSON_DEPTH."""
    stack: list[tuple[Any, str, int]] = [(value, where, 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, str):
            if _NUL in node:
                raise ArgsError(f"{path or 'body'}: the NUL character (U+0000) is not allowed in text")
        elif isinstance(node, bool):
            continue
        elif isinstance(node, int):
            if not INT64_MIN <= node <= UINT64_MAX:
                raise ArgsError(f"{path or 'body'}: {node} does not fit 64 bits")
        elif isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ArgsError(f"{path or 'body'}: JSON nested more than {MAX_JSON_DEPTH} levels deep")
            if isinstance(node, dict):
                for key, item in node.items():
                    if _NUL in key:
                        raise ArgsError(f"{_path(path, key)}: the NUL character (U+0000) is not allowed in a key")
                    stack.append((item, _path(path, key), depth + 1))
            else:
                stack.extend((item, _path(path, i), depth + 1) for i, item in enumerate(node))


def check_message(message: Message, raw: bytes | None = None) -> None:
    """ArgsError at the first string field (map keys and values included) of `message` holding a NUL.

    `raw` is the serialized form it was parsed from: without a zero byte in it no string can hold a NUL, and the
    walk is skipped (the SDKs' requests almost never hold one). The walk visits at most MAX_WALKED_MESSAGES nested
    messages, so a request of 100,000 empty entries costs a bounded walk; past that it is refused. Strings of a
    repeated field are checked in one pass over their concatenation.
    """
    if raw is not None and b"\x00" not in raw:
        return
    budget = [MAX_WALKED_MESSAGES]
    if _holds_nul(message, budget):
        raise ArgsError(f"{_nul_path(message, message.DESCRIPTOR.name)}: the NUL character (U+0000) is not allowed")
    if budget[0] < 0:
        raise ArgsError(f"the request holds more than {MAX_WALKED_MESSAGES} nested messages")


def _holds_nul(message: Message, budget: list[int]) -> bool:
    """True when a string of `message` holds a NUL; stops (False, budget below 0) once the budget is spent."""
    for field, value in message.ListFields():
        kind = field.type
        if kind == _STRING:
            if _NUL in ("".join(value) if field.is_repeated else value):
                return True
        elif kind == _MESSAGE:
            budget[0] -= len(value) if field.is_repeated else 1  # before touching the entries (len is O(1))
            if budget[0] < 0:
                return False
            entry = field.message_type
            items: Any = value if field.is_repeated else (value,)
            if entry is not None and entry.GetOptions().map_entry:
                if _NUL in "".join(k for k in value if isinstance(k, str)):
                    return True
                items = list(value.values())
                if not items or not isinstance(items[0], Message):  # scalar values: only strings can hold a NUL
                    if _NUL in "".join(v for v in items if isinstance(v, str)):
                        return True
                    continue
            for item in items:
                if _holds_nul(item, budget):
                    return True
                if budget[0] < 0:
                    return False
    return False


def _nul_path(message: Message, path: str) -> str:
    """Where the NUL is (a second, slower walk, only for the error message)."""
    for field, value in message.ListFields():
        name = f"{path}.{field.name}"
        if field.type == _STRING:
            for i, text in enumerate(value if field.is_repeated else [value]):
                if _NUL in text:
                    return f"{name}[{i}]" if field.is_repeated else name
        elif field.type == _MESSAGE:
            entry = field.message_type
            if entry is not None and entry.GetOptions().map_entry:
                for key, item in value.items():
                    if isinstance(key, str) and _NUL in key:
                        return f"{name} (a key)"
                    if isinstance(item, str) and _NUL in item:
                        return f"{name}[{key}]"
                    if isinstance(item, Message) and _holds_nul(item, [MAX_WALKED_MESSAGES]):
                        return _nul_path(item, f"{name}[{key}]")
            else:
                for i, item in enumerate(value if field.is_repeated else [value]):
                    if _holds_nul(item, [MAX_WALKED_MESSAGES]):
                        return _nul_path(item, f"{name}[{i}]" if field.is_repeated else name)
    return path
