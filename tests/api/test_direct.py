"""api/direct.py answers exactly as FastAPI does: the same status, headers and body, byte for byte, for successes
and for every kind of bad request (which it hands to FastAPI), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from openim.api.app import create_app
from openim.api.direct import direct_routes
from openim.api.routes import auth, conversation, friend, group, msg, user
from openim.runtime import Runtime

from .conftest import Api


@pytest.fixture
async def reference(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The same runtime served by FastAPI alone."""
    app = create_app(runtime.services, direct=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://openim.test") as http:
        yield http


def test_which_routes_are_direct() -> None:
    table = direct_routes([*auth.router.routes, *user.router.routes, *friend.router.routes, *group.router.routes])
    assert {"/user/get_users_info", "/auth/get_user_token", "/friend/get_friend_list", "/group/get_groups_info"} <= set(
        table
    )
    # The protobuf routes decode their own bodies, and send_simple_msg reads a query parameter: FastAPI's, always.
    pb = direct_routes([*msg.router.routes, *conversation.router.routes])
    assert "/msg/send_msg" in pb
    assert not pb.keys() & {"/msg/pull_msg_by_seq", "/msg/send_simple_msg", "/conversation/get_all_conversations"}


async def _both(
    api: Api, reference: httpx.AsyncClient, path: str, *, raw: bytes, headers: dict[str, str]
) -> httpx.Response:
    sent = {"operationID": "op-direct", **headers}
    mine = await api.http.post(path, content=raw, headers=sent)
    theirs = await reference.post(path, content=raw, headers=sent)
    assert (mine.status_code, mine.headers.multi_items(), mine.content) == (
        theirs.status_code,
        theirs.headers.multi_items(),
        theirs.content,
    ), path
    return mine


def _raw(body: Any) -> bytes:
    return json.dumps(body).encode()


async def test_answers_as_fastapi(api: Api, reference: httpx.AsyncClient) -> None:
    await api.register("d1", "d2")
    admin = await api.admin_token()
    token = await api.user_token("d1")
    as_user, as_admin = {"token": token}, {"token": admin}
    cases: list[tuple[str, bytes, dict[str, str]]] = [
        ("/user/get_users_info", _raw({"userIDs": ["d1", "d2", "nobody"]}), as_user),
        ("/user/get_users_info", _raw({"USERIDS": ["d2"], "unknown": 1}), as_user),  # Go's keys, extras ignored
        ("/user/get_users_info", _raw({"userIDs": []}), as_user),  # the service's 1001
        ("/user/get_users_info", _raw({"userIDs": "d1"}), as_user),  # does not validate
        ("/user/get_users_info", _raw({"userIDs": ["x" * 100]}), as_user),  # over the field limit
        ("/user/get_users_info", _raw(["d1"]), as_user),
        ("/user/get_users_info", b"", as_user),
        ("/user/get_users_info", b"null", as_user),
        ("/user/get_users_info", b"{", as_user),
        ("/user/get_users_info", b'{"userIDs":["\\ud800"]}', as_user),
        ("/user/get_users_info", _raw({"userIDs": ["d1"]}), {"token": token, "content-type": "text/plain"}),
        ("/user/get_all_users_uid", _raw({"pagination": {"pageNumber": 1, "showNumber": 10}}), as_user),  # 1002
        ("/user/get_all_users_uid", _raw({"pagination": {"pageNumber": 1, "showNumber": 10}}), as_admin),
        ("/user/get_all_users_uid", _raw({}), as_admin),
        ("/user/account_check", _raw({"checkUserIDs": ["d1", "zz"]}), as_admin),
        ("/friend/get_friend_list", _raw({"userID": "d1", "pagination": {"pageNumber": 1, "showNumber": 5}}), as_user),
        ("/friend/get_friend_list", _raw({"userID": "d2", "pagination": {"pageNumber": 1, "showNumber": 5}}), as_user),
        ("/group/get_groups_info", _raw({"groupIDs": ["nogroup"]}), as_user),
        ("/auth/parse_token", _raw({"token": token}), {}),
        ("/auth/parse_token", _raw({"token": "not.a.token"}), {}),
        ("/auth/get_admin_token", _raw({"secret": "wrong", "userID": "imAdmin"}), {}),
        ("/user/user_register", _raw({"users": [{"userID": "d1", "nickname": "again"}]}), as_admin),  # exists
    ]
    for path, raw, headers in cases:
        await _both(api, reference, path, raw=raw, headers=headers)
    ok = await _both(api, reference, "/user/get_users_info", raw=_raw({"userIDs": ["d1"]}), headers=as_user)
    assert ok.json()["data"]["usersInfo"][0]["nickname"] == "nick-d1"
