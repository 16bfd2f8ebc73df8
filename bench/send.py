"""Throughput of the message write path: N concurrent senders through MsgWriter (group commit) on SQLite and
PostgreSQL, in stored messages/s, with the mean batch (messages per transaction) and rows written per message.

Each sender sends `--per-sender` single-chat messages one after another (awaiting each commit, as a client
waits for its ack) to a peer in its own conversation; every message is durable when its send returns.
A fresh database per run: SQLite files in a temporary directory; on PostgreSQL the database named by
--postgres / OPENIM_BENCH_POSTGRES_URL is emptied (schema public dropped) before each run: use a scratch one.

Run: .venv/bin/python bench/send.py [--senders 1 10 100 500] [--per-sender 50] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from openim.protocol.constants import ContentType, MsgStatus, SessionType
from openim.protocol.ids import new_client_msg_id, new_server_msg_id, single_conversation_id
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.storage import Storage, open_storage
from openim.storage.commit import Appended, MsgWriter, NewMsg
from openim.storage.db import Db


def new_msg(sender: str, receiver: str, i: int) -> NewMsg:
    """A single-chat text message as the msg service hands it to the writer."""
    msg = MsgData(
        sendID=sender,
        recvID=receiver,
        clientMsgID=new_client_msg_id(sender),
        serverMsgID=new_server_msg_id(sender),
        senderPlatformID=5,
        sessionType=SessionType.SINGLE_CHAT,
        msgFrom=100,
        contentType=ContentType.TEXT,
        content=b'{"content":"message number %d from the benchmark"}' % i,
        sendTime=time.time_ns() // 1_000_000,
        status=MsgStatus.SEND_SUCCESS,
    )
    return NewMsg(single_conversation_id(sender, receiver), msg, (sender, receiver))


async def run(storage: Storage, senders: int, per_sender: int) -> tuple[float, float, float]:
    """(messages/s, mean batch, rows per message) for `senders` concurrent senders."""
    committed = 0

    def on_commit(batch: list[Appended]) -> None:
        nonlocal committed
        committed += len(batch)

    writer = MsgWriter(storage.msg, on_commit=on_commit)
    # warm-up: conversations exist, so the measurement is the steady state
    await asyncio.gather(*(writer.append(new_msg(f"s{k}", f"r{k}", 0)) for k in range(senders)))
    before = (storage.msg.stats.batches, storage.msg.stats.messages, storage.msg.stats.rows)

    async def sender(k: int) -> None:
        for i in range(per_sender):
            await writer.append(new_msg(f"s{k}", f"r{k}", i))

    start = time.perf_counter()
    await asyncio.gather(*(sender(k) for k in range(senders)))
    elapsed = time.perf_counter() - start
    await writer.close()
    batches = storage.msg.stats.batches - before[0]
    messages = storage.msg.stats.messages - before[1]
    rows = storage.msg.stats.rows - before[2]
    return messages / elapsed, messages / max(batches, 1), rows / max(messages, 1)


async def fresh_postgres(url: str) -> None:
    """Empty the PostgreSQL database (schema public dropped and recreated); migrations run on open."""
    db = await Db.connect(url, pool_size=1)
    try:
        async with db.write("bench.reset") as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await db.close()


async def bench(name: str, url: str, sender_counts: list[int], per_sender: int, reset: bool) -> None:
    """Print one line per sender count for the database at `url`."""
    for senders in sender_counts:
        if reset:
            await fresh_postgres(url)
        storage = await open_storage(url, pool_size=5)
        try:
            rate, batch, rows = await run(storage, senders, per_sender)
        finally:
            await storage.close()
        print(f"{name:<10} {senders:>8} {senders * per_sender:>9} {rate:>12,.0f} {batch:>11.1f} {rows:>9.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, nargs="+", default=[1, 10, 100, 500])
    parser.add_argument("--per-sender", type=int, default=50)
    parser.add_argument("--postgres", default=os.environ.get("OPENIM_BENCH_POSTGRES_URL", ""))
    args = parser.parse_args()
    print(f"{'database':<10} {'senders':>8} {'messages':>9} {'messages/s':>12} {'mean batch':>11} {'rows/msg':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for senders in args.senders:
            url = f"sqlite:///{Path(tmp) / f'bench-{senders}.db'}"
            await bench("sqlite", url, [senders], args.per_sender, reset=False)
    if args.postgres:
        await bench("postgresql", args.postgres, args.senders, args.per_sender, reset=True)
    else:
        print("postgresql skipped: pass --postgres URL or set OPENIM_BENCH_POSTGRES_URL")


if __name__ == "__main__":
    asyncio.run(main())
