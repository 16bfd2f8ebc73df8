"""Doctor checks of the process registry (`discovery.*`): the guide's `etcdctl endpoint health` and
`etcdctl get --prefix /openim/`, for whichever backend the configuration names.

`discovery`: the backend answers (etcd: its version; Redis: a read), or "in-process" when neither etcd nor Redis
is configured (each process keeps its own registry; nothing outside the process can read it).
`discovery.processes`: the processes registered, one line each (roles, pid, host, addresses, version, uptime),
WARN when one looks dead (`ops/discovery.py` `staleness`: its pid is gone from this host, or it missed two
refreshes), when versions differ (a rolling upgrade left half done), or when openim serves our ports here but
is not registered (it reads another registry, or cannot reach this one).
"""

from __future__ import annotations

import socket
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from openim.infra.discovery import Entry, RegistryUnavailable
from openim.infra.etcd import EtcdRegistry
from openim.ops.discovery import backend, open_registry, staleness
from openim.ops.doctor import Check, Context, Status

__all__ = ["check_discovery", "describe_processes", "pid_alive"]


async def check_discovery(ctx: Context) -> list[Check]:
    """Read the registry the settings name: is it reachable, who is registered, who looks dead."""
    settings = ctx.settings
    kind = backend(settings)
    if kind == "memory":
        return [
            Check(
                "discovery",
                Status.OK,
                "in-process: without redis.url or discovery.enable: etcd each process keeps its own registry, which "
                "nothing outside it reads (right while every role runs in one `openim start`)",
            )
        ]
    timeout = ctx.thresholds.connect_timeout_s
    client: Any = None
    if kind == "redis":
        client = aioredis.from_url(settings.redis.url or "", socket_connect_timeout=timeout, socket_timeout=timeout)
    registry = open_registry(settings, redis=client, timeout_s=timeout)
    try:
        try:
            version = ""
            if isinstance(registry, EtcdRegistry):
                version = (await registry.client.version()).get("etcdserver", "?")
            entries = await registry.list()
        except RegistryUnavailable as exc:
            return [Check("discovery", Status.FAIL, f"cannot read {registry.where}: {exc}", _remedy(kind))]
    finally:
        await registry.close()
        if client is not None:
            await client.aclose()
    server = f"etcd {version}" if version else "Redis"
    saw = f"{registry.where}: {server} answers; {len(entries)} entries, ttl {settings.discovery.ttl} s"
    return [Check("discovery", Status.OK, saw), _processes(ctx, entries, registry.where)]


def _remedy(kind: str) -> str:
    if kind == "etcd":
        return (
            "start etcd (`systemctl start etcd`), check discovery.etcd.address, username and password "
            "(`etcdctl --endpoints HOST:PORT endpoint health`), and firewalls in between"
        )
    return "see the check `redis`: the registry lives in the Redis of redis.url"


def pid_alive(proc: Path, pid: int) -> bool:
    """Whether `pid` runs on this host as an openim process (a reused pid of another program counts as gone)."""
    try:
        return b"openim" in (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False


def describe_processes(entries: list[Entry], *, now_ms: int) -> list[str]:
    """One line per process (entries grouped by host name and pid), its roles in the order announced."""
    by_process: dict[tuple[str, int], list[Entry]] = defaultdict(list)
    for entry in entries:
        by_process[(entry.instance.hostname, entry.instance.pid)].append(entry)
    lines = []
    for (hostname, pid), group in sorted(by_process.items()):
        first = group[0].instance
        order = {role: index for index, role in enumerate(first.roles)}  # as the process lists its roles
        group.sort(key=lambda e: order.get(e.instance.role, len(order)))
        roles = ",".join(e.instance.role for e in group)
        addresses = " ".join(e.instance.address for e in group if e.instance.ports)
        metrics = f" /metrics {first.metrics}" if first.metrics else ""
        up = _duration((now_ms - first.start_time) / 1000) if first.start_time else "?"
        lines.append(f"{roles} pid {pid} on {hostname} ({first.host}) {addresses}{metrics} v{first.version} up {up}")
    return lines


def _duration(seconds: float) -> str:
    seconds = max(seconds, 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def _processes(ctx: Context, entries: list[Entry], where: str) -> Check:
    hostname = socket.gethostname()
    lines = describe_processes(entries, now_ms=int(time.time() * 1000))
    stale = []
    for entry in entries:
        here = entry.instance.hostname == hostname
        why = staleness(entry, hostname=hostname, pid_alive=pid_alive(ctx.proc, entry.instance.pid) if here else None)
        if why:
            stale.append(f"{entry.key}: {why}")
    versions = sorted({e.instance.version for e in entries})
    if stale:
        return Check(
            "discovery.processes",
            Status.WARN,
            "\n".join([*lines, "stale:", *stale]),
            "a process was killed or hangs: `systemctl status openim-api openim-msggateway openim-msgtransfer`, "
            "`journalctl -u openim-*`; its entries expire by themselves within the TTL",
        )
    if len(versions) > 1:
        return Check(
            "discovery.processes",
            Status.WARN,
            "\n".join([*lines, f"versions differ: {', '.join(versions)}"]),
            "finish the upgrade: every process of a deployment should run the same openim-py",
        )
    if not entries:
        if ctx.servers:
            pids = ", ".join(str(pid) for pid in sorted(ctx.servers))
            return Check(
                "discovery.processes",
                Status.WARN,
                f"openim serves this configuration's ports here (pid {pids}) but nothing is registered in {where}",
                "that process reads another configuration, or cannot reach the registry: see its log "
                "(`openim logs analyze`, 'discovery:' lines)",
            )
        return Check("discovery.processes", Status.OK, f"no process registered in {where} (none running)")
    count = len(lines)
    return Check("discovery.processes", Status.OK, f"{count} process{'es' if count != 1 else ''}:\n" + "\n".join(lines))
