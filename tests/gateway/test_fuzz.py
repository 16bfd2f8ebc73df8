"""Hostile frames against the sans-I/O codec (frames.py, _gob.py) and the protobuf requests dispatch.py decodes.

Each property: whatever a client sends, decoding returns a well-typed value or raises the one error its caller
handles (FrameError → the connection closes; DecodeError → 1001), never anything else, and bombs (gzip, type
tables, huge declared lengths, deep nesting) are refused with bounded memory. Decode times are printed, not
asserted (bench/ measures them). The live-gateway half is tests/gateway/test_fuzz_live.py.

Cost: a few hundred examples per property, derandomized so that CI runs the same cases every time; set
OPENIM_FUZZ_EXAMPLES to run more by hand.
"""

from __future__ import annotations

import json
import os
import time
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf.message import DecodeError, Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openim.gateway._gob import BOOL, BYTES, COMPLEX, FIRST_USER_ID, INT, INTERFACE, STRING, UINT, put_int, put_uint
from openim.gateway.frames import (
    FrameCodec,
    FrameError,
    Heartbeat,
    Req,
    gzip_frame,
    parse_text_heartbeat,
    pong_text,
)
from openim.protocol.pb import msg_pb2, push_pb2, sdkws_pb2
from openim.settings import OPENIM_READ_LIMIT, Settings

EXAMPLES = int(os.environ.get("OPENIM_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# What a gzip'd frame may inflate to on the gateway (websocketMaxMsgLen x websocketMaxInflateRatio, 200 KiB), which
# GatewayServer gives every connection's codec (FrameCodec's own default, 4 MiB, is for clients reading the server).
INFLATE = Settings().msggateway.max_inflated_len
CODECS = {
    "gob": FrameCodec("gob", max_decompressed=INFLATE),
    "gob+gzip": FrameCodec("gob", gzip=True, max_decompressed=INFLATE),
    "json": FrameCodec("json", max_decompressed=INFLATE),
    "json+gzip": FrameCodec("json", gzip=True, max_decompressed=INFLATE),
}
# The request messages dispatch.py decodes from a frame's Data, one per ReqIdentifier it serves.
REQUEST_MESSAGES: list[type[Message]] = [
    sdkws_pb2.GetMaxSeqReq,
    sdkws_pb2.PullMessageBySeqsReq,
    sdkws_pb2.MsgData,
    msg_pb2.GetSeqMessageReq,
    msg_pb2.GetConversationsHasReadAndMaxSeqReq,
    msg_pb2.GetLastMessageReq,
    push_pb2.DelUserPushTokenReq,
    sdkws_pb2.SetAppBackgroundStatusReq,
    sdkws_pb2.SubUserOnlineStatus,
]


def decode(codec: FrameCodec, frame: bytes) -> Req | None:
    """The codec's answer to a frame: a well-typed Req, or None for FrameError; anything else fails the test."""
    try:
        req = codec.decode_req(frame)
    except FrameError:
        return None
    assert isinstance(req.req_identifier, int) and -(1 << 31) <= req.req_identifier < (1 << 31)
    for text in (req.token, req.send_id, req.operation_id, req.msg_incr):
        assert isinstance(text, str)
    assert isinstance(req.data, bytes)
    return req


# --- strategies ------------------------------------------------------------------------------------------------

reqs = st.builds(
    Req,
    req_identifier=st.sampled_from([1001, 1002, 1003, 1004, 1005, 1006, 1007, 2003, 2004, 2005, 0, -1, 1 << 30]),
    token=st.text(max_size=60),
    send_id=st.text(max_size=20),
    operation_id=st.text(max_size=20),
    msg_incr=st.text(max_size=20),
    data=st.binary(max_size=200),
)


@st.composite
def mutated(draw: st.DrawFn, frame: bytes) -> bytes:
    """`frame` after 1–6 edits: bytes overwritten, inserted, deleted, duplicated, or the frame cut short."""
    out = bytearray(frame)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["set", "insert", "delete", "duplicate", "truncate", "extreme"]))
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        if op == "set" and out:
            out[at] = draw(st.integers(0, 255))
        elif op == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del out[at : at + draw(st.integers(1, 8))]
        elif op == "duplicate":
            out[at:at] = out[at : at + draw(st.integers(1, 32))]
        elif op == "truncate":
            del out[at:]
        elif out:  # a length or count byte set to gob's "8-byte number follows", or 0xff/0x00
            out[at : at + 1] = draw(st.sampled_from([b"\xf8\xff\xff\xff\xff\xff\xff\xff\xff", b"\xff", b"\x00"]))
    return bytes(out)


# --- gob type tables -------------------------------------------------------------------------------------------


def _message(body: bytes) -> bytes:
    out = bytearray()
    put_uint(out, len(body))
    return bytes(out) + body


def _common(type_id: int, name: str = "") -> bytes:
    out = bytearray()
    if name:
        out.append(1)
        put_uint(out, len(name.encode()))
        out += name.encode()
        out.append(1)
    else:
        out.append(2)
    put_int(out, type_id)
    out.append(0)
    return bytes(out)


def typedef(type_id: int, kind: str, *args: Any) -> bytes:
    """A gob type-definition message: kind "struct" (args: fields), "slice" (elem), "array" (elem, len),
    "map" (key, elem)."""
    body = bytearray()
    put_int(body, -type_id)
    if kind == "struct":
        (fields,) = args
        body.append(3)
        body.append(1)
        body += _common(type_id, "T")
        body.append(1)
        put_uint(body, len(fields))
        for name, tid in fields:
            body.append(1)
            put_uint(body, len(name.encode()))
            body += name.encode()
            body.append(1)
            put_int(body, tid)
            body.append(0)
        body += b"\x00\x00"
    else:
        field = {"array": 1, "slice": 2, "map": 4}[kind]
        body.append(field)
        body.append(1)
        body += _common(type_id)
        for value in args:
            body.append(1)
            put_int(body, value)
        body += b"\x00\x00"
    return _message(bytes(body))


KNOWN = [("ReqIdentifier", INT), ("Token", STRING), ("SendID", STRING), ("OperationID", STRING)]
KNOWN += [("MsgIncr", STRING), ("Data", BYTES)]


def _value_of(tid: int, draw: st.DrawFn, types: dict[int, tuple[str, Any]], depth: int) -> bytes:
    """Bytes of a value of type `tid`, sometimes lying about a length or count."""
    out = bytearray()
    if tid in (BOOL, INT, UINT, FLOAT_ID):
        put_uint(out, draw(st.integers(0, (1 << 64) - 1)))
    elif tid in (BYTES, STRING):
        raw = draw(st.binary(max_size=20))
        put_uint(out, draw(st.sampled_from([len(raw), len(raw), 1 << 40, len(raw) + 1])))
        out += raw
    elif tid == COMPLEX:
        put_uint(out, draw(st.integers(0, (1 << 64) - 1)))
        put_uint(out, draw(st.integers(0, (1 << 64) - 1)))
    elif tid in types and depth < 8:
        kind, spec = types[tid]
        if kind == "struct":
            field = -1
            for i, (_, ftid) in enumerate(spec):
                if draw(st.booleans()):
                    out.append(i - field)
                    field = i
                    out += _value_of(ftid, draw, types, depth + 1)
            out.append(0)
        else:
            count = draw(st.sampled_from([0, 1, 3, 4_000_000, 1 << 62]))
            put_uint(out, count)
            for _ in range(min(count, 3)):
                if kind == "map":
                    out += _value_of(spec[0], draw, types, depth + 1)
                out += _value_of(spec[-1], draw, types, depth + 1)
    else:
        put_uint(out, draw(st.integers(0, 300)))
    return bytes(out)


FLOAT_ID = 4


@st.composite
def gob_type_tables(draw: st.DrawFn) -> bytes:
    """A gob stream whose type table declares collections, maps, arrays and nested (even self-referencing)
    structs as unknown fields next to the known ones, and a value that may lie about their sizes."""
    builtin = [BOOL, INT, UINT, FLOAT_ID, BYTES, STRING, COMPLEX, INTERFACE]
    types: dict[int, tuple[str, Any]] = {}
    defs = bytearray()
    next_id = FIRST_USER_ID
    for _ in range(draw(st.integers(0, 5))):
        known_ids = builtin + list(types) + [next_id]  # next_id: a type that refers to itself
        kind = draw(st.sampled_from(["slice", "array", "map", "struct"]))
        if kind == "struct":
            fields = [(f"F{i}", draw(st.sampled_from(known_ids))) for i in range(draw(st.integers(0, 4)))]
            types[next_id] = ("struct", fields)
            defs += typedef(next_id, "struct", fields)
        elif kind == "slice":
            elem = draw(st.sampled_from(known_ids))
            types[next_id] = ("slice", (elem,))
            defs += typedef(next_id, "slice", elem)
        elif kind == "array":
            elem, length = draw(st.sampled_from(known_ids)), draw(st.sampled_from([0, 3, 4_000_000, 1 << 62]))
            types[next_id] = ("array", (elem,))
            defs += typedef(next_id, "array", elem, length)
        else:
            key, elem = draw(st.sampled_from(known_ids)), draw(st.sampled_from(known_ids))
            types[next_id] = ("map", (key, elem))
            defs += typedef(next_id, "map", key, elem)
        next_id += 1
    extra = [(f"X{i}", draw(st.sampled_from(builtin + list(types)))) for i in range(draw(st.integers(0, 4)))]
    fields = draw(st.permutations(KNOWN + extra))
    top = next_id
    types[top] = ("struct", fields)
    defs += typedef(top, "struct", fields)
    value = bytearray()
    put_int(value, top)
    value += _value_of(top, draw, types, 0)
    return bytes(defs) + _message(bytes(value))


# --- envelopes: valid, mutated, hostile ------------------------------------------------------------------------


@FUZZ
@given(reqs, st.sampled_from(sorted(CODECS)))
def test_valid_frames_decode_to_what_was_sent(req: Req, name: str) -> None:
    """The control: every codec reads back what its client side wrote."""
    codec = CODECS[name]
    assert decode(codec, codec.encode_req(req)) == req


@FUZZ
@given(st.data(), reqs, st.sampled_from(sorted(CODECS)))
def test_mutated_frames_decode_or_raise_frame_error(data: st.DataObject, req: Req, name: str) -> None:
    """A valid frame of any codec with bytes set, inserted, deleted, duplicated or cut: a Req or FrameError."""
    codec = CODECS[name]
    frame = codec.encode_req(req)
    decode(codec, data.draw(mutated(frame)))
    if codec.gzip:  # the same edits inside the gzip member, then compressed again
        plain = FrameCodec(codec.kind).encode_req(req)
        decode(codec, gzip_frame(data.draw(mutated(plain))))


@FUZZ
@given(gob_type_tables(), st.booleans())
def test_gob_type_tables_decode_or_raise_frame_error(frame: bytes, gz: bool) -> None:
    """Unknown collections, maps, arrays, recursive structs and lying counts: a Req or FrameError."""
    codec = CODECS["gob+gzip" if gz else "gob"]
    decode(codec, gzip_frame(frame) if gz else frame)


@FUZZ
@given(st.data(), gob_type_tables())
def test_mutated_gob_type_tables_decode_or_raise_frame_error(data: st.DataObject, frame: bytes) -> None:
    """The same type tables with bytes edited: a Req or FrameError."""
    decode(CODECS["gob"], data.draw(mutated(frame)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
envelope_keys = st.sampled_from(["reqIdentifier", "REQIDENTIFIER", "token", "sendID", "operationID", "msgIncr", "data"])


@settings(FUZZ, max_examples=max(EXAMPLES // 4, 1))
@given(st.dictionaries(envelope_keys | st.text(max_size=10), json_values, max_size=8))
def test_json_envelopes_of_any_shape_decode_or_raise_frame_error(obj: dict[str, Any]) -> None:
    """JSON objects with the envelope's keys (any case) holding values of any type: a Req or FrameError."""
    frame = json.dumps(obj).encode()
    decode(CODECS["json"], frame)
    decode(CODECS["json+gzip"], gzip_frame(frame))


# --- bombs, measured -----------------------------------------------------------------------------------------


def _measured(name: str, codec: FrameCodec, frame: bytes) -> Req | None:
    """Decode once, printing the time and the peak of Python allocations; the peak stays within a generous multiple
    of what the codec lets a frame inflate to (orjson peaks near 14× the size of a JSON text it parses)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = decode(codec, frame)
    finally:
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(f"\n{name}: {len(frame)} bytes on the wire, decoded in {seconds * 1000:.1f} ms, peak {peak >> 10} KiB")
    assert peak < 16 * codec.max_decompressed + (1 << 20), f"{name}: {peak} bytes allocated"
    return result


def _gzip_bomb(size: int) -> bytes:
    """`size` zero bytes as one gzip member, compressed a MiB at a time."""
    z = zlib.compressobj(9, wbits=31)
    chunk = b"\x00" * min(size, 1 << 20)
    out = [z.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join([*out, z.flush()])


BOMBS: dict[str, Callable[[], tuple[FrameCodec, bytes]]] = {
    # gzip: zeros that inflate far past the cap, just to the cap, and the same split over many gzip members
    "gzip 64 MiB of zeros": lambda: (CODECS["gob+gzip"], _gzip_bomb(64 << 20)),
    "gzip inflating to the cap": lambda: (CODECS["gob+gzip"], _gzip_bomb(INFLATE)),
    "gzip 4,000 members": lambda: (CODECS["json+gzip"], b"".join(_gzip_bomb(2048) for _ in range(4000))),
    "gzip inside gzip": lambda: (CODECS["gob+gzip"], gzip_frame(_gzip_bomb(64 << 20))),
    # gob: a type table declaring a 4-million-element []int field, sent inflated to the cap
    "gob []int of 4M declared, to the cap": lambda: (CODECS["gob+gzip"], gzip_frame(_int_slice_bomb(4_000_000))),
    "gob type definitions, 50 KB gzip'd": lambda: (CODECS["gob+gzip"], _within_read_limit(_many_typedefs)),
    "gob length of 2^62": lambda: (CODECS["gob"], b"\xf8\x40" + b"\x00" * 7 + b"\xff\x82"),
    "gob string of 2^40 declared": lambda: (CODECS["gob"], _huge_string()),
    # JSON: a huge integer, nesting deeper than any parser, data of 4 MiB of base64
    "json integer of 10,000 digits": lambda: (CODECS["json"], b'{"reqIdentifier":' + b"9" * 10_000 + b"}"),
    "json nested 100,000 deep": lambda: (
        CODECS["json+gzip"],
        gzip_frame(b'{"data":' + b"[" * 100_000 + b"]" * 100_000),
    ),
    "json 3 MiB of base64 data": lambda: (CODECS["json+gzip"], gzip_frame(b'{"data":"' + b"QUFB" * 786_432 + b'"}')),
}


def _int_slice_bomb(count: int) -> bytes:
    fields = [*KNOWN, ("Bomb", FIRST_USER_ID)]
    defs = typedef(FIRST_USER_ID, "slice", INT) + typedef(FIRST_USER_ID + 1, "struct", fields)
    value = bytearray()
    put_int(value, FIRST_USER_ID + 1)
    value.append(len(fields))  # delta to the Bomb field
    put_uint(value, count)
    value += b"\x00" * count
    value.append(0)
    return defs + _message(bytes(value))


def _many_typedefs(n: int) -> bytes:
    return b"".join(typedef(FIRST_USER_ID + i, "slice", INT) for i in range(n))


def _within_read_limit(build: Callable[[int], bytes], limit: int = OPENIM_READ_LIMIT) -> bytes:
    """The gzip'd `build(n)` for the largest n (by halving steps) whose frame still passes the WS read limit."""
    n, frame = 1, gzip_frame(build(1))
    while True:
        bigger = gzip_frame(build(n * 2))
        if len(bigger) > limit:
            return frame
        n, frame = n * 2, bigger


def _huge_string() -> bytes:
    defs = typedef(FIRST_USER_ID, "struct", KNOWN)
    value = bytearray()
    put_int(value, FIRST_USER_ID)
    value.append(2)  # Token
    put_uint(value, 1 << 40)
    value += b"x" * 10
    return defs + _message(bytes(value))


@pytest.mark.parametrize("name", BOMBS)
def test_bombs_are_refused_with_bounded_memory(name: str) -> None:
    """Each bomb is refused (FrameError) or read as a Req, with its allocations bounded by the inflate cap."""
    codec, frame = BOMBS[name]()
    _measured(name, codec, frame)


# --- protobuf request data -------------------------------------------------------------------------------------


def _parse(cls: type[Message], data: bytes) -> Message | None:
    try:
        return cls.FromString(data)
    except DecodeError:
        return None


def _sample(cls: type[Message]) -> bytes:
    """A valid request with every scalar, string and repeated field set, to mutate."""
    msg = cls()
    for field in cls.DESCRIPTOR.fields:
        if field.message_type is not None:
            continue
        kind = field.cpp_type
        value: Any = {1: 7, 2: 7, 3: 7, 4: 7, 5: 1.5, 6: 1.5, 7: True, 8: 1, 9: "text"}.get(kind)
        if value is None:
            continue
        if field.type == field.TYPE_BYTES:
            value = b"bytes"
        if field.is_repeated:
            getattr(msg, field.name).extend([value, value])
        else:
            setattr(msg, field.name, value)
    return msg.SerializeToString()


@FUZZ
@given(st.data(), st.sampled_from(REQUEST_MESSAGES))
def test_request_data_decodes_or_raises_decode_error(data: st.DataObject, cls: type[Message]) -> None:
    """Random and mutated protobuf Data for every request dispatch.py decodes: a message or DecodeError (→ 1001)."""
    _parse(cls, data.draw(st.binary(max_size=200)))
    _parse(cls, data.draw(mutated(_sample(cls))))


@pytest.mark.parametrize("cls", REQUEST_MESSAGES, ids=lambda c: c.DESCRIPTOR.name)
def test_protobuf_bombs_raise_decode_error(cls: type[Message]) -> None:
    """Groups nested 100,000 deep, a length of 2^62, invalid UTF-8 in every string field: DecodeError or a message."""
    nested = b"\xfb\x0f" * 100_000  # start-group of field 127, unterminated, nested
    assert _parse(cls, nested) is None
    assert _parse(cls, b"\xfa\x0f" + b"\xff\xff\xff\xff\xff\xff\xff\xff\x3f") is None  # field 127, length 2^62
    for field in cls.DESCRIPTOR.fields:
        if field.type == field.TYPE_STRING:
            tag = bytearray()
            put_uint_varint(tag, (field.number << 3) | 2)
            _parse(cls, bytes(tag) + b"\x02\xff\xfe")


def put_uint_varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


# --- text frames ------------------------------------------------------------------------------------------------


@FUZZ
@given(
    st.one_of(st.text(max_size=200), st.builds(lambda v: '{"type":"ping","body":' + json.dumps(v) + "}", json_values))
)
def test_text_frames_are_a_heartbeat_or_nothing(text: str) -> None:
    """Any text frame is a heartbeat or None, and the pong to any ping encodes."""
    heartbeat = parse_text_heartbeat(text)
    assert heartbeat is None or isinstance(heartbeat, Heartbeat)
    if heartbeat is not None and heartbeat.type == "ping":
        assert pong_text(heartbeat).startswith('{"type":"pong"')


@pytest.mark.parametrize("depth", [63, 64, 65, 1000, 1023, 100_000])
def test_deeply_nested_ping_bodies(depth: int) -> None:
    """A ping body at most MAX_HEARTBEAT_DEPTH deep is echoed; deeper is not a heartbeat (it raised
    RecursionError in pong_text at 1,000 levels)."""
    text = '{"type":"ping","body":' + "[" * depth + "]" * depth + "}"
    heartbeat = parse_text_heartbeat(text)
    if depth <= 64:
        assert heartbeat is not None and pong_text(heartbeat).count("[") == depth
    else:
        assert heartbeat is None
