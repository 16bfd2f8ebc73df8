"""The admin role (127.0.0.1:6060 by default): health, readiness, Prometheus metrics and debug profiles.

- `/healthz`: liveness — 200 while the process's event loop answers.
- `/readyz`: readiness — each dependency (database now; Redis and the queue join `Readiness`'s checks when
  they are configured) is checked concurrently with its latency; 503 when one fails or times out, and 503 with
  status "stopping" once a graceful stop began, so a load balancer takes the node out before it closes. The
  process registry (discovery) is not one of them: an etcd outage must not take every process out of service.
- `/metrics`: Prometheus text (openim.metrics, openim.ops.metrics, process and Python collectors).
- `/debug/pprof/*`: ops/debug.py, loopback or admin token only.

`health_routes(readiness)` gives the first two alone: runtime.py mounts them on the REST port (:10002) too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from openim import __version__
from openim.ops.debug import Authenticate, debug_routes
from openim.ops.metrics import CONTENT_TYPE, render
from openim.storage import Storage

__all__ = ["CHECK_TIMEOUT", "Check", "Readiness", "create_admin_app", "health_routes", "readiness"]

CHECK_TIMEOUT = 2.0  # seconds one dependency check may take before it counts as failed

Check = Callable[[], Awaitable[object]]


class Readiness:
    """Named dependency checks (an async callable each; raising = failed), run concurrently with a timeout."""

    def __init__(self, checks: Mapping[str, Check], *, timeout_s: float = CHECK_TIMEOUT) -> None:
        self.checks = dict(checks)
        self.timeout_s = timeout_s
        self.stopping = False  # set when a graceful stop begins

    @classmethod
    def of_storage(cls, storage: Storage, **kwargs: float) -> Readiness:
        """The checks a process always has: the database (a `SELECT 1` round trip)."""
        return cls({"database": storage.db.ping}, **kwargs)

    async def check(self) -> tuple[bool, dict[str, dict[str, object]]]:
        """Run every check once: (all ok, name → {ok, latencyMs} or {ok, latencyMs, error})."""
        names = list(self.checks)
        results = await asyncio.gather(*(self._one(self.checks[name]) for name in names))
        report = dict(zip(names, results, strict=True))
        return all(bool(r["ok"]) for r in report.values()), report

    async def _one(self, check: Check) -> dict[str, object]:
        start = time.perf_counter()
        try:
            await asyncio.wait_for(check(), self.timeout_s)
        except TimeoutError:
            error = f"no answer within {self.timeout_s:g} s"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        else:
            return {"ok": True, "latencyMs": round((time.perf_counter() - start) * 1000, 2)}
        return {"ok": False, "latencyMs": round((time.perf_counter() - start) * 1000, 2), "error": error}


async def readiness(storage: Storage) -> tuple[bool, dict[str, dict[str, object]]]:
    """Check the storage's dependencies once: (all ok, name → {ok, latencyMs[, error]})."""
    return await Readiness.of_storage(storage).check()


def health_routes(ready: Readiness) -> list[BaseRoute]:
    """`GET /healthz` (liveness) and `GET /readyz` (each dependency, 503 when one fails or while stopping)."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def readyz(request: Request) -> Response:
        ok, checks = await ready.check()
        status = "stopping" if ready.stopping else "ok" if ok else "fail"
        return JSONResponse({"status": status, "checks": checks}, status_code=200 if status == "ok" else 503)

    return [Route("/healthz", healthz), Route("/readyz", readyz)]


def create_admin_app(ready: Readiness, *, authenticate: Authenticate | None = None) -> Starlette:
    """The admin role's app; `authenticate` verifies the admin token of a non-loopback debug caller."""

    async def metrics(request: Request) -> Response:
        return Response(render(), media_type=CONTENT_TYPE)

    return Starlette(routes=[*health_routes(ready), Route("/metrics", metrics), *debug_routes(authenticate)])
