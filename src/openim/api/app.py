"""create_app: the REST API on :10002 — routers, OpenIM's middleware, and the two error translations.

Errors become OpenIM's envelope here and in the middleware only: request bodies that do not decode or validate
become 1001 ArgsError with a readable errDlt; OpenIMError raised anywhere below reaches the middleware.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from openim import __version__
from openim.api.direct import direct_routes
from openim.api.envelope import EnvelopeResponse, error_body
from openim.api.limits import RestLimits
from openim.api.limits import configure as configure_field_limits
from openim.api.middleware import OpenIMMiddleware
from openim.api.openapi import install_contract
from openim.api.routes import (
    auth,
    config,
    conversation,
    friend,
    group,
    jssdk,
    msg,
    prometheus_discovery,
    statistics,
    third,
    user,
)
from openim.api.routes import object as object_routes
from openim.api.routes import storage as storage_routes
from openim.infra.objects.local import STORAGE_PATH
from openim.infra.ratelimit import RateLimiter, Rule
from openim.protocol.errors import ArgsError, OpenIMError
from openim.services import Services

__all__ = ["DOCS_ASSETS", "create_app"]

# Where /docs (Swagger UI) and /redoc get their JS, CSS and icon: files of the fastapi-offline package served by
# this app, so the pages work without internet (FastAPI's own pages load them from a CDN).
DOCS_ASSETS = "/docs/static"


def create_app(
    services: Services,
    limits: RestLimits | None = None,
    rate: tuple[RateLimiter, Rule] | None = None,
    *,
    direct: bool = True,
) -> FastAPI:
    """The REST app; `limits` (body, operationID, field sizes) default to config.yaml's defaults; `rate`, when
    given, limits requests per client IP (ratelimiter.ipRequests). `direct=False` serves every route through
    FastAPI alone (api/direct.py's reference, for the tests that compare the two)."""
    limits = limits or RestLimits()
    configure_field_limits(limits.fields)
    app = FastAPIOffline(
        title="openim-py REST API",
        version=__version__,
        description="OpenIM Server's REST API (:10002): POST JSON, headers operationID and token, "
        "responses in the envelope {errCode, errMsg, errDlt, data}.",
        default_response_class=EnvelopeResponse,
        static_url=DOCS_ASSETS,
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io's online validator
    )
    app.state.services = services
    routers = (
        auth.router,
        user.router,
        friend.router,
        group.router,
        msg.router,
        conversation.router,
        jssdk.router,
        object_routes.router,
        storage_routes.router,
        third.router,
        statistics.router,
        prometheus_discovery.router,
        config.router,
        config.restart_router,
    )
    for router in routers:
        app.include_router(router)  # with the app's defaults only: what api/direct.py relies on

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return JSONResponse({"status": "ok"})

    install_contract(app, max_operation_id=limits.max_operation_id, rate_limited=rate is not None)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    fast = direct_routes(route for router in routers for route in router.routes) if direct else {}
    app.add_middleware(OpenIMMiddleware, authenticate=services.auth.authenticate, limits=limits, rate=rate, direct=fast)
    # Added last, so it wraps everything: the Go SDK sends Accept-Encoding: gzip, as OpenIM's gin gzip expects.
    app.add_middleware(_GZipExceptStorage)
    return app


class _GZipExceptStorage:
    """gzip for the API's answers, never for /storage: files keep their Content-Length and Range answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=1024)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(STORAGE_PATH + "/"):
            await self.app(scope, receive, send)
        else:
            await self.gzip(scope, receive, send)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    error = ArgsError(_describe(exc.errors()))
    request.state.err_code = error.code
    return Response(error_body(error), media_type="application/json")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, OpenIMError):
        # FastAPI turns whatever reading the body raised into a 400; a limit of ours (BodyTooLarge) keeps its code.
        request.state.err_code = exc.__cause__.code
        return Response(error_body(exc.__cause__), media_type="application/json")
    if exc.status_code in (404, 405):
        # gin answers an unknown route (or method) with a plain 404; the request log says 404, not errCode 0.
        request.state.err_code = 404
        return PlainTextResponse("404 page not found", status_code=404)
    return PlainTextResponse(str(exc.detail), status_code=exc.status_code)


def _describe(errors: Any) -> str:
    """One line per problem, naming the JSON path as the caller wrote it (body.users.0.userID → users[0].userID)."""
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        kind = err.get("type", "")
        if kind == "json_invalid":
            parts.append(f"request body is not valid JSON: {err.get('ctx', {}).get('error', '')}".rstrip(": "))
            continue
        if kind == "missing" and not loc:
            parts.append("request body is empty")
            continue
        path = ".".join(f"[{p}]" if p.isdigit() else p for p in loc).replace(".[", "[")
        parts.append(f"{path or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"
