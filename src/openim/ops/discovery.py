"""The discovery registry as configured (`discovery.*`): which backend, what this process announces, what is stale.

`backend(settings)` chooses: `discovery.enable: etcd` → etcd at `discovery.etcd.address`; `redis` → Redis
(`redis.url`); `standalone` → in this process; empty (the default) → Redis when `redis.url` is set, else in
this process. `open_registry` builds it (runtime.py for a server, `openim doctor` to read it);
`local_instances` describes the roles of this process; `staleness` says why an entry read back looks dead.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Sequence
from typing import Literal

from redis.asyncio import Redis

from openim.infra.discovery import Entry, Instance, MemoryRegistry, Registry
from openim.infra.etcd import EtcdClient, EtcdRegistry
from openim.infra.redis.discovery import RedisRegistry
from openim.settings import Settings

__all__ = ["Backend", "advertised_host", "backend", "local_instances", "open_registry", "staleness"]

Backend = Literal["etcd", "redis", "memory"]
_WILDCARDS = ("", "0.0.0.0", "::", "[::]")


def backend(settings: Settings) -> Backend:
    """Where the registry lives under these settings."""
    enable = settings.discovery.enable
    if enable == "etcd":
        return "etcd"
    if enable == "redis" or (enable == "" and settings.redis.url):
        return "redis"
    return "memory"


def open_registry(settings: Settings, *, redis: Redis | None = None, timeout_s: float = 5.0) -> Registry:
    """The registry the settings name. Redis needs the caller's client (`redis`), which stays the caller's."""
    d = settings.discovery
    kind = backend(settings)
    if kind == "etcd":
        client = EtcdClient(
            d.etcd.address,
            username=d.etcd.username,
            password=d.etcd.password.get_secret_value(),
            timeout_s=timeout_s,
        )
        return EtcdRegistry(client, root_directory=d.etcd.rootDirectory, ttl_s=d.ttl)
    if kind == "redis":
        if redis is None:
            raise ValueError("discovery on Redis needs redis.url (and its client)")
        return RedisRegistry(redis, ttl_s=d.ttl, url=settings.redis.url or "")
    return MemoryRegistry(ttl_s=d.ttl)


def advertised_host(listen_ip: str, register_ip: str) -> str:
    """The address to announce: `discovery.registerIP`, else the listen IP when it names one, else this host's."""
    if register_ip:
        return register_ip
    if listen_ip not in _WILDCARDS:
        return listen_ip
    return _host_ip()


def _host_ip() -> str:
    """This host's address on its default route (a UDP socket's source address: nothing is sent), else loopback."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed, only used to pick the outgoing interface
        address = str(probe.getsockname()[0])
        if address and not address.startswith("0."):
            return address
    return "127.0.0.1"


def local_instances(
    settings: Settings,
    roles: Sequence[str],
    bound: Sequence[tuple[str, int]],
    *,
    version: str,
    start_time_ms: int,
    pid: int | None = None,
    hostname: str | None = None,
) -> list[Instance]:
    """One Instance per role of this process; `bound` lists (role, port) of each listening socket."""
    pid = os.getpid() if pid is None else pid
    hostname = socket.gethostname() if hostname is None else hostname
    register_ip = settings.discovery.registerIP
    listen = {
        "api": settings.api.listenIP,
        "msggateway": settings.msggateway.listenIP,
        "admin": settings.admin.listenIP,
    }
    ports: dict[str, list[int]] = {}
    for role, port in bound:
        ports.setdefault(role, []).append(port)
    metrics = ""
    if "admin" in ports:
        metrics = _join(advertised_host(settings.admin.listenIP, register_ip), ports["admin"][0])
    instances = []
    for role in roles:
        host = advertised_host(listen.get(role, ""), register_ip)
        instances.append(
            Instance(
                role=role,
                host=host,
                ports=tuple(ports.get(role, ())),
                metrics=metrics,
                version=version,
                start_time=start_time_ms,
                pid=pid,
                hostname=hostname,
                roles=tuple(roles),
            )
        )
    return instances


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def staleness(entry: Entry, *, hostname: str, pid_alive: bool | None) -> str:
    """Why `entry` looks dead ("" when it looks alive).

    - its process ran on this host and that pid is gone: killed, the entry outlives it until its TTL;
    - its TTL has less than a third left: it missed at least two refreshes (one every ttl/3): hung, or
      partitioned from the registry, or killed on another host.
    `pid_alive` is None when the entry is of another host (the pid says nothing here).
    """
    left = entry.ttl_left_s
    expires = f"; it expires within {left:.0f} s" if left is not None else ""
    if entry.instance.hostname == hostname and pid_alive is False:
        return f"process {entry.instance.pid} no longer runs on this host{expires}"
    if left is not None and left < entry.ttl_s / 3:
        return f"not refreshed for {entry.ttl_s - left:.0f} s (refreshes every {entry.ttl_s / 3:.0f} s){expires}"
    return ""
