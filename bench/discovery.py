"""Cost of the process registry on etcd and Redis, and of `openim queue status` on a stream with a backlog.

For each backend: N processes of 3 roles each register, then the time of one process's refresh (what every
process pays every ttl/3 seconds), of one full `list` with each entry's time left (what `openim doctor` pays)
and without (what a /prometheus_discovery read pays), N processes and 3N entries, and of one unregister.
Then `read_status` on a queue stream with `--jobs` jobs of which a tenth are pending. Medians of `--runs`; the
keys are written under a root of their own and removed.

Run: .venv/bin/python bench/discovery.py --etcd http://127.0.0.1:12379 --redis redis://127.0.0.1:6379/15
     [--processes 50] [--runs 20] [--jobs 10000]   (the Redis database is flushed)
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

from openim.infra.discovery import Instance, Registry
from openim.infra.etcd import EtcdClient, EtcdRegistry
from openim.infra.redis import connect
from openim.infra.redis.discovery import RedisRegistry
from openim.infra.redis.queue import RedisStreamQueue
from openim.ops.queue import read_status


def process(index: int) -> list[Instance]:
    roles = ("api", "msggateway", "admin")
    host = f"10.0.{index // 250}.{index % 250}"
    return [
        Instance(role, host, (10000 + n,), f"{host}:6060", "bench", 0, 1000 + index, f"node{index}", roles)
        for n, role in enumerate(roles)
    ]


async def median_ms(work: Callable[[], Awaitable[object]], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await work()
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[len(times) // 2]  # (bench/statistics.py shadows the stdlib module here)


async def bench_registry(name: str, make: Callable[[], Registry], processes: int, runs: int) -> None:
    registries = [make() for _ in range(processes)]
    start = time.perf_counter()
    for index, registry in enumerate(registries):
        await registry.register(process(index))
    register_ms = (time.perf_counter() - start) * 1000 / processes
    refresh = await median_ms(registries[0].refresh, runs)
    listed = len(await registries[0].list())
    read = await median_ms(registries[0].list, runs)
    read_plain = await median_ms(lambda: registries[0].list(ttl=False), runs)
    start = time.perf_counter()
    for registry in registries:
        await registry.unregister()
    unregister_ms = (time.perf_counter() - start) * 1000 / processes
    for registry in registries:
        await registry.close()
    print(
        f"{name:<6} {processes} processes ({listed} entries): register {register_ms:.2f} ms/process, "
        f"refresh {refresh:.2f} ms, list {read:.2f} ms (without TTLs {read_plain:.2f} ms), "
        f"unregister {unregister_ms:.2f} ms/process"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--etcd", default="http://127.0.0.1:12379")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--processes", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=10_000)
    args = parser.parse_args()

    root = f"openim-bench-{uuid.uuid4().hex[:8]}"
    await bench_registry(
        "etcd", lambda: EtcdRegistry(EtcdClient([args.etcd]), root_directory=root, ttl_s=30), args.processes, args.runs
    )
    client = await connect(args.redis)
    try:
        await client.flushdb()
        await bench_registry("redis", lambda: RedisRegistry(client, ttl_s=30), args.processes, args.runs)
        queue = RedisStreamQueue(client, block_ms=10)
        async with client.pipeline(transaction=False) as pipe:
            for i in range(args.jobs):
                pipe.xadd("openim:queue:offline_push", {"p": str(i).encode()})
            await pipe.execute()
        jobs = queue.consume("offline_push", "msgtransfer", "bench:1")
        for _ in range(args.jobs // 10):
            await anext(jobs)
        status = await median_ms(lambda: read_status(client), args.runs)
        print(f"queue status: stream of {args.jobs} jobs, {args.jobs // 10} pending: {status:.2f} ms")
        await client.flushdb()
    finally:
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
