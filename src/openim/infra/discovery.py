"""Discovery: the registry of running processes (OpenIM's etcd service registration), one entry per role.

Every `openim start` process announces each role it runs (`Instance`: role, address, ports, metrics address,
version, start time, pid, host name) in a `Registry` with a TTL, and refreshes it every `ttl / 3` seconds
(`Announcer`). A process that stops gracefully removes its entries; one killed with SIGKILL stops refreshing,
and its entries vanish within the TTL. `openim doctor` lists the entries and flags the stale ones;
`/prometheus_discovery/*` turns them into Prometheus targets.

An entry's name is `<role>/<instance>`: the instance is `host:port` of the role's first port (OpenIM names its
service keys the same way), or `host/pid/<pid>` for a role without a port (msgtransfer). Its value is the JSON
of `Instance.to_json`.

Backends: `MemoryRegistry` (this process only, the embedded default), `RedisRegistry` (`infra/redis/
discovery.py`, keys with a TTL), `EtcdRegistry` (`infra/etcd/discovery.py`, keys under `/<rootDirectory>/`
bound to a lease, as OpenIM registers its services). The same contract tests run on the three.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

__all__ = [
    "ROLE_PORTLESS",
    "Announcer",
    "Entry",
    "Instance",
    "MemoryRegistry",
    "Registry",
    "RegistryUnavailable",
]

log = logging.getLogger("openim.infra")

ROLE_PORTLESS = "pid"  # the middle segment of a portless role's instance name: host/pid/<pid>
_MAX_VALUE_BYTES = 4096  # an entry's JSON; anything larger read back is not ours and is skipped


class RegistryUnavailable(ConnectionError):
    """The registry's backend does not answer (etcd or Redis down, wrong address, refused credentials)."""


@dataclass(frozen=True, slots=True)
class Instance:
    """One role of one running process, as announced."""

    role: str
    host: str  # the address other hosts reach this process at (discovery.registerIP, or found)
    ports: tuple[int, ...]  # the role's listening ports; () for msgtransfer
    metrics: str  # host:port of this process's /metrics (its admin role), "" without one
    version: str
    start_time: int  # ms since the epoch
    pid: int
    hostname: str
    roles: tuple[str, ...]  # every role of the process

    @property
    def name(self) -> str:
        """`<role>/<host>:<port>`, or `<role>/<host>/pid/<pid>` for a portless role."""
        if self.ports:
            return f"{self.role}/{_host_port(self.host, self.ports[0])}"
        return f"{self.role}/{self.host}/{ROLE_PORTLESS}/{self.pid}"

    @property
    def address(self) -> str:
        """host:port of the role's first port, or the host alone."""
        return _host_port(self.host, self.ports[0]) if self.ports else self.host

    def to_json(self, ttl_s: int) -> bytes:
        data: dict[str, Any] = {
            "role": self.role,
            "addr": self.address,
            "host": self.host,
            "ports": list(self.ports),
            "metrics": self.metrics,
            "version": self.version,
            "startTime": self.start_time,
            "pid": self.pid,
            "hostname": self.hostname,
            "roles": list(self.roles),
            "ttl": ttl_s,
        }
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes, default_ttl_s: int) -> tuple[Instance, int] | None:
        """The instance an entry holds and the TTL it was announced with; None for a value that is not ours."""
        if len(raw) > _MAX_VALUE_BYTES:
            return None
        try:
            data = json.loads(raw)
            instance = cls(
                role=str(data["role"]),
                host=str(data["host"]),
                ports=tuple(int(p) for p in data["ports"]),
                metrics=str(data.get("metrics") or ""),
                version=str(data.get("version", "")),
                start_time=int(data.get("startTime", 0)),
                pid=int(data.get("pid", 0)),
                hostname=str(data.get("hostname", "")),
                roles=tuple(str(r) for r in data.get("roles", ())),
            )
            return instance, int(data.get("ttl", default_ttl_s))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "name": self.name, "address": self.address}


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class Entry:
    """An entry read back: its key in the backend, the instance, and the seconds it has left (None: unknown)."""

    key: str
    instance: Instance
    ttl_left_s: float | None
    ttl_s: int  # the TTL it was announced with


class Registry(Protocol):
    ttl_s: int
    where: str  # where the entries live, for messages ("etcd http://… under /openim/", "Redis …")

    async def register(self, instances: Sequence[Instance]) -> None:
        """Announce `instances` (replacing what this registry announced before) with the TTL."""
        ...

    async def refresh(self) -> None:
        """Extend this registry's entries by a TTL; put them back if the backend lost them (expired, restarted)."""
        ...

    async def unregister(self) -> None:
        """Remove this registry's entries now."""
        ...

    async def list(self, *, ttl: bool = True) -> list[Entry]:
        """Every live entry of every process, sorted by key; RegistryUnavailable when the backend does not answer.

        `ttl=False` may leave `ttl_left_s` None where reading it costs a call per process (etcd's leases)."""
        ...

    async def close(self) -> None:
        """Release connections; the entries are left to expire (call `unregister` first to remove them)."""
        ...


@dataclass
class _Held:
    instance: Instance
    expires_at: float  # monotonic seconds


class MemoryRegistry:
    """Entries in this process: a registry for one process (and for tests, shared between announcers)."""

    def __init__(
        self, *, ttl_s: int = 30, clock: Callable[[], float] = time.monotonic, shared: MemoryRegistry | None = None
    ) -> None:
        self.ttl_s = ttl_s
        self.where = "this process (in-process registry)"
        self._clock = clock
        self._entries: dict[str, _Held] = shared._entries if shared is not None else {}
        self._mine: list[Instance] = []

    async def register(self, instances: Sequence[Instance]) -> None:
        await self.unregister()
        self._mine = list(instances)
        await self.refresh()

    async def refresh(self) -> None:
        expires_at = self._clock() + self.ttl_s
        for instance in self._mine:
            self._entries[instance.name] = _Held(instance, expires_at)

    async def unregister(self) -> None:
        for instance in self._mine:
            self._entries.pop(instance.name, None)

    async def list(self, *, ttl: bool = True) -> list[Entry]:
        now = self._clock()
        for name in [n for n, held in self._entries.items() if held.expires_at <= now]:
            del self._entries[name]
        return [
            Entry(name, held.instance, held.expires_at - now, self.ttl_s)
            for name, held in sorted(self._entries.items())
        ]

    async def close(self) -> None:
        self._mine = []


@dataclass
class Announcer:
    """Keeps `instances` announced in `registry` until stopped: register, refresh every ttl/3, unregister at stop.

    The registry stays open (its owner closes it): the process may still read it while it drains.

    A backend that does not answer never stops the process: the announcer logs it (once per outage) and retries
    at the next tick; the entries reappear when the backend answers again.
    """

    registry: Registry
    instances: Sequence[Instance]
    interval_s: float = 0.0  # 0 = ttl / 3
    unregister_timeout_s: float = 2.0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    registered: asyncio.Event = field(default_factory=asyncio.Event)

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        interval = self.interval_s or self.registry.ttl_s / 3
        failing = False
        try:
            while not self._stop.is_set():
                try:
                    if self.registered.is_set():
                        await self.registry.refresh()
                    else:
                        await self.registry.register(self.instances)
                        self.registered.set()
                        names = ", ".join(i.name for i in self.instances)
                        log.info(
                            "discovery: registered %s in %s (ttl %d s)", names, self.registry.where, self.registry.ttl_s
                        )
                    if failing:
                        log.info("discovery: %s answers again; entries refreshed", self.registry.where)
                        failing = False
                except (RegistryUnavailable, OSError) as exc:
                    if not failing:
                        log.warning(
                            "discovery: cannot announce this process in %s: %s; retrying", self.registry.where, exc
                        )
                    failing = True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), interval)
        finally:
            if self.registered.is_set():
                try:
                    await asyncio.wait_for(self.registry.unregister(), self.unregister_timeout_s)
                except (TimeoutError, RegistryUnavailable, OSError) as exc:
                    log.warning(
                        "discovery: could not remove this process's entries (%s); they expire by themselves", exc
                    )
