"""/msg/search_msg on a million messages: time per search (count + one page of 20) by filter, with the plan seen.

Fills a fresh database with --messages chat messages (1,000 users, 100 groups, 80 % single chats, 20 % group
messages, ten content types, spread evenly over 100 days), written straight into `msg` in chunks, then runs each
search of OpenIM's filters --repeat times through `MsgSearchRepo.search` and prints the median time and the first
lines of the database's plan of the page query. SQLite in a temporary directory; PostgreSQL only with --postgres
URL (or OPENIM_BENCH_POSTGRES_URL), whose schema public is dropped first: use a scratch database.

Run: .venv/bin/python bench/search_msg.py [--messages 1000000] [--repeat 5] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from send import fresh_postgres  # bench/send.py: bench/ is on sys.path when this runs as a script
from sqlalchemy import insert, text

from openim.protocol.constants import SessionType
from openim.protocol.ids import group_conversation_id, single_conversation_id
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.storage import Storage, open_storage
from openim.storage.msg.search import MsgQuery, search_statement
from openim.storage.schema import msg

USERS, GROUPS, DAYS = 1000, 100, 100
DAY_MS = 86_400_000
START_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC
CONTENT_TYPES = (101, 102, 103, 104, 105, 106, 110, 111, 114, 118)
CHUNK = 5000

SEARCHES: dict[str, MsgQuery] = {
    "sender": MsgQuery(send_id="u42"),
    "receiver (user)": MsgQuery(recv_id="u7"),
    "receiver (group)": MsgQuery(recv_id="g3"),
    "one day": MsgQuery(start_ms=START_MS + 50 * DAY_MS, end_ms=START_MS + 51 * DAY_MS),
    "sender + day": MsgQuery(send_id="u42", start_ms=START_MS + 50 * DAY_MS, end_ms=START_MS + 51 * DAY_MS),
    "day + content type": MsgQuery(content_type=110, start_ms=START_MS + 50 * DAY_MS, end_ms=START_MS + 51 * DAY_MS),
    "sender + content type": MsgQuery(send_id="u42", content_type=103),
    "nothing (all)": MsgQuery(),
}


def row(i: int, total: int) -> dict[str, object]:
    """The i-th message: deterministic sender, receiver, type and time."""
    send = f"u{i % USERS}"
    send_time = START_MS + i * (DAYS * DAY_MS) // total
    content_type = CONTENT_TYPES[i % len(CONTENT_TYPES)]
    if i % 5 == 0:
        group = f"g{(i // 5) % GROUPS}"
        cid, recv, session = group_conversation_id(group), group, SessionType.READ_GROUP_CHAT
        m = MsgData(sendID=send, groupID=group, sessionType=session)
    else:
        peer = f"u{(i * 7 + 1) % USERS}"
        cid, recv, session = single_conversation_id(send, peer), peer, SessionType.SINGLE_CHAT
        m = MsgData(sendID=send, recvID=peer, sessionType=session)
    m.clientMsgID, m.serverMsgID = f"c{i}", f"s{i}"
    m.contentType, m.sendTime, m.seq = content_type, send_time, i + 1
    m.content = b'{"content":"hello from the benchmark"}'
    return {
        "conversation_id": cid,
        "seq": i + 1,  # unique per conversation is all the key needs
        "client_msg_id": m.clientMsgID,
        "server_msg_id": m.serverMsgID,
        "send_id": send,
        "session_type": session,
        "content_type": content_type,
        "send_time": send_time,
        "data": m.SerializeToString(),
        "is_read": False,
        "recv_id": recv,
    }


async def fill(storage: Storage, total: int) -> float:
    started = time.perf_counter()
    for start in range(0, total, CHUNK):
        rows = [row(i, total) for i in range(start, min(start + CHUNK, total))]
        async with storage.db.write("bench.fill") as conn:
            await conn.execute(insert(msg), rows)
    async with storage.db.write("bench.analyze") as conn:
        await conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


async def plan(storage: Storage, query: MsgQuery) -> str:
    sql = str(search_statement(query).compile(storage.db.engine, compile_kwargs={"literal_binds": True}))
    async with storage.db.read("bench.explain") as conn:
        if storage.db.dialect == "sqlite":
            return " | ".join(str(r[-1]) for r in await conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        lines = [str(r[0]).strip() for r in await conn.execute(text(f"EXPLAIN {sql}"))]
        return " | ".join(line.split("  (cost")[0] for line in lines if "Scan" in line or "Sort" in line)


async def bench(name: str, url: str, total: int, repeat: int) -> None:
    storage = await open_storage(url, pool_size=2)
    try:
        print(f"{name}: filled {total:,} messages in {await fill(storage, total):.0f} s")
        print(f"  {'search':<22} {'matches':>9} {'median ms':>10}  plan of the page query")
        for label, query in SEARCHES.items():
            times, found = [], 0
            for _ in range(repeat):
                started = time.perf_counter()
                found, _page = await storage.msg_search.search(query, 0, 20)
                times.append((time.perf_counter() - started) * 1000)
            print(f"  {label:<22} {found:>9,} {statistics.median(times):>10.1f}  {await plan(storage, query)}")
    finally:
        await storage.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default=os.environ.get("OPENIM_BENCH_POSTGRES_URL", ""))
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            await bench("sqlite", f"sqlite:///{Path(tmp) / 'search.db'}", args.messages, args.repeat)
    if args.postgres:
        await fresh_postgres(args.postgres)
        await bench("postgresql", args.postgres, args.messages, args.repeat)
    else:
        print("postgresql skipped: pass --postgres URL or set OPENIM_BENCH_POSTGRES_URL")


if __name__ == "__main__":
    asyncio.run(main())
