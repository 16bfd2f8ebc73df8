"""Prometheus HTTP service discovery (OpenIM's `internal/api/prometheus_discovery.go`) from the process registry.

OpenIM answers `GET /prometheus_discovery/<name>` for its API, its eight RPC services and its two message
processes with the metrics addresses registered under that name. openim-py has no RPC processes: its services
run inside the `api` role (and the gateway calls the msg service in its own process). The names map onto roles:

| OpenIM name                                              | openim-py role | why                                |
|----------------------------------------------------------|----------------|------------------------------------|
| api, user, group, msg, friend, conversation, third, auth | api            | those services run in the api role |
| msg_gateway                                              | msggateway     | the WebSocket gateway              |
| msg_transfer, push                                       | msgtransfer    | it runs the offline-push jobs      |

A target is the `/metrics` address of a process that runs the role and the admin role (the only one that
serves /metrics); a process without the admin role has none. The answer is OpenIM's: `[]` when no target,
else one group `[{"targets": [...], "labels": {"namespace": "default"}}]` (targets sorted, no duplicates).

The routes are open (Prometheus sends no token), so the registry is read at most once per `CACHE_S` second
whatever the request rate: the 11 routes and concurrent callers share that read.
"""

from __future__ import annotations

import asyncio
from typing import Any

from openim.infra.clock import Clock
from openim.infra.discovery import Entry, Registry, RegistryUnavailable
from openim.protocol.errors import NetworkError

__all__ = ["CACHE_S", "NAMES", "SERVICE_ROLES", "PrometheusDiscoveryService"]

CACHE_S = 1.0  # seconds one read of the registry answers every route

# OpenIM's route names (internal/api/router.go, /prometheus_discovery group) → the role whose processes serve them.
SERVICE_ROLES: dict[str, str] = {
    "api": "api",
    "user": "api",
    "group": "api",
    "msg": "api",
    "friend": "api",
    "conversation": "api",
    "third": "api",
    "auth": "api",
    "push": "msgtransfer",
    "msg_gateway": "msggateway",
    "msg_transfer": "msgtransfer",
}
NAMES = tuple(SERVICE_ROLES)
LABELS = {"namespace": "default"}  # OpenIM's default target labels (prommetrics.BuildDefaultTarget)


class PrometheusDiscoveryService:
    """Targets of one OpenIM service name, from the registry as read at most `cache_s` seconds ago."""

    def __init__(self, registry: Registry, clock: Clock, *, cache_s: float = CACHE_S) -> None:
        self._registry = registry
        self._clock = clock
        self._cache_ms = int(cache_s * 1000)
        self._read: tuple[int, list[Entry]] | None = None  # (when, entries)
        self._lock = asyncio.Lock()

    async def _entries(self) -> list[Entry]:
        async with self._lock:  # callers arriving during a read wait for it instead of reading again
            now = self._clock.now_ms()
            if self._read is not None and now - self._read[0] < self._cache_ms:
                return self._read[1]
            try:
                entries = await self._registry.list(ttl=False)
            except RegistryUnavailable as exc:
                raise NetworkError(f"discovery registry unavailable: {exc}") from None
            self._read = (now, entries)
            return entries

    async def targets(self, name: str) -> list[dict[str, Any]]:
        """HTTP-SD target groups for `name` (one of NAMES); NetworkError (90004) when the registry does not answer."""
        role = SERVICE_ROLES[name]
        entries = await self._entries()
        found = sorted({e.instance.metrics for e in entries if e.instance.role == role and e.instance.metrics})
        return [{"targets": found, "labels": dict(LABELS)}] if found else []
