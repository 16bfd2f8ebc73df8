"""/statistics over a year of messages: how long user/active and group/active take for a year and for a month.

Fills `msg` of the given database with N messages spread uniformly over 2025 (60 % single chats among 5,000
users, 30 % in 500 groups, 10 % in notification conversations, 300-byte bodies), then times each query twice
and prints the second run. It deletes every message of that database first: point it at a scratch database.

Run: .venv/bin/python bench/statistics.py sqlite:////tmp/stats/openim.db --messages 1000000
     .venv/bin/python bench/statistics.py postgresql://postgres@127.0.0.1:5432/scratch --messages 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import delete, insert, text

from openim.storage import Storage, open_storage
from openim.storage.schema import msg
from openim.storage.statistics import ActiveCounts

DAY = 86_400_000
START = 1_735_689_600_000  # 2025-01-01T00:00:00Z


async def fill(storage: Storage, n: int) -> None:
    rnd = random.Random(1)
    async with storage.db.write("bench.clear") as conn:
        await conn.execute(delete(msg))
    rows: list[dict[str, Any]] = []
    for i in range(n):
        user, kind = f"user{rnd.randrange(5000)}", rnd.random()
        if kind < 0.6:
            cid, session = f"si_{user}_user{rnd.randrange(5000)}", 1
        elif kind < 0.9:
            cid, session = f"sg_group{rnd.randrange(500)}", 3
        else:
            cid, session = f"n_{user}_x", 1
        rows.append(
            {
                "conversation_id": cid,
                "seq": i + 1,
                "client_msg_id": f"c{i}",
                "server_msg_id": f"s{i}",
                "send_id": user,
                "session_type": session,
                "content_type": 101,
                "send_time": START + rnd.randrange(365 * DAY),
                "data": b"x" * 300,
            }
        )
        if len(rows) == 5000 or i == n - 1:
            async with storage.db.write("bench.insert") as conn:
                await conn.execute(insert(msg), rows)
            rows = []
    if storage.db.dialect == "postgresql":
        async with storage.db.write("bench.analyze") as conn:
            await conn.execute(text("ANALYZE msg"))


async def main(url: str, messages: int) -> None:
    storage = await open_storage(url, pool_size=2)
    try:
        if messages:
            started = time.perf_counter()
            await fill(storage, messages)
            print(f"stored {messages} messages in {time.perf_counter() - started:.0f} s")
        stats = storage.statistics
        for label, start, end in (("year", START, START + 365 * DAY), ("month", START + 31 * DAY, START + 59 * DAY)):
            queries: dict[str, Callable[[], Awaitable[ActiveCounts]]] = {
                "user/active group=true": lambda s=start, e=end: stats.active_senders(
                    s, e, prefixes=("si_", "sg_", "g_"), ascending=False, offset=0, limit=100
                ),
                "group/active": lambda s=start, e=end: stats.active_conversations(
                    s, e, prefixes=("sg_", "g_"), ascending=False, offset=0, limit=100
                ),
            }
            for name, query in queries.items():
                await query()
                started = time.perf_counter()
                result = await query()
                ms = (time.perf_counter() - started) * 1000
                print(f"{label:5} {name:22} {ms:7.0f} ms  msgCount={result.msg_count} active={result.active_count}")
    finally:
        await storage.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="a scratch database: its messages are deleted")
    parser.add_argument("--messages", type=int, default=1_000_000, help="0 = time what is stored already")
    args = parser.parse_args()
    asyncio.run(main(args.url, args.messages))
