"""/group read routes over HTTP: the SDK login calls on an empty account, rows read back, sync, access rules."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.api.conftest import Api
from tests.factories import (
    add_member,
    dismiss_group,
    make_group,
    make_group_request,
    remove_member,
    rename_group,
)

import openim.services.group.read
from openim.protocol.idhash import id_hash

PAGE = {"pageNumber": 1, "showNumber": 100}
VERSION_ID = re.compile(r"[0-9a-f]{24}")


async def _users(api: Api, *user_ids: str) -> list[str]:
    await api.register(*user_ids)
    return [await api.user_token(u) for u in user_ids]


def _now(api: Api) -> int:
    return api.runtime.clock.now_ms()


def _group_info(group_id: str, owner: str, count: int, now: int, **extra: Any) -> dict[str, Any]:
    return {
        "groupID": group_id,
        "groupName": f"name-{group_id}",
        "notification": "",
        "introduction": "",
        "faceURL": "",
        "ownerUserID": owner,
        "createTime": now,
        "memberCount": count,
        "ex": "",
        "status": 0,
        "creatorUserID": owner,
        "groupType": 2,
        "needVerification": 0,
        "lookMemberInfo": 0,
        "applyMemberFriend": 0,
        "notificationUpdateTime": 0,
        "notificationUserID": "",
        **extra,
    }


def _member_info(group_id: str, user_id: str, role: int, join_time: int, **extra: Any) -> dict[str, Any]:
    return {
        "groupID": group_id,
        "userID": user_id,
        "roleLevel": role,
        "joinTime": join_time,
        "nickname": f"nick-{user_id}",
        "faceURL": "",
        "appMangerLevel": 0,
        "joinSource": 2,
        "operatorUserID": "owner",
        "ex": "",
        "muteEndTime": 0,
        "inviterUserID": "owner",
        **extra,
    }


# --- the login sequence on an empty account (what OpenIM's SDKs call at login) ----------------------------------------


async def test_first_join_group_sync_is_full_and_stable(api: Api) -> None:
    """First get_incremental_join_groups: full, version 1, null lists; asked again with it: nothing changed."""
    (alice,) = await _users(api, "alice")
    data = await api.ok(
        "/group/get_incremental_join_groups", {"userID": "alice", "version": 0, "versionID": ""}, token=alice
    )
    assert VERSION_ID.fullmatch(data["versionID"])
    assert data == {
        "version": 1,
        "versionID": data["versionID"],
        "full": True,
        "delete": None,
        "insert": None,
        "update": None,
        "sortVersion": 0,
    }
    since = {"userID": "alice", "versionID": data["versionID"], "version": 1}
    assert await api.ok("/group/get_incremental_join_groups", since, token=alice) == {**data, "full": False}


async def test_empty_account_ids_and_lists(api: Api) -> None:
    """get_full_join_group_ids with idHash 0 is `equal` (null IDs); another hash gets []; the list is null."""
    (alice,) = await _users(api, "alice")
    sync = await api.ok("/group/get_incremental_join_groups", {"userID": "alice"}, token=alice)
    data = await api.ok("/group/get_full_join_group_ids", {"idHash": 0, "userID": "alice"}, token=alice)
    assert data == {"version": 1, "versionID": sync["versionID"], "equal": True, "groupIDs": None}
    data = await api.ok("/group/get_full_join_group_ids", {"idHash": 7, "userID": "alice"}, token=alice)
    assert data == {"version": 1, "versionID": sync["versionID"], "equal": False, "groupIDs": []}
    data = await api.ok("/group/get_joined_group_list", {"pagination": PAGE, "fromUserID": "alice"}, token=alice)
    assert data == {"total": 0, "groups": None}
    data = await api.ok("/group/get_group_application_unhandled_count", {"userID": "alice", "time": 0}, token=alice)
    assert data == {"count": 0}
    body = {"pagination": PAGE, "fromUserID": "alice"}
    assert await api.ok("/group/get_recv_group_applicationList", body, token=alice) == {
        "total": 0,
        "groupRequests": None,
    }
    body = {"pagination": PAGE, "userID": "alice"}
    data = await api.ok("/group/get_user_req_group_applicationList", body, token=alice)
    assert data == {"total": 0, "groupRequests": None}


async def test_batch_member_sync_with_nothing_readable_is_an_empty_map(api: Api) -> None:
    """respList is `{}` (never null: the JS SDK iterates it) when no group of the batch can be answered."""
    (alice,) = await _users(api, "alice")
    body = {"userID": "alice", "reqList": [{"groupID": "nope", "versionID": "", "version": 0}]}
    assert await api.ok("/group/get_incremental_group_members_batch", body, token=alice) == {"respList": {}}


# --- joined groups and group info --------------------------------------------------------------------------


async def test_joined_groups_read_back(api: Api) -> None:
    """Joined groups: GroupInfo with owner and member count, by name; dismissed groups are left out."""
    (alice, _) = await _users(api, "alice", "owner")
    storage, now = api.runtime.storage, _now(api)
    await make_group(storage, "g2", "owner", ["alice"], now=now, name="b-group")
    await make_group(storage, "g1", "alice", now=now + 1, name="a-group")
    await make_group(storage, "g3", "owner", ["alice"], now=now)
    await dismiss_group(storage, "g3", now=now)
    data = await api.ok("/group/get_joined_group_list", {"pagination": PAGE, "fromUserID": "alice"}, token=alice)
    assert data == {
        "total": 2,
        "groups": [
            _group_info("g1", "alice", 1, now + 1, groupName="a-group"),
            _group_info("g2", "owner", 2, now, groupName="b-group"),
        ],
    }
    data = await api.ok("/group/get_full_join_group_ids", {"idHash": 0, "userID": "alice"}, token=alice)
    assert (data["groupIDs"], data["equal"]) == (["g1", "g2"], False)
    same = {"idHash": id_hash(["g1", "g2"]), "userID": "alice"}
    assert await api.ok("/group/get_full_join_group_ids", same, token=alice) == {
        **data,
        "equal": True,
        "groupIDs": None,
    }


async def test_groups_info_is_open_to_any_user(api: Api) -> None:
    """get_groups_info answers any signed-in user; unknown IDs are left out ([] if none); no IDs is 1001."""
    (bob, _) = await _users(api, "bob", "owner")
    now = _now(api)
    await make_group(api.runtime.storage, "g", "owner", now=now)
    data = await api.ok("/group/get_groups_info", {"groupIDs": ["g", "nope"]}, token=bob)
    assert data == {"groupInfos": [_group_info("g", "owner", 1, now)]}
    assert await api.ok("/group/get_groups_info", {"groupIDs": ["nope"]}, token=bob) == {"groupInfos": []}
    for body in ({}, {"groupIDs": []}):
        assert (await api.post("/group/get_groups_info", body, token=bob))["errCode"] == 1001


async def test_incremental_join_groups_reports_joins_and_leaves(api: Api) -> None:
    """After the first sync, joining shows as insert (GroupInfo) and leaving as delete, one version each."""
    (alice, _) = await _users(api, "alice", "owner")
    storage, now = api.runtime.storage, _now(api)
    await make_group(storage, "g1", "owner", now=now)
    base = await api.ok("/group/get_incremental_join_groups", {"userID": "alice"}, token=alice)
    since = {"userID": "alice", "versionID": base["versionID"], "version": base["version"]}
    await add_member(storage, "g1", "alice", now=now)
    data = await api.ok("/group/get_incremental_join_groups", since, token=alice)
    assert data == {
        "version": 2,
        "versionID": base["versionID"],
        "full": False,
        "delete": None,
        "insert": [_group_info("g1", "owner", 2, now)],
        "update": None,
        "sortVersion": 0,
    }
    await remove_member(storage, "g1", "alice", now=now)
    data = await api.ok("/group/get_incremental_join_groups", {**since, "version": 2}, token=alice)
    assert (data["version"], data["delete"], data["insert"], data["full"]) == (3, ["g1"], None, False)


# --- members -----------------------------------------------------------------------------------------------


async def test_member_list_order_profiles_and_keyword(api: Api) -> None:
    """Members by role then join time, empty nicknames filled from profiles; keyword matches shown nicknames."""
    (alice, _, _) = await _users(api, "alice", "owner", "bob")
    storage, now = api.runtime.storage, _now(api)
    await make_group(storage, "g", "owner", ["alice"], now=now, admins=["bob"])
    await add_member(storage, "g", "zed", now=now + 10, nickname="Zorro", face_url="z.png")
    body = {"pagination": PAGE, "groupID": "g", "filter": 0, "keyword": ""}
    data = await api.ok("/group/get_group_member_list", body, token=alice)
    assert data["total"] == 4
    assert data["members"][:3] == [
        _member_info("g", "owner", 100, now),
        _member_info("g", "bob", 60, now + 1),
        _member_info("g", "alice", 20, now + 2),
    ]
    assert data["members"][3]["nickname"] == "Zorro"
    assert data["members"][3]["faceURL"] == "z.png"
    found = await api.ok("/group/get_group_member_list", {**body, "keyword": "NICK-B"}, token=alice)
    assert (found["total"], [m["userID"] for m in found["members"]]) == (1, ["bob"])
    beyond = await api.ok(
        "/group/get_group_member_list", {**body, "pagination": {"pageNumber": 3, "showNumber": 2}}, token=alice
    )
    assert beyond == {"total": 4, "members": None}
    assert (await api.post("/group/get_group_member_list", {**body, "filter": 6}, token=alice))["errCode"] == 1001


async def test_members_info_and_ids(api: Api) -> None:
    """get_group_members_info ([] when none match), get_group_member_user_id and the full ID list with its hash."""
    (alice, _) = await _users(api, "alice", "owner")
    storage, now = api.runtime.storage, _now(api)
    await make_group(storage, "g", "owner", ["alice", "carl"], now=now)
    data = await api.ok("/group/get_group_members_info", {"groupID": "g", "userIDs": ["carl", "x"]}, token=alice)
    assert data == {"members": [_member_info("g", "carl", 20, now + 2, nickname="")]}
    data = await api.ok("/group/get_group_members_info", {"groupID": "g", "userIDs": ["x"]}, token=alice)
    assert data == {"members": []}
    assert (await api.post("/group/get_group_members_info", {"groupID": "g", "userIDs": []}, token=alice))[
        "errCode"
    ] == 1001
    ids = ["owner", "alice", "carl"]
    assert await api.ok("/group/get_group_member_user_id", {"groupID": "g"}, token=alice) == {"userIDs": ids}
    full = await api.ok("/group/get_full_group_member_user_ids", {"idHash": 0, "groupID": "g"}, token=alice)
    assert (full["userIDs"], full["equal"], full["version"]) == (ids, False, 1)
    same = {"idHash": id_hash(ids), "groupID": "g"}
    assert await api.ok("/group/get_full_group_member_user_ids", same, token=alice) == {
        **full,
        "equal": True,
        "userIDs": None,
    }


async def test_incremental_group_members(api: Api) -> None:
    """Full first (with the group), then empty when unchanged; a join is an insert with the group; a rename
    sends only the group; a dismissed group is 1204."""
    (alice, _) = await _users(api, "alice", "owner")
    storage, now = api.runtime.storage, _now(api)
    await make_group(storage, "g", "owner", ["alice"], now=now)
    first = await api.ok(
        "/group/get_incremental_group_members", {"groupID": "g", "versionID": "", "version": 0}, token=alice
    )
    assert first == {
        "version": 1,
        "versionID": first["versionID"],
        "full": True,
        "delete": None,
        "insert": None,
        "update": None,
        "group": _group_info("g", "owner", 2, now),
        "sortVersion": 0,
    }
    since = {"groupID": "g", "versionID": first["versionID"], "version": 1}
    same = await api.ok("/group/get_incremental_group_members", since, token=alice)
    assert same == {**first, "full": False, "group": None}
    await add_member(storage, "g", "bob", now=now + 5)
    data = await api.ok("/group/get_incremental_group_members", since, token=alice)
    assert data["version"] == 2
    assert data["insert"] == [
        _member_info("g", "bob", 20, now + 5, nickname="", joinSource=3, operatorUserID="bob", inviterUserID="")
    ]
    assert data["group"] == _group_info("g", "owner", 3, now)
    await rename_group(storage, "g", "renamed", now=now)
    data = await api.ok("/group/get_incremental_group_members", {**since, "version": 2}, token=alice)
    assert (data["insert"], data["update"], data["delete"], data["version"]) == (None, None, None, 3)
    assert data["group"]["groupName"] == "renamed"
    await dismiss_group(storage, "g", now=now)
    result = await api.post("/group/get_incremental_group_members", since, token=alice)
    assert result["errCode"] == 1204


async def test_batch_member_sync(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch answers each readable group once, skips others, and stops once the change limit is reached."""
    (alice, _) = await _users(api, "alice", "owner")
    storage, now = api.runtime.storage, _now(api)
    await make_group(storage, "g1", "owner", ["alice"], now=now)
    await make_group(storage, "g2", "owner", ["alice"], now=now)
    await make_group(storage, "g3", "owner", now=now)  # alice is not a member
    await make_group(storage, "g4", "owner", ["alice"], now=now)
    await dismiss_group(storage, "g4", now=now)
    reqs = [{"groupID": g, "versionID": "", "version": 0} for g in ("g1", "g1", "g2", "g3", "g4")]
    data = await api.ok("/group/get_incremental_group_members_batch", {"userID": "alice", "reqList": reqs}, token=alice)
    assert sorted(data["respList"]) == ["g1", "g2"]
    assert data["respList"]["g1"]["full"] is True
    assert data["respList"]["g1"]["group"]["groupID"] == "g1"
    g1 = data["respList"]["g1"]
    await add_member(storage, "g1", "bob", now=now)
    await add_member(storage, "g2", "bob", now=now)
    monkeypatch.setattr(openim.services.group.read, "BATCH_SYNC_LIMIT", 1)
    since = [{"groupID": g, "versionID": data["respList"][g]["versionID"], "version": 1} for g in ("g1", "g2")]
    data = await api.ok(
        "/group/get_incremental_group_members_batch", {"userID": "alice", "reqList": since}, token=alice
    )
    assert list(data["respList"]) == ["g1"]
    assert [m["userID"] for m in data["respList"]["g1"]["insert"]] == ["bob"]
    assert data["respList"]["g1"]["versionID"] == g1["versionID"]
    result = await api.post(
        "/group/get_incremental_group_members_batch", {"userID": "owner", "reqList": reqs}, token=alice
    )
    assert result["errCode"] == 1002


# --- group requests ----------------------------------------------------------------------------------------


async def test_group_requests(api: Api) -> None:
    """Request lists carry the applicant's public profile and the GroupInfo; owners see requests to their groups."""
    (alice, owner, bob) = await _users(api, "alice", "owner", "bob")
    storage, now = api.runtime.storage, _now(api)
    await make_group(storage, "g", "owner", ["bob"], now=now)
    await make_group_request(storage, "g", "alice", now=now + 1, req_msg="me too", ex="e")
    request = {
        "userInfo": {"userID": "alice", "nickname": "nick-alice", "faceURL": "", "ex": ""},
        "groupInfo": _group_info("g", "owner", 2, now),
        "handleResult": 0,
        "reqMsg": "me too",
        "handleMsg": "",
        "reqTime": now + 1,
        "handleUserID": "",
        "handleTime": 0,
        "ex": "e",
        "joinSource": 3,
        "inviterUserID": "",
    }
    expected = {"total": 1, "groupRequests": [request]}
    body = {"groupID": "g", "userID": "alice"}
    assert await api.ok("/group/get_specified_user_group_request_info", body, token=alice) == expected
    assert await api.ok("/group/get_specified_user_group_request_info", body, token=owner) == expected
    assert (await api.post("/group/get_specified_user_group_request_info", body, token=bob))["errCode"] == 1002
    none = await api.ok("/group/get_specified_user_group_request_info", {"groupID": "g", "userID": "bob"}, token=bob)
    assert none == {"total": 0, "groupRequests": None}
    recv = {"pagination": PAGE, "fromUserID": "owner"}
    assert await api.ok("/group/get_recv_group_applicationList", recv, token=owner) == expected
    filtered = {**recv, "groupIDs": ["g"], "handleResults": [1]}
    assert await api.ok("/group/get_recv_group_applicationList", filtered, token=owner) == {
        "total": 0,
        "groupRequests": None,
    }
    as_bob = {"pagination": PAGE, "fromUserID": "bob", "groupIDs": ["g"]}
    assert (await api.post("/group/get_recv_group_applicationList", as_bob, token=bob))["errCode"] == 1002
    mine = {"pagination": PAGE, "userID": "alice"}
    assert await api.ok("/group/get_user_req_group_applicationList", mine, token=alice) == expected
    count = await api.ok("/group/get_group_application_unhandled_count", {"userID": "owner", "time": 0}, token=owner)
    assert count == {"count": 1}


# --- access ------------------------------------------------------------------------------------------------


async def test_non_member_cannot_read_members(api: Api) -> None:
    """A user outside the group gets 1002 from every member route; an imAdmin may read them."""
    (eve, _) = await _users(api, "eve", "owner")
    admin = await api.admin_token()
    await make_group(api.runtime.storage, "g", "owner", ["m"], now=_now(api))
    cases: list[tuple[str, dict[str, Any]]] = [
        ("/group/get_group_member_list", {"pagination": PAGE, "groupID": "g"}),
        ("/group/get_group_members_info", {"groupID": "g", "userIDs": ["m"]}),
        ("/group/get_group_member_user_id", {"groupID": "g"}),
        ("/group/get_full_group_member_user_ids", {"groupID": "g", "idHash": 0}),
        ("/group/get_incremental_group_members", {"groupID": "g"}),
    ]
    for path, body in cases:
        assert (await api.post(path, body, token=eve))["errCode"] == 1002, path
        assert (await api.post(path, body, token=admin))["errCode"] == 0, path


async def test_user_cannot_read_another_users_groups(api: Api) -> None:
    """Bob reading Alice's joined groups, sync state or requests gets 1002; an imAdmin may."""
    (_, bob) = await _users(api, "alice", "bob")
    admin = await api.admin_token()
    await make_group(api.runtime.storage, "g", "alice", now=_now(api))
    cases: list[tuple[str, dict[str, Any]]] = [
        ("/group/get_incremental_join_groups", {"userID": "alice"}),
        ("/group/get_full_join_group_ids", {"userID": "alice", "idHash": 0}),
        ("/group/get_joined_group_list", {"pagination": PAGE, "fromUserID": "alice"}),
        ("/group/get_recv_group_applicationList", {"pagination": PAGE, "fromUserID": "alice"}),
        ("/group/get_user_req_group_applicationList", {"pagination": PAGE, "userID": "alice"}),
        ("/group/get_group_application_unhandled_count", {"userID": "alice"}),
    ]
    for path, body in cases:
        assert (await api.post(path, body, token=bob))["errCode"] == 1002, path
        assert (await api.post(path, body, token=admin))["errCode"] == 0, path


async def test_unknown_group_for_admin_is_1004(api: Api) -> None:
    """An imAdmin syncing the members of a group that does not exist gets RecordNotFound."""
    admin = await api.admin_token()
    result = await api.post("/group/get_incremental_group_members", {"groupID": "nope"}, token=admin)
    assert result["errCode"] == 1004


# --- the write routes ----------------------------------------------------------------------------------------


async def _group(api: Api, owner_token: str, **info: Any) -> dict[str, Any]:
    body = {
        "ownerUserID": "owner",
        "adminUserIDs": ["adm"],
        "memberUserIDs": ["bob"],
        "groupInfo": {"groupType": 2, "groupName": "team", **info},
    }
    data: dict[str, Any] = await api.ok("/group/create_group", body, token=owner_token)
    return data["groupInfo"]


async def test_create_group_over_http(api: Api) -> None:
    """create_group answers the whole GroupInfo (decimal groupID, memberCount 3); the members see the group."""
    (owner, bob, _) = await _users(api, "owner", "bob", "adm")
    info = await _group(api, owner, introduction="intro", ex="x", needVerification=1)
    now = _now(api)
    assert info == {
        **_group_info(info["groupID"], "owner", 3, now, groupName="team", introduction="intro", ex="x"),
        "needVerification": 1,
    }
    assert info["groupID"].isdigit()
    joined = await api.ok("/group/get_joined_group_list", {"pagination": PAGE, "fromUserID": "bob"}, token=bob)
    assert joined["total"] == 1 and joined["groups"][0]["groupID"] == info["groupID"]
    members = await api.ok("/group/get_group_member_list", {"pagination": PAGE, "groupID": info["groupID"]}, token=bob)
    assert [(m["userID"], m["roleLevel"]) for m in members["members"]] == [("owner", 100), ("adm", 60), ("bob", 20)]
    assert members["members"][2]["inviterUserID"] == "owner" and members["members"][2]["joinSource"] == 2


async def test_create_group_errors_over_http(api: Api) -> None:
    """1001 (type, duplicates, a string for a list), 1101 (unknown user), 1202 (groupID taken), 1002 (another
    owner than oneself)."""
    (owner, bob, _) = await _users(api, "owner", "bob", "adm")
    info = await _group(api, owner)
    cases = [
        ({"ownerUserID": "owner", "groupInfo": {"groupType": 0}}, owner, 1001),
        ({"ownerUserID": "owner", "groupInfo": {"groupType": 2}, "memberUserIDs": ["bob", "bob"]}, owner, 1001),
        ({"ownerUserID": "owner", "groupInfo": {"groupType": 2}, "memberUserIDs": "bob"}, owner, 1001),
        ({"ownerUserID": "owner", "groupInfo": {"groupType": 2}, "memberUserIDs": ["ghost"]}, owner, 1101),
        ({"ownerUserID": "owner", "groupInfo": {"groupType": 2, "groupID": info["groupID"]}}, owner, 1202),
        ({"ownerUserID": "owner", "groupInfo": {"groupType": 2}}, bob, 1002),
    ]
    for body, token, code in cases:
        assert (await api.post("/group/create_group", body, token=token))["errCode"] == code, body


async def test_write_routes_round_trip(api: Api) -> None:
    """Every write route over HTTP, as the SDKs call them: success has no `data`; the changes read back."""
    (owner, bob, adm, carol) = await _users(api, "owner", "bob", "adm", "carol")
    gid = (await _group(api, owner))["groupID"]

    async def ok(path: str, body: dict[str, Any], token: str) -> None:
        result = await api.post(path, {"groupID": gid, **body}, token=token)
        assert result["errCode"] == 0 and "data" not in result, (path, result)

    await ok("/group/set_group_info_ex", {"groupName": None, "introduction": "new", "needVerification": 0}, adm)
    await ok("/group/set_group_info", {"groupInfoForSet": {"groupID": gid, "groupName": "renamed", "ex": "e"}}, adm)
    await ok("/group/join_group", {"reqMessage": "hi", "joinSource": 3, "inviterUserID": "carol"}, carol)
    requests = await api.ok(
        "/group/get_group_users_req_application_list", {"groupID": gid, "userIDs": ["carol"]}, token=adm
    )
    assert requests["total"] == 1 and requests["groupRequests"][0]["userInfo"]["userID"] == "carol"
    await ok("/group/group_application_response", {"fromUserID": "carol", "handleResult": 1, "handledMsg": "ok"}, adm)
    await ok("/group/set_group_member_info", {"members": [{"groupID": gid, "userID": "carol", "roleLevel": 60}]}, owner)
    await ok("/group/mute_group_member", {"userID": "bob", "mutedSeconds": 60}, adm)
    await ok("/group/cancel_mute_group_member", {"userID": "bob"}, adm)
    await ok("/group/mute_group", {}, adm)
    await ok("/group/cancel_mute_group", {}, owner)
    abstract = await api.ok("/group/get_group_abstract_info", {"groupIDs": [gid]}, token=bob)
    (entry,) = abstract["groupAbstractInfos"]
    assert entry["groupID"] == gid and entry["groupMemberNumber"] == 4 and isinstance(entry["groupMemberListHash"], int)
    await ok("/group/transfer_group", {"oldOwnerUserID": "owner", "newOwnerUserID": "adm"}, owner)
    await ok("/group/kick_group", {"kickedUserIDs": ["carol"], "reason": "r"}, adm)
    await ok("/group/invite_user_to_group", {"invitedUserIDs": ["carol"], "reason": "back"}, bob)
    await ok("/group/quit_group", {"userID": ""}, carol)
    members = await api.ok("/group/get_group_members_info", {"groupID": gid, "userIDs": ["adm", "owner"]}, token=bob)
    assert {m["userID"]: m["roleLevel"] for m in members["members"]} == {"adm": 100, "owner": 60}
    info = (await api.ok("/group/get_groups_info", {"groupIDs": [gid]}, token=bob))["groupInfos"][0]
    assert (info["groupName"], info["introduction"], info["ex"], info["ownerUserID"]) == ("renamed", "new", "e", "adm")
    await ok("/group/dismiss_group", {"deleteMember": False}, adm)
    assert (await api.post("/group/quit_group", {"groupID": gid}, token=bob))["errCode"] == 1004
    assert (await api.post("/group/dismiss_group", {"groupID": gid}, token=adm))["errCode"] == 1204


async def test_member_cannot_promote_itself_over_http(api: Api) -> None:
    """OpenIM #2728 over HTTP: roleLevel 60 on oneself is 1002 and the role stays 20."""
    (owner, bob, _) = await _users(api, "owner", "bob", "adm")
    gid = (await _group(api, owner))["groupID"]
    body = {"members": [{"groupID": gid, "userID": "bob", "roleLevel": 60}]}
    assert (await api.post("/group/set_group_member_info", body, token=bob))["errCode"] == 1002
    members = await api.ok("/group/get_group_members_info", {"groupID": gid, "userIDs": ["bob"]}, token=bob)
    assert members["members"][0]["roleLevel"] == 20


async def test_bad_numbers_are_1001(api: Api) -> None:
    """Out-of-range or mistyped numbers (mutedSeconds, roleLevel, handleResult) are 1001 before any rule."""
    (owner, _, _) = await _users(api, "owner", "bob", "adm")
    gid = (await _group(api, owner))["groupID"]
    cases: list[tuple[str, dict[str, Any]]] = [
        ("/group/mute_group_member", {"groupID": gid, "userID": "bob", "mutedSeconds": -1}),
        ("/group/mute_group_member", {"groupID": gid, "userID": "bob", "mutedSeconds": 2**32}),
        ("/group/mute_group_member", {"groupID": gid, "userID": "bob", "mutedSeconds": 0}),
        ("/group/set_group_member_info", {"members": [{"groupID": gid, "userID": "bob", "roleLevel": "60"}]}),
        ("/group/group_application_response", {"groupID": gid, "fromUserID": "bob", "handleResult": 2}),
        ("/group/join_group", {"groupID": gid, "joinSource": 9}),
        ("/group/invite_user_to_group", {"groupID": gid, "invitedUserIDs": None}),
        ("/group/kick_group", {"groupID": gid, "kickedUserIDs": []}),
        ("/group/get_group_abstract_info", {"groupIDs": []}),
    ]
    for path, body in cases:
        assert (await api.post(path, body, token=owner))["errCode"] == 1001, (path, body)


async def test_outsider_can_change_nothing(api: Api) -> None:
    """A user outside the group gets an error from every write route and every member read, and the group is
    unchanged; the same calls by the owner succeed (so the sweep is not vacuous)."""
    (owner, _, _, eve) = await _users(api, "owner", "bob", "adm", "eve")
    gid = (await _group(api, owner))["groupID"]
    members = {"members": [{"groupID": gid, "userID": "bob", "nickname": "x"}]}
    cases: list[tuple[str, dict[str, Any]]] = [
        ("/group/set_group_info", {"groupInfoForSet": {"groupID": gid, "groupName": "mine"}}),
        ("/group/set_group_info_ex", {"groupID": gid, "groupName": "mine"}),
        ("/group/set_group_member_info", members),
        ("/group/mute_group_member", {"groupID": gid, "userID": "bob", "mutedSeconds": 60}),
        ("/group/cancel_mute_group_member", {"groupID": gid, "userID": "bob"}),
        ("/group/mute_group", {"groupID": gid}),
        ("/group/cancel_mute_group", {"groupID": gid}),
        ("/group/get_group_abstract_info", {"groupIDs": [gid]}),
        ("/group/get_group_users_req_application_list", {"groupID": gid, "userIDs": ["bob"]}),
        ("/group/get_group_member_list", {"pagination": PAGE, "groupID": gid}),
        ("/group/get_groups", {"pagination": PAGE, "groupName": "team"}),
        ("/group/invite_user_to_group", {"groupID": gid, "invitedUserIDs": ["eve"]}),
        ("/group/kick_group", {"groupID": gid, "kickedUserIDs": ["bob"]}),
        ("/group/quit_group", {"groupID": gid, "userID": "bob"}),
        ("/group/transfer_group", {"groupID": gid, "oldOwnerUserID": "owner", "newOwnerUserID": "bob"}),
        ("/group/dismiss_group", {"groupID": gid}),
        ("/group/join_group", {"groupID": gid, "joinSource": 3, "inviterUserID": "bob"}),
    ]
    for path, body in cases:
        result = await api.post(path, body, token=eve)
        assert result["errCode"] == 1002 and "data" not in result, (path, result)
    data = await api.ok("/group/get_group_member_list", {"pagination": PAGE, "groupID": gid}, token=owner)
    assert [(m["userID"], m["nickname"], m["muteEndTime"]) for m in data["members"]] == [
        ("owner", "nick-owner", 0),
        ("adm", "nick-adm", 0),
        ("bob", "nick-bob", 0),
    ]
    info = (await api.ok("/group/get_groups_info", {"groupIDs": [gid]}, token=eve))["groupInfos"][0]
    assert (info["groupName"], info["status"]) == ("team", 0)
    for path, body in cases[:10]:
        assert (await api.post(path, body, token=owner))["errCode"] == 0 or path == "/group/get_groups", path


async def test_get_groups_for_admins(api: Api) -> None:
    """The admin console's get_groups: {groupInfo, groupOwnerUserName, groupOwnerUserID} by name or by groupID."""
    (owner, _, _) = await _users(api, "owner", "bob", "adm")
    admin = await api.admin_token()
    gid = (await _group(api, owner))["groupID"]
    data = await api.ok("/group/get_groups", {"pagination": PAGE, "groupName": "tea"}, token=admin)
    assert data["total"] == 1
    (entry,) = data["groups"]
    assert (entry["groupOwnerUserID"], entry["groupOwnerUserName"]) == ("owner", "nick-owner")
    assert entry["groupInfo"]["groupID"] == gid and entry["groupInfo"]["memberCount"] == 3
    data = await api.ok("/group/get_groups", {"pagination": PAGE, "groupID": "nope"}, token=admin)
    assert data == {"total": 0, "groups": None}
    assert (await api.post("/group/get_groups", {"groupName": "tea"}, token=admin))["errCode"] == 1001
