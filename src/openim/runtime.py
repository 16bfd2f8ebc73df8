"""Wires a process: settings → storage, infra, services → the roles asked for, started and stopped in order.

Everything is built here with plain constructor calls, read top to bottom. Nothing below this module reads
settings or the environment; each part gets the values it needs as arguments.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import uvicorn

from openim.api.app import create_app
from openim.gateway.server import GatewayServer
from openim.infra.bus import Bus, MemoryBus
from openim.infra.clock import Clock, SystemClock
from openim.infra.presence import MemoryPresence, Presence
from openim.infra.tokens import MemoryTokenStore, TokenStore
from openim.ops.admin import create_admin_app
from openim.ops.logging import setup_logging
from openim.services import Services
from openim.services.auth import AuthService
from openim.services.conversation import ConversationService
from openim.services.friend import FriendService
from openim.services.group import GroupService
from openim.services.msg import MsgService
from openim.services.notification import NotificationSender
from openim.services.user import UserService
from openim.settings import Settings
from openim.storage import Storage, open_storage
from openim.storage.commit import MsgWriter

__all__ = ["ROLES", "PortInUse", "Runtime", "run"]

ROLES = ("api", "msggateway", "admin")
log = logging.getLogger("openim.runtime")


class PortInUse(Exception):
    """A listening port is taken; the message names it and what to do."""


@dataclass
class Runtime:
    """The built process: shared state every role uses."""

    settings: Settings
    clock: Clock
    storage: Storage
    tokens: TokenStore
    services: Services
    bus: Bus
    presence: Presence
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @classmethod
    async def build(cls, settings: Settings, *, clock: Clock | None = None) -> Runtime:
        clock = clock or SystemClock()
        storage = await open_storage(settings.database.url, pool_size=settings.database.poolSize)
        admins = settings.imAdminUser
        nicknames = [*admins.nicknames, *([""] * len(admins.userIDs))]
        await storage.user.ensure_admins(
            [(uid, nicknames[i] or uid) for i, uid in enumerate(admins.userIDs)], now=clock.now_ms()
        )
        tokens = MemoryTokenStore(clock)
        bus, presence = MemoryBus(), MemoryPresence()
        auth = AuthService(
            tokens,
            storage,
            clock,
            secret=settings.secret.get_secret_value(),
            expire_s=settings.tokenPolicy.expire,
            admin_user_ids=list(admins.userIDs),
            multi_login_policy=settings.multiLogin.policy,
            max_num_one_end=settings.multiLogin.maxNumOneEnd,
            bus=bus,
        )
        msg: MsgService
        writer = MsgWriter(storage.msg, on_commit=lambda batch: msg.on_commit(batch))
        msg = MsgService(
            storage, writer, bus, clock, admin_user_ids=list(admins.userIDs), friend_verify=settings.msg.friendVerify
        )
        notifications = NotificationSender(msg, clock)
        services = Services(
            auth=auth,
            user=UserService(storage, clock, presence),
            friend=FriendService(storage, notifications, clock),
            group=GroupService(
                storage,
                notifications,
                clock,
                enable_history_for_new_members=settings.group.enableHistoryForNewMembers,
            ),
            msg=msg,
            conversation=ConversationService(storage, notifications, clock),
        )
        closers: list[Callable[[], Awaitable[None]]] = [storage.close, bus.close, writer.close]  # reversed at close
        return cls(settings, clock, storage, tokens, services, bus, presence, closers)

    async def close(self) -> None:
        for closer in reversed(self._closers):
            await closer()


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: several servers share one process and one stop signal."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int, what: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(
            f"cannot listen on {host}:{port} for {what}: {exc.strerror}. "
            f"Another process holds it (see `openim doctor`), or change the port in config/config.yaml."
        ) from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _uvicorn(app: object, sock: socket.socket) -> tuple[_Server, Awaitable[None]]:
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    server = _Server(config)
    return server, server.serve(sockets=[sock])


async def run(settings: Settings, roles: tuple[str, ...] = ROLES, *, ready: asyncio.Event | None = None) -> None:
    """Run the given roles until SIGINT/SIGTERM (or cancellation), then stop them and close storage."""
    setup_logging(settings.log, role="openim" if len(roles) > 1 else roles[0])
    sockets: list[tuple[str, socket.socket]] = []
    try:
        if "api" in roles:
            sockets += [("api", _bind(settings.api.listenIP, p, "the REST API")) for p in settings.api.ports]
        if "msggateway" in roles:
            gw = settings.msggateway
            sockets += [("msggateway", _bind(gw.listenIP, p, "the message gateway")) for p in gw.ports]
        if "admin" in roles:
            sockets.append(("admin", _bind(settings.admin.listenIP, settings.admin.port, "the admin endpoints")))
    except PortInUse:
        for _, sock in sockets:
            sock.close()
        raise

    runtime = await Runtime.build(settings)
    servers: list[_Server] = []
    gateways: list[GatewayServer] = []
    tasks: list[Awaitable[None]] = []
    api_app = create_app(runtime.services) if "api" in roles else None
    for role, sock in sockets:
        if role == "api":
            server, task = _uvicorn(api_app, sock)
        elif role == "admin":
            server, task = _uvicorn(create_admin_app(runtime.storage), sock)
        else:
            gateway = GatewayServer(
                settings.msggateway,
                auth=runtime.services.auth,
                msg=runtime.services.msg,
                bus=runtime.bus,
                presence=runtime.presence,
                clock=runtime.clock,
                multi_login_policy=settings.multiLogin.policy,
            )
            gateways.append(gateway)
            tasks.append(gateway.serve(sock))
            log.info("msggateway listening on %s:%s", *sock.getsockname()[:2])
            continue
        servers.append(server)
        tasks.append(task)
        log.info("%s listening on %s:%s", role, *sock.getsockname()[:2])

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    running = [asyncio.ensure_future(t) for t in tasks]
    if ready is not None:
        ready.set()
    try:
        waiter = asyncio.ensure_future(stop.wait())
        await asyncio.wait([waiter, *running], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
    finally:
        log.info("stopping")
        for server in servers:
            server.should_exit = True
        for gateway in gateways:
            gateway.close()
        await asyncio.gather(*running, return_exceptions=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        await runtime.close()
        log.info("stopped")
