"""Bad input over the WebSocket gets an error reply, never errCode 500, and the connection stays: NUL in any string of
a request (PostgreSQL refuses it in text), and what only the server may set (docs/security.md, "Input limits").
On SQLite and PostgreSQL, unlike the other gateway tests: the NUL case is a database difference."""

from __future__ import annotations

import pytest

from openim.protocol.constants import ReqIdentifier
from openim.protocol.pb import msg_pb2, sdkws_pb2
from openim.settings import Settings

from .conftest import Gateway
from .test_push import new_text

ANDROID, WEB = 2, 5


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings.model_validate({"database": {"url": db_url}})


async def test_nul_in_a_request_is_1001_and_the_connection_stays(gateway: Gateway) -> None:
    """1003, 1002, 1005 and 1006 with a NUL in an ID: 1001 (errDlt, in the log, names the field); nothing stored;
    the next request works."""
    alice = await gateway.connect("alice", ANDROID)
    await gateway.token("bob")
    bad = new_text("alice", "bob\x00", "hi")
    requests = [
        (ReqIdentifier.SEND_MSG, bad.SerializeToString()),
        (
            ReqIdentifier.PULL_MSG_BY_RANGE,
            sdkws_pb2.PullMessageBySeqsReq(
                userID="alice", seqRanges=[sdkws_pb2.SeqRange(conversationID="si_alice_\x00", begin=1, end=5, num=5)]
            ).SerializeToString(),
        ),
        (
            ReqIdentifier.PULL_MSG_BY_SEQ_LIST,
            msg_pb2.GetSeqMessageReq(
                userID="alice", conversations=[msg_pb2.ConversationSeqs(conversationID="\x00", seqs=[1])]
            ).SerializeToString(),
        ),
        (
            ReqIdentifier.GET_CONV_MAX_READ_SEQ,
            msg_pb2.GetConversationsHasReadAndMaxSeqReq(
                userID="alice", conversationIDs=["a", "b\x00"]
            ).SerializeToString(),
        ),
    ]
    for identifier, data in requests:
        resp = await alice.request(identifier, data)
        assert (resp.err_code, resp.err_msg, resp.data) == (1001, "ArgsError", b""), resp
    ok = await alice.request(ReqIdentifier.SEND_MSG, new_text("alice", "bob", "fine").SerializeToString())
    assert ok.err_code == 0
    reply = sdkws_pb2.GetMaxSeqResp.FromString((await alice.request(ReqIdentifier.GET_NEWEST_SEQ, _max_seq())).data)
    assert dict(reply.maxSeqs) == {"si_alice_bob": 1}


def _max_seq() -> bytes:
    return sdkws_pb2.GetMaxSeqReq(userID="alice").SerializeToString()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"contentType": 1201}, 1002),  # FriendApplicationApprovedNotification
        ({"contentType": 2200}, 1002),  # HasReadReceipt
        ({"msgFrom": 200}, 1002),
        ({"sendID": "bob"}, 1002),
        ({"content": b'{"content":"' + b"x" * (40 << 10) + b'"}'}, 1001),  # past msg.maxContentLen.text
    ],
)
async def test_what_only_the_server_sends_is_refused(gateway: Gateway, fields: dict[str, object], code: int) -> None:
    """A user's 1003 with a notification content type, msgFrom 200, another sender or too big a text: an error
    reply with OpenIM's errCode, nothing stored, the connection stays."""
    alice = await gateway.connect("alice", ANDROID)
    await gateway.token("bob")
    msg = new_text("alice", "bob", "hi")
    for name, value in fields.items():
        setattr(msg, name, value)
    resp = await alice.request(ReqIdentifier.SEND_MSG, msg.SerializeToString())
    assert resp.err_code == code, resp
    reply = sdkws_pb2.GetMaxSeqResp.FromString((await alice.request(ReqIdentifier.GET_NEWEST_SEQ, _max_seq())).data)
    assert dict(reply.maxSeqs) == {}


async def test_a_users_send_time_is_the_servers(gateway: Gateway) -> None:
    """sendTime 1 (or any client clock) becomes the server's: the reply and the stored message say so."""
    alice = await gateway.connect("alice", WEB, sdk="js")
    await gateway.token("bob")
    msg = new_text("alice", "bob", "from 1970")
    msg.sendTime, msg.status, msg.isRead = 1, 4, True
    resp = await alice.request(ReqIdentifier.SEND_MSG, msg.SerializeToString())
    sent = msg_pb2.SendMsgResp.FromString(resp.data)
    assert sent.sendTime == gateway.runtime.clock.now_ms()
    [stored] = await gateway.runtime.storage.msg.get_msgs("alice", "si_alice_bob", [1])
    assert (stored.sendTime, stored.status, stored.isRead) == (sent.sendTime, 2, False)
