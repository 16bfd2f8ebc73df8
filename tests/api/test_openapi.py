"""/openapi.json as a contract (api/openapi.py): every operation declares its real answer, headers and body.

The schemathesis run (tests/api/test_schemathesis.py) checks that a live server keeps to what is declared here;
these tests check that what is declared is complete: the envelope around the route's own response schema, the
operationID and token headers where the middleware demands them, no 422, the request body.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel

import openim.api.routes
from openim.api.app import create_app
from openim.api.limits import RestLimits
from openim.api.pb import PbRouter
from openim.infra.ratelimit import MemoryRateLimiter, Rule
from openim.runtime import Runtime
from openim.settings import Settings

# OpenIM's token whitelist (its internal/api/router.go): the only POSTs a caller makes without a token.
NO_TOKEN = {"/auth/get_admin_token", "/auth/parse_token"}
ENVELOPE = ("errCode", "errMsg", "errDlt")


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The app's document (the runtime is only needed to build the app; the document outlives it)."""
    db = tmp_path_factory.mktemp("openapi") / "openim.db"

    async def build() -> dict[str, Any]:
        runtime = await Runtime.build(Settings.model_validate({"database": {"url": f"sqlite:///{db}"}}))
        try:
            return create_app(runtime.services).openapi()
        finally:
            await runtime.close()

    return asyncio.run(build())


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def _routers() -> Iterator[APIRouter]:
    """Every router of every module of openim.api.routes: a new route module (or a second router in one, as
    config.py's restart_router) is checked without being named here."""
    for info in pkgutil.iter_modules(openim.api.routes.__path__):
        module = importlib.import_module(f"openim.api.routes.{info.name}")
        for value in vars(module).values():
            if isinstance(value, APIRouter):
                yield value


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


_SCALARS: dict[Any, str] = {str: "string", int: "integer", bool: "boolean", float: "number"}


def _is_model(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _success_and_error(operation: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    success, error = schema["oneOf"]
    return success, error


def test_the_document_covers_the_app(spec: dict[str, Any]) -> None:
    """Every route of every route module is in the document, and the document has no other operation."""
    routes = {
        (method.lower(), route.path_format)
        for router in _routers()
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods
        if method != "HEAD"
    }
    documented = {(method, path) for path, method, _ in _operations(spec)}
    assert documented == routes
    assert len(documented) >= 130, len(documented)


def test_no_phantom_422(spec: dict[str, Any]) -> None:
    """No operation declares FastAPI's 422: a body that does not validate is errCode 1001 in an HTTP 200."""
    assert [(p, m) for p, m, op in _operations(spec) if "422" in op["responses"]] == []
    assert not {"HTTPValidationError", "ValidationError"} & set(spec["components"]["schemas"])


def test_every_post_answers_the_envelope(spec: dict[str, Any]) -> None:
    """Each POST declares one answer, HTTP 200 in the envelope: errCode 0 with data, or an error without data."""
    posts = [(path, op) for path, method, op in _operations(spec) if method == "post"]
    assert len(posts) >= 130
    for path, op in posts:
        assert set(op["responses"]) == {"200"}, path
        success, error = _success_and_error(op)
        assert success["properties"]["errCode"] == {"const": 0}, path
        assert error["properties"]["errCode"] == {"type": "integer", "not": {"const": 0}}, path
        for branch in (success, error):
            assert set(ENVELOPE) <= set(branch["required"]), path
            assert branch["additionalProperties"] is False, path
        assert "data" not in error["properties"], path


def test_headers_are_declared_where_the_middleware_demands_them(spec: dict[str, Any]) -> None:
    """operationID on every POST, token on every POST but OpenIM's whitelist; GET routes need neither."""
    for path, method, op in _operations(spec):
        headers = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "header"}
        if method != "post":
            assert headers == {}, path
            continue
        expected = {"operationID"} if path in NO_TOKEN else {"operationID", "token"}
        assert set(headers) == expected, path
        for header in headers.values():
            assert header["required"] is True and header["schema"]["minLength"] == 1, path
        assert headers["operationID"]["schema"]["maxLength"] == 128, path  # api.maxOperationIDLen's default


def test_request_bodies_are_required_json(spec: dict[str, Any]) -> None:
    """Every POST that reads a body takes JSON (an empty one is 1001); /jssdk also takes protobuf; a route that
    reads none (/restart, some /config routes) declares none."""
    bodyless = {
        route.path
        for router in _routers()
        for route in router.routes
        if isinstance(route, APIRoute)
        and route.body_field is None
        and route.path not in (router.messages if isinstance(router, PbRouter) else {})
    }
    posts = [path for path, method, _ in _operations(spec) if method == "post"]
    assert len(bodyless & set(posts)) < len(posts) // 10, bodyless  # the few that read no body, not all by mistake
    for path, method, op in _operations(spec):
        if method != "post" or path in bodyless:
            assert "requestBody" not in op, path
            continue
        body = op["requestBody"]
        assert body["required"] is True, path
        assert "whatever the Content-Type" in body["description"], path
        kinds = set(body["content"])
        assert kinds == (
            {"application/json", "application/x-protobuf"} if path.startswith("/jssdk/") else {"application/json"}
        ), path


def test_data_is_the_routes_response_schema(spec: dict[str, Any]) -> None:
    """`data` is declared exactly for routes that answer data, as their response model or protobuf message."""
    checked = 0
    for router in _routers():
        messages = router.messages if isinstance(router, PbRouter) else {}
        for route in router.routes:
            if not isinstance(route, APIRoute) or "POST" not in route.methods or not route.include_in_schema:
                continue
            success, _ = _success_and_error(spec["paths"][route.path]["post"])
            data = success["properties"].get("data")
            if route.path in messages:
                _, resp_cls = messages[route.path]
                if resp_cls is None or not resp_cls.DESCRIPTOR.fields:
                    assert data is None, route.path
                    continue
                message = data["oneOf"][0] if route.path.startswith("/jssdk/") else data
                assert message["title"] == resp_cls.DESCRIPTOR.full_name, route.path
            elif route.response_model is None:
                assert data is None, route.path
                continue
            elif route.response_model in _SCALARS:
                assert data["type"] == _SCALARS[route.response_model], route.path
            elif _is_model(route.response_model):
                assert _resolve(spec, data)["title"] == route.response_model.__name__, route.path
            else:  # list[Model] and the like: the schema names the model
                args = typing.get_args(route.response_model)
                names = [a.__name__ for arg in args for a in (arg, *typing.get_args(arg)) if _is_model(a)]
                assert names and all(f"/{name}" in str(data) for name in names), (route.path, data)
                if type(None) in args:  # returning None answers without data (envelope.py)
                    assert "data" not in success["required"], route.path
                    checked += 1
                    continue
            assert "data" in success["required"], route.path
            checked += 1
    assert checked >= 80, checked


def test_get_routes_declare_their_real_answers(spec: dict[str, Any]) -> None:
    """The GET routes declare what they send: the redirects 302 with a Location and their plain-text errors (not a
    200 they never send), Prometheus discovery its targets list (or the error envelope)."""
    gets = {path: op for path, method, op in _operations(spec) if method == "get"}
    assert {"/object/{name}", "/third/prometheus", "/prometheus_discovery/api"} <= set(gets)
    for path, op in gets.items():
        for status, answer in op["responses"].items():
            if status == "302":
                assert "Location" in answer["headers"], path
            else:
                assert answer.get("content"), (path, status)  # no bare "Successful Response"
        if path.startswith("/prometheus_discovery/"):
            targets, error = op["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"]
            assert targets["type"] == "array" and error["title"] == "error", path
        else:
            assert "200" not in op["responses"], path


def test_operation_id_length_and_rate_limit_follow_the_settings(tmp_path: Path) -> None:
    """operationID's maxLength is api.maxOperationIDLen; the HTTP 429 is declared only with the rate limit on."""

    async def build(**kwargs: Any) -> dict[str, Any]:
        runtime = await Runtime.build(Settings.model_validate({"database": {"url": f"sqlite:///{tmp_path}/r.db"}}))
        try:
            return create_app(runtime.services, **kwargs).openapi()
        finally:
            await runtime.close()

    rule = Rule("ip_requests", 1.0, 1)
    on = asyncio.run(build(limits=RestLimits(max_operation_id=40), rate=(MemoryRateLimiter(), rule)))
    op = on["paths"]["/user/get_users_info"]["post"]
    (header,) = [p for p in op["parameters"] if p["name"] == "operationID"]
    assert header["schema"]["maxLength"] == 40
    assert "Retry-After" in op["responses"]["429"]["headers"]
    off = asyncio.run(build())
    assert all("429" not in op["responses"] for _, _, op in _operations(off))


async def test_the_served_document_is_the_contract(tmp_path: Path) -> None:
    """What /openapi.json serves is the rewritten document, built once (FastAPI caches it, so do we)."""
    runtime = await Runtime.build(Settings.model_validate({"database": {"url": f"sqlite:///{tmp_path}/o.db"}}))
    try:
        app = create_app(runtime.services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            served = (await http.get("/openapi.json")).json()
        assert served == app.openapi() and app.openapi() is app.openapi()
        assert "422" not in served["paths"]["/user/user_register"]["post"]["responses"]
    finally:
        await runtime.close()
