"""/prometheus_discovery/*: Prometheus HTTP service discovery, OpenIM's 11 GET routes (internal/api/router.go).

Open like every OpenIM GET route (no operationID, no token): Prometheus's `http_sd_configs` cannot send
OpenIM's `token` header, and OpenIM's middleware checks both only for POST. What they reveal is the host:port of
each process's /metrics (the admin role, 127.0.0.1 unless configured otherwise); keep the path away from the
public side of a reverse proxy (docs/scale-out.md). The answer is Prometheus's JSON, not the envelope; an error
(the registry does not answer) is the envelope, which Prometheus refuses, keeping its last good targets.
The mapping of OpenIM's names onto openim-py's roles is in `src/openim/services/prometheus_discovery.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from starlette.responses import JSONResponse, Response

from openim.api.deps import PrometheusDiscoveryDep
from openim.api.openapi import envelope_schema
from openim.services.prometheus_discovery import NAMES, SERVICE_ROLES

router = APIRouter(prefix="/prometheus_discovery", tags=["prometheus_discovery"])

# What the routes answer, for /openapi.json: Prometheus's HTTP-SD list, or OpenIM's error envelope.
_TARGETS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "targets": {"type": "array", "items": {"type": "string"}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["targets", "labels"],
    },
}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the targets, or the error envelope when the registry does not answer",
        "content": {"application/json": {"schema": {"oneOf": [_TARGETS, envelope_schema(None)["oneOf"][1]]}}},
    }
}


def _endpoint(name: str) -> Callable[[PrometheusDiscoveryDep], Awaitable[Response]]:
    async def endpoint(discovery: PrometheusDiscoveryDep) -> Response:
        return JSONResponse(await discovery.targets(name))

    endpoint.__name__ = f"prometheus_discovery_{name}"
    return endpoint


for _name in NAMES:
    router.add_api_route(
        f"/{_name}",
        _endpoint(_name),
        methods=["GET"],
        response_model=None,
        responses=_ANSWERS,
        summary=f"Prometheus targets of OpenIM's {_name} (openim-py role {SERVICE_ROLES[_name]})",
        description='Prometheus HTTP-SD JSON: `[{"targets": ["host:port"], "labels": {"namespace": "default"}}]`, '
        "or `[]` when no process of the role serves /metrics.",
    )
