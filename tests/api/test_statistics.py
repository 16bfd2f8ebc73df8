"""/statistics routes over HTTP on a generated year (tests/storage/statsdata): OpenIM's fields, admin only."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.storage.statsdata import (
    GROUP_BY_GROUP,
    GROUP_TOTAL,
    SINGLE_BY_SENDER,
    SINGLE_TOTAL,
    YEAR_END,
    YEAR_START,
    day_ms,
    generate,
)

PAGE = {"pageNumber": 1, "showNumber": 100}
ROUTES = [
    "/statistics/user/register",
    "/statistics/user/active",
    "/statistics/group/create",
    "/statistics/group/active",
]


async def _year(api: Api) -> str:
    await generate(api.runtime.storage)
    return await api.admin_token()


async def test_user_register_counts(api: Api) -> None:
    """total (the imAdmin included), before start, and per UTC day in [start, end)."""
    admin = await _year(api)
    data = await api.ok("/statistics/user/register", {"start": day_ms(200), "end": YEAR_END}, token=admin)
    assert data == {"total": 11, "before": 7, "count": {"2025-07-30": 1, "2025-08-29": 1, "2025-09-28": 1}}
    empty = await api.ok("/statistics/user/register", {"start": 1, "end": 2}, token=admin)
    assert empty == {"total": 11, "before": 0, "count": {}}  # an empty map, as OpenIM's make(map)


async def test_group_create_counts(api: Api) -> None:
    """Groups: all four, none before the year, three created in it (the dismissed one too)."""
    admin = await _year(api)
    data = await api.ok("/statistics/group/create", {"start": YEAR_START, "end": YEAR_END}, token=admin)
    assert data == {"total": 4, "before": 0, "count": {"2025-01-11": 1, "2025-04-11": 1, "2025-07-20": 1}}


async def test_user_active_with_and_without_groups(api: Api) -> None:
    """msgCount, userCount, dateCount and users [{user: UserInfo, count}], most active first unless ase."""
    admin = await _year(api)
    body: dict[str, Any] = {"start": YEAR_START, "end": YEAR_END, "ase": False, "group": False, "pagination": PAGE}
    data = await api.ok("/statistics/user/active", body, token=admin)
    assert (data["msgCount"], data["userCount"], len(data["dateCount"])) == (SINGLE_TOTAL, 6, 365)
    assert data["dateCount"]["2025-01-01"] == 7
    assert [(u["user"]["userID"], u["count"]) for u in data["users"]][:2] == [("u3", 549), ("u2", 548)]
    assert {u["user"]["userID"]: u["count"] for u in data["users"]} == SINGLE_BY_SENDER
    first = data["users"][0]["user"]
    assert first == {
        "userID": "u3",
        "nickname": "nick-u3",
        "faceURL": "",
        "ex": "",
        "createTime": day_ms(90) + 43_200_000,
        "appMangerLevel": 0,
        "globalRecvMsgOpt": 0,
    }
    grouped = await api.ok(
        "/statistics/user/active",
        {**body, "group": True, "ase": True, "pagination": {"pageNumber": 1, "showNumber": 2}},
        token=admin,
    )
    assert (grouped["msgCount"], grouped["userCount"]) == (SINGLE_TOTAL + GROUP_TOTAL, 9)
    assert [(u["user"]["userID"], u["count"]) for u in grouped["users"]] == [("u8", 92), ("u7", 122)]


async def test_group_active(api: Api) -> None:
    """msgCount, groupCount, dateCount and groups [{group: GroupInfo, count}]; a deleted group shows its ID."""
    admin = await _year(api)
    body = {"start": YEAR_START, "end": YEAR_END, "ase": False, "pagination": PAGE}
    data = await api.ok("/statistics/group/active", body, token=admin)
    assert (data["msgCount"], data["groupCount"]) == (GROUP_TOTAL, 3)
    assert [(g["group"]["groupID"], g["count"]) for g in data["groups"]] == list(GROUP_BY_GROUP.items())
    g0 = data["groups"][0]["group"]
    assert (g0["groupName"], g0["ownerUserID"], g0["memberCount"], g0["createTime"]) == ("name-g0", "u0", 1, day_ms(10))
    assert data["groups"][2]["group"]["status"] == 2  # g2 was dismissed: still listed with its info


async def test_empty_active_answers_are_nulls(api: Api) -> None:
    """Nothing in range: zero counts, dateCount and the list null, as OpenIM answers an empty aggregation."""
    admin = await _year(api)
    data = await api.ok("/statistics/group/active", {"start": 1, "end": 2, "pagination": PAGE}, token=admin)
    assert data == {"msgCount": 0, "groupCount": 0, "dateCount": None, "groups": None}


async def test_statistics_are_admin_only(api: Api) -> None:
    """Every /statistics route is 1002 for a user (OpenIM leaves user/register open)."""
    await api.register("alice")
    alice = await api.user_token("alice")
    body = {"start": YEAR_START, "end": YEAR_END, "pagination": PAGE}
    for route in ROUTES:
        assert (await api.post(route, body, token=alice))["errCode"] == 1002, route


async def test_statistics_arguments(api: Api) -> None:
    """start/end must be > 0 and start <= end for the counts; active routes need a pagination (OpenIM: 500)."""
    admin = await api.admin_token()
    for route in ("/statistics/user/register", "/statistics/group/create"):
        for bad in ({"start": 0, "end": 5}, {"start": 5, "end": 0}, {"start": 6, "end": 5}, {"start": "1", "end": 5}):
            assert (await api.post(route, bad, token=admin))["errCode"] == 1001, (route, bad)
    for route in ("/statistics/user/active", "/statistics/group/active"):
        assert (await api.post(route, {"start": 1, "end": 2}, token=admin))["errCode"] == 1001, route
        assert (await api.post(route, {"start": 1, "end": 2, "pagination": {"pageNumber": 0}}, token=admin))[
            "errCode"
        ] == 1001
