"""The admin role (127.0.0.1:6060 by default): health, readiness and Prometheus metrics for operators.

Readiness reports each dependency with its latency and answers 503 when one fails, so a load balancer or
systemd watchdog can act on it. Debug profiles join here with the operations work.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from openim import __version__
from openim.storage import Storage

__all__ = ["create_admin_app", "readiness"]


async def readiness(storage: Storage) -> tuple[bool, dict[str, dict[str, object]]]:
    """Check each dependency once: (all ok, name → {ok, latencyMs, error})."""
    checks: dict[str, dict[str, object]] = {}
    try:
        latency = await storage.db.ping()
        checks["database"] = {"ok": True, "latencyMs": round(latency * 1000, 2)}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return all(bool(c["ok"]) for c in checks.values()), checks


def create_admin_app(storage: Storage) -> Starlette:
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def readyz(request: Request) -> Response:
        ok, checks = await readiness(storage)
        return JSONResponse({"status": "ok" if ok else "fail", "checks": checks}, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ]
    )
