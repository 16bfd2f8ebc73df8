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
"""

from __future__ import annotations

from typing import Any

from openim.infra.discovery import Registry, RegistryUnavailable
from openim.protocol.errors import NetworkError

__all__ = ["NAMES", "SERVICE_ROLES", "PrometheusDiscoveryService"]

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
    """Targets of one OpenIM service name, read from the registry on every call (Prometheus polls every 60 s)."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    async def targets(self, name: str) -> list[dict[str, Any]]:
        """HTTP-SD target groups for `name` (one of NAMES); NetworkError (90004) when the registry does not answer."""
        role = SERVICE_ROLES[name]
        try:
            entries = await self._registry.list()
        except RegistryUnavailable as exc:
            raise NetworkError(f"discovery registry unavailable: {exc}") from None
        found = sorted({e.instance.metrics for e in entries if e.instance.role == role and e.instance.metrics})
        return [{"targets": found, "labels": dict(LABELS)}] if found else []
