"""One connection (docs/protocol/gateway.md §2.4, §3): heartbeats, idle deadline, frame errors that close, size limit,
write queue, kick."""

from __future__ import annotations

import asyncio

import pytest

from openim.gateway.conn import Timing
from openim.gateway.frames import Resp
from openim.protocol.constants import ReqIdentifier

from .conftest import Gateway, GatewayFactory, Sdk
from .test_push import new_text


async def still_works(sdk: Sdk) -> None:
    resp = await sdk.request(ReqIdentifier.SET_BACKGROUND_STATUS)
    assert resp.err_code == 0


@pytest.mark.parametrize(
    ("ping", "pong"),
    [
        ('{"type":"ping"}', '{"type":"pong","body":null}'),
        ('{"type":"ping","body":"op-1"}', '{"type":"pong","body":"op-1"}'),
        ('{"Type":"ping","body":{"a":[1,2]}}', '{"type":"pong","body":{"a":[1,2]}}'),
    ],
)
async def test_text_ping_gets_text_pong(gateway: Gateway, ping: str, pong: str) -> None:
    """A text ping is answered by a text pong echoing its body (JS: none → null; wasm: the operationID)."""
    sdk = await gateway.connect("alice", 5, sdk="js")
    await sdk.ws.send(ping)
    assert await sdk.text() == pong


async def test_text_pong_is_accepted(gateway: Gateway) -> None:
    """A text pong from the client is fine: nothing is answered and the connection stays."""
    sdk = await gateway.connect("alice", 5, sdk="wasm")
    await sdk.ws.send('{"type":"pong","body":"x"}')
    await still_works(sdk)
    assert sdk.texts.empty()


@pytest.mark.parametrize("text", ['{"type":"hello"}', "not json", '{"type":1}'])
async def test_other_text_closes(gateway: Gateway, text: str) -> None:
    """Any text frame other than a ping or pong closes the connection."""
    sdk = await gateway.connect("alice", 5, sdk="js")
    await sdk.ws.send(text)
    await sdk.closed()


async def test_control_ping_gets_pong(gateway: Gateway) -> None:
    """A WS control ping (the Go SDK's heartbeat, payload = an operationID) is answered by a pong."""
    sdk = await gateway.connect("alice", 2, sdk="go")
    waiter = await sdk.ws.ping(b"op-heartbeat")
    await asyncio.wait_for(waiter, 5)


async def test_garbage_frame_closes_only_that_connection(gateway: Gateway) -> None:
    """A binary frame that is not a (gzip+)gob envelope closes its connection; another one keeps working."""
    bad = await gateway.connect("alice", 2, sdk="go")
    good = await gateway.connect("bob", 2, sdk="go")
    await bad.ws.send(b"\x1f\x8b garbage")
    await bad.closed()
    assert bad.pushes.empty() and bad.texts.empty()  # nothing a Go SDK could not decode was sent
    await still_works(good)


async def test_oversize_frame_closes_with_1009(gateway: Gateway) -> None:
    """With the default websocketMaxMsgLen (51200, OpenIM's read limit), a bigger frame closes that connection
    with 1009; others are unaffected."""
    big = await gateway.connect("alice", 5, sdk="js")
    other = await gateway.connect("bob", 5, sdk="js")
    await big.ws.send(b"x" * 51201)
    await big.closed()
    assert big.ws.close_code == 1009
    await still_works(other)


async def test_frame_at_the_limit_is_read(gateway: Gateway) -> None:
    """A frame of exactly the default 51200 bytes is read (and here, not being an envelope, closes without 1009)."""
    sdk = await gateway.connect("alice", 5, sdk="js")
    await sdk.ws.send(b"{" + b" " * 51198 + b"}")
    await sdk.closed()
    assert sdk.ws.close_code != 1009


async def test_websocket_max_msg_len_sets_the_read_limit(gateway_factory: GatewayFactory) -> None:
    """msggateway.websocketMaxMsgLen is the read limit: a SendMsg frame within it is answered, one past it closes
    the connection with 1009 "message too big" (gorilla's SetReadLimit in OpenIM); other connections go on."""
    gateway = await gateway_factory(websocketMaxMsgLen=2048)
    alice = await gateway.connect("alice", 5, sdk="js")
    other = await gateway.connect("bob", 5, sdk="js")
    small = await alice.request(ReqIdentifier.SEND_MSG, new_text("alice", "bob", "x" * 1000).SerializeToString())
    assert small.err_code == 0
    await alice.send_req(ReqIdentifier.SEND_MSG, new_text("alice", "bob", "x" * 2100).SerializeToString())
    await alice.closed()
    assert alice.ws.close_code == 1009
    await still_works(other)
    edge = await gateway.connect("carol", 5, sdk="js")
    await edge.ws.send(b"{" + b" " * 2046 + b"}")  # exactly 2048 bytes: read, then refused as no envelope
    await edge.closed()
    assert edge.ws.close_code != 1009


async def test_wrong_send_id_closes(gateway: Gateway) -> None:
    """An envelope whose SendID is not the connection's user closes the connection, no reply."""
    sdk = await gateway.connect("alice", 5, sdk="js")
    await sdk.send_req(ReqIdentifier.SET_BACKGROUND_STATUS, send_id="bob")
    await sdk.closed()
    assert not any(f.done() for f in sdk.replies.values())


async def test_unknown_req_identifier_closes(gateway: Gateway) -> None:
    """An unknown ReqIdentifier closes the connection without an answer (a Go SDK could not decode one)."""
    sdk = await gateway.connect("alice", 2, sdk="go")
    await sdk.send_req(3001)
    await sdk.closed()
    assert sdk.pushes.empty()


async def test_replies_keep_request_order(gateway: Gateway) -> None:
    """Requests sent back to back are answered in the order they were sent."""
    sdk = await gateway.connect("alice", 2, sdk="go")
    incrs = [await sdk.send_req(ReqIdentifier.SET_BACKGROUND_STATUS) for _ in range(20)]
    order: list[str] = []
    for incr in incrs:
        sdk.replies[incr].add_done_callback(lambda f: order.append(f.result().msg_incr))
    await asyncio.wait_for(asyncio.gather(*(sdk.replies[i] for i in incrs)), 5)
    assert order == incrs


@pytest.mark.parametrize("timing", [Timing(idle_timeout=0.3, web_ping_interval=27)])
async def test_idle_connection_is_dropped(gateway: Gateway) -> None:
    """No inbound frame for the idle deadline closes the connection."""
    sdk = await gateway.connect("alice", 2, sdk="go")
    await sdk.closed(within=3)


@pytest.mark.parametrize("timing", [Timing(idle_timeout=0.4, web_ping_interval=27)])
async def test_control_pings_keep_a_connection_alive(gateway: Gateway) -> None:
    """Control pings alone (the Go SDK's idle traffic) reset the idle deadline."""
    sdk = await gateway.connect("alice", 2, sdk="go")
    for _ in range(6):
        await asyncio.sleep(0.15)
        await sdk.ws.ping(b"hb")
    await still_works(sdk)


@pytest.mark.parametrize("timing", [Timing(idle_timeout=30, web_ping_interval=0.1)])
async def test_web_gets_control_pings(gateway: Gateway) -> None:
    """A Web (platform 5) connection gets control pings from the server; other platforms do not."""
    web = await gateway.connect("alice", 5, sdk="wasm")
    android = await gateway.connect("bob", 2, sdk="go")
    await asyncio.sleep(0.35)
    assert web.ws.pings >= 2
    assert android.ws.pings == 0


async def test_kick_sends_2002_then_closes(gateway: Gateway) -> None:
    """kick() writes the 2002 frame (empty msgIncr, no data) and then closes the connection."""
    sdk = await gateway.connect("alice", 2, sdk="go")
    (conn,) = gateway.server.hub.conns("alice")
    conn.kick()
    frame = await sdk.push()
    assert (frame.req_identifier, frame.msg_incr, frame.data) == (ReqIdentifier.KICK_ONLINE_MSG, "", b"")
    await sdk.closed()


async def test_write_queue_overflow_closes(gateway: Gateway) -> None:
    """A client that stops reading fills the socket, then 256 queued frames; one more closes the connection."""
    sdk = await gateway.connect("alice", 5, sdk="js")
    (conn,) = gateway.server.hub.conns("alice")
    sdk.ws.transport.pause_reading()
    frame = Resp(req_identifier=ReqIdentifier.PUSH_MSG, data=b"x" * 30000)
    results = [conn.send(frame) for _ in range(2000)]  # synchronously: no await lets the socket drain
    assert results[-1] is False
    assert sum(1 for r in results if r) < 2000
    assert conn.closing
    sdk.ws.transport.resume_reading()
    await sdk.closed()


async def test_client_close_unregisters(gateway: Gateway) -> None:
    """A connection the client closes leaves the hub."""
    sdk = await gateway.connect("alice", 5, sdk="js")
    await sdk.close()
    await gateway.settled(lambda: gateway.server.hub.count == 0)


async def test_server_stop_closes_connections(gateway: Gateway) -> None:
    """Stopping the gateway closes its connections (the SDKs then reconnect elsewhere)."""
    sdk = await gateway.connect("alice", 5, sdk="js")
    gateway.server.close()
    await sdk.closed()
