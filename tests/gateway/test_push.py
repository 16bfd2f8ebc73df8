"""Bus → connections (GP §5.3): 2001 frames per recipient connection, in order, both codecs; kicks (2002)."""

from __future__ import annotations

from typing import Any

import pytest

from openim.gateway.frames import Resp
from openim.infra.bus import Kick, Push
from openim.protocol.constants import ReqIdentifier
from openim.protocol.pb import sdkws_pb2

from .conftest import Gateway

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
