"""Gateway fixtures: a real Runtime on the test database, the gateway on 127.0.0.1:0, and SDK-like clients.

`Sdk` plays an OpenIM SDK over a real socket with the `websockets` client: the query string of docs/protocol/gateway.md
§1.2, frames encoded by frames.py's client side (gob or JSON, optional gzip), replies matched by MsgIncr, pushes kept
aside.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from tests.databases import copy_migrated_sqlite
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from openim.api.app import create_app
from openim.gateway.conn import Timing
from openim.gateway.frames import FrameCodec, Req, Resp
from openim.gateway.server import GatewayServer
from openim.infra.clock import FakeClock
from openim.runtime import Runtime
from openim.services.auth import Caller
from openim.services.user import UserDraft
from openim.settings import Settings

_ids = itertools.count(1)
ADMIN = Caller("imAdmin", 10, is_admin=True)
FAST = Timing(idle_timeout=30.0, web_ping_interval=27.0)


class PingCountingConnection(ClientConnection):
    """A client connection that counts the control pings the server sends."""

    pings: int = 0

    def process_event(self, event: Any) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PING:
            self.pings += 1
        super().process_event(event)


@dataclass
class Sdk:
    """One client connection speaking OpenIM's envelope; replies by MsgIncr, pushes and text frames queued."""

    ws: PingCountingConnection
    user_id: str
    codec: FrameCodec
    replies: dict[str, asyncio.Future[Resp]] = field(default_factory=dict)
    pushes: asyncio.Queue[Resp] = field(default_factory=asyncio.Queue)
    texts: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    arrived: list[Resp] = field(default_factory=list)  # every binary frame, in arrival order
    reader: asyncio.Task[None] | None = None

    def start(self) -> Sdk:
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in self.ws:
                if isinstance(message, str):
                    self.texts.put_nowait(message)
                    continue
                resp = self.codec.decode_resp(message)
                self.arrived.append(resp)
                waiter = self.replies.pop(resp.msg_incr, None) if resp.msg_incr else None
                if waiter is not None:
                    waiter.set_result(resp)
                else:
                    self.pushes.put_nowait(resp)

    async def send_req(self, req_identifier: int, data: bytes = b"", *, send_id: str | None = None) -> str:
        """Send one request frame; returns its MsgIncr."""
        msg_incr = f"{self.user_id}_{next(_ids)}"
        req = Req(
            req_identifier=req_identifier,
            send_id=self.user_id if send_id is None else send_id,
            operation_id=f"op-{msg_incr}",
            msg_incr=msg_incr,
            data=data,
        )
        self.replies[msg_incr] = asyncio.get_running_loop().create_future()
        await self.ws.send(self.codec.encode_req(req))
        return msg_incr

    async def request(self, req_identifier: int, data: bytes = b"", *, within: float = 5) -> Resp:
        """Send a request and wait for the reply with the same MsgIncr."""
        msg_incr = await self.send_req(req_identifier, data)
        return await asyncio.wait_for(self.replies[msg_incr], within)

    async def push(self, within: float = 5) -> Resp:
        """The next server push (a frame with no pending MsgIncr)."""
        return await asyncio.wait_for(self.pushes.get(), within)

    async def text(self, within: float = 5) -> str:
        return await asyncio.wait_for(self.texts.get(), within)

    async def closed(self, within: float = 5) -> None:
        """Wait until the server has closed this connection."""
        await asyncio.wait_for(self.ws.wait_closed(), within)

    async def close(self) -> None:
        await self.ws.close()
        if self.reader is not None:
            await self.reader


@dataclass
class Gateway:
    """A running gateway and what tests need around it."""

    server: GatewayServer
    runtime: Runtime
    port: int
    http: httpx.AsyncClient
    clients: list[Sdk] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def token(self, user_id: str, platform_id: int = 5) -> str:
        """A fresh token for a user (registered on first use), issued as /auth/get_user_token would."""
        services = self.runtime.services
        if await self.runtime.storage.user.get_user(user_id) is None:
            await services.user.register(ADMIN, [UserDraft(user_id, nickname=f"nick-{user_id}")])
        clock = self.runtime.clock
        if isinstance(clock, FakeClock):
            clock.advance(1)  # tokens are signed to the second: keep each one distinct
        issued = await services.auth.get_user_token(ADMIN, user_id, platform_id)
        return issued.token

    def query(
        self,
        user_id: str,
        token: str,
        platform_id: int = 5,
        *,
        sdk: Literal["go", "wasm", "js"] = "go",
        **extra: str,
    ) -> str:
        """The query string an SDK sends (docs/protocol/gateway.md §1.2), with `extra` parameters added."""
        params = {
            "sendID": user_id,
            "token": token,
            "platformID": str(platform_id),
            "operationID": f"conn-{next(_ids)}",
            "isBackground": "false",
        }
        if sdk in ("go", "wasm"):
            params["compression"] = "gzip"
        if sdk == "go":
            params["sdkVersion"] = "3.8.0"
        if sdk in ("wasm", "js"):
            params["isMsgResp"] = "true"
        if sdk == "js":
            params["sdkType"] = "js"
        params.update(extra)
        return "&".join(f"{k}={v}" for k, v in params.items())

    async def raw(self, query: str, *, path: str = "/") -> PingCountingConnection:
        """Open a WebSocket with this query (no handshake-frame handling)."""
        ws = await connect(
            f"ws://127.0.0.1:{self.port}{path}?{query}",
            compression=None,
            ping_interval=None,
            max_size=None,
            create_connection=PingCountingConnection,
        )
        assert isinstance(ws, PingCountingConnection)
        return ws

    async def connect(
        self,
        user_id: str,
        platform_id: int = 5,
        *,
        sdk: Literal["go", "wasm", "js"] = "go",
        token: str | None = None,
    ) -> Sdk:
        """Log a user in as the given SDK would and return the running client (handshake frame consumed)."""
        token = token or await self.token(user_id, platform_id)
        ws = await self.raw(self.query(user_id, token, platform_id, sdk=sdk))
        if sdk != "go":
            first = await asyncio.wait_for(ws.recv(), 5)
            assert first == '{"errCode":0,"errMsg":"","errDlt":""}'
        codec = FrameCodec("json" if sdk == "js" else "gob", gzip=sdk != "js")
        client = Sdk(ws, user_id, codec).start()
        self.clients.append(client)
        await self.settled(lambda: any(c.token == token for c in self.server.hub.conns(user_id)))
        return client

    async def settled(self, condition: Callable[[], bool], within: float = 5) -> None:
        """Wait until a server-side condition holds (registration happens just after the handshake)."""
        async with asyncio.timeout(within):
            while not condition():  # noqa: ASYNC110 - polls server state the test cannot subscribe to
                await asyncio.sleep(0.005)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def policy() -> int:
    """multiLogin.policy of the runtime; parametrize `policy` to change it."""
    return 1


@pytest.fixture
def settings(tmp_path: Path, policy: int) -> Settings:
    """SQLite only: the gateway's behaviour does not depend on the database, the storage tests cover both."""
    db = f"sqlite:///{tmp_path / 'data' / 'openim.db'}"
    return Settings.model_validate({"database": {"url": db}, "multiLogin": {"policy": policy}})


@pytest.fixture
def timing() -> Timing:
    return FAST


@pytest.fixture
async def runtime(
    settings: Settings, clock: FakeClock, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Runtime]:
    await copy_migrated_sqlite(settings.database.url, tmp_path_factory)
    rt = await Runtime.build(settings, clock=clock)
    yield rt
    await rt.close()


GatewayFactory = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def gateway_factory(runtime: Runtime, timing: Timing) -> AsyncIterator[GatewayFactory]:
    """Starts gateways on the runtime (settings overrides as keyword arguments); stops them after the test."""
    started: list[tuple[Gateway, asyncio.Task[None]]] = []

    async def start(**overrides: Any) -> Gateway:
        settings = runtime.settings.msggateway.model_copy(update=overrides)
        server = GatewayServer(
            settings,
            auth=runtime.services.auth,
            msg=runtime.services.msg,
            third=runtime.services.third,
            bus=runtime.bus,
            presence=runtime.presence,
            clock=runtime.clock,
            multi_login_policy=runtime.settings.multiLogin.policy,
            timing=timing,
            hooks=runtime.webhooks,
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)
        port = sock.getsockname()[1]
        task = asyncio.create_task(server.serve(sock))
        await asyncio.wait_for(server.ready.wait(), 5)
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime.services)), base_url="http://openim.test"
        )
        gw = Gateway(server, runtime, port, http)
        started.append((gw, task))
        return gw

    yield start
    for gw, task in started:
        for client in gw.clients:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 2)
        gw.server.close()
        await asyncio.wait_for(task, 10)
        await gw.http.aclose()


@pytest.fixture
async def gateway(gateway_factory: GatewayFactory) -> Gateway:
    """A gateway with the default settings (multiLogin policy 1)."""
    return await gateway_factory()
