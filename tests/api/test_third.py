"""/third routes over HTTP: push token, app badge, client logs, the Grafana link — fields, errCodes, who may call."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import httpx
from tests.api.conftest import Api

from openim.api.app import create_app
from openim.services.third import ThirdService

ANDROID, WEB = 2, 5


async def test_fcm_update_token_keeps_the_token_for_its_lifetime(api: Api) -> None:
    """The caller's token is stored per platform for expireTime seconds (0 = no expiry); the answer has no data."""
    await api.register("alice")
    token = await api.user_token("alice", ANDROID)
    third, clock = api.runtime.services.third, api.runtime.clock
    body = {"platformID": ANDROID, "fcmToken": "fcm-a", "account": "alice", "expireTime": 60}
    assert await api.post("/third/fcm_update_token", body, token=token) == {"errCode": 0, "errMsg": "", "errDlt": ""}
    await api.ok(
        "/third/fcm_update_token", {**body, "platformID": WEB, "fcmToken": "fcm-w", "expireTime": 0}, token=token
    )
    assert await third.fcm_token("alice", ANDROID) == "fcm-a"
    clock.advance(60)
    assert await third.fcm_token("alice", ANDROID) is None
    assert await third.fcm_token("alice", WEB) == "fcm-w"


async def test_fcm_update_token_is_for_oneself_unless_admin(api: Api) -> None:
    """Another user's account is 1002 (OpenIM checks nothing); an admin may register anyone's token."""
    await api.register("alice", "bob")
    body = {"platformID": ANDROID, "fcmToken": "evil", "account": "alice", "expireTime": 0}
    assert (await api.post("/third/fcm_update_token", body, token=await api.user_token("bob")))["errCode"] == 1002
    assert await api.runtime.services.third.fcm_token("alice", ANDROID) is None
    await api.ok("/third/fcm_update_token", body, token=await api.admin_token())
    assert await api.runtime.services.third.fcm_token("alice", ANDROID) == "evil"


async def test_fcm_update_token_validation(api: Api) -> None:
    """OpenIM's Check(): platformID known, fcmToken and account set; also expireTime 0..10 years, ints as ints."""
    await api.register("alice")
    token = await api.user_token("alice")
    good = {"platformID": ANDROID, "fcmToken": "t", "account": "alice", "expireTime": 0}
    for bad in (
        {"platformID": 0},
        {"platformID": 12},
        {"fcmToken": ""},
        {"account": ""},
        {"expireTime": -1},
        {"expireTime": 10 * 365 * 86400 + 1},
        {"expireTime": "60"},
        {"fcmToken": "x" * 2049},
    ):
        result = await api.post("/third/fcm_update_token", {**good, **bad}, token=token)
        assert result["errCode"] == 1001, (bad, result)
    assert await api.runtime.services.third.fcm_token("alice", ANDROID) is None


async def test_set_app_badge(api: Api) -> None:
    """A user sets its own badge (1002 for another's, 1001 without userID or below 0); an admin anyone's."""
    await api.register("alice", "bob")
    alice = await api.user_token("alice")
    third = api.runtime.services.third
    await api.ok("/third/set_app_badge", {"userID": "alice", "appUnreadCount": 12}, token=alice)
    assert await third.app_badge("alice") == 12
    assert (await api.post("/third/set_app_badge", {"userID": "bob", "appUnreadCount": 1}, token=alice))[
        "errCode"
    ] == 1002
    assert (await api.post("/third/set_app_badge", {"appUnreadCount": 1}, token=alice))["errCode"] == 1001
    assert (await api.post("/third/set_app_badge", {"userID": "alice", "appUnreadCount": -1}, token=alice))[
        "errCode"
    ] == 1001
    await api.ok("/third/set_app_badge", {"userID": "bob", "appUnreadCount": 3}, token=await api.admin_token())
    assert (await third.app_badge("alice"), await third.app_badge("bob")) == (12, 3)


def upload(*files: str, ex: str = "") -> dict[str, object]:
    return {
        "platform": ANDROID,
        "fileURLs": [{"filename": f, "URL": f"http://objects/{f}"} for f in files],
        "appFramework": "flutter",
        "version": "v3.8.3",
        "ex": ex,
    }


async def _search(api: Api, token: str, **body: object) -> dict[str, Any]:
    return await api.post(
        "/third/logs/search", {"pagination": {"pageNumber": 1, "showNumber": 10}, **body}, token=token
    )


async def test_uploaded_logs_are_searched_by_admins_with_openims_fields(api: Api) -> None:
    """Each uploaded file is one record owned by the caller; search shows OpenIM's LogInfo, newest first."""
    await api.register("alice", "bob")
    clock = api.runtime.clock
    uploaded_at = clock.now_ms()
    await api.ok("/third/logs/upload", upload("a1.zip", "a2.zip", ex="e"), token=await api.user_token("alice"))
    clock.advance(5)
    later = clock.now_ms()
    await api.ok("/third/logs/upload", upload("b1.zip"), token=await api.user_token("bob", WEB))
    admin = await api.admin_token()
    data = await api.ok("/third/logs/search", {"pagination": {"pageNumber": 1, "showNumber": 10}}, token=admin)
    assert data["total"] == 3
    first, *rest = data["logsInfos"]
    assert first["userID"] == "bob" and first["nickname"] == "nick-bob"
    log = next(i for i in rest if i["filename"] == "a1.zip")
    assert re.fullmatch(r"[1-9][0-9]{9}", log["logID"])
    assert log == {
        "userID": "alice",
        "platform": "Android",  # the upload's platform number, by name; not the token's platform
        "url": "http://objects/a1.zip",
        "createTime": uploaded_at,
        "nickname": "nick-alice",
        "logID": log["logID"],
        "filename": "a1.zip",
        "systemType": "",
        "ex": "e",
        "version": "v3.8.3",
    }
    # keyword: a substring of the userID; time range: both ends included; paging with the full total.
    by_user = await api.ok(
        "/third/logs/search", {"keyword": "ali", "pagination": {"pageNumber": 1, "showNumber": 10}}, token=admin
    )
    assert {i["userID"] for i in by_user["logsInfos"]} == {"alice"} and by_user["total"] == 2
    in_range = {
        "startTime": later,
        "endTime": later,
        "pagination": {"pageNumber": 1, "showNumber": 10},
    }
    assert [i["filename"] for i in (await api.ok("/third/logs/search", in_range, token=admin))["logsInfos"]] == [
        "b1.zip"
    ]
    page2 = await api.ok("/third/logs/search", {"pagination": {"pageNumber": 2, "showNumber": 2}}, token=admin)
    assert (page2["total"], len(page2["logsInfos"])) == (3, 1)
    none = await api.ok(
        "/third/logs/search", {"keyword": "zed", "pagination": {"pageNumber": 1, "showNumber": 5}}, token=admin
    )
    assert none == {"logsInfos": [], "total": 0}


async def test_log_search_is_for_admins_and_checks_its_arguments(api: Api) -> None:
    """A user cannot search logs, not even its own (1002); startTime > endTime and a missing pagination are 1001."""
    await api.register("alice")
    alice = await api.user_token("alice")
    await api.ok("/third/logs/upload", upload("a.zip"), token=alice)
    assert (await _search(api, alice))["errCode"] == 1002
    admin = await api.admin_token()
    assert (await _search(api, admin, startTime=2, endTime=1))["errCode"] == 1001
    assert (await api.post("/third/logs/search", {}, token=admin))["errCode"] == 1001
    assert (await api.post("/third/logs/search", {"pagination": {"pageNumber": 0}}, token=admin))["errCode"] == 1001


async def test_logs_of_another_user_cannot_be_deleted(api: Api) -> None:
    """bob deleting alice's log gets 1004 and it stays; alice deletes her own; an admin deletes anyone's."""
    await api.register("alice", "bob")
    alice, bob, admin = await api.user_token("alice"), await api.user_token("bob"), await api.admin_token()
    await api.ok("/third/logs/upload", upload("a1.zip", "a2.zip"), token=alice)
    await api.ok("/third/logs/upload", upload("b.zip"), token=bob)
    ids = {i["filename"]: i["logID"] for i in (await _search(api, admin))["data"]["logsInfos"]}
    result = await api.post("/third/logs/delete", {"logIDs": [ids["a1.zip"]]}, token=bob)
    assert result["errCode"] == 1004
    # All or nothing: one of bob's own with one of alice's deletes neither.
    assert (await api.post("/third/logs/delete", {"logIDs": [ids["b.zip"], ids["a2.zip"]]}, token=bob))[
        "errCode"
    ] == 1004
    assert (await _search(api, admin))["data"]["total"] == 3
    await api.ok("/third/logs/delete", {"logIDs": [ids["a1.zip"]]}, token=alice)
    await api.ok("/third/logs/delete", {"logIDs": [ids["b.zip"]]}, token=admin)
    left = (await _search(api, admin))["data"]["logsInfos"]
    assert [i["filename"] for i in left] == ["a2.zip"]
    assert (await api.post("/third/logs/delete", {"logIDs": ["1234567890"]}, token=admin))["errCode"] == 1004
    assert (await api.post("/third/logs/delete", {"logIDs": []}, token=admin))["errCode"] == 1001
    assert (await api.post("/third/logs/delete", {"logIDs": ["1"] * 1001}, token=admin))["errCode"] == 1001


async def test_log_upload_bounds(api: Api) -> None:
    """More than 20 files or a URL over 2048 characters is 1001 and records nothing; no files records nothing."""
    await api.register("alice")
    alice = await api.user_token("alice")
    assert (await api.post("/third/logs/upload", upload(*[f"{i}.zip" for i in range(21)]), token=alice))[
        "errCode"
    ] == 1001
    too_long = {**upload(), "fileURLs": [{"filename": "a", "URL": "h" * 2049}]}
    assert (await api.post("/third/logs/upload", too_long, token=alice))["errCode"] == 1001
    await api.ok("/third/logs/upload", upload(), token=alice)
    assert (await _search(api, await api.admin_token()))["data"] == {"logsInfos": [], "total": 0}


async def test_prometheus_redirects_to_grafana_or_says_it_is_unset(api: Api) -> None:
    """GET /third/prometheus (no headers needed) is 302 to prometheus.grafanaURL, or 404 naming the key."""
    resp = await api.http.get("/third/prometheus")
    assert resp.status_code == 404
    assert "prometheus.grafanaURL" in resp.text
    rt = api.runtime
    third = ThirdService(rt.storage, rt.clock, grafana_url="http://127.0.0.1:13000/")
    app = create_app(dataclasses.replace(rt.services, third=third))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://openim.test") as http:
        resp = await http.get("/third/prometheus")
    assert (resp.status_code, resp.headers["location"]) == (302, "http://127.0.0.1:13000/")
