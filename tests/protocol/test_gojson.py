"""Protobuf messages in OpenIM's Go encoding/json shape, both ways (docs/protocol/go-json.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf.message import Message
from hypothesis import given
from hypothesis import strategies as st

from openim.protocol.errors import ArgsError
from openim.protocol.gojson import from_go, to_go
from openim.protocol.pb import conversation_pb2, msg_pb2, sdkws_pb2

# --- encoding ---------------------------------------------------------------------------------------------


def test_msg_data_has_every_field_in_proto_order() -> None:
    """Every field is present under its proto name, zeros included, in declaration order."""
    out = to_go(sdkws_pb2.MsgData(sendID="u1", seq=3, content=b'{"content":"hi"}'))
    assert list(out) == [f.name for f in sdkws_pb2.MsgData.DESCRIPTOR.fields]
    assert out["sendID"] == "u1" and out["recvID"] == "" and out["seq"] == 3 and out["isRead"] is False
    assert out["content"] == "eyJjb250ZW50IjoiaGkifQ=="


def test_nil_things_are_null() -> None:
    """Unset sub-message, empty repeated, empty map and empty bytes are null, as Go's nil."""
    out = to_go(sdkws_pb2.MsgData())
    assert out["offlinePushInfo"] is None
    assert out["atUserIDList"] is None
    assert out["options"] is None
    assert out["content"] is None


def test_set_but_empty_sub_message_is_an_object() -> None:
    """A sub-message that is set, even to all zeros, is an object with every field."""
    msg = sdkws_pb2.MsgData()
    msg.offlinePushInfo.SetInParent()
    assert to_go(msg)["offlinePushInfo"] == {
        "title": "",
        "desc": "",
        "ex": "",
        "iOSPushSound": "",
        "iOSBadgeCount": False,
        "signalInfo": "",
    }


def test_capitalised_and_misspelt_names_are_kept() -> None:
    """`Msgs`, `IsPinned`, `LatestMsgRecvTime`, `sesstionType`, `IsSyncSelf` are written as OpenIM spells them."""
    assert to_go(sdkws_pb2.PullMsgs()) == {"Msgs": None, "isEnd": False, "endSeq": 0}
    assert "IsPinned" in to_go(conversation_pb2.ConversationElem())
    assert to_go(conversation_pb2.ConversationElem())["msgInfo"] is None
    assert "LatestMsgRecvTime" in to_go(conversation_pb2.MsgInfo())
    assert to_go(sdkws_pb2.RevokeMsgTips(sesstionType=3))["sesstionType"] == 3
    assert to_go(msg_pb2.DeleteSyncOpt(IsSyncSelf=True)) == {"IsSyncSelf": True, "IsSyncOther": False}


def test_maps_are_sorted_objects() -> None:
    """Maps become objects with sorted keys; map<string,bool> options keep their bools."""
    out = to_go(sdkws_pb2.MsgData(options={"unreadCount": False, "history": True}))
    assert list(out["options"].items()) == [("history", True), ("unreadCount", False)]
    seqs = to_go(sdkws_pb2.GetMaxSeqResp(maxSeqs={"si_b": 2, "n_a": 1}))
    assert seqs == {"maxSeqs": {"n_a": 1, "si_b": 2}, "minSeqs": None}


def test_map_of_messages() -> None:
    """map<string, PullMsgs> values are full objects."""
    resp = sdkws_pb2.PullMessageBySeqsResp()
    resp.msgs["si_a_b"].Msgs.add(seq=1)
    resp.msgs["si_a_b"].isEnd = True
    out = to_go(resp)
    assert out["notificationMsgs"] is None
    assert out["msgs"]["si_a_b"]["isEnd"] is True
    assert out["msgs"]["si_a_b"]["Msgs"][0]["seq"] == 1


def test_big_integers_stay_numbers() -> None:
    """int64 and uint64 are JSON numbers, even past 2^53."""
    out = to_go(conversation_pb2.GetFullOwnerConversationIDsResp(version=(1 << 64) - 1))
    assert out["version"] == (1 << 64) - 1
    assert json.dumps(out).startswith('{"version": 18446744073709551615')
    assert to_go(sdkws_pb2.MsgData(seq=(1 << 62)))["seq"] == 1 << 62


def test_enums_are_numbers() -> None:
    """Enums are written as their numbers."""
    assert to_go(sdkws_pb2.PullMessageBySeqsReq(order=sdkws_pb2.PullOrderDesc))["order"] == 1


def test_wrappers_are_bare_scalars_or_null() -> None:
    """openim.protobuf wrappers are bare scalars when set (even to zero) and null when unset."""
    req = conversation_pb2.ConversationReq(conversationID="si_a_b")
    req.isPinned.value = False
    req.ex.value = ""
    req.recvMsgOpt.value = 2
    req.minSeq.value = 1 << 40
    out = to_go(req)
    assert out["isPinned"] is False and out["ex"] == "" and out["recvMsgOpt"] == 2 and out["minSeq"] == 1 << 40
    assert out["attachedInfo"] is None and out["isMsgDestruct"] is None and out["burnDuration"] is None


def test_output_is_json_ready() -> None:
    """The result serialises with the standard JSON encoder."""
    resp = msg_pb2.GetConversationsHasReadAndMaxSeqResp()
    resp.seqs["si_a_b"].maxSeq = 5
    assert json.loads(json.dumps(to_go(resp))) == {
        "seqs": {"si_a_b": {"maxSeq": 5, "hasReadSeq": 0, "maxSeqTime": 0}},
        "pinnedConversationIDs": None,
    }


# --- decoding ---------------------------------------------------------------------------------------------


def test_decode_by_proto_names() -> None:
    """Keys are the proto field names; nested messages, lists and maps decode."""
    req = from_go(
        sdkws_pb2.PullMessageBySeqsReq,
        {"userID": "u1", "seqRanges": [{"conversationID": "si_a_b", "begin": 1, "end": 20, "num": 20}], "order": 1},
    )
    assert req.userID == "u1" and req.order == sdkws_pb2.PullOrderDesc
    assert req.seqRanges[0].conversationID == "si_a_b" and req.seqRanges[0].end == 20


def test_keys_match_case_insensitively() -> None:
    """As Go: `UserID` binds to userID, `issyncself` to IsSyncSelf."""
    req = from_go(msg_pb2.DeleteMsgsReq, {"UserID": "u1", "DELETESYNCOPT": {"issyncself": True}})
    assert req.userID == "u1" and req.deleteSyncOpt.IsSyncSelf


def test_unknown_keys_are_ignored() -> None:
    """Keys that name no field are skipped."""
    assert from_go(sdkws_pb2.GetMaxSeqReq, {"userID": "u1", "platformID": 5, "x": [1]}).userID == "u1"


def test_null_and_absent_leave_fields_unset() -> None:
    """null is the zero value: sub-messages and wrappers stay unset, lists empty."""
    req = from_go(
        conversation_pb2.SetConversationsReq,
        {"userIDs": None, "conversation": {"isPinned": None, "recvMsgOpt": 1, "conversationType": None}},
    )
    assert list(req.userIDs) == []
    assert not req.conversation.HasField("isPinned")
    assert not req.conversation.HasField("ex")
    assert req.conversation.HasField("recvMsgOpt") and req.conversation.recvMsgOpt.value == 1
    assert not from_go(msg_pb2.DeleteMsgsReq, {"deleteSyncOpt": None}).HasField("deleteSyncOpt")


def test_empty_object_sets_a_sub_message() -> None:
    """`{}` for a sub-message sets it (Go allocates the pointer)."""
    assert from_go(msg_pb2.DeleteMsgsReq, {"deleteSyncOpt": {}}).HasField("deleteSyncOpt")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("isPinned", False, False),
        ("isPinned", True, True),
        ("isPinned", 1, True),  # Go's BoolValue uses strconv.ParseBool on the raw text
        ("isPinned", 0, False),
        ("ex", "", ""),
        ("recvMsgOpt", 0, 0),
        ("minSeq", (1 << 63) - 1, (1 << 63) - 1),
    ],
)
def test_present_wrapper_is_set(field: str, value: Any, expected: Any) -> None:
    """A wrapper that is present is set to that value, zero included."""
    req = from_go(conversation_pb2.ConversationReq, {field: value})
    assert req.HasField(field) and getattr(req, field).value == expected


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("isPinned", "true"),
        ("isPinned", 2),
        ("recvMsgOpt", "2"),
        ("recvMsgOpt", 1.5),
        ("recvMsgOpt", True),
        ("recvMsgOpt", 1 << 31),
        ("ex", 5),
        ("ex", {"value": "x"}),
    ],
)
def test_wrapper_wants_a_bare_scalar_of_its_type(field: str, value: Any) -> None:
    """Quoted numbers or booleans, fractions, wrong types and `{"value":…}` objects are rejected."""
    with pytest.raises(ArgsError) as err:
        from_go(conversation_pb2.ConversationReq, {field: value})
    assert field in err.value.detail


@pytest.mark.parametrize(
    ("cls", "data", "path"),
    [
        (sdkws_pb2.GetMaxSeqReq, {"userID": 5}, "GetMaxSeqReq.userID"),
        (sdkws_pb2.GetMaxSeqReq, {"userID": True}, "GetMaxSeqReq.userID"),
        (msg_pb2.RevokeMsgReq, {"seq": "1"}, "RevokeMsgReq.seq"),
        (msg_pb2.RevokeMsgReq, {"seq": 1.5}, "RevokeMsgReq.seq"),
        (msg_pb2.RevokeMsgReq, {"seq": 1.0}, "RevokeMsgReq.seq"),
        (msg_pb2.RevokeMsgReq, {"seq": True}, "RevokeMsgReq.seq"),
        (msg_pb2.RevokeMsgReq, {"seq": 1 << 63}, "RevokeMsgReq.seq"),
        (msg_pb2.GetSendMsgStatusResp, {"status": 1 << 31}, "status"),
        (msg_pb2.GetSendMsgStatusResp, {"status": -(1 << 31) - 1}, "status"),
        (conversation_pb2.GetFullOwnerConversationIDsReq, {"idHash": -1}, "idHash"),
        (msg_pb2.DeleteMsgsReq, {"deleteSyncOpt": {"IsSyncSelf": 1}}, "deleteSyncOpt.IsSyncSelf"),
        (msg_pb2.DeleteMsgsReq, {"deleteSyncOpt": []}, "deleteSyncOpt"),
        (msg_pb2.MarkMsgsAsReadReq, {"seqs": [1, "2"]}, "MarkMsgsAsReadReq.seqs"),
        (msg_pb2.MarkMsgsAsReadReq, {"seqs": {"a": 1}}, "seqs"),
        (sdkws_pb2.PullMessageBySeqsReq, {"seqRanges": [{"begin": "1"}]}, "SeqRange.seqRanges.begin"),
        (sdkws_pb2.PullMessageBySeqsReq, {"order": "1"}, "order"),
        (sdkws_pb2.MsgData, {"content": "not base64!"}, "content"),
        (sdkws_pb2.MsgData, {"content": "CgA"}, "content"),
        (sdkws_pb2.MsgData, {"options": {"history": 1}}, "options"),
        (sdkws_pb2.MsgData, {"options": ["history"]}, "options"),
        (sdkws_pb2.GetMaxSeqResp, {"maxSeqs": {"a": "1"}}, "maxSeqs"),
        (conversation_pb2.SetConversationsReq, {"conversation": {"recvMsgOpt": "x"}}, "conversation.recvMsgOpt"),
    ],
)
def test_strict_types_name_the_field(cls: type[Message], data: dict[str, Any], path: str) -> None:
    """A wrong JSON type (or an out-of-range integer) is ArgsError 1001 whose detail names the field path."""
    with pytest.raises(ArgsError) as err:
        from_go(cls, data)
    assert err.value.code == 1001
    assert path in err.value.detail


def test_go_error_text() -> None:
    """The detail reads like Go's UnmarshalTypeError."""
    with pytest.raises(ArgsError) as err:
        from_go(msg_pb2.RevokeMsgReq, {"seq": "1"})
    assert err.value.detail == "json: cannot unmarshal string into Go struct field RevokeMsgReq.seq of type int64"


def test_top_level_must_be_an_object_or_null() -> None:
    """null decodes to the zero message; an array or a string is an error."""
    assert from_go(sdkws_pb2.GetMaxSeqReq, None) == sdkws_pb2.GetMaxSeqReq()
    for bad in ([], "x", 1):
        with pytest.raises(ArgsError):
            from_go(sdkws_pb2.GetMaxSeqReq, bad)


def test_maps_decode() -> None:
    """Scalar maps and message maps decode; a null map value is the zero value."""
    resp = from_go(
        sdkws_pb2.PullMessageBySeqsResp, {"msgs": {"si_a_b": {"Msgs": [{"seq": 2}], "isEnd": True}, "sg_g": None}}
    )
    assert resp.msgs["si_a_b"].Msgs[0].seq == 2 and resp.msgs["si_a_b"].isEnd
    assert "sg_g" in resp.msgs
    msg = from_go(sdkws_pb2.MsgData, {"options": {"history": False, "senderSync": None}})
    assert dict(msg.options) == {"history": False, "senderSync": False}


def test_bytes_decode_from_std_base64() -> None:
    """bytes take standard base64 with padding; "" is empty."""
    assert from_go(sdkws_pb2.MsgData, {"content": "eyJhIjoxfQ=="}).content == b'{"a":1}'
    assert from_go(sdkws_pb2.MsgData, {"content": ""}).content == b""


def test_lists_replace_and_null_elements_are_zero() -> None:
    """A list replaces the field; a null element is the zero value (Go semantics)."""
    req = from_go(msg_pb2.MarkMsgsAsReadReq, {"seqs": [1, None, 3], "Seqs": [4, 5]})
    assert list(req.seqs) == [4, 5]
    assert list(from_go(msg_pb2.MarkMsgsAsReadReq, {"seqs": [1, None]}).seqs) == [1, 0]


# --- both ways --------------------------------------------------------------------------------------------

texts = st.text(max_size=12)
ints32 = st.integers(-(1 << 31), (1 << 31) - 1)
ints64 = st.integers(-(1 << 63), (1 << 63) - 1)


@st.composite
def msg_datas(draw: st.DrawFn) -> sdkws_pb2.MsgData:
    msg = sdkws_pb2.MsgData(
        sendID=draw(texts),
        recvID=draw(texts),
        senderPlatformID=draw(ints32),
        content=draw(st.binary(max_size=40)),
        seq=draw(ints64),
        sendTime=draw(ints64),
        isRead=draw(st.booleans()),
        options=draw(st.dictionaries(texts, st.booleans(), max_size=4)),
        atUserIDList=draw(st.lists(texts, max_size=3)),
    )
    if draw(st.booleans()):
        msg.offlinePushInfo.title = draw(texts)
    return msg


@given(msg_datas())
def test_msg_data_round_trips_through_json(msg: sdkws_pb2.MsgData) -> None:
    """from_go(to_go(m)) == m, through a real JSON text."""
    assert from_go(sdkws_pb2.MsgData, json.loads(json.dumps(to_go(msg)))) == msg


@given(
    st.dictionaries(
        st.sampled_from(["recvMsgOpt", "isPinned", "ex", "minSeq", "burnDuration", "isMsgDestruct"]),
        st.none(),
        max_size=0,
    ),
    st.one_of(st.none(), ints32),
    st.one_of(st.none(), st.booleans()),
    st.one_of(st.none(), texts),
    st.one_of(st.none(), ints64),
)
def test_conversation_req_round_trips(
    _: dict[str, None], recv: int | None, pinned: bool | None, ex: str | None, min_seq: int | None
) -> None:
    """Wrappers survive the round trip with their presence: unset stays unset, zero stays set."""
    data = {"conversationID": "si_a_b", "recvMsgOpt": recv, "isPinned": pinned, "ex": ex, "minSeq": min_seq}
    req = from_go(conversation_pb2.ConversationReq, data)
    out = to_go(req)
    assert {k: out[k] for k in data} == data
    assert from_go(conversation_pb2.ConversationReq, out) == req
