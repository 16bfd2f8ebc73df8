"""Size limits on REST input (api/limits.py): string fields by kind, the body, the operationID header — each refused
with 1001 naming what was too large, nothing stored, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from tests.api.conftest import Api

from openim.api.app import create_app
from openim.api.limits import DEFAULT_FIELD_LIMITS, RestLimits, configure


@pytest.fixture(autouse=True)
def _default_limits_after() -> Iterator[None]:
    yield
    configure({})  # a test with custom limits must not leave them to the tests after it


async def _nickname(api: Api, admin: str, user_id: str) -> str:
    data = await api.ok("/user/get_users_info", {"userIDs": [user_id]}, token=admin)
    return str(data["usersInfo"][0]["nickname"])


async def test_a_nickname_over_its_limit_is_refused_and_nothing_changes(api: Api) -> None:
    await api.register("alice")
    admin = await api.admin_token()
    token = await api.user_token("alice")
    limit = DEFAULT_FIELD_LIMITS["name"]

    ok = await api.post(
        "/user/update_user_info", {"userInfo": {"userID": "alice", "nickname": "n" * limit}}, token=token
    )
    assert ok["errCode"] == 0, ok
    refused = await api.post(
        "/user/update_user_info", {"userInfo": {"userID": "alice", "nickname": "x" * (limit + 1)}}, token=token
    )
    assert refused["errCode"] == 1001
    assert "nickname" in refused["errDlt"] and str(limit) in refused["errDlt"]
    assert await _nickname(api, admin, "alice") == "n" * limit


async def test_ids_in_lists_are_checked_one_by_one(api: Api) -> None:
    admin = await api.admin_token()
    result = await api.post("/user/get_users_info", {"userIDs": ["ok", "u" * 65]}, token=admin)
    assert result["errCode"] == 1001
    assert "userIDs[1]" in result["errDlt"]


async def test_registering_a_user_with_a_long_id_stores_nobody(api: Api) -> None:
    admin = await api.admin_token()
    users = [{"userID": "fine", "nickname": "f"}, {"userID": "i" * 65, "nickname": "long"}]
    result = await api.post("/user/user_register", {"users": users}, token=admin)
    assert result["errCode"] == 1001
    assert "users[1]" in result["errDlt"] and "userID" in result["errDlt"]
    check = await api.ok("/user/account_check", {"checkUserIDs": ["fine"]}, token=admin)
    assert check["results"][0]["accountStatus"] == 0  # 0 = not registered


async def test_a_body_over_max_body_bytes_is_refused_by_its_content_length(api: Api) -> None:
    admin = await api.admin_token()
    big = b'{"userIDs": ["' + b"a" * (RestLimits().max_body_bytes + 1) + b'"]}'
    result = await api.post("/user/get_users_info", raw=big, token=admin)
    assert result["errCode"] == 1001
    assert "api.maxBodyBytes" in result["errDlt"]


async def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(api: Api) -> None:
    admin = await api.admin_token()
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"userIDs": ["'
        for _ in range(1000):  # 64 MB offered: reading must stop a little after 4 MiB
            sent += 1
            yield b"a" * 65536
        yield b'"]}'

    resp = await api.http.post(
        "/user/get_users_info", content=chunks(), headers={"operationID": "chunked", "token": admin}
    )
    result = resp.json()
    assert result["errCode"] == 1001 and "api.maxBodyBytes" in result["errDlt"]
    assert sent * 65536 < 2 * RestLimits().max_body_bytes


async def test_a_long_operation_id_is_refused(api: Api) -> None:
    admin = await api.admin_token()
    result = await api.post("/user/get_users_info", {"userIDs": []}, token=admin, headers={"operationID": "o" * 129})
    assert result["errCode"] == 1001
    assert "operationID" in result["errDlt"]
    fine = await api.post("/user/get_users_info", {"userIDs": ["x"]}, token=admin, headers={"operationID": "o" * 128})
    assert fine["errCode"] == 0


async def test_limits_come_from_config(api: Api) -> None:
    app = create_app(api.runtime.services, RestLimits(fields={"name": 5}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://openim.test") as http:
        custom = Api(http, api.runtime)
        admin = await custom.admin_token()
        users = [{"userID": "bob", "nickname": "sixsix"}]
        result = await custom.post("/user/user_register", {"users": users}, token=admin)
        assert result["errCode"] == 1001 and "longer than 5" in result["errDlt"]
        users = [{"userID": "bob", "nickname": "five5"}]
        assert (await custom.post("/user/user_register", {"users": users}, token=admin))["errCode"] == 0
