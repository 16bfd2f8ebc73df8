"""ReqIdentifier → service (docs/protocol/gateway.md §5): replies, error translation, logout, background, online-status
subscriptions."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import text

from openim.protocol.constants import ReqIdentifier
from openim.protocol.pb import msg_pb2, push_pb2, sdkws_pb2

from .conftest import Gateway, Sdk
from .test_push import new_text

ANDROID, WEB = 2, 5


async def test_reply_echoes_identifier_msg_incr_and_operation_id(gateway: Gateway) -> None:
    """A reply carries the request's ReqIdentifier, MsgIncr and OperationID."""
    sdk = await gateway.connect("alice", ANDROID)
    incr = await sdk.send_req(ReqIdentifier.SET_BACKGROUND_STATUS)
    resp = await asyncio.wait_for(sdk.replies[incr], 5)
    assert (resp.req_identifier, resp.msg_incr, resp.operation_id) == (2004, incr, f"op-{incr}")


async def test_set_background_status(gateway: Gateway) -> None:
    """2004 sets the connection's background flag, shared through presence (offline push reads it), and answers
    with empty data."""
    sdk = await gateway.connect("alice", ANDROID)
    data = sdkws_pb2.SetAppBackgroundStatusReq(userID="alice", isBackground=True).SerializeToString()
    resp = await sdk.request(ReqIdentifier.SET_BACKGROUND_STATUS, data)
    assert (resp.err_code, resp.data) == (0, b"")
    (conn,) = gateway.server.hub.conns("alice")
    assert conn.background
    assert await gateway.runtime.presence.states(["alice"]) == {"alice": [(ANDROID, conn.conn_id, True)]}
    back = sdkws_pb2.SetAppBackgroundStatusReq(userID="alice", isBackground=False).SerializeToString()
    assert (await sdk.request(ReqIdentifier.SET_BACKGROUND_STATUS, back)).err_code == 0
    assert await gateway.runtime.presence.states(["alice"]) == {"alice": [(ANDROID, conn.conn_id, False)]}


async def test_broken_protobuf_is_args_error_and_connection_stays(gateway: Gateway) -> None:
    """Data that is not valid protobuf is answered with 1001 ArgsError, no Data, and the connection stays."""
    sdk = await gateway.connect("alice", WEB, sdk="js")
    resp = await sdk.request(ReqIdentifier.SET_BACKGROUND_STATUS, b"\xff\xff\xff")
    assert (resp.err_code, resp.err_msg, resp.data) == (1001, "ArgsError", b"")
    assert (await sdk.request(ReqIdentifier.SET_BACKGROUND_STATUS)).err_code == 0


async def test_signal_message_is_an_error_reply(gateway: Gateway) -> None:
    """1004 SendSignalMsg is answered with an ArgsError reply (OpenIM fails it), not a close."""
    sdk = await gateway.connect("alice", ANDROID)
    resp = await sdk.request(ReqIdentifier.SEND_SIGNAL_MSG, b"")
    assert (resp.req_identifier, resp.err_code) == (1004, 1001)
    assert (await sdk.request(ReqIdentifier.SET_BACKGROUND_STATUS)).err_code == 0


async def test_logout_replies_then_closes(gateway: Gateway) -> None:
    """2003 is answered with an empty DelUserPushTokenResp, then the connection is closed."""
    sdk = await gateway.connect("alice", ANDROID)
    data = push_pb2.DelUserPushTokenReq(userID="alice", platformID=ANDROID).SerializeToString()
    resp = await sdk.request(ReqIdentifier.LOGOUT_MSG, data)
    assert (resp.req_identifier, resp.err_code, resp.data) == (2003, 0, b"")
    await sdk.closed()
    await gateway.settled(lambda: gateway.server.hub.count == 0)


async def test_logout_removes_the_push_token_of_this_device_only(gateway: Gateway) -> None:
    """2003 deletes the FCM token of the connection's (user, platform), whatever userID the body names."""
    third = gateway.runtime.services.third
    alice = await gateway.connect("alice", ANDROID)
    for user_id, platform in (("alice", ANDROID), ("alice", WEB), ("bob", ANDROID)):
        await gateway.runtime.storage.third.set_fcm_token(user_id, platform, f"tok-{user_id}-{platform}", expire_time=0)
    data = push_pb2.DelUserPushTokenReq(userID="bob", platformID=ANDROID).SerializeToString()
    assert (await alice.request(ReqIdentifier.LOGOUT_MSG, data)).err_code == 0
    await alice.closed()
    assert await third.fcm_token("alice", ANDROID) is None
    assert await third.fcm_token("alice", WEB) == f"tok-alice-{WEB}"
    assert await third.fcm_token("bob", ANDROID) == f"tok-bob-{ANDROID}"


def sub(subscribe: list[str] = [], unsubscribe: list[str] = []) -> bytes:  # noqa: B006
    return sdkws_pb2.SubUserOnlineStatus(subscribeUserID=subscribe, unsubscribeUserID=unsubscribe).SerializeToString()


def tips(data: bytes) -> dict[str, list[int]]:
    parsed = sdkws_pb2.SubUserOnlineStatusTips.FromString(data)
    return {s.userID: list(s.onlinePlatformIDs) for s in parsed.subscribers}


async def test_subscribe_online_status_replies_current_platforms(gateway: Gateway) -> None:
    """2005 answers with the online platforms of each newly subscribed user (empty when offline)."""
    await gateway.connect("bob", WEB, sdk="js")
    await gateway.connect("bob", ANDROID)
    alice = await gateway.connect("alice", ANDROID)
    resp = await alice.request(ReqIdentifier.SUB_USER_ONLINE_STATUS, sub(["bob", "carol"]))
    assert resp.err_code == 0
    assert tips(resp.data) == {"bob": [ANDROID, WEB], "carol": []}


async def test_watchers_get_2005_pushes_on_changes(gateway: Gateway) -> None:
    """After subscribing, a watched user's connect and disconnect arrive as 2005 pushes with empty msgIncr."""
    alice = await gateway.connect("alice", ANDROID)
    await alice.request(ReqIdentifier.SUB_USER_ONLINE_STATUS, sub(["bob"]))
    bob = await gateway.connect("bob", WEB, sdk="js")
    frame = await alice.push()
    assert (frame.req_identifier, frame.msg_incr) == (2005, "")
    assert tips(frame.data) == {"bob": [WEB]}
    await bob.close()
    frame = await alice.push()
    assert tips(frame.data) == {"bob": []}


async def test_second_connection_on_same_platform_is_no_change(gateway: Gateway) -> None:
    """A user's second connection on an already online platform sends no 2005 (the platform set is unchanged)."""
    token = await gateway.token("bob", WEB)
    await gateway.connect("bob", WEB, sdk="js", token=token)
    alice = await gateway.connect("alice", ANDROID)
    await alice.request(ReqIdentifier.SUB_USER_ONLINE_STATUS, sub(["bob"]))
    await gateway.connect("bob", WEB, sdk="js", token=token)
    await gateway.connect("bob", ANDROID)
    frame = await alice.push()
    assert tips(frame.data) == {"bob": [ANDROID, WEB]}
    assert alice.pushes.empty()


async def test_unsubscribe_stops_2005_pushes(gateway: Gateway) -> None:
    """Unsubscribed users' changes are no longer pushed; the reply to a pure unsubscribe is empty."""
    alice = await gateway.connect("alice", ANDROID)
    await alice.request(ReqIdentifier.SUB_USER_ONLINE_STATUS, sub(["bob"]))
    resp = await alice.request(ReqIdentifier.SUB_USER_ONLINE_STATUS, sub(unsubscribe=["bob"]))
    assert (resp.err_code, resp.data) == (0, b"")
    await gateway.connect("bob", WEB, sdk="js")
    await asyncio.sleep(0.05)
    assert alice.pushes.empty()


@pytest.mark.parametrize("sdk", ["go", "js"])
async def test_watcher_closing_drops_its_subscriptions(gateway: Gateway, sdk: str) -> None:
    """A closed connection's subscriptions are forgotten."""
    alice = await gateway.connect("alice", ANDROID, sdk=sdk)  # type: ignore[arg-type]
    await alice.request(ReqIdentifier.SUB_USER_ONLINE_STATUS, sub(["bob"]))
    await alice.close()
    await gateway.settled(lambda: gateway.server.hub.count == 0)
    assert not gateway.server.hub._watchers


async def conversation_with_three_messages(gateway: Gateway) -> tuple[Sdk, Sdk]:
    """alice and bob connected; alice has sent bob three texts (seqs 1..3 of si_alice_bob)."""
    alice = await gateway.connect("alice", WEB, sdk="js")
    bob = await gateway.connect("bob", ANDROID)
    for i in range(3):
        resp = await alice.request(ReqIdentifier.SEND_MSG, new_text("alice", "bob", f"m{i}").SerializeToString())
        assert resp.err_code == 0
    for _ in range(3):
        await bob.push()
    return alice, bob


async def test_sync_calls_answer_in_their_protobuf(gateway: Gateway) -> None:
    """1001, 1002, 1005, 1006 and 1007 reach the msg service and answer with its protobuf replies."""
    _, bob = await conversation_with_three_messages(gateway)
    cid = "si_alice_bob"

    resp = await bob.request(ReqIdentifier.GET_NEWEST_SEQ, sdkws_pb2.GetMaxSeqReq(userID="bob").SerializeToString())
    assert resp.err_code == 0
    assert dict(sdkws_pb2.GetMaxSeqResp.FromString(resp.data).maxSeqs)[cid] == 3

    ranges = sdkws_pb2.PullMessageBySeqsReq(
        userID="bob", seqRanges=[sdkws_pb2.SeqRange(conversationID=cid, begin=1, end=3, num=10)]
    )
    resp = await bob.request(ReqIdentifier.PULL_MSG_BY_RANGE, ranges.SerializeToString())
    pulled = sdkws_pb2.PullMessageBySeqsResp.FromString(resp.data)
    assert [m.seq for m in pulled.msgs[cid].Msgs] == [1, 2, 3]

    seqs = msg_pb2.GetSeqMessageReq(
        userID="bob", conversations=[msg_pb2.ConversationSeqs(conversationID=cid, seqs=[2])]
    )
    resp = await bob.request(ReqIdentifier.PULL_MSG_BY_SEQ_LIST, seqs.SerializeToString())
    assert [m.seq for m in msg_pb2.GetSeqMessageResp.FromString(resp.data).msgs[cid].Msgs] == [2]

    read = msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID="bob")
    resp = await bob.request(ReqIdentifier.GET_CONV_MAX_READ_SEQ, read.SerializeToString())
    assert msg_pb2.GetConversationsHasReadAndMaxSeqResp.FromString(resp.data).seqs[cid].maxSeq == 3

    last = msg_pb2.GetLastMessageReq(userID="bob", conversationIDs=[cid])
    resp = await bob.request(ReqIdentifier.PULL_CONV_LAST_MESSAGE, last.SerializeToString())
    assert msg_pb2.GetLastMessageResp.FromString(resp.data).msgs[cid].seq == 3


async def test_unexpected_failure_is_500_and_connection_stays(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    """A failure that is no OpenIMError (a database fault) is answered 500, logged with its operationID."""
    _, bob = await conversation_with_three_messages(gateway)
    db = gateway.runtime.storage.db
    async with db.write("test.break_conversation_table") as conn:
        await conn.execute(text("ALTER TABLE conversation RENAME TO conversation_gone"))
    try:
        with caplog.at_level(logging.ERROR, logger="openim.gateway"):
            data = sdkws_pb2.GetMaxSeqReq(userID="bob").SerializeToString()
            resp = await bob.request(ReqIdentifier.GET_NEWEST_SEQ, data)
    finally:
        async with db.write("test.mend_conversation_table") as conn:
            await conn.execute(text("ALTER TABLE conversation_gone RENAME TO conversation"))
    assert (resp.err_code, resp.err_msg, resp.data) == (500, "ServerInternalError", b"")
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.operationID == resp.operation_id  # type: ignore[attr-defined]
    assert (await bob.request(ReqIdentifier.SET_BACKGROUND_STATUS)).err_code == 0
