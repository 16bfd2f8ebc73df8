"""A msg service wired as runtime.py wires it (storage, group-commit writer, memory bus, fake clock), for tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from openim.infra.bus import TOPIC_PUSH, MemoryBus, Push
from openim.infra.clock import FakeClock
from openim.infra.queue import JobQueue
from openim.protocol.constants import ContentType, MsgStatus, SessionType
from openim.protocol.ids import new_client_msg_id
from openim.protocol.pb import msg_pb2
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.services.auth import Caller
from openim.services.msg import MsgService
from openim.services.notification import NotificationSender
from openim.storage import Storage
from openim.storage.commit import MsgWriter
from openim.storage.rows import User

ADMIN = "imAdmin"


@dataclass
class MsgKit:
    """The service under test, its collaborators, and every push published so far."""

    storage: Storage
    service: MsgService
    writer: MsgWriter
    bus: MemoryBus
    clock: FakeClock
    notifications: NotificationSender
    pushes: list[Push] = field(default_factory=list)

    async def users(self, *user_ids: str, level: int = 0, recv_opt: int = 0) -> None:
        """Register users (nickname = upper-case ID)."""
        await self.storage.user.create_users(
            [User(u, u.upper(), "", "", level, recv_opt, self.clock.now_ms()) for u in user_ids]
        )

    async def send(self, sender: str, recv: str, body: str = "hi", **fields: object) -> msg_pb2.SendMsgResp:
        """Send a single-chat text as `sender` (its own caller), waiting for the commit."""
        return await self.service.send(caller(sender), text_msg(sender, recv, body, **fields), operation_id="op")

    async def drained(self) -> list[Push]:
        """Every push so far, after the bus delivered all of them."""
        await self.bus.drain()
        return self.pushes


def caller(user_id: str) -> Caller:
    """The Caller of a user's token (admin iff it is the test admin)."""
    return Caller(user_id, 5, is_admin=user_id == ADMIN)


def text_msg(sender: str, recv: str, body: str = "hi", **fields: object) -> MsgData:
    """A single-chat text MsgData as a client sends it (seq 0, status sending, no serverMsgID)."""
    msg = MsgData(
        sendID=sender,
        recvID=recv,
        clientMsgID=new_client_msg_id(sender),
        senderPlatformID=5,
        sessionType=SessionType.SINGLE_CHAT,
        msgFrom=100,
        contentType=ContentType.TEXT,
        content=json.dumps({"content": body}).encode(),
        createTime=1,
        status=MsgStatus.SENDING,
    )
    for name, value in fields.items():
        setattr(msg, name, value)
    return msg


@asynccontextmanager
async def msg_kit(storage: Storage, *, queue: JobQueue | None = None) -> AsyncIterator[MsgKit]:
    """Build the kit on an open storage (offline-push jobs go to `queue`); closes the writer and the bus afterwards."""
    clock = FakeClock()
    bus = MemoryBus()
    service: MsgService
    writer = MsgWriter(storage.msg, on_commit=lambda batch: service.on_commit(batch))
    service = MsgService(storage, writer, bus, clock, admin_user_ids=[ADMIN], queue=queue)
    kit = MsgKit(storage, service, writer, bus, clock, NotificationSender(service, clock))
    bus.subscribe(TOPIC_PUSH, lambda event: kit.pushes.append(event) if isinstance(event, Push) else None)
    try:
        yield kit
    finally:
        await writer.close()
        await bus.close()
