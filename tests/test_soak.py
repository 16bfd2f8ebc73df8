"""Soak: many gateway connections that connect, chat, disconnect and reconnect for minutes, against a real
`openim start`; after warm-up the server's RSS, open fds and asyncio tasks stay flat, its live Python objects grow
by no more than a few per message sent (the bounded send-status store), and its online count matches the clients
connected at the end.

The RSS bound is loose on purpose: SQLite's caches (pages and prepared statements per pooled connection) and the
C allocator's free lists fill over minutes to their bounds, so RSS alone cannot tell a leak from a cache filling
up; the object count can (bench/README.md, Soak, has 15- and 20-minute curves of both and what each part is).

CI runs the short version (OPENIM_SOAK_SECONDS=120, OPENIM_SOAK_CONNECTIONS=1000 by default). The long one, for
a release or after a change to the gateway or the send path, is in bench/README.md: the same test with an hour
and 5,000 connections. Each sample is printed (`pytest -s` shows them); the bounds are on growth, not time.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from tests.process import ServerProcess, start_server
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from openim.gateway.frames import FrameCodec, Req
from openim.protocol.constants import ReqIdentifier
from openim.protocol.pb import sdkws_pb2

pytestmark = [pytest.mark.soak, pytest.mark.slow(seconds=150)]

SECONDS = float(os.environ.get("OPENIM_SOAK_SECONDS", "120"))
CONNECTIONS = int(os.environ.get("OPENIM_SOAK_CONNECTIONS", "1000"))
WARM_UP = 0.3  # the first 30 % of the run: caches, pools and allocator arenas fill
CHURN = 0.05  # share of the clients that drop and reconnect each round
ROUND = 1.0  # seconds
CODEC = FrameCodec("json", gzip=False)
# Bounds on the growth of live Python allocations after warm-up (openim_python_allocated_blocks).
BLOCKS_PER_MESSAGE = 20
BLOCKS_PER_CONNECTION = 50
BLOCKS_SLACK = 50_000


@dataclass
class Sample:
    at: float
    rss: float
    fds: float
    tasks: int
    online: float
    blocks: float  # live Python allocations (openim_python_allocated_blocks)
    sent: int = 0  # messages the clients had sent by then


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(tmp_path_factory.mktemp("soak"), OPENIM_LOG_REMAINLOGLEVEL="3")
    yield srv
    srv.stop()


def _tokens(server: ServerProcess) -> dict[str, str]:
    admin = server.admin_token()
    users = [f"soak{i}" for i in range(CONNECTIONS)]
    for start in range(0, len(users), 500):
        batch = [{"userID": u, "nickname": u} for u in users[start : start + 500]]
        assert server.post("/user/user_register", {"users": batch}, admin)["errCode"] == 0
    tokens = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{server.api}", timeout=30) as http:
        for user in users:
            body = {"userID": user, "platformID": 5}
            data = http.post("/auth/get_user_token", json=body, headers={"operationID": "soak", "token": admin}).json()
            tokens[user] = data["data"]["token"]
    return tokens


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


async def _sample(http: httpx.AsyncClient, started: float) -> Sample:
    metrics = (await http.get("/metrics")).text
    tasks = (await http.get("/debug/pprof/goroutine", params={"format": "json"})).json()["taskCount"]
    return Sample(
        time.monotonic() - started,
        _metric(metrics, "process_resident_memory_bytes"),
        _metric(metrics, "process_open_fds"),
        int(tasks),
        _metric(metrics, "openim_gateway_online_users"),
        _metric(metrics, "openim_python_allocated_blocks"),
    )


class Client:
    def __init__(self, server: ServerProcess, user: str, token: str) -> None:
        self.url = (
            f"ws://127.0.0.1:{server.gateway}/?sendID={user}&token={token}&platformID=5&operationID=soak"
            "&isMsgResp=true&isBackground=false&sdkType=js"
        )
        self.user = user
        self.ws: ClientConnection | None = None
        self.sent = 0
        self.dropped = 0  # sends that found the connection closed under it (then reopened)
        self.reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.ws = await connect(self.url, compression=None, max_size=4 << 20, ping_interval=None)
        assert json.loads(await self.ws.recv())["errCode"] == 0
        self.reader = asyncio.create_task(self._drain(self.ws))

    async def _drain(self, ws: ClientConnection) -> None:
        async for _ in ws:  # replies and pushes: read so the server's write buffers never fill
            pass

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            if self.reader is not None:
                await asyncio.gather(self.reader, return_exceptions=True)
            self.ws = None

    async def send_to(self, peer: str) -> None:
        if self.ws is None:
            return
        self.sent += 1
        msg = sdkws_pb2.MsgData(
            sendID=self.user,
            recvID=peer,
            clientMsgID=f"{self.user}-{self.sent}",
            sessionType=1,
            contentType=101,
            content=json.dumps({"content": f"soak {self.sent}"}).encode(),
        )
        req = Req(
            int(ReqIdentifier.SEND_MSG),
            send_id=self.user,
            operation_id=f"{self.user}-{self.sent}",
            msg_incr=f"{self.user}-{self.sent}",
            data=msg.SerializeToString(),
        )
        try:
            await self.ws.send(CODEC.encode_req(req))
        except ConnectionClosed:
            # On a starved machine a connection can end under the client (a missed pong); count it and reconnect:
            # the server's resources are what this test watches, and they must stay flat through such ends too.
            self.dropped += 1
            await self.close()
            await self.open()


async def _soak(server: ServerProcess, tokens: dict[str, str]) -> tuple[list[Sample], int]:
    rng = random.Random(7)
    clients = [Client(server, user, token) for user, token in tokens.items()]
    for start in range(0, len(clients), 100):
        await asyncio.gather(*(c.open() for c in clients[start : start + 100]))
    samples: list[Sample] = []
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.admin}", timeout=30) as admin:
        next_sample = 0.0
        while (elapsed := time.monotonic() - started) < SECONDS:
            churned = rng.sample(clients, max(1, int(len(clients) * CHURN)))
            await asyncio.gather(*(c.close() for c in churned))
            talkers = rng.sample(clients, max(1, len(clients) // 10))
            await asyncio.gather(*(c.send_to(rng.choice(clients).user) for c in talkers))
            await asyncio.gather(*(c.open() for c in churned))
            if elapsed >= next_sample:
                samples.append(await _sample(admin, started))
                samples[-1].sent = sum(c.sent for c in clients)
                print(samples[-1])  # the figures of the run, shown with -s
                next_sample += max(5.0, SECONDS / 20)
            await asyncio.sleep(ROUND)
        await asyncio.sleep(2)  # the last closes and opens settle in presence and the gauge
        samples.append(await _sample(admin, started))
        for _ in range(20):  # a starved server finishes the handshakes and closes it fell behind on
            await asyncio.sleep(0.5)
            settled = await _sample(admin, started)
            if settled.tasks >= samples[-1].tasks:
                break
            samples[-1] = settled
        samples[-1].sent = sum(c.sent for c in clients)
        print(samples[-1])  # the figures of the run, shown with -s
        connected = sum(1 for c in clients if c.ws is not None)
        print(f"sends that found their connection closed: {sum(c.dropped for c in clients)}")  # shown with -s
        await asyncio.gather(*(c.close() for c in clients))
    return samples, connected


def test_resources_stay_flat_under_churn(server: ServerProcess) -> None:
    tokens = _tokens(server)
    samples, connected = asyncio.run(_soak(server, tokens))
    steady = [s for s in samples if s.at >= SECONDS * WARM_UP]
    assert len(steady) >= 3, samples
    base, peak = steady[0], steady[1:]
    # Generous bounds: a leak of one object per connection cycle (tens of thousands of cycles) breaks them,
    # allocator noise does not.
    assert max(s.rss for s in peak) <= base.rss * 1.15 + 16e6, (base, peak)
    assert max(s.fds for s in peak) <= base.fds + CONNECTIONS * CHURN + 20, (base, peak)
    # Tasks once the churn stopped and the server caught up: while it runs, a server starved by CI neighbours falls
    # behind on handshakes and closes (their tasks: 1,120 → 1,496 → 1,121 once; a median of 1,526 over a base of
    # 1,316 another time), which it undoes; a leak of one task per cycle (about 6,000 cycles) it does not.
    assert samples[-1].tasks <= base.tasks + 2 * CONNECTIONS * CHURN + 50, (base, samples[-1])
    # Live Python objects, what a leak is made of, whatever the allocator's arenas and SQLite's page cache do to
    # the RSS (they fill up to their bounds: bench/README.md, Soak). Each message leaves an entry in the
    # send-status store (4 blocks, until its 100,000 entries are full); a connection's objects are replaced as it
    # churns; in-flight sends come and go. A leaked connection per churn cycle (~250 blocks each, thousands of
    # cycles) breaks it, as do ~20 objects per message.
    for s in peak:
        allowed = BLOCKS_PER_MESSAGE * (s.sent - base.sent) + BLOCKS_PER_CONNECTION * CONNECTIONS + BLOCKS_SLACK
        assert s.blocks - base.blocks <= allowed, (base, s)
    assert samples[-1].online == connected
