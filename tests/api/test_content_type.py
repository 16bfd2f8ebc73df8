"""Every REST route reads its body as JSON whatever the Content-Type, as OpenIM's gin handlers do.

OpenIM binds bodies with `a2r`'s JSON binding, which ignores Content-Type; only /jssdk looks at it, to take
protobuf bodies and to refuse types other than JSON and protobuf (`internal/api/jssdk/tools.go`). The README's
walk-through, whose `curl -d` calls send form-urlencoded bodies, runs literally in `tests/test_readme.py`.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from tests.api.conftest import Api

from openim.api.app import create_app

CONTENT_TYPES = [None, "text/plain", "application/x-www-form-urlencoded", "application/json"]


def _post_routes(api: Api) -> list[str]:
    """The POST routes that take a body (/config/get_config_list, /restart, … read none, so no body can be broken)."""
    spec = create_app(api.runtime.services).openapi()
    paths = sorted(p for p, item in spec["paths"].items() if "post" in item and "requestBody" in item["post"])
    assert len(paths) >= 100 and "/user/user_register" in paths and "/msg/send_msg" in paths
    return paths


async def _raw(api: Api, path: str, body: bytes, content_type: str | None, token: str) -> dict[str, Any]:
    headers = {"token": token} if content_type is None else {"token": token, "Content-Type": content_type}
    return await api.post(path, raw=body, headers=headers)


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
async def test_every_post_route_decodes_json(api: Api, content_type: str | None) -> None:
    """Each POST route parses the body as JSON (a broken body is "not valid JSON", `{}` is an object), never the
    form-decoding "valid dictionary" error; /jssdk refuses text/plain and form bodies as OpenIM does."""
    token = await api.admin_token()
    failures = []
    for path in _post_routes(api):
        jssdk_refuses = path.startswith("/jssdk/") and content_type in (
            "text/plain",
            "application/x-www-form-urlencoded",
        )
        broken = await _raw(api, path, b'{"userID":', content_type, token)
        empty = await _raw(api, path, b"{}", content_type, token)
        if jssdk_refuses:
            if not (broken["errCode"] == empty["errCode"] == 1001 and "content type" in empty["errDlt"]):
                failures.append((path, broken, empty))
            continue
        if broken["errCode"] != 1001 or "not valid JSON" not in broken["errDlt"]:
            failures.append((path, broken))
        if empty["errCode"] == 500 or "valid dictionary" in empty.get("errDlt", ""):
            failures.append((path, empty))
    assert failures == []


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
async def test_valid_bodies_work_under_any_content_type(api: Api, content_type: str | None) -> None:
    """The README's admin → register → user token → profile sequence, and a message, succeed with any type."""
    admin = await api.admin_token()

    async def ok(path: str, body: object, token: str = admin) -> Any:
        result = await _raw(api, path, orjson.dumps(body), content_type, token)
        assert result["errCode"] == 0, (path, result)
        return result.get("data")

    token = await ok("/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"}, token="")
    assert token["token"]
    await ok(
        "/user/user_register", {"users": [{"userID": "alice", "nickname": "A"}, {"userID": "bob", "nickname": "B"}]}
    )
    alice = (await ok("/auth/get_user_token", {"userID": "alice", "platformID": 5}))["token"]
    users = await ok("/user/get_users_info", {"userIDs": ["alice"]}, token=alice)
    assert [u["userID"] for u in users["usersInfo"]] == ["alice"]
    await ok("/friend/add_black", {"ownerUserID": "alice", "blackUserID": "bob"}, token=alice)
    group = {"groupInfo": {"groupName": "g", "groupType": 2}, "ownerUserID": "alice", "memberUserIDs": ["bob"]}
    assert (await ok("/group/create_group", group, token=alice))["groupInfo"]["groupID"]
    sent = await ok(
        "/msg/send_msg",
        {"sendID": "alice", "recvID": "bob", "contentType": 101, "sessionType": 1, "content": {"content": "hi"}},
    )
    assert sent["serverMsgID"]
    jssdk = await _raw(api, "/jssdk/get_conversations", b'{"conversationIDs":["si_alice_bob"]}', content_type, alice)
    if content_type in ("text/plain", "application/x-www-form-urlencoded"):  # OpenIM's /jssdk: JSON or protobuf
        assert jssdk["errCode"] == 1001 and "content type" in jssdk["errDlt"]
    else:
        assert jssdk["errCode"] == 0 and len(jssdk["data"]["conversations"]) == 1
