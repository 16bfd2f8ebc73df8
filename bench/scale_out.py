"""Capacity of the scaled-out deployment of docs/scale-out.md: `openim bench` against two gateways, two api
processes and a msgtransfer behind nginx (deploy/nginx/openim.conf) — the deployment of tests/e2e/test_nginx.py,
started here with the same code (tests/cluster.py, tests/nginx.py) on PostgreSQL and a redis-server of its own.

Each `openim bench` run is timed against every process: CPU (utime + stime from /proc/PID/stat) before and after
the run, so the output gives, per run, the rate and the CPU each gateway, api process, msgtransfer and nginx spent
per message (or per request, per connection). Setup (registering users, tokens, logins) is taken out: each
one-to-one and rest run is preceded by the same run with a 10 ms window, and only what the full run spent beyond
that one, per message beyond its messages, is counted. Runs:

- one-to-one through nginx (senders and receivers spread over both gateways by least_conn);
- one-to-one straight at gateway 0 and api 0 (one gateway does all the work);
- rest (`/user/get_users_info`) through nginx (both api processes) and straight at api 0;
- idle-connections straight at gateway 0 (its RSS per connection) and through nginx (both gateways).

Run (from the repository root; the database is dropped and created):
  .venv/bin/python -m bench.scale_out --postgres postgresql://postgres@127.0.0.1:5432/openim_scale [--seconds 10]
      [--pairs 50] [--conns 1000] [--concurrency 50]
It prints one JSON line per run and, at the end, a Markdown table with `uptime` before each run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.cluster import Cluster, PrivateRedis
from tests.databases import create_database
from tests.nginx import Nginx

from openim.storage import open_storage

TICK = os.sysconf("SC_CLK_TCK")
SHOWN = ("gw0", "gw1", "api0", "api1", "transfer", "nginx")  # nginx: master and workers together


def cpu_seconds(pid: int) -> float:
    """utime + stime of process `pid` (all its threads), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def nginx_pids(master: int) -> list[int]:
    """The master and its workers (the workers do the proxying)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


async def migrate(url: str) -> None:
    await create_database(url, fresh=True)
    storage = await open_storage(url, pool_size=1)
    await storage.close()


def bench(scenario: str, api: str, ws: str, server_pid: int, extra: list[str], seconds: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "openim", "bench", scenario, "--json", "--api", api, "--ws", ws]
    cmd += ["--server-pid", str(server_pid), "--seconds", str(seconds), *extra]
    done = subprocess.run(cmd, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{' '.join(cmd)} printed no JSON (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(lines[-1])
    result["command"] = "openim bench " + " ".join(cmd[4:])
    return result


@dataclass
class Measured:
    result: dict[str, Any]  # the JSON line of `openim bench`
    cpu_s: dict[str, float]  # CPU each process spent during the whole run (setup included)
    units: int  # messages delivered, good replies, connections alive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", required=True, help="a database URL; the database is dropped and created")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--conns", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()

    cwd = Path(tempfile.mkdtemp(prefix="openim-scale-out-"))
    asyncio.run(migrate(args.postgres))
    redis_server = PrivateRedis(cwd / "redis")
    redis_server.start(persistent=False)
    # Log level 3 (warnings) as make bench runs its server: logging every send is not what is measured.
    cluster = Cluster.build(cwd, args.postgres, redis_server.url, gateway_admin=True, OPENIM_LOG_REMAINLOGLEVEL="3")
    cluster.start_timeout = 600  # five processes importing at once on a shared, busy machine
    gateways, apis = [gw.port for gw in cluster.gateways], [api.port for api in cluster.apis]
    nginx = Nginx(cwd / "nginx", gateways, apis, worker_connections=2 * args.conns + 1024)
    rows: list[dict[str, Any]] = []
    try:
        cluster.start_all(migrated=True)
        nginx.start()
        assert nginx.proc is not None
        pids = {role.name: role.proc.pid for role in cluster.roles if role.proc is not None}
        front_api, front_ws = f"http://127.0.0.1:{nginx.port}/api", f"ws://127.0.0.1:{nginx.port}/msg_gateway"
        api0, gw0 = cluster.apis[0], cluster.gateways[0]
        direct_api, direct_ws = f"http://127.0.0.1:{api0.port}", f"ws://127.0.0.1:{gw0.port}"
        pairs, seconds = ["--pairs", str(args.pairs)], args.seconds
        runs: list[tuple[str, str, str, str, int, list[str]]] = [
            ("one-to-one via nginx", "one-to-one", front_api, front_ws, pids["gw0"], pairs),
            ("one-to-one at gw0", "one-to-one", direct_api, direct_ws, pids["gw0"], pairs),
            ("rest via nginx", "rest", front_api, front_ws, pids["api0"], ["--concurrency", str(args.concurrency)]),
            ("rest at api0", "rest", direct_api, direct_ws, pids["api0"], ["--concurrency", str(args.concurrency)]),
            (
                "idle-connections at gw0",
                "idle-connections",
                direct_api,
                direct_ws,
                pids["gw0"],
                ["--conns", str(args.conns)],
            ),
            (
                "idle-connections via nginx",
                "idle-connections",
                front_api,
                front_ws,
                pids["gw0"],
                ["--conns", str(args.conns)],
            ),
        ]
        every = {**pids, **{f"nginx{i}": pid for i, pid in enumerate(nginx_pids(nginx.proc.pid))}}

        def measure(scenario: str, api: str, ws: str, pid: int, extra: list[str], secs: float) -> Measured:
            before = {k: cpu_seconds(p) for k, p in every.items()}
            result = bench(scenario, api, ws, pid, extra, secs)
            spent = {k: cpu_seconds(p) - before[k] for k, p in every.items()}
            spent["nginx"] = sum(v for k, v in spent.items() if k.startswith("nginx"))
            units = {"one-to-one": "delivered", "rest": "ok", "idle-connections": "alive"}[scenario]
            return Measured(result, {k: v for k, v in spent.items() if k in SHOWN}, int(result.get(units, 0)))

        for name, scenario, api, ws, server_pid, extra in runs:
            load = uptime()
            # The same run with a window of 10 ms: its setup (users, tokens, logins) and a few messages. What the
            # full run spent beyond it, per message beyond its messages, is each process's CPU per message.
            base = measure(scenario, api, ws, server_pid, extra, 0.01) if scenario != "idle-connections" else None
            rss_before = {k: rss_kb(pid) for k, pid in pids.items()}
            started = time.monotonic()
            full = measure(scenario, api, ws, server_pid, extra, seconds)
            elapsed = time.monotonic() - started
            units = full.units - (base.units if base else 0)
            spent = {k: v - (base.cpu_s[k] if base else 0.0) for k, v in full.cpu_s.items()}
            row = {
                "run": name,
                "uptime": load,
                "wall_s": round(elapsed, 1),
                "units": units,
                "cpu_s": {k: round(v, 2) for k, v in spent.items()},
                "cpu_us_per_unit": {k: round(v * 1e6 / units) if units > 0 else None for k, v in spent.items()},
                "rss_growth_kb": {k: rss_kb(pid) - rss_before[k] for k, pid in pids.items()},
                "setup_run": {"cpu_s": base.cpu_s, "units": base.units} if base else None,
                "bench": full.result,
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
    finally:
        nginx.stop()
        cluster.stop()
        redis_server.kill(wipe=True)
    print()
    print("| run | load (1 min) | rate | gw0 | gw1 | api0 | api1 | transfer | nginx |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        bench_result, per = row["bench"], row["cpu_us_per_unit"]
        rate = (
            bench_result.get("delivered_per_s")
            or bench_result.get("sent_per_s")
            or bench_result.get("handshakes_per_s")
        )
        cells = " | ".join(str(per.get(k)) for k in SHOWN)
        print(f"| {row['run']} | {row['uptime'].split('load average:')[1].split(',')[0].strip()} | {rate} | {cells} |")


if __name__ == "__main__":
    main()
