"""What the scenarios share: their options, opening many connections, heartbeats, messages and their tracking.

The tracker keys every message by its clientMsgID: the time it was sent, acknowledged (the 1003 reply) and
delivered (the first 2001 push that carries it to a receiver, or every push for a group), so a run can say
exactly which acknowledged messages never arrived (`lost`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass

from openim.bench.accounts import User
from openim.bench.client import Envelope, GatewayClient, platform_of
from openim.gateway.frames import Resp
from openim.protocol.constants import ReqIdentifier
from openim.protocol.pb import sdkws_pb2

__all__ = ["Options", "Tracker", "closed_loop", "connect_all", "heartbeats", "text_msg"]

_SEND = int(ReqIdentifier.SEND_MSG)
HEARTBEAT_S = 10  # the JS SDK's interval; the server drops a connection silent for 30 s
_CONNECTS_IN_FLIGHT = 50


@dataclass
class Options:
    """Every knob of `openim bench`; each scenario reads the ones it needs (README of bench/ lists them)."""

    api: str = "http://127.0.0.1:10002"
    ws: str = "ws://127.0.0.1:10001"
    secret: str = "openIM123"
    admin_user: str = "imAdmin"
    envelope: Envelope = "json"
    seconds: float = 10.0
    server_pid: int | None = None
    pairs: int = 50  # one-to-one, latency-at-rate: sender→receiver pairs; catch-up: senders
    window: int = 1  # requests in flight per sender
    rate: float = 1000.0  # latency-at-rate: messages offered per second, all pairs together
    conns: int = 1000  # idle-connections
    members: int = 1000  # group-fanout: online members, the sender included
    messages: int = 10_000  # catch-up: messages sent while the receiver is offline
    page: int = 100  # catch-up: messages asked per 1002 request
    concurrency: int = 50  # rest: clients with one request in flight each
    drain: float = 30.0  # seconds to wait, after sending stops, for replies and pushes still due

    @property
    def platform_id(self) -> int:
        return platform_of(self.envelope)


async def connect_all(
    opts: Options, users: Iterable[User], latencies: list[float] | None = None
) -> list[GatewayClient]:
    """One connection per user, at most 50 handshakes at once; handshake times go to `latencies` if given."""
    gate = asyncio.Semaphore(_CONNECTS_IN_FLIGHT)

    async def one(user: User) -> GatewayClient:
        async with gate:
            start = time.perf_counter()
            client = await GatewayClient.connect(opts.ws, user.user_id, user.token, opts.envelope)
            if latencies is not None:
                latencies.append(time.perf_counter() - start)
            return client

    return list(await asyncio.gather(*(one(u) for u in users)))


async def close_all(clients: list[GatewayClient]) -> None:
    for start in range(0, len(clients), 200):
        await asyncio.gather(*(c.close() for c in clients[start : start + 200]), return_exceptions=True)


@contextlib.asynccontextmanager
async def heartbeats(clients: list[GatewayClient]) -> AsyncIterator[None]:
    """While inside, every client sends its SDK's heartbeat every 10 s, so long runs are not dropped as idle."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            for start in range(0, len(clients), 200):
                await asyncio.gather(*(c.heartbeat() for c in clients[start : start + 200]))

    task = asyncio.get_running_loop().create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def text_msg(send_id: str, client_msg_id: str, platform_id: int, *, recv_id: str = "", group_id: str = "") -> bytes:
    """A text message (contentType 101) as the SDK builds it, serialized for a 1003 request."""
    msg = sdkws_pb2.MsgData(
        sendID=send_id,
        recvID=recv_id,
        groupID=group_id,
        clientMsgID=client_msg_id,
        senderPlatformID=platform_id,
        senderNickname=send_id,
        sessionType=3 if group_id else 1,
        msgFrom=100,
        contentType=101,
        content=b'{"content":"bench message ' + client_msg_id.encode() + b'"}',
        createTime=int(time.time() * 1000),
        status=1,
    )
    return msg.SerializeToString()


async def closed_loop(
    sender: GatewayClient,
    tracker: Tracker,
    ids: Iterator[str],
    build: Callable[[str], bytes],
    *,
    until: float | None,
    wait_s: float,
) -> None:
    """One in-flight slot of a sender: send the message `build(cid)` for the next cid, await its 1003 reply, again;
    until `ids` runs out or the clock passes `until`. Several slots on one sender make its window."""
    for cid in ids:
        if until is not None and time.perf_counter() >= until:
            return
        data = build(cid)
        tracker.sent(cid)
        waiter = await sender.start_request(_SEND, data, cid)
        tracker.on_reply(cid, await asyncio.wait_for(waiter, wait_s))


class Tracker:
    """Send, ack and delivery times of every message of a run, by clientMsgID.

    `expect_pushes` is how many pushes make a message delivered: 1 for a single chat (the receiver's), M for a
    group of M online members (each member's, the sender's own copy included).
    """

    def __init__(self, expect_pushes: int = 1) -> None:
        self.expect_pushes = expect_pushes
        self.sent_at: dict[str, float] = {}
        self.acked: set[str] = set()
        self.errors = 0
        self.ack_latencies: list[float] = []
        self.push_latencies: list[float] = []  # send → each counted push
        self.pushes: dict[str, int] = {}
        self.delivered = 0  # messages with all their pushes
        self.push_count = 0
        self.last_ack = 0.0
        self.last_push = 0.0
        self._all_in = asyncio.Event()
        self._closed = False  # no more sends: `settle` is waiting

    def sent(self, client_msg_id: str) -> None:
        self.sent_at[client_msg_id] = time.perf_counter()

    def on_reply(self, client_msg_id: str, resp: Resp) -> None:
        now = time.perf_counter()
        if resp.err_code:
            self.errors += 1
            return
        self.acked.add(client_msg_id)
        self.ack_latencies.append(now - self.sent_at[client_msg_id])
        self.last_ack = now
        self._check_all_in()

    def on_push(self, resp: Resp) -> None:
        """A receiver's 2001 frame: count each of our messages it carries.

        Fast path: the push's operationID is the sending request's (we send with operationID = clientMsgID), and
        the payload must contain that clientMsgID; anything else is parsed as PushMessages.
        """
        now = time.perf_counter()
        cid = resp.operation_id
        if cid in self.sent_at and cid.encode() in resp.data:
            self._count(cid, now)
            return
        push = sdkws_pb2.PushMessages.FromString(resp.data)
        for pulled in push.msgs.values():
            for msg in pulled.Msgs:
                if msg.clientMsgID in self.sent_at:
                    self._count(msg.clientMsgID, now)

    def _count(self, cid: str, now: float) -> None:
        n = self.pushes.get(cid, 0) + 1
        if n > self.expect_pushes:
            return  # a duplicate: at-least-once allows it, it counts once
        self.pushes[cid] = n
        self.push_count += 1
        self.push_latencies.append(now - self.sent_at[cid])
        self.last_push = now
        if n == self.expect_pushes:
            self.delivered += 1
            self._check_all_in()

    def _check_all_in(self) -> None:
        if (
            self._closed
            and len(self.acked) + self.errors >= len(self.sent_at)
            and self.delivered >= len(self.acked)
            and self.lost == 0
        ):
            self._all_in.set()

    async def settle(self, wait_s: float) -> None:
        """After the last send: wait until every message is answered and every acked one delivered, or timeout."""
        self._closed = True
        self._check_all_in()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._all_in.wait(), wait_s)

    @property
    def lost(self) -> int:
        """Acknowledged messages missing a push (for a group: the missing pushes)."""
        return sum(self.expect_pushes - self.pushes.get(cid, 0) for cid in self.acked)

    @property
    def unanswered(self) -> int:
        return len(self.sent_at) - len(self.acked) - self.errors
