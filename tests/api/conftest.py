"""API fixtures: a runtime on the test database and an in-process HTTP client speaking OpenIM's conventions."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tests.databases import copy_migrated_sqlite

from openim.api.app import create_app
from openim.infra.bus import TOPIC_PUSH, Push
from openim.infra.clock import FakeClock
from openim.runtime import Runtime
from openim.settings import Settings

_ops = itertools.count(1)


@dataclass
class Api:
    """Posts JSON the way OpenIM clients do: operationID and token headers, envelope answers."""

    http: httpx.AsyncClient
    runtime: Runtime

    async def post(
        self,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        sent = {"operationID": f"op-{next(_ops)}", **({"token": token} if token else {}), **(headers or {})}
        if raw is not None:
            resp = await self.http.post(path, content=raw, headers=sent)
        else:
            resp = await self.http.post(path, json=body, headers=sent)
        assert resp.status_code == 200, resp.text
        result: dict[str, Any] = resp.json()
        return result

    async def ok(self, path: str, body: Any = None, *, token: str | None = None) -> Any:
        """Post and require errCode 0; returns `data` (None when the envelope has none)."""
        result = await self.post(path, body, token=token)
        assert result["errCode"] == 0, result
        return result.get("data")

    async def admin_token(self) -> str:
        data = await self.ok("/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"})
        return str(data["token"])

    async def register(self, *user_ids: str) -> None:
        admin = await self.admin_token()
        users = [{"userID": uid, "nickname": f"nick-{uid}", "faceURL": ""} for uid in user_ids]
        await self.ok("/user/user_register", {"users": users}, token=admin)

    async def user_token(self, user_id: str, platform_id: int = 5) -> str:
        admin = await self.admin_token()
        data = await self.ok("/auth/get_user_token", {"userID": user_id, "platformID": platform_id}, token=admin)
        return str(data["token"])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings.model_validate({"database": {"url": db_url}})


@pytest.fixture
async def runtime(
    settings: Settings, clock: FakeClock, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Runtime]:
    await copy_migrated_sqlite(settings.database.url, tmp_path_factory)
    rt = await Runtime.build(settings, clock=clock)
    yield rt
    await rt.close()


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[Api]:
    app = create_app(runtime.services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://openim.test") as http:
        yield Api(http, runtime)


@pytest.fixture
async def pushes(api: Api) -> AsyncIterator[list[Push]]:
    """Every push the msg path publishes on the bus from now on (notifications included)."""
    seen: list[Push] = []
    sub = api.runtime.bus.subscribe(TOPIC_PUSH, lambda e: seen.append(e) if isinstance(e, Push) else None)
    yield seen
    await sub.close()
