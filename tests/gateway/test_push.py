"""Bus → connections (docs/protocol/gateway.md §6): 2001 frames per recipient connection, in order, both codecs; kicks
(2002)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openim.gateway.frames import Resp
from openim.infra.bus import Kick, Push
from openim.protocol.constants import ReqIdentifier
from openim.protocol.ids import new_client_msg_id
from openim.protocol.pb import msg_pb2, sdkws_pb2

from .conftest import ADMIN, Gateway

IOS, ANDROID, WEB = 1, 2, 5


def text_msg(send_id: str, recv_id: str, seq: int) -> sdkws_pb2.MsgData:
    return sdkws_pb2.MsgData(
        sendID=send_id, recvID=recv_id, seq=seq, sessionType=1, contentType=101, content=f"m{seq}".encode()
    )


def pushed(frame: Resp) -> sdkws_pb2.PushMessages:
    assert (frame.req_identifier, frame.msg_incr, frame.err_code) == (ReqIdentifier.PUSH_MSG, "", 0)
    return sdkws_pb2.PushMessages.FromString(frame.data)


@pytest.mark.parametrize("sdk", ["go", "wasm", "js"])
async def test_push_reaches_every_connection_of_each_recipient(gateway: Gateway, sdk: Any) -> None:
    """Each connection of each recipient gets one 2001 frame in its own codec, OperationID from the event."""
    bob_web = await gateway.connect("bob", WEB, sdk=sdk)
    bob_phone = await gateway.connect("bob", ANDROID)
    alice = await gateway.connect("alice", WEB, sdk="js")
    carol = await gateway.connect("carol", WEB, sdk="js")
    msg = text_msg("alice", "bob", 1)
    gateway.runtime.bus.publish("push", Push("si_alice_bob", msg, ("bob", "alice"), "op-send"))
    for client in (bob_web, bob_phone, alice):
        frame = await client.push()
        assert frame.operation_id == "op-send"
        body = pushed(frame)
        assert list(body.msgs) == ["si_alice_bob"] and not body.notificationMsgs
        assert list(body.msgs["si_alice_bob"].Msgs) == [msg]
    assert carol.pushes.empty()


async def test_notification_conversation_goes_to_notification_msgs(gateway: Gateway) -> None:
    """An n_ conversation is delivered in PushMessages.notificationMsgs."""
    bob = await gateway.connect("bob", WEB, sdk="js")
    gateway.runtime.bus.publish("push", Push("n_alice_bob", text_msg("alice", "bob", 3), ("bob",), "op"))
    body = pushed(await bob.push())
    assert list(body.notificationMsgs) == ["n_alice_bob"] and not body.msgs


async def test_pushes_keep_publish_order(gateway: Gateway) -> None:
    """Many pushes published back to back arrive in publish (seq) order."""
    bob = await gateway.connect("bob", ANDROID)
    for seq in range(1, 101):
        gateway.runtime.bus.publish("push", Push("si_alice_bob", text_msg("alice", "bob", seq), ("bob",), f"op{seq}"))
    seqs = [pushed(await bob.push()).msgs["si_alice_bob"].Msgs[0].seq for _ in range(100)]
    assert seqs == list(range(1, 101))


async def test_pushes_wait_while_the_socket_is_full_and_keep_order(gateway: Gateway) -> None:
    """A push to a connection whose transport has asked to stop writing (flow control) waits in its write queue; one
    that reaches the connection once the transport resumed, while others still wait, goes after them (a push goes
    straight to the socket only when nothing waits: conn.py)."""
    bob = await gateway.connect("bob", ANDROID)
    (conn,) = gateway.server.hub.conns("bob")

    def publish(seq: int) -> None:
        gateway.runtime.bus.publish("push", Push("si_alice_bob", text_msg("alice", "bob", seq), ("bob",), f"op{seq}"))

    publish(1)
    assert pushed(await bob.push()).msgs["si_alice_bob"].Msgs[0].seq == 1
    conn.ws.pause_writing()  # what the transport calls when its buffer passes the high-water mark
    for seq in range(2, 6):
        publish(seq)
    # The writer task hands the first waiting frame to websockets, which writes it and then waits for the socket.
    await gateway.settled(lambda: bool(conn.ws.drain_waiters))
    assert pushed(await bob.push()).msgs["si_alice_bob"].Msgs[0].seq == 2
    assert bob.pushes.empty()
    for seq in range(6, 9):
        publish(seq)  # handed to the gateway on the next loop turn, before the writer task wakes up
    conn.ws.resume_writing()
    seqs = [pushed(await bob.push()).msgs["si_alice_bob"].Msgs[0].seq for _ in range(6)]
    assert seqs == list(range(3, 9))


async def test_ios_in_background_is_skipped(gateway: Gateway) -> None:
    """An iOS connection that set itself in background (2004) gets no push; back in foreground it does."""
    phone = await gateway.connect("bob", IOS)
    background = sdkws_pb2.SetAppBackgroundStatusReq(userID="bob", isBackground=True).SerializeToString()
    assert (await phone.request(ReqIdentifier.SET_BACKGROUND_STATUS, background)).err_code == 0
    gateway.runtime.bus.publish("push", Push("si_alice_bob", text_msg("alice", "bob", 1), ("bob",), "op1"))
    foreground = sdkws_pb2.SetAppBackgroundStatusReq(userID="bob", isBackground=False).SerializeToString()
    assert (await phone.request(ReqIdentifier.SET_BACKGROUND_STATUS, foreground)).err_code == 0
    gateway.runtime.bus.publish("push", Push("si_alice_bob", text_msg("alice", "bob", 2), ("bob",), "op2"))
    frame = await phone.push()
    assert frame.operation_id == "op2"


async def test_android_in_background_still_gets_pushes(gateway: Gateway) -> None:
    """Only iOS is skipped in background; an Android connection keeps receiving."""
    phone = await gateway.connect("bob", ANDROID)
    background = sdkws_pb2.SetAppBackgroundStatusReq(userID="bob", isBackground=True).SerializeToString()
    await phone.request(ReqIdentifier.SET_BACKGROUND_STATUS, background)
    gateway.runtime.bus.publish("push", Push("si_alice_bob", text_msg("alice", "bob", 1), ("bob",), "op1"))
    assert (await phone.push()).operation_id == "op1"


async def test_kick_event_closes_matching_connections(gateway: Gateway) -> None:
    """A Kick on the bus sends 2002 to the connections using its tokens and closes them; others stay."""
    web_token = await gateway.token("alice", WEB)
    web = await gateway.connect("alice", WEB, sdk="js", token=web_token)
    phone = await gateway.connect("alice", ANDROID)
    gateway.runtime.bus.publish("kick", Kick("alice", WEB, (web_token,)))
    frame = await web.push()
    assert frame.req_identifier == ReqIdentifier.KICK_ONLINE_MSG
    await web.closed()
    assert (await phone.request(ReqIdentifier.SET_BACKGROUND_STATUS)).err_code == 0


async def test_kick_with_other_token_leaves_connection(gateway: Gateway) -> None:
    """A Kick naming other tokens does not touch a connection."""
    web = await gateway.connect("alice", WEB, sdk="js")
    gateway.runtime.bus.publish("kick", Kick("alice", WEB, ("some-other-token",)))
    await gateway.runtime.bus.drain()
    assert (await web.request(ReqIdentifier.SET_BACKGROUND_STATUS)).err_code == 0
    assert web.pushes.empty()


def new_text(sender: str, recv: str, body: str) -> sdkws_pb2.MsgData:
    """A single-chat text as an SDK sends it in 1003 (seq 0, status sending)."""
    return sdkws_pb2.MsgData(
        sendID=sender,
        recvID=recv,
        clientMsgID=new_client_msg_id(sender),
        senderPlatformID=WEB,
        sessionType=1,
        msgFrom=100,
        contentType=101,
        content=json.dumps({"content": body}).encode(),
        createTime=1,
        status=1,
    )


async def test_send_pushes_to_both_devices_of_receiver_and_senders_other_device(gateway: Gateway) -> None:
    """1003 from one device: the reply has no seq; every connection of both users gets 2001 in seq order."""
    alice_web = await gateway.connect("alice", WEB, sdk="js")
    alice_phone = await gateway.connect("alice", ANDROID)
    bob_web = await gateway.connect("bob", WEB, sdk="wasm")
    bob_phone = await gateway.connect("bob", IOS)
    sent = [new_text("alice", "bob", f"hello {i}") for i in range(3)]
    for msg in sent:
        resp = await alice_web.request(ReqIdentifier.SEND_MSG, msg.SerializeToString())
        assert (resp.err_code, resp.err_msg) == (0, "")
        reply = msg_pb2.SendMsgResp.FromString(resp.data)
        assert reply.clientMsgID == msg.clientMsgID and reply.serverMsgID and reply.sendTime
    for client in (bob_web, bob_phone, alice_phone, alice_web):
        frames = [await client.push() for _ in sent]
        got = [pushed(f).msgs["si_alice_bob"].Msgs[0] for f in frames]
        assert [m.seq for m in got] == [1, 2, 3]
        assert [m.clientMsgID for m in got] == [m.clientMsgID for m in sent]
        assert all(f.operation_id.startswith("op-alice_") for f in frames)


@pytest.mark.parametrize("sdk", ["go", "js"])
async def test_send_error_is_a_reply_not_a_close(gateway: Gateway, sdk: Any) -> None:
    """A business error of 1003 (sendID not the caller: 1002) is an error reply and the connection stays."""
    alice = await gateway.connect("alice", WEB, sdk=sdk)
    await gateway.token("bob", WEB)
    resp = await alice.request(ReqIdentifier.SEND_MSG, new_text("bob", "alice", "forged").SerializeToString())
    assert (resp.err_code, resp.err_msg, resp.data) == (1002, "NoPermissionError", b"")
    resp = await alice.request(ReqIdentifier.SEND_MSG, new_text("alice", "bob", "real").SerializeToString())
    assert resp.err_code == 0


async def test_sender_gets_its_reply_before_its_own_push(gateway: Gateway) -> None:
    """The sending connection gets the 1003 reply first, then its own 2001 copy (the JS SDK relies on it)."""
    alice = await gateway.connect("alice", WEB, sdk="js")
    await gateway.token("bob", WEB)
    for i in range(5):
        resp = await alice.request(ReqIdentifier.SEND_MSG, new_text("alice", "bob", f"m{i}").SerializeToString())
        assert resp.err_code == 0
        await alice.push()
    kinds = [(f.req_identifier, f.operation_id) for f in alice.arrived]
    assert [k for k, _ in kinds] == [ReqIdentifier.SEND_MSG, ReqIdentifier.PUSH_MSG] * 5
    assert all(kinds[i][1] == kinds[i + 1][1] for i in range(0, 10, 2))


async def test_force_logout_closes_the_live_connection(gateway: Gateway) -> None:
    """An admin's force_logout marks the tokens kicked and the gateway sends 2002 and closes that platform's conns."""
    web = await gateway.connect("alice", WEB, sdk="js")
    phone = await gateway.connect("alice", ANDROID)
    await gateway.runtime.services.auth.force_logout(ADMIN, "alice", WEB)
    frame = await web.push()
    assert frame.req_identifier == ReqIdentifier.KICK_ONLINE_MSG
    await web.closed()
    assert (await phone.request(ReqIdentifier.SET_BACKGROUND_STATUS)).err_code == 0
