"""Throughput of the whole send path: `MsgService.send` (checks, group commit, publish) with N concurrent senders.

Unlike bench/send.py (the writer alone), every message goes through the single-chat checks OpenIM makes
(receiver exists, sender level, blacklist, receive options) before its append, and is published for push.
Prints messages/s and the read transactions per send.

Run: .venv/bin/python bench/send_service.py [--senders 1 10 100] [--per-sender 50] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from openim.infra.bus import MemoryBus
from openim.infra.clock import SystemClock
from openim.protocol.constants import ContentType, SessionType
from openim.protocol.ids import new_client_msg_id
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.services.auth import Caller
from openim.services.msg import MsgService
from openim.storage import Storage, open_storage
from openim.storage.commit import MsgWriter
from openim.storage.db import Db
from openim.storage.rows import User


def text_msg(sender: str, receiver: str, i: int) -> MsgData:
    return MsgData(
        sendID=sender,
        recvID=receiver,
        clientMsgID=new_client_msg_id(sender),
        senderPlatformID=5,
        sessionType=SessionType.SINGLE_CHAT,
        msgFrom=100,
        contentType=ContentType.TEXT,
        content=b'{"content":"message number %d from the benchmark"}' % i,
        status=1,
    )


async def run(storage: Storage, senders: int, per_sender: int) -> tuple[float, float]:
    """(messages/s, read transactions per send) for `senders` concurrent senders."""
    clock = SystemClock()
    bus = MemoryBus()
    service: MsgService
    writer = MsgWriter(storage.msg, on_commit=lambda batch: service.on_commit(batch))
    service = MsgService(storage, writer, bus, clock, admin_user_ids=["imAdmin"])
    users = [User(f"{p}{k}", f"{p}{k}", "", "", 0, 0, clock.now_ms()) for k in range(senders) for p in ("s", "r")]
    await storage.user.create_users(users)
    await asyncio.gather(*(service.send(Caller(f"s{k}", 5), text_msg(f"s{k}", f"r{k}", 0), operation_id="w")
                           for k in range(senders)))  # fmt: skip

    def reads() -> int:
        return sum(s.count for name, s in storage.db.stats.by_name.items() if name not in ("msg.append_batch",))

    before = reads()

    async def sender(k: int) -> None:
        for i in range(per_sender):
            await service.send(Caller(f"s{k}", 5), text_msg(f"s{k}", f"r{k}", i), operation_id=f"{k}-{i}")

    start = time.perf_counter()
    await asyncio.gather(*(sender(k) for k in range(senders)))
    elapsed = time.perf_counter() - start
    sends = senders * per_sender
    per_send = (reads() - before) / sends
    await writer.close()
    await bus.close()
    return sends / elapsed, per_send


async def fresh_postgres(url: str) -> None:
    db = await Db.connect(url, pool_size=1)
    try:
        async with db.write("bench.reset") as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await db.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--per-sender", type=int, default=50)
    parser.add_argument("--postgres", default=os.environ.get("OPENIM_BENCH_POSTGRES_URL", ""))
    args = parser.parse_args()
    print(f"{'database':<10} {'senders':>8} {'messages/s':>12} {'reads/send':>11}")
    targets: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for senders in args.senders:
            targets = [("sqlite", f"sqlite:///{Path(tmp) / f'bench-{senders}.db'}")]
            if args.postgres:
                targets.append(("postgresql", args.postgres))
            for name, url in targets:
                if name == "postgresql":
                    await fresh_postgres(url)
                storage = await open_storage(url, pool_size=20)
                try:
                    rate, reads = await run(storage, senders, args.per_sender)
                finally:
                    await storage.close()
                print(f"{name:<10} {senders:>8} {rate:>12,.0f} {reads:>11.2f}")


if __name__ == "__main__":
    asyncio.run(main())
