"""The gateway frame codec against OpenIM's byte vectors (docs/protocol/gateway.md §2), gzip, JSON and garbage."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openim.bench import hostile
from openim.bench.hostile import gob_int, gob_message, gob_slice_typedef, gob_string, gob_uint, gob_value
from openim.gateway import _gob
from openim.gateway.frames import (
    MAX_GZIP_MEMBERS,
    FrameCodec,
    FrameError,
    Heartbeat,
    Req,
    Resp,
    decode_gob_struct,
    gob_struct_typedef,
    gunzip,
    handshake_text,
    parse_text_heartbeat,
    pong_text,
)
from openim.settings import Settings

# --- Go's vectors ----------------------------------------------------------------------------------------

# Example A: the Go SDK's GeneralWsReq{ReqIdentifier:1001, SendID:"u1", OperationID:"op1", MsgIncr:"u1_x",
# Data:0a 02 75 31}, as produced by Go (132 bytes).
EXAMPLE_A = b"".join(
    [
        b"\x66\xff\x81\x03\x01\x01\x0cGeneralWsReq\x01\xff\x82\x00",
        b"\x01\x06",
        b"\x01\x0dReqIdentifier\x01\x04\x00",
        b"\x01\x05Token\x01\x0c\x00",
        b"\x01\x06SendID\x01\x0c\x00",
        b"\x01\x0bOperationID\x01\x0c\x00",
        b"\x01\x07MsgIncr\x01\x0c\x00",
        b"\x01\x04Data\x01\x0a\x00",
        b"\x00\x00",
        b"\x1c\xff\x82",
        b"\x01\xfe\x07\xd2",
        b"\x02\x02u1",
        b"\x01\x03op1",
        b"\x01\x04u1_x",
        b"\x01\x04\x0a\x02\x75\x31",
        b"\x00",
    ]
)
EXAMPLE_A_REQ = Req(req_identifier=1001, send_id="u1", operation_id="op1", msg_incr="u1_x", data=b"\x0a\x02u1")

RESP_TYPEDEF_HEX = (
    "60ff81030101045265737001ff82000106010d5265714964656e74696669657201040001074d7367496e6372010c00010b4f706572"
    "6174696f6e4944010c000107457272436f646501040001064572724d7367010c00010444617461010a000000"
)
EXAMPLE_B_VALUE_HEX = "29ff8201fe07d6010475315f7801036f703101fe0a2c010d426c6f636b656442795065657201020a0000"
EXAMPLE_B_RESP = Resp(
    req_identifier=1003, msg_incr="u1_x", operation_id="op1", err_code=1302, err_msg="BlockedByPeer", data=b"\x0a\x00"
)
RESP_TYPEDEF = bytes.fromhex(RESP_TYPEDEF_HEX)

GOB = FrameCodec("gob")
JSON = FrameCodec("json")


def test_example_a_decodes_to_the_request() -> None:
    """The Go SDK's request of §2.2 Example A decodes to the right Req (Token omitted = empty)."""
    assert len(EXAMPLE_A) == 132
    assert GOB.decode_req(EXAMPLE_A) == EXAMPLE_A_REQ


def test_example_a_is_what_encode_req_writes() -> None:
    """Playing the Go SDK, the codec writes Example A byte for byte."""
    assert GOB.encode_req(EXAMPLE_A_REQ) == EXAMPLE_A


def test_example_b_is_what_encode_resp_writes() -> None:
    """The server reply of Example B is encoded to exactly Go's bytes, and decodes back."""
    frame = GOB.encode_resp(EXAMPLE_B_RESP)
    assert frame.hex() == RESP_TYPEDEF_HEX + EXAMPLE_B_VALUE_HEX
    assert GOB.decode_resp(frame) == EXAMPLE_B_RESP


def test_resp_typedef_matches_the_spec() -> None:
    """The precomputed Resp type definition is Go's (type id 65, fields in server order)."""
    fields = (("ReqIdentifier", 2), ("MsgIncr", 6), ("OperationID", 6), ("ErrCode", 2), ("ErrMsg", 6), ("Data", 5))
    assert gob_struct_typedef("Resp", fields) == RESP_TYPEDEF


def test_kick_frame_value_bytes() -> None:
    """A kick (2002, everything else zero) is the typedef then `07 ff 82 01 fe 0f a4 00`."""
    assert GOB.encode_resp(Resp(req_identifier=2002)) == RESP_TYPEDEF + bytes.fromhex("07ff8201fe0fa400")


def test_all_zero_value_bytes() -> None:
    """A value with every field zero is `03 ff 82 00`, and decodes to the zero Resp."""
    frame = GOB.encode_resp(Resp(req_identifier=0))
    assert frame == RESP_TYPEDEF + bytes.fromhex("03ff8200")
    assert GOB.decode_resp(frame) == Resp(req_identifier=0)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(0, "00"), (1, "02"), (63, "7e"), (64, "ff80"), (-1, "01"), (-65, "ff81"), (65, "ff82"), (1001, "fe07d2")],
)
def test_signed_int_encoding(value: int, encoded: str) -> None:
    """gob signed ints: zig-zag then a byte count for anything ≥ 128 (Go's encoding)."""
    out = bytearray()
    _gob.put_int(out, value)
    assert out.hex() == encoded


# --- a gob writer for hand-made streams -------------------------------------------------------------------


def test_field_order_is_read_from_the_typedef() -> None:
    """Fields are matched by name, so a struct declaring them in another order decodes the same."""
    order = (("Data", 5), ("MsgIncr", 6), ("OperationID", 6), ("SendID", 6), ("Token", 6), ("ReqIdentifier", 2))
    frame = gob_struct_typedef("Req", order) + gob_value(
        65,
        [
            (0, gob_string("payload")),
            (1, gob_string("m1")),
            (2, gob_string("op")),
            (3, gob_string("u1")),
            (5, gob_int(1003)),
        ],
    )
    assert GOB.decode_req(frame) == Req(1003, "", "u1", "op", "m1", b"payload")


@pytest.mark.parametrize("type_id", [64, 65, 100])
def test_struct_name_and_type_id_are_not_checked(type_id: int) -> None:
    """Any struct name and any user type id from 64 (Go's first, what the wasm core sends) up are accepted."""
    fields = (("ReqIdentifier", 2), ("SendID", 6))
    frame = gob_struct_typedef("Whatever", fields, type_id) + gob_value(
        type_id, [(0, gob_int(1001)), (1, gob_string("u1"))]
    )
    assert GOB.decode_req(frame) == Req(1001, send_id="u1")


def test_unknown_fields_are_skipped() -> None:
    """Fields the codec does not know (bool, uint, float, complex, string, a slice type) are skipped."""
    fields = (
        ("Flag", 1),
        ("ReqIdentifier", 2),
        ("Count", 3),
        ("Ratio", 4),
        ("Z", 7),
        ("Note", 6),
        ("Tags", 66),
        ("SendID", 6),
    )
    frame = (
        gob_slice_typedef(66, 6)
        + gob_struct_typedef("Req", fields)
        + gob_value(
            65,
            [
                (0, gob_uint(1)),
                (1, gob_int(1005)),
                (2, gob_uint(300)),
                (3, gob_uint(0x40F0)),
                (4, gob_uint(1) + gob_uint(2)),
                (5, gob_string("ignored")),
                (6, gob_uint(2) + gob_string("a") + gob_string("b")),
                (7, gob_string("u9")),
            ],
        )
    )
    assert GOB.decode_req(frame) == Req(1005, send_id="u9")


def _bomb(elements: int) -> bytes:
    """A Req whose unknown `[]int` field holds `elements` zeros: 4 MB inflated from a 4 KB gzip frame at 4 M."""
    fields = (("ReqIdentifier", 2), ("Pad", 66), ("SendID", 6))
    return (
        gob_slice_typedef(66, 2)
        + gob_struct_typedef("Req", fields)
        + gob_value(65, [(0, gob_int(1003)), (1, gob_uint(elements) + bytes(elements)), (2, gob_string("u1"))])
    )


def test_unknown_collections_are_capped_per_frame() -> None:
    """Skipping unknown values stops at MAX_SKIPPED_VALUES (the field and its elements): refused, not walked."""
    assert GOB.decode_req(_bomb(_gob.MAX_SKIPPED_VALUES - 1)) == Req(1003, send_id="u1")
    with pytest.raises(FrameError, match="more than 1024 values"):
        GOB.decode_req(_bomb(_gob.MAX_SKIPPED_VALUES))
    bomb = gzip.compress(_bomb(4_000_000))
    assert len(bomb) < 8 << 10
    with pytest.raises(FrameError, match="more than"):  # refused before walking any element
        FrameCodec("gob", gzip=True).decode_req(bomb)


def test_the_issues_bomb_is_refused_by_the_inflate_limit() -> None:
    """The 4 KB gzip frame of a 4-million-element []int stops inflating at the gateway's limit (200 KiB)."""
    bomb = hostile.gzip(hostile.int_slice(4_000_000))
    assert len(bomb) < 8 << 10
    with pytest.raises(FrameError, match="inflates past 204800 bytes"):
        FrameCodec("gob", gzip=True, max_decompressed=Settings().msggateway.max_inflated_len).decode_req(bomb)


@pytest.mark.parametrize("frame", hostile.HOSTILE, ids=lambda h: h.name)
def test_hostile_frames(frame: hostile.Hostile) -> None:
    """Each hostile frame of openim.bench.hostile (bench/hostile_frames.py times them) ends as it must: the attacks
    raise FrameError (the connection closes), the frames at each cap still decode."""
    data = frame.build()
    assert len(data) <= hostile.READ_LIMIT  # each fits the default read limit: only decoding can stop it
    codec = frame.codec()
    if frame.expect == "decoded":
        assert codec.decode_req(data).send_id == "u1"
    else:
        with pytest.raises(FrameError):
            codec.decode_req(data)


def test_type_definitions_are_capped_per_frame() -> None:
    """At most MAX_TYPES_PER_FRAME type definitions: the request's struct may be the 16th, not the 17th."""
    assert GOB.decode_req(hostile.type_table(_gob.MAX_TYPES_PER_FRAME - 1)) == Req(0, send_id="u1")
    with pytest.raises(FrameError, match="more than 16 type definitions"):
        GOB.decode_req(hostile.type_table(_gob.MAX_TYPES_PER_FRAME))


def test_struct_fields_are_capped() -> None:
    """A struct may declare MAX_STRUCT_FIELDS fields; one more is refused while its type is read."""
    assert GOB.decode_req(hostile.wide_struct(_gob.MAX_STRUCT_FIELDS)) == Req(0, send_id="u1")
    with pytest.raises(FrameError, match="more than 64 fields"):
        GOB.decode_req(hostile.wide_struct(_gob.MAX_STRUCT_FIELDS + 1))


def test_nesting_is_capped() -> None:
    """A self-referential type nests values at most 64 deep."""
    assert GOB.decode_req(hostile.deep_value(64)) == Req(0, send_id="u1")
    with pytest.raises(FrameError, match="nested too deeply"):
        GOB.decode_req(hostile.deep_value(70))


def test_large_type_definitions_are_not_cached() -> None:
    """Only small type definitions are kept between frames, so distinct large ones cannot fill memory."""
    _gob._typedef_cache.clear()
    GOB.decode_req(hostile.wide_struct(_gob.MAX_STRUCT_FIELDS))  # a definition of about 600 bytes: kept
    assert len(_gob._typedef_cache) == 1
    fields = (*((f"F{i:0>40}", 2) for i in range(40)), ("SendID", 6))
    GOB.decode_req(gob_struct_typedef("Req", fields) + gob_value(65, [(40, gob_string("u1"))]))
    assert len(_gob._typedef_cache) == 1  # about 2 KB: parsed, not kept


@pytest.mark.parametrize(
    ("name", "wrong_type"),
    [("ReqIdentifier", 3), ("ReqIdentifier", 6), ("SendID", 5), ("Data", 6), ("MsgIncr", 2)],
)
def test_known_field_of_the_wrong_kind_is_an_error(name: str, wrong_type: int) -> None:
    """A known field sent with another gob type (uint for int, string for []byte, …) is a FrameError."""
    frame = gob_struct_typedef("Req", ((name, wrong_type),)) + gob_value(65, [])
    with pytest.raises(FrameError):
        GOB.decode_req(frame)


def test_no_matching_field_is_an_error() -> None:
    """As Go's decoder: a struct that shares no field name with Req cannot be decoded into it."""
    frame = gob_struct_typedef("Other", (("Foo", 2),)) + gob_value(65, [(0, gob_int(1))])
    with pytest.raises(FrameError):
        GOB.decode_req(frame)


def test_req_identifier_must_fit_int32() -> None:
    """ReqIdentifier is an int32 in OpenIM's Req: a larger gob int is a FrameError."""
    frame = gob_struct_typedef("Req", (("ReqIdentifier", 2),)) + gob_value(65, [(0, gob_int(1 << 31))])
    with pytest.raises(FrameError):
        GOB.decode_req(frame)


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x00",
        RESP_TYPEDEF,  # a typedef and no value
        RESP_TYPEDEF + RESP_TYPEDEF,  # type 65 defined twice
        gob_message(gob_int(-2) + b"\x00"),  # redefining a built-in id
        gob_message(gob_int(-63) + b"\x00"),  # an id below the user range
        gob_value(65, []),  # a value of an undefined type
        gob_struct_typedef("Req", (("SendID", 6),)) + gob_value(65, [(3, gob_string("x"))]),  # field number too big
        gob_struct_typedef("Req", (("SendID", 6),))
        + gob_message(gob_int(65) + b"\x01" + gob_string("u") + b"\x00" + b"junk"),
        gob_struct_typedef("Req", (("Tags", 70), ("SendID", 6))) + gob_value(65, [(0, gob_uint(0))]),
        b"\xf0" + bytes(20),  # a length that does not fit in 8 bytes
    ],
)
def test_malformed_gob_is_a_frame_error(frame: bytes) -> None:
    """Truncated streams, duplicate or reserved type ids, unknown types, bad field numbers, extra data."""
    with pytest.raises(FrameError):
        GOB.decode_req(frame)


# --- gzip -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gob", "json"])
def test_gzip_round_trips(kind: Any) -> None:
    """With compression on, every frame is one gzip member both ways; Python's gzip reads what we write."""
    codec = FrameCodec(kind, gzip=True)
    frame = codec.encode_resp(EXAMPLE_B_RESP)
    assert frame[:2] == b"\x1f\x8b"
    assert gzip.decompress(frame) == FrameCodec(kind).encode_resp(EXAMPLE_B_RESP)
    assert codec.decode_resp(frame) == EXAMPLE_B_RESP
    req = Req(1003, "", "u1", "op", "u1_1", b"\x0a\x01x")
    assert codec.decode_req(codec.encode_req(req)) == req
    assert codec.decode_req(gzip.compress(FrameCodec(kind).encode_req(req))) == req


def test_gzip_example_a() -> None:
    """The Go SDK's gzip-wrapped Example A decodes (any compression level)."""
    assert FrameCodec("gob", gzip=True).decode_req(gzip.compress(EXAMPLE_A, 1)) == EXAMPLE_A_REQ


def test_gzip_multiple_members_are_one_frame() -> None:
    """Like Go's multistream reader, concatenated gzip members inflate to their concatenation."""
    half = len(EXAMPLE_A) // 2
    frame = gzip.compress(EXAMPLE_A[:half]) + gzip.compress(EXAMPLE_A[half:])
    assert FrameCodec("gob", gzip=True).decode_req(frame) == EXAMPLE_A_REQ


@pytest.mark.parametrize(
    "frame",
    [b"", EXAMPLE_A, gzip.compress(EXAMPLE_A)[:-3], gzip.compress(EXAMPLE_A) + b"garbage", b"\x1f\x8b\x08\x00"],
)
def test_bad_gzip_is_a_frame_error(frame: bytes) -> None:
    """Not gzip, truncated, or trailing garbage: FrameError."""
    with pytest.raises(FrameError):
        FrameCodec("gob", gzip=True).decode_req(frame)


def test_gzip_inflation_is_capped() -> None:
    """A frame that inflates past the cap is refused before it is fully inflated; one of exactly the cap is not."""
    bomb = gzip.compress(bytes(1 << 20))
    with pytest.raises(FrameError):
        FrameCodec("gob", gzip=True, max_decompressed=64 << 10).decode_req(bomb)
    assert gunzip(gzip.compress(bytes(64 << 10)), 64 << 10) == bytes(64 << 10)
    with pytest.raises(FrameError, match="inflates past"):
        gunzip(gzip.compress(bytes((64 << 10) + 1)), 64 << 10)


def test_gzip_members_are_capped() -> None:
    """At most MAX_GZIP_MEMBERS members per frame: each re-reads the rest of the frame."""
    members = [gzip.compress(EXAMPLE_A[i : i + 1]) for i in range(len(EXAMPLE_A))]
    assert gunzip(b"".join(members[: MAX_GZIP_MEMBERS - 1]) + gzip.compress(EXAMPLE_A[MAX_GZIP_MEMBERS - 1 :])) == (
        EXAMPLE_A
    )
    with pytest.raises(FrameError, match="more than 8 members"):
        gunzip(b"".join(members))


# --- JSON (sdkType=js) ------------------------------------------------------------------------------------


def test_json_resp_is_go_shaped() -> None:
    """The JSON reply has OpenIM's keys in struct order, data as std base64 (§2.3)."""
    resp = Resp(1001, "u1_x", "op1", 0, "", b"\x0a\x00")
    assert JSON.encode_resp(resp) == (
        b'{"reqIdentifier":1001,"msgIncr":"u1_x","operationID":"op1","errCode":0,"errMsg":"","data":"CgA="}'
    )


def test_json_resp_without_data_has_null() -> None:
    """An empty payload is `"data":null`, like Go's nil []byte."""
    assert JSON.encode_resp(Resp(2002)).endswith(b'"data":null}')


def test_json_strings_are_escaped_as_go() -> None:
    """Go's encoder escapes <, > and & and keeps other UTF-8 as is."""
    out = JSON.encode_resp(Resp(1003, msg_incr="<a&b>", err_msg="é\u2028"))
    assert b'"msgIncr":"\\u003ca\\u0026b\\u003e"' in out
    assert '"errMsg":"é\\u2028"'.encode() in out
    assert JSON.decode_resp(out) == Resp(1003, msg_incr="<a&b>", err_msg="é\u2028")


def test_json_req_decodes() -> None:
    """The JS SDK's request (no token) decodes, data from base64."""
    frame = b'{"reqIdentifier":1003,"msgIncr":"m1","sendID":"u1","operationID":"op","data":"CgJ1MQ=="}'
    assert JSON.decode_req(frame) == Req(1003, "", "u1", "op", "m1", b"\x0a\x02u1")


def test_json_req_keys_are_case_insensitive_and_unknown_ignored() -> None:
    """As Go's decoder: `SendId` binds to sendID, unknown keys are ignored."""
    frame = b'{"ReqIdentifier":1001,"SENDID":"u1","MsgIncr":"m","extra":[1,2],"operationid":"o"}'
    assert JSON.decode_req(frame) == Req(1001, send_id="u1", operation_id="o", msg_incr="m")


@pytest.mark.parametrize("data", ['"data":null,', '"data":"",', ""])
def test_json_req_empty_data(data: str) -> None:
    """`data` null, empty or absent all mean an empty payload."""
    frame = ('{"reqIdentifier":1001,' + data + '"sendID":"u1"}').encode()
    assert JSON.decode_req(frame).data == b""


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"not json",
        b"[1,2]",
        b"null",
        b'"text"',
        b'{"reqIdentifier":"1001"}',
        b'{"reqIdentifier":1001.5}',
        b'{"reqIdentifier":true}',
        b'{"reqIdentifier":4294967296}',
        b'{"sendID":5}',
        b'{"data":"!!!"}',
        b'{"data":"CgA"}',
        b'{"data":[1,2]}',
        b'{"reqIdentifier":1001',
    ],
)
def test_bad_json_is_a_frame_error(frame: bytes) -> None:
    """Invalid JSON, not an object, wrong kinds, out-of-range ints, bad base64: FrameError."""
    with pytest.raises(FrameError):
        JSON.decode_req(frame)


def test_unknown_codec_kind() -> None:
    """Only "gob" and "json" exist."""
    with pytest.raises(ValueError):
        FrameCodec("xml")  # type: ignore[arg-type]


# --- text frames ------------------------------------------------------------------------------------------


def test_ping_body_is_echoed() -> None:
    """The wasm SDK's ping `{"type":"ping","body":"<opid>"}` is answered with the same body."""
    hb = parse_text_heartbeat('{"type":"ping","body":"op-1"}')
    assert hb == Heartbeat("ping", "op-1")
    assert pong_text(hb.body) == '{"type":"pong","body":"op-1"}'
    assert pong_text(hb) == '{"type":"pong","body":"op-1"}'


def test_ping_without_body_gets_null() -> None:
    """The JS SDK's bare `{"type":"ping"}` is answered with `{"type":"pong","body":null}`."""
    hb = parse_text_heartbeat('{"type":"ping"}')
    assert hb is not None
    assert pong_text(hb) == '{"type":"pong","body":null}'


def test_object_body_is_echoed_compact() -> None:
    """A JSON object body comes back compacted, as Go's json.Marshal of a RawMessage."""
    hb = parse_text_heartbeat(b'{"Type": "ping", "body": {"a": [1, 2], "b": "<x>"}}')
    assert hb is not None
    assert pong_text(hb) == '{"type":"pong","body":{"a":[1,2],"b":"\\u003cx\\u003e"}}'


def test_pong_is_recognised() -> None:
    """A client pong is a heartbeat too (nothing to answer)."""
    assert parse_text_heartbeat('{"type":"pong"}') == Heartbeat("pong", None)


@pytest.mark.parametrize("text", ["", "ping", "[]", "null", '{"type":"PING"}', '{"type":1}', '{"body":"x"}', "{"])
def test_other_text_is_not_a_heartbeat(text: str) -> None:
    """Anything else is None: OpenIM closes the connection on it."""
    assert parse_text_heartbeat(text) is None


def test_handshake_text() -> None:
    """The handshake result is OpenIM's apiresp shape, success and failure."""
    assert handshake_text() == '{"errCode":0,"errMsg":"","errDlt":""}'
    assert json.loads(handshake_text(1506, "TokenKickedError", "kicked")) == {
        "errCode": 1506,
        "errMsg": "TokenKickedError",
        "errDlt": "kicked",
    }


# --- property tests ---------------------------------------------------------------------------------------

_RESP_FIELDS = (("ReqIdentifier", 2), ("MsgIncr", 6), ("OperationID", 6), ("ErrCode", 2), ("ErrMsg", 6), ("Data", 5))


def _ref_uint(b: bytes, i: int) -> tuple[int, int]:
    c = b[i]
    if c < 128:
        return c, i + 1
    n = 256 - c
    return int.from_bytes(b[i + 1 : i + 1 + n], "big"), i + 1 + n


def reference_decode_resp(frame: bytes) -> Resp:
    """An independent decoder for exactly our Resp encoding: the Resp typedef, then delta-coded fields."""
    assert frame.startswith(RESP_TYPEDEF)
    b = frame[len(RESP_TYPEDEF) :]
    length, i = _ref_uint(b, 0)
    assert len(b) == i + length
    assert b[i : i + 2] == b"\xff\x82"
    i += 2
    values: dict[str, Any] = {}
    index = -1
    while True:
        delta, i = _ref_uint(b, i)
        if delta == 0:
            break
        assert delta > 0
        index += delta
        name, kind = _RESP_FIELDS[index]
        if kind == 2:
            u, i = _ref_uint(b, i)
            values[name] = ~(u >> 1) if u & 1 else u >> 1
        else:
            n, i = _ref_uint(b, i)
            raw = b[i : i + n]
            i += n
            values[name] = raw.decode() if kind == 6 else raw
    assert i == len(b)
    return Resp(
        values.get("ReqIdentifier", 0),
        values.get("MsgIncr", ""),
        values.get("OperationID", ""),
        values.get("ErrCode", 0),
        values.get("ErrMsg", ""),
        values.get("Data", b""),
    )


resps = st.builds(
    Resp,
    req_identifier=st.integers(-(1 << 31), (1 << 31) - 1),
    msg_incr=st.text(max_size=40),
    operation_id=st.text(max_size=40),
    err_code=st.integers(-(1 << 63), (1 << 63) - 1),
    err_msg=st.text(max_size=300),
    data=st.binary(max_size=600),
)


@given(resps)
def test_encoded_resp_matches_the_reference_decoder(resp: Resp) -> None:
    """Any Resp we encode is read back identically by an independent decoder, and by our generic one."""
    frame = GOB.encode_resp(resp)
    assert reference_decode_resp(frame) == resp
    assert GOB.decode_resp(frame) == resp


@given(resps, st.sampled_from(["gob", "json"]), st.booleans())
def test_codecs_round_trip(resp: Resp, kind: Any, gz: bool) -> None:
    """encode_resp/decode_resp and encode_req/decode_req are inverse for every codec."""
    codec = FrameCodec(kind, gzip=gz)
    assert codec.decode_resp(codec.encode_resp(resp)) == resp
    req = Req(resp.req_identifier, resp.err_msg, resp.msg_incr, resp.operation_id, resp.err_msg, resp.data)
    assert codec.decode_req(codec.encode_req(req)) == req


CODECS = [FrameCodec("gob"), FrameCodec("gob", gzip=True), FrameCodec("json"), FrameCodec("json", gzip=True)]


@settings(max_examples=400)
@given(st.binary(max_size=300))
def test_garbage_raises_only_frame_error(data: bytes) -> None:
    """Random bytes either decode or raise FrameError, for every codec, never anything else."""
    for codec in CODECS:
        try:
            codec.decode_req(data)
        except FrameError:
            pass


@settings(max_examples=300)
@given(st.data())
def test_mutated_frames_raise_only_frame_error(data: st.DataObject) -> None:
    """Valid gob frames with bytes overwritten either decode or raise FrameError."""
    frame = bytearray(EXAMPLE_A)
    for _ in range(data.draw(st.integers(1, 4))):
        frame[data.draw(st.integers(0, len(frame) - 1))] = data.draw(st.integers(0, 255))
    try:
        GOB.decode_req(bytes(frame))
    except FrameError:
        pass


@pytest.mark.parametrize("codec", CODECS, ids=repr)
def test_every_truncation_is_a_frame_error(codec: FrameCodec) -> None:
    """Every proper prefix of a valid frame is refused with FrameError."""
    frame = codec.encode_req(Req(1003, "tok", "u1", "op", "u1_2", bytes(range(40))))
    for n in range(len(frame)):
        with pytest.raises(FrameError):
            codec.decode_req(frame[:n])


def test_decode_gob_struct_reports_only_sent_fields() -> None:
    """Omitted (zero) fields are absent from the generic decoder's result."""
    assert decode_gob_struct(EXAMPLE_A, {"Token": 6, "SendID": 6}) == {"SendID": "u1"}
