"""The input rules every decoded request must meet (openim.protocol.inputs): NUL, int64, depth; JSON and protobuf."""

from __future__ import annotations

from typing import Any

import pytest

from openim.protocol.errors import ArgsError
from openim.protocol.inputs import MAX_JSON_DEPTH, MAX_WALKED_MESSAGES, check_json_value, check_message, load_json
from openim.protocol.pb import msg_pb2, sdkws_pb2


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":"x","b":[1,-2,9223372036854775807,-9223372036854775808],"c":{"d":null,"e":true,"f":1.5}}',
        b'"\\\\u0000"',  # an escaped backslash then "u0000": text, not a NUL
        b'{"id":"1733000000000000000123"}',  # long digit runs in a string trigger the walk, which finds nothing
        _nested(MAX_JSON_DEPTH),
        '"\U0001f600 \u4e2d"'.encode(),
    ],
)
def test_valid_json_is_returned(raw: bytes) -> None:
    """Ordinary bodies come back decoded, whether or not they needed the walk."""
    assert load_json(raw) is not None


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b'"\\u0000"', "body: the NUL character"),
        (b'{"a":["x","y\\u0000"]}', "a[1]: the NUL character"),
        (b'{"a\\u0000":1}', "a\x00: the NUL character (U+0000) is not allowed in a key"),
        (_nested(MAX_JSON_DEPTH + 1), f"nested more than {MAX_JSON_DEPTH} levels"),
        (_nested(5000), "depth limit exceeded"),
        (b'"\\ud800"', "surrogate"),
        (b'"\xed\xa0\x80"', "not valid UTF-8"),
        (b"\xff", "not valid UTF-8"),
        (b"{", "not valid JSON"),
    ],
)
def test_broken_json_is_args_error(raw: bytes, detail: str) -> None:
    """Each rule is 1001 with errDlt naming the place."""
    with pytest.raises(ArgsError) as caught:
        load_json(raw)
    assert detail in caught.value.detail


def test_integers_past_64_bits_are_refused() -> None:
    """int64's minimum to uint64's maximum pass (a field's own type is its model's to check); past them, 1001.
    orjson already turns such JSON numbers into floats, which integer fields refuse downstream."""
    assert load_json(b"[18446744073709551615,-9223372036854775808]") == [2**64 - 1, -(2**63)]
    value: Any = load_json(b"[18446744073709551616,-9223372036854775809]")
    assert all(isinstance(v, float) for v in value)
    with pytest.raises(ArgsError, match=r"n\[1\]: 18446744073709551616 does not fit 64 bits"):
        check_json_value({"n": [1, 2**64]})
    with pytest.raises(ArgsError, match="does not fit 64 bits"):
        check_json_value(-(2**63) - 1)


def test_the_walk_reports_the_path() -> None:
    with pytest.raises(ArgsError, match=r"users\[2\]\.nick: the NUL"):
        check_json_value({"users": [{}, {"nick": "a"}, {"nick": "b\x00"}]})


def test_protobuf_strings_with_nul_are_args_error() -> None:
    """Scalar, repeated and nested strings and map keys and values: the first NUL is named."""
    cases: list[tuple[Any, str]] = [
        (sdkws_pb2.MsgData(sendID="a\x00"), "MsgData.sendID"),
        (sdkws_pb2.MsgData(sendID="a", atUserIDList=["x", "y\x00"]), "MsgData.atUserIDList[1]"),
        (sdkws_pb2.MsgData(offlinePushInfo=sdkws_pb2.OfflinePushInfo(title="t\x00")), "offlinePushInfo.title"),
        (sdkws_pb2.MsgData(options={"k\x00": True}), "MsgData.options (a key)"),
        (
            sdkws_pb2.PullMessageBySeqsReq(seqRanges=[sdkws_pb2.SeqRange(conversationID="c\x00")]),
            "PullMessageBySeqsReq.seqRanges[0].conversationID",
        ),
    ]
    for message, where in cases:
        with pytest.raises(ArgsError, match=r"NUL") as caught:
            check_message(message, message.SerializeToString())
        assert where in caught.value.detail


def test_protobuf_without_zero_bytes_is_not_walked() -> None:
    """No zero byte in the serialized form: no string can hold a NUL, so the walk is skipped (even past its cap)."""
    many = sdkws_pb2.PullMessageBySeqsReq(
        seqRanges=[sdkws_pb2.SeqRange(conversationID="c", num=1)] * (MAX_WALKED_MESSAGES + 1)
    )
    raw = many.SerializeToString()
    assert b"\x00" not in raw
    check_message(many, raw)
    content = sdkws_pb2.MsgData(sendID="a", content=b"\x00\x00")  # zeros in bytes fields are data, not text
    check_message(content, content.SerializeToString())


def test_protobuf_walk_is_bounded() -> None:
    """A request of more nested messages than MAX_WALKED_MESSAGES, holding a zero byte, is refused unwalked."""
    ranges = sdkws_pb2.PullMessageBySeqsReq()
    ranges.seqRanges.extend(sdkws_pb2.SeqRange() for _ in range(MAX_WALKED_MESSAGES + 1))
    with pytest.raises(ArgsError, match="more than 4096 nested messages"):
        check_message(ranges, ranges.SerializeToString())
    ranges = sdkws_pb2.PullMessageBySeqsReq()
    ranges.seqRanges.extend(sdkws_pb2.SeqRange() for _ in range(MAX_WALKED_MESSAGES))
    check_message(ranges, ranges.SerializeToString())
    nested = msg_pb2.GetSeqMessageReq(conversations=[msg_pb2.ConversationSeqs(conversationID="x", seqs=[0])])
    check_message(nested, nested.SerializeToString())
