"""Hostile client frames: what an attacker sends the gateway to make decoding cost more than the frame.

Each builder returns the bytes of one binary frame as it travels (gzip'd when `gzip`), within the default read limit
(msggateway.websocketMaxMsgLen, 51,200 bytes), aimed at one cost of the decoder: inflating (`gzip_bomb`, many gzip
members), the gob type table (many definitions, wide structs, deep nesting), declared lengths and counts, unknown
fields to skip (the issue's 4-million-element `[]int`), JSON nesting. `HOSTILE` lists them by name with the
outcome the gateway must reach ("refused": a FrameError, the connection closes; "decoded": a valid request).
bench/hostile_frames.py times each; tests/gateway/test_frames.py and tests/gateway/test_hostile.py replay them.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from openim.gateway._gob import (
    BYTES,
    INT,
    MAX_SKIPPED_VALUES,
    MAX_STRUCT_FIELDS,
    MAX_TYPES_PER_FRAME,
    STRING,
    gob_struct_typedef,
    put_int,
    put_uint,
)
from openim.gateway.frames import MAX_GZIP_MEMBERS, FrameCodec, Req

__all__ = [
    "HOSTILE",
    "Hostile",
    "deep_value",
    "gob_int",
    "gob_message",
    "gob_slice_typedef",
    "gob_string",
    "gob_uint",
    "gob_value",
    "gzip_bomb",
    "gzip_members",
    "huge_length",
    "int_slice",
    "json_deep",
    "type_table",
    "wide_struct",
]

READ_LIMIT: Final = 51_200
_REQ_ID = 65  # the type id gob_struct_typedef gives a struct by default


def gob_uint(u: int) -> bytes:
    out = bytearray()
    put_uint(out, u)
    return bytes(out)


def gob_int(i: int) -> bytes:
    out = bytearray()
    put_int(out, i)
    return bytes(out)


def gob_message(body: bytes) -> bytes:
    return gob_uint(len(body)) + body


def gob_string(text: str) -> bytes:
    raw = text.encode()
    return gob_uint(len(raw)) + raw


def gob_value(type_id: int, fields: list[tuple[int, bytes]]) -> bytes:
    """A struct value message: (field number, encoded value) pairs in increasing order."""
    body = bytearray(gob_int(type_id))
    prev = -1
    for number, encoded in fields:
        body += gob_uint(number - prev) + encoded
        prev = number
    body.append(0)
    return gob_message(bytes(body))


def gob_slice_typedef(type_id: int, elem: int) -> bytes:
    common = b"\x01" + gob_string(f"S{type_id}") + b"\x01" + gob_int(type_id) + b"\x00"
    return gob_message(gob_int(-type_id) + b"\x02" + b"\x01" + common + b"\x01" + gob_int(elem) + b"\x00" + b"\x00")


def _struct_typedef(type_id: int, name: str, fields: list[tuple[str, int]]) -> bytes:
    return gob_struct_typedef(name, tuple(fields), type_id)


def gzip(data: bytes, level: int = 9) -> bytes:
    """One gzip member (what the SDKs send with compression=gzip)."""
    return zlib.compress(data, level, wbits=31)


def int_slice(elements: int, *, declared: int | None = None) -> bytes:
    """A SendMsg request whose unknown `[]int` field holds `elements` zeros (the issue: 4 M from a 4 KB frame);
    `declared` claims another count than the zeros that follow."""
    fields = [("ReqIdentifier", INT), ("Pad", 66), ("SendID", STRING)]
    count = elements if declared is None else declared
    return (
        gob_slice_typedef(66, INT)
        + _struct_typedef(_REQ_ID, "Req", fields)
        + gob_value(_REQ_ID, [(0, gob_int(1003)), (1, gob_uint(count) + bytes(elements)), (2, gob_string("u1"))])
    )


def type_table(definitions: int) -> bytes:
    """`definitions` distinct slice types defined before a minimal request (each costs a parse, none is used)."""
    table = b"".join(gob_slice_typedef(100 + i, INT) for i in range(definitions))
    return table + _struct_typedef(_REQ_ID, "Req", [("SendID", STRING)]) + gob_value(_REQ_ID, [(0, gob_string("u1"))])


def wide_struct(fields: int) -> bytes:
    """A request struct of `fields` fields, every extra one an unknown int set to 1 (all to be skipped)."""
    names = [("SendID", STRING), *((f"F{i}", INT) for i in range(fields - 1))]
    values = [(0, gob_string("u1")), *((i, gob_int(1)) for i in range(1, fields))]
    return _struct_typedef(_REQ_ID, "Req", names) + gob_value(_REQ_ID, values)


def deep_value(depth: int) -> bytes:
    """A request whose unknown field is a self-referential struct nested `depth` levels deep."""
    node = 66
    typedefs = _struct_typedef(node, "Node", [("Next", node)]) + _struct_typedef(
        _REQ_ID, "Req", [("SendID", STRING), ("Tree", node)]
    )
    nested = b"\x00"  # the innermost Node: no fields
    for _ in range(depth - 1):
        nested = b"\x01" + nested + b"\x00"  # field 0 (Next) holds the level below
    return typedefs + gob_value(_REQ_ID, [(0, gob_string("u1")), (1, nested)])


def huge_length() -> bytes:
    """A Data field declaring 2**62 bytes, in a frame of a few dozen."""
    return _struct_typedef(_REQ_ID, "Req", [("SendID", STRING), ("Data", BYTES)]) + gob_value(
        _REQ_ID, [(0, gob_string("u1")), (1, gob_uint(1 << 62) + b"x")]
    )


def gzip_bomb(inflated: int) -> bytes:
    """One gzip member of `inflated` zero bytes: about a thousandth of that on the wire."""
    return gzip(bytes(inflated))


def gzip_members(members: int) -> bytes:
    """A valid request split over `members` concatenated gzip members (Go's reader accepts them)."""
    raw = FrameCodec("gob").encode_req(Req(1001, send_id="u1", operation_id="op", msg_incr="u1_1"))
    step = max(1, len(raw) // members)
    parts = [raw[i : i + step] for i in range(0, step * (members - 1), step)]
    parts.append(raw[step * (members - 1) :])
    return b"".join(gzip(p) for p in parts)


def json_deep(depth: int) -> bytes:
    """A JSON envelope (sdkType=js) whose unknown key holds arrays nested `depth` deep."""
    return b'{"reqIdentifier":1001,"sendID":"u1","x":' + b"[" * depth + b"]" * depth + b"}"


def _largest_valid(gzip_it: bool) -> bytes:
    """A valid request whose Data fills the frame: incompressible raw, or compressible gzip'd near the inflate cap."""
    if gzip_it:
        data = b"a" * (4 * READ_LIMIT - 512)
        return gzip(FrameCodec("gob").encode_req(Req(1003, send_id="u1", operation_id="op", data=data)))
    data = bytes((i * 7919) & 0xFF for i in range(READ_LIMIT - 512))
    return FrameCodec("gob").encode_req(Req(1003, send_id="u1", operation_id="op", data=data))


@dataclass(frozen=True, slots=True)
class Hostile:
    """One hostile frame: how the gateway's codec reads it, and what it must make of it."""

    name: str
    build: Callable[[], bytes]
    kind: Literal["gob", "json"] = "gob"
    gzip: bool = False
    expect: Literal["refused", "decoded"] = "refused"

    def codec(self, max_decompressed: int = 4 * READ_LIMIT) -> FrameCodec:
        return FrameCodec(self.kind, gzip=self.gzip, max_decompressed=max_decompressed)


HOSTILE: Final[tuple[Hostile, ...]] = (
    Hostile("int-slice-4M (the issue)", lambda: gzip(int_slice(4_000_000)), gzip=True),
    Hostile("int-slice at the cap", lambda: int_slice(MAX_SKIPPED_VALUES - 1), expect="decoded"),
    Hostile("gzip bomb 50 MB", lambda: gzip_bomb(50_000_000), gzip=True),
    Hostile("gzip members at the cap", lambda: gzip_members(MAX_GZIP_MEMBERS), gzip=True, expect="decoded"),
    Hostile("gzip members 2,000", lambda: gzip_members(2000), gzip=True),
    Hostile("type table at the cap", lambda: type_table(MAX_TYPES_PER_FRAME - 1), expect="decoded"),
    Hostile("type table 5,000 (gzip)", lambda: gzip(type_table(5000)), gzip=True),
    Hostile("wide struct at the cap", lambda: wide_struct(MAX_STRUCT_FIELDS), expect="decoded"),
    Hostile("wide struct 8,000 (gzip)", lambda: gzip(wide_struct(8000)), gzip=True),
    Hostile("deep value 60", lambda: deep_value(60), expect="decoded"),
    Hostile("deep value 20,000", lambda: deep_value(20_000)),
    Hostile("declared length 2**62", huge_length),
    Hostile("declared []int of 2**40", lambda: int_slice(16, declared=1 << 40)),
    Hostile("json nested 20,000", lambda: json_deep(20_000), kind="json"),
    Hostile("json nested 1,000", lambda: json_deep(1000), kind="json", expect="decoded"),
    Hostile(
        "json largest valid",
        lambda: (
            b'{"reqIdentifier":1003,"sendID":"u1","data":"' + base64.b64encode(bytes(3 * READ_LIMIT // 4 - 200)) + b'"}'
        ),
        kind="json",
        expect="decoded",
    ),
    Hostile("gob largest valid", lambda: _largest_valid(False), expect="decoded"),
    Hostile("gob+gzip largest valid", lambda: _largest_valid(True), gzip=True, expect="decoded"),
)
