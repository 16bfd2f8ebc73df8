"""/friend read routes over HTTP: the SDK login calls on an empty account, rows read back, sync, access rules."""

from __future__ import annotations

import re
from typing import Any

from tests.api.conftest import Api
from tests.factories import make_black, make_friend, make_friend_request, pin_friend, unfriend

from openim.protocol.idhash import id_hash

PAGE = {"pageNumber": 1, "showNumber": 100}
VERSION_ID = re.compile(r"[0-9a-f]{24}")


async def _alice(api: Api, *others: str) -> str:
    await api.register("alice", *others)
    return await api.user_token("alice")


def _now(api: Api) -> int:
    return api.runtime.clock.now_ms()


def _friend_info(owner: str, user_id: str, create_ms: int, **extra: Any) -> dict[str, Any]:
    return {
        "ownerUserID": owner,
        "remark": "",
        "createTime": create_ms // 1000,
        "friendUser": {
            "userID": user_id,
            "nickname": f"nick-{user_id}",
            "faceURL": "",
            "ex": "",
            "createTime": 0,
            "appMangerLevel": 0,
            "globalRecvMsgOpt": 0,
        },
        "addSource": 1,
        "operatorUserID": "",
        "ex": "",
        "isPinned": False,
        **extra,
    }


# --- the login sequence on an empty account (what OpenIM's SDKs call at login) ----------------------------------------


async def test_first_incremental_sync_is_full_with_a_real_version(api: Api) -> None:
    """The SDK's first get_incremental_friends (version 0, no versionID) gets full=true, version 1, null lists."""
    alice = await _alice(api)
    data = await api.ok(
        "/friend/get_incremental_friends", {"userID": "alice", "version": 0, "versionID": ""}, token=alice
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


async def test_incremental_sync_is_stable_when_nothing_changed(api: Api) -> None:
    """Asking again with the versionID and version just received: same versionID and version, no changes."""
    alice = await _alice(api)
    first = await api.ok("/friend/get_incremental_friends", {"userID": "alice", "versionID": ""}, token=alice)
    again = {"userID": "alice", "versionID": first["versionID"], "version": first["version"]}
    for _ in range(2):
        data = await api.ok("/friend/get_incremental_friends", again, token=alice)
        assert data == {**first, "full": False}


async def test_full_friend_ids_of_an_empty_account(api: Api) -> None:
    """No friends hash to 0, so the SDK's idHash 0 is `equal` with null IDs; another hash gets [] (as OpenIM)."""
    alice = await _alice(api)
    sync = await api.ok("/friend/get_incremental_friends", {"userID": "alice"}, token=alice)
    data = await api.ok("/friend/get_full_friend_user_ids", {"idHash": 0, "userID": "alice"}, token=alice)
    assert data == {"version": 1, "versionID": sync["versionID"], "equal": True, "userIDs": None}
    data = await api.ok("/friend/get_full_friend_user_ids", {"idHash": 42, "userID": "alice"}, token=alice)
    assert data == {"version": 1, "versionID": sync["versionID"], "equal": False, "userIDs": []}


async def test_empty_lists_are_null(api: Api) -> None:
    """Friend list, blacklist, requests and designated friends of an empty account: null lists, total 0."""
    alice = await _alice(api, "bob")
    cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("/friend/get_friend_list", {"pagination": PAGE, "userID": "alice"}, {"friendsInfo": None, "total": 0}),
        ("/friend/get_black_list", {"userID": "alice", "pagination": PAGE}, {"blacks": None, "total": 0}),
        ("/friend/get_designated_friends", {"ownerUserID": "alice", "friendUserIDs": ["bob"]}, {"friendsInfo": None}),
        (
            "/friend/get_friend_apply_list",
            {"userID": "alice", "pagination": PAGE},
            {"FriendRequests": None, "total": 0},
        ),
        (
            "/friend/get_self_friend_apply_list",
            {"userID": "alice", "pagination": PAGE},
            {"friendRequests": None, "total": 0},
        ),
        ("/friend/get_designated_friend_apply", {"fromUserID": "alice", "toUserID": "bob"}, {"friendRequests": None}),
        ("/friend/get_self_unhandled_apply_count", {"userID": "alice", "time": 0}, {"count": 0}),
        ("/friend/get_friend_id", {"userID": "alice"}, {"friendIDs": []}),
        (
            "/friend/is_friend",
            {"userID1": "alice", "userID2": "bob"},
            {"inUser1Friends": False, "inUser2Friends": False},
        ),
        ("/friend/get_specified_blacks", {"ownerUserID": "alice", "userIDList": ["bob"]}, {"blacks": [], "total": 0}),
    ]
    for path, body, expected in cases:
        assert await api.ok(path, body, token=alice) == expected, path


# --- rows read back ----------------------------------------------------------------------------------------


async def test_friend_list_reads_rows_with_profiles(api: Api) -> None:
    """get_friend_list: FriendInfo with createTime in seconds and the friend's public profile, pinned first."""
    alice = await _alice(api, "bob", "carol")
    now = _now(api)
    storage = api.runtime.storage
    await make_friend(storage, "alice", "bob", now=now, remark="B", ex="{}")
    await make_friend(storage, "alice", "carol", now=now + 5000, is_pinned=True, operator="imAdmin")
    data = await api.ok("/friend/get_friend_list", {"pagination": PAGE, "userID": "alice"}, token=alice)
    assert data == {
        "friendsInfo": [
            _friend_info("alice", "carol", now + 5000, isPinned=True, operatorUserID="imAdmin"),
            _friend_info("alice", "bob", now, remark="B", ex="{}"),
        ],
        "total": 2,
    }
    page2 = await api.ok(
        "/friend/get_friend_list", {"pagination": {"pageNumber": 2, "showNumber": 1}, "userID": "alice"}, token=alice
    )
    assert [f["friendUser"]["userID"] for f in page2["friendsInfo"]] == ["bob"]
    assert page2["total"] == 2


async def test_designated_friends_and_is_friend(api: Api) -> None:
    """Designated friends skip non-friends and reject repeats; is_friend reports each direction."""
    alice = await _alice(api, "bob", "carol")
    await make_friend(api.runtime.storage, "alice", "bob", now=_now(api))
    body = {"ownerUserID": "alice", "friendUserIDs": ["carol", "bob"]}
    data = await api.ok("/friend/get_designated_friends", body, token=alice)
    assert [f["friendUser"]["userID"] for f in data["friendsInfo"]] == ["bob"]
    result = await api.post(
        "/friend/get_designated_friends", {"ownerUserID": "alice", "friendUserIDs": ["bob", "bob"]}, token=alice
    )
    assert result["errCode"] == 1001
    result = await api.post("/friend/get_designated_friends", {"ownerUserID": "alice"}, token=alice)
    assert result["errCode"] == 1001
    data = await api.ok("/friend/is_friend", {"userID1": "bob", "userID2": "alice"}, token=alice)
    assert data == {"inUser1Friends": False, "inUser2Friends": True}
    assert await api.ok("/friend/get_friend_id", {"userID": "alice"}, token=alice) == {"friendIDs": ["bob"]}


async def test_incremental_friends_reports_inserts_updates_deletes(api: Api) -> None:
    """After the first sync, each change shows up once, with the new version; a pin sets sortVersion."""
    alice = await _alice(api, "bob", "carol")
    storage = api.runtime.storage
    now = _now(api)
    base = await api.ok("/friend/get_incremental_friends", {"userID": "alice"}, token=alice)
    await make_friend(storage, "alice", "bob", now=now)
    since = {"userID": "alice", "versionID": base["versionID"], "version": base["version"]}
    data = await api.ok("/friend/get_incremental_friends", since, token=alice)
    assert data == {
        "version": 2,
        "versionID": base["versionID"],
        "full": False,
        "delete": None,
        "insert": [_friend_info("alice", "bob", now)],
        "update": None,
        "sortVersion": 0,
    }
    await pin_friend(storage, "alice", "bob", now=now)
    data = await api.ok("/friend/get_incremental_friends", {**since, "version": 2}, token=alice)
    assert (data["version"], data["insert"], data["delete"], data["sortVersion"]) == (3, None, None, 3)
    assert data["update"] == [_friend_info("alice", "bob", now, isPinned=True)]
    await make_friend(storage, "alice", "carol", now=now)
    await unfriend(storage, "alice", "bob", now=now)
    data = await api.ok("/friend/get_incremental_friends", {**since, "version": 3}, token=alice)
    assert data["delete"] == ["bob"]
    assert [f["friendUser"]["userID"] for f in data["insert"]] == ["carol"]
    assert (data["version"], data["update"], data["sortVersion"]) == (5, None, 0)


async def test_incremental_friends_full_on_foreign_or_bad_version(api: Api) -> None:
    """Another log's versionID, a malformed one, or a version ahead of the log all answer full=true."""
    alice = await _alice(api)
    base = await api.ok("/friend/get_incremental_friends", {"userID": "alice"}, token=alice)
    for since in [
        {"versionID": "0123456789abcdef01234567", "version": 1},
        {"versionID": "not-an-object-id", "version": 1},
        {"versionID": base["versionID"], "version": 9},
    ]:
        data = await api.ok("/friend/get_incremental_friends", {"userID": "alice", **since}, token=alice)
        assert data == {**base, "full": True}, since
    result = await api.post("/friend/get_incremental_friends", {"userID": "alice", "version": -1}, token=alice)
    assert result["errCode"] == 1001


async def test_full_friend_ids_and_id_hash(api: Api) -> None:
    """get_full_friend_user_ids lists friends in friend order; the hash of that list is `equal` with null IDs."""
    alice = await _alice(api, "bob", "carol")
    now = _now(api)
    await make_friend(api.runtime.storage, "alice", "bob", now=now)
    await make_friend(api.runtime.storage, "alice", "carol", now=now + 1, is_pinned=True)
    data = await api.ok("/friend/get_full_friend_user_ids", {"idHash": 0, "userID": "alice"}, token=alice)
    assert (data["equal"], data["userIDs"], data["version"]) == (False, ["carol", "bob"], 2)
    same = await api.ok(
        "/friend/get_full_friend_user_ids", {"idHash": id_hash(["carol", "bob"]), "userID": "alice"}, token=alice
    )
    assert same == {**data, "equal": True, "userIDs": None}
    big = await api.ok("/friend/get_full_friend_user_ids", {"idHash": 2**64 - 1, "userID": "alice"}, token=alice)
    assert big["equal"] is False


async def test_friend_requests(api: Api) -> None:
    """Apply lists carry both users' profiles and ms times, newest first; filters and counts work."""
    alice = await _alice(api, "bob", "carol")
    storage = api.runtime.storage
    now = _now(api)
    await make_friend_request(storage, "bob", "alice", now=now, req_msg="hi", ex="e")
    await make_friend_request(
        storage, "carol", "alice", now=now + 1, handle_result=-1, handler="alice", handle_time=now + 2
    )
    await make_friend_request(storage, "alice", "carol", now=now + 3)
    data = await api.ok("/friend/get_friend_apply_list", {"userID": "alice", "pagination": PAGE}, token=alice)
    assert data["total"] == 2
    assert data["FriendRequests"][1] == {
        "fromUserID": "bob",
        "fromNickname": "nick-bob",
        "fromFaceURL": "",
        "toUserID": "alice",
        "toNickname": "nick-alice",
        "toFaceURL": "",
        "handleResult": 0,
        "reqMsg": "hi",
        "createTime": now,
        "handlerUserID": "",
        "handleMsg": "",
        "handleTime": 0,
        "ex": "e",
    }
    assert data["FriendRequests"][0]["handleTime"] == now + 2
    pending = await api.ok(
        "/friend/get_friend_apply_list", {"userID": "alice", "pagination": PAGE, "handleResults": [0]}, token=alice
    )
    assert [r["fromUserID"] for r in pending["FriendRequests"]] == ["bob"]
    mine = await api.ok("/friend/get_self_friend_apply_list", {"userID": "alice", "pagination": PAGE}, token=alice)
    assert (mine["total"], [r["toUserID"] for r in mine["friendRequests"]]) == (1, ["carol"])
    both = await api.ok(
        "/friend/get_designated_friend_apply", {"fromUserID": "carol", "toUserID": "alice"}, token=alice
    )
    assert [(r["fromUserID"], r["toUserID"]) for r in both["friendRequests"]] == [
        ("alice", "carol"),
        ("carol", "alice"),
    ]
    count = await api.ok("/friend/get_self_unhandled_apply_count", {"userID": "alice", "time": 0}, token=alice)
    assert count == {"count": 1}
    count = await api.ok("/friend/get_self_unhandled_apply_count", {"userID": "alice", "time": now}, token=alice)
    assert count == {"count": 0}
    result = await api.post("/friend/get_friend_apply_list", {"userID": "alice"}, token=alice)
    assert result["errCode"] == 1001


async def test_blacks(api: Api) -> None:
    """get_black_list reports createTime in seconds, get_specified_blacks in ms; both with the public profile."""
    alice = await _alice(api, "bob", "carol")
    now = _now(api)
    await make_black(api.runtime.storage, "alice", "bob", now=now, ex="x")
    info = {
        "ownerUserID": "alice",
        "createTime": now // 1000,
        "blackUserInfo": {"userID": "bob", "nickname": "nick-bob", "faceURL": "", "ex": ""},
        "addSource": 0,
        "operatorUserID": "alice",
        "ex": "x",
    }
    data = await api.ok("/friend/get_black_list", {"userID": "alice", "pagination": PAGE}, token=alice)
    assert data == {"blacks": [info], "total": 1}
    data = await api.ok(
        "/friend/get_specified_blacks", {"ownerUserID": "alice", "userIDList": ["carol", "bob"]}, token=alice
    )
    assert data == {"blacks": [{**info, "createTime": now}], "total": 1}
    for ids in ([], ["bob", "bob"]):
        result = await api.post(
            "/friend/get_specified_blacks", {"ownerUserID": "alice", "userIDList": ids}, token=alice
        )
        assert result["errCode"] == 1001, ids


async def test_incremental_blacks(api: Api) -> None:
    """get_incremental_blacks (unimplemented in OpenIM) answers from the `black` version log."""
    alice = await _alice(api, "bob")
    base = await api.ok("/friend/get_incremental_blacks", {"userID": "alice"}, token=alice)
    assert base == {
        "version": 1,
        "versionID": base["versionID"],
        "full": True,
        "delete": None,
        "insert": None,
        "update": None,
    }
    await make_black(api.runtime.storage, "alice", "bob", now=_now(api))
    since = {"userID": "alice", "versionID": base["versionID"], "version": 1}
    data = await api.ok("/friend/get_incremental_blacks", since, token=alice)
    assert (data["full"], data["version"], data["delete"], data["update"]) == (False, 2, None, None)
    assert [b["blackUserInfo"]["userID"] for b in data["insert"]] == ["bob"]
    assert data["insert"][0]["createTime"] == _now(api) // 1000


# --- access ------------------------------------------------------------------------------------------------


async def test_user_cannot_read_another_users_relations(api: Api) -> None:
    """Bob reading Alice's friends, blacks, requests or sync state gets 1002 (OpenIM #3314); an admin may."""
    await api.register("alice", "bob", "carol")
    bob = await api.user_token("bob")
    admin = await api.admin_token()
    await make_friend(api.runtime.storage, "alice", "carol", now=_now(api))
    cases: list[tuple[str, dict[str, Any]]] = [
        ("/friend/get_incremental_friends", {"userID": "alice"}),
        ("/friend/get_full_friend_user_ids", {"userID": "alice", "idHash": 0}),
        ("/friend/get_friend_list", {"userID": "alice", "pagination": PAGE}),
        ("/friend/get_designated_friends", {"ownerUserID": "alice", "friendUserIDs": ["carol"]}),
        ("/friend/get_friend_id", {"userID": "alice"}),
        ("/friend/is_friend", {"userID1": "alice", "userID2": "carol"}),
        ("/friend/get_friend_apply_list", {"userID": "alice", "pagination": PAGE}),
        ("/friend/get_self_friend_apply_list", {"userID": "alice", "pagination": PAGE}),
        ("/friend/get_designated_friend_apply", {"fromUserID": "alice", "toUserID": "carol"}),
        ("/friend/get_self_unhandled_apply_count", {"userID": "alice"}),
        ("/friend/get_black_list", {"userID": "alice", "pagination": PAGE}),
        ("/friend/get_specified_blacks", {"ownerUserID": "alice", "userIDList": ["carol"]}),
        ("/friend/get_incremental_blacks", {"userID": "alice"}),
    ]
    for path, body in cases:
        result = await api.post(path, body, token=bob)
        assert result["errCode"] == 1002, path
        assert (await api.post(path, body, token=admin))["errCode"] == 0, path
    data = await api.ok("/friend/is_friend", {"userID1": "alice", "userID2": "bob"}, token=bob)
    assert data == {"inUser1Friends": False, "inUser2Friends": False}


async def test_missing_user_id_is_1001(api: Api) -> None:
    """Routes that answer for one user require its userID (OpenIM's Check())."""
    alice = await _alice(api)
    for path in ("/friend/get_incremental_friends", "/friend/get_full_friend_user_ids", "/friend/get_friend_id"):
        result = await api.post(path, {}, token=alice)
        assert result["errCode"] == 1001, path


# --- writes ------------------------------------------------------------------------------------------------


async def _users(api: Api, *user_ids: str) -> dict[str, str]:
    """Register the users and return a token for each."""
    await api.register(*user_ids)
    return {u: await api.user_token(u) for u in user_ids}


async def test_every_friend_route_is_served(api: Api) -> None:
    """All 22 /friend routes of OpenIM's router (the SDK's 21 plus get_incremental_blacks) are served."""
    spec = (await api.http.get("/openapi.json")).json()
    paths = {p for p in spec["paths"] if p.startswith("/friend/")}
    assert paths == {
        f"/friend/{name}"
        for name in (
            "add_friend",
            "add_friend_response",
            "delete_friend",
            "get_friend_apply_list",
            "get_self_friend_apply_list",
            "get_designated_friend_apply",
            "get_self_unhandled_apply_count",
            "get_friend_list",
            "get_designated_friends",
            "get_friend_id",
            "is_friend",
            "get_specified_friends_info",
            "set_friend_remark",
            "update_friends",
            "import_friend",
            "add_black",
            "remove_black",
            "get_black_list",
            "get_specified_blacks",
            "get_incremental_friends",
            "get_full_friend_user_ids",
            "get_incremental_blacks",
        )
    }


async def test_application_flow_over_http(api: Api) -> None:
    """A applies, B sees it and agrees: writes answer without data, both lists show each other, and each
    side's incremental sync from its previous version returns exactly the new friend."""
    t = await _users(api, "alice", "bob")
    base = {u: await api.ok("/friend/get_incremental_friends", {"userID": u}, token=t[u]) for u in ("alice", "bob")}
    result = await api.post(
        "/friend/add_friend", {"fromUserID": "alice", "toUserID": "bob", "reqMsg": "hi", "ex": ""}, token=t["alice"]
    )
    assert result == {"errCode": 0, "errMsg": "", "errDlt": ""}
    applies = await api.ok("/friend/get_friend_apply_list", {"userID": "bob", "pagination": PAGE}, token=t["bob"])
    assert (applies["total"], applies["FriendRequests"][0]["reqMsg"]) == (1, "hi")
    count = await api.ok("/friend/get_self_unhandled_apply_count", {"userID": "bob"}, token=t["bob"])
    assert count == {"count": 1}
    result = await api.post(
        "/friend/add_friend_response",
        {"fromUserID": "alice", "toUserID": "bob", "handleResult": 1, "handleMsg": "yes"},
        token=t["bob"],
    )
    assert result == {"errCode": 0, "errMsg": "", "errDlt": ""}
    for user, other in (("alice", "bob"), ("bob", "alice")):
        data = await api.ok("/friend/get_friend_list", {"userID": user, "pagination": PAGE}, token=t[user])
        assert [f["friendUser"]["userID"] for f in data["friendsInfo"]] == [other]
        assert data["friendsInfo"][0]["addSource"] == 2
        since = {"userID": user, "versionID": base[user]["versionID"], "version": base[user]["version"]}
        delta = await api.ok("/friend/get_incremental_friends", since, token=t[user])
        assert (delta["full"], delta["version"], delta["delete"], delta["update"]) == (False, 2, None, None)
        assert [f["friendUser"]["userID"] for f in delta["insert"]] == [other]
    data = await api.ok("/friend/is_friend", {"userID1": "alice", "userID2": "bob"}, token=t["alice"])
    assert data == {"inUser1Friends": True, "inUser2Friends": True}
    mine = await api.ok("/friend/get_self_friend_apply_list", {"userID": "alice", "pagination": PAGE}, token=t["alice"])
    request = mine["friendRequests"][0]
    assert (request["handleResult"], request["handlerUserID"], request["handleMsg"]) == (1, "bob", "yes")


async def test_application_error_codes(api: Api) -> None:
    """1301 to oneself, 1004 unknown user, 1304 already friends, 1004 no request, 1001 bad handleResult or
    agreeing twice, 1305 refusing a handled request, 1001 missing IDs."""
    t = await _users(api, "alice", "bob")
    a, b = t["alice"], t["bob"]
    cases: list[tuple[str, dict[str, Any], str, int]] = [
        ("/friend/add_friend", {"fromUserID": "alice", "toUserID": "alice"}, a, 1301),
        ("/friend/add_friend", {"fromUserID": "alice", "toUserID": "ghost"}, a, 1004),
        ("/friend/add_friend", {"fromUserID": "alice"}, a, 1001),
        ("/friend/add_friend_response", {"fromUserID": "alice", "toUserID": "bob", "handleResult": 1}, b, 1004),
    ]
    for path, body, token, code in cases:
        assert (await api.post(path, body, token=token))["errCode"] == code, (path, body)
    await api.ok("/friend/add_friend", {"fromUserID": "alice", "toUserID": "bob"}, token=a)
    respond = {"fromUserID": "alice", "toUserID": "bob"}
    assert (await api.post("/friend/add_friend_response", {**respond, "handleResult": 0}, token=b))["errCode"] == 1001
    await api.ok("/friend/add_friend_response", {**respond, "handleResult": -1, "handleMsg": "no"}, token=b)
    assert (await api.post("/friend/add_friend_response", {**respond, "handleResult": -1}, token=b))["errCode"] == 1305
    assert (await api.post("/friend/add_friend_response", {**respond, "handleResult": 1}, token=b))["errCode"] == 1001
    await api.ok("/friend/add_friend", {"fromUserID": "alice", "toUserID": "bob"}, token=a)
    await api.ok("/friend/add_friend_response", {**respond, "handleResult": 1}, token=b)
    result = await api.post("/friend/add_friend", {"fromUserID": "bob", "toUserID": "alice"}, token=b)
    assert result["errCode"] == 1304
    result = await api.post("/friend/add_friend_response", {**respond, "handleResult": 2**31}, token=b)  # not an int32
    assert result["errCode"] == 1001


async def test_friend_writes_over_http(api: Api) -> None:
    """delete is one-way, remark and update_friends (bare wrappers, 0/1 for isPinned) change only what they
    name, a non-friend is 1004, and get_specified_friends_info reports rows in ms with null sub-objects."""
    t = await _users(api, "alice", "bob", "carol")
    admin = await api.admin_token()
    await api.ok("/friend/import_friend", {"ownerUserID": "alice", "friendUserIDs": ["bob", "carol"]}, token=admin)
    a = t["alice"]
    await api.ok("/friend/set_friend_remark", {"ownerUserID": "alice", "friendUserID": "bob", "remark": "B"}, token=a)
    body = {"ownerUserID": "alice", "friendUserIDs": ["carol"], "isPinned": 1, "remark": None, "ex": "x"}
    await api.ok("/friend/update_friends", body, token=a)
    data = await api.ok("/friend/get_friend_list", {"userID": "alice", "pagination": PAGE}, token=a)
    assert [(f["friendUser"]["userID"], f["remark"], f["isPinned"], f["ex"]) for f in data["friendsInfo"]] == [
        ("carol", "", True, "x"),
        ("bob", "B", False, ""),
    ]
    await api.ok("/friend/update_friends", {**body, "isPinned": False, "ex": None}, token=a)
    ids = await api.ok("/friend/get_full_friend_user_ids", {"userID": "alice"}, token=a)
    assert ids["userIDs"] == ["bob", "carol"]
    for bad in ({**body, "isPinned": 2}, {**body, "isPinned": "true"}, {**body, "friendUserIDs": []}):
        assert (await api.post("/friend/update_friends", bad, token=a))["errCode"] == 1001, bad
    now = _now(api)
    data = await api.ok(
        "/friend/get_specified_friends_info", {"ownerUserID": "alice", "userIDList": ["bob", "ghost"]}, token=a
    )
    assert data == {
        "infos": [
            {
                "userInfo": {
                    "userID": "bob",
                    "nickname": "nick-bob",
                    "faceURL": "",
                    "ex": "",
                    "createTime": data["infos"][0]["userInfo"]["createTime"],
                    "appMangerLevel": 0,
                    "globalRecvMsgOpt": 0,
                },
                "friendInfo": {
                    "ownerUserID": "alice",
                    "remark": "B",
                    "createTime": now,
                    "friendUser": None,
                    "addSource": 1,
                    "operatorUserID": "imAdmin",
                    "ex": "",
                    "isPinned": False,
                },
                "blackInfo": None,
            }
        ]
    }
    assert await api.ok(
        "/friend/get_specified_friends_info", {"ownerUserID": "alice", "userIDList": ["ghost"]}, token=a
    ) == {"infos": []}
    await api.ok("/friend/delete_friend", {"ownerUserID": "alice", "friendUserID": "bob"}, token=a)
    data = await api.ok("/friend/is_friend", {"userID1": "alice", "userID2": "bob"}, token=a)
    assert data == {"inUser1Friends": False, "inUser2Friends": True}
    for path, body2 in [
        ("/friend/delete_friend", {"ownerUserID": "alice", "friendUserID": "bob"}),
        ("/friend/set_friend_remark", {"ownerUserID": "alice", "friendUserID": "bob", "remark": "x"}),
        ("/friend/update_friends", {"ownerUserID": "alice", "friendUserIDs": ["bob"], "remark": "x"}),
    ]:
        assert (await api.post(path, body2, token=a))["errCode"] == 1004, path


async def test_import_friend_over_http(api: Api) -> None:
    """import_friend is admin-only (1002), 1301 with the owner listed, 1001 with repeats, 1004 unknown users."""
    t = await _users(api, "alice", "bob")
    admin = await api.admin_token()
    cases: list[tuple[dict[str, Any], str, int]] = [
        ({"ownerUserID": "alice", "friendUserIDs": ["bob"]}, t["alice"], 1002),
        ({"ownerUserID": "alice", "friendUserIDs": ["alice"]}, admin, 1301),
        ({"ownerUserID": "alice", "friendUserIDs": ["bob", "bob"]}, admin, 1001),
        ({"ownerUserID": "alice", "friendUserIDs": ["ghost"]}, admin, 1004),
        ({"ownerUserID": "alice"}, admin, 1001),
    ]
    for body, token, code in cases:
        assert (await api.post("/friend/import_friend", body, token=token))["errCode"] == code, body
    await api.ok("/friend/import_friend", {"ownerUserID": "alice", "friendUserIDs": ["bob"]}, token=admin)
    data = await api.ok("/friend/get_friend_id", {"userID": "bob"}, token=t["bob"])
    assert data == {"friendIDs": ["alice"]}


async def test_blacklist_over_http(api: Api) -> None:
    """add_black / remove_black change the list and its sync log; repeating is harmless; self is 1001, an
    unknown user 1004."""
    t = await _users(api, "alice", "bob")
    a = t["alice"]
    base = await api.ok("/friend/get_incremental_blacks", {"userID": "alice"}, token=a)
    for _ in range(2):
        await api.ok("/friend/add_black", {"ownerUserID": "alice", "blackUserID": "bob", "ex": "e"}, token=a)
    data = await api.ok("/friend/get_black_list", {"userID": "alice", "pagination": PAGE}, token=a)
    assert [(b["blackUserInfo"]["userID"], b["ex"], b["operatorUserID"]) for b in data["blacks"]] == [
        ("bob", "e", "alice")
    ]
    since = {"userID": "alice", "versionID": base["versionID"], "version": base["version"]}
    delta = await api.ok("/friend/get_incremental_blacks", since, token=a)
    assert (delta["version"], [b["blackUserInfo"]["userID"] for b in delta["insert"]]) == (2, ["bob"])
    for _ in range(2):
        await api.ok("/friend/remove_black", {"ownerUserID": "alice", "blackUserID": "bob"}, token=a)
    assert await api.ok("/friend/get_black_list", {"userID": "alice", "pagination": PAGE}, token=a) == {
        "blacks": None,
        "total": 0,
    }
    for body, code in [
        ({"ownerUserID": "alice", "blackUserID": "alice"}, 1001),
        ({"ownerUserID": "alice", "blackUserID": "ghost"}, 1004),
        ({"ownerUserID": "alice"}, 1001),
    ]:
        assert (await api.post("/friend/add_black", body, token=a))["errCode"] == code, body


async def test_friend_verify_setting_reaches_message_sending(settings: Any, clock: Any) -> None:
    """msg.friendVerify from the settings is what the runtime's msg service applies."""
    from openim.runtime import Runtime

    on = settings.model_copy(update={"msg": settings.msg.model_copy(update={"friendVerify": True})})
    for value, configured in ((False, settings), (True, on)):
        rt = await Runtime.build(configured, clock=clock)
        try:
            assert rt.services.msg.friend_verify is value
        finally:
            await rt.close()


async def test_third_user_cannot_write_for_others(api: Api) -> None:
    """Carol applying as Alice, answering Bob's request, or changing Alice's lists gets 1002; nothing changes."""
    t = await _users(api, "alice", "bob", "carol")
    admin = await api.admin_token()
    await api.ok("/friend/import_friend", {"ownerUserID": "alice", "friendUserIDs": ["bob"]}, token=admin)
    await api.ok("/friend/add_friend", {"fromUserID": "carol", "toUserID": "bob"}, token=t["carol"])
    before = await api.ok("/friend/get_incremental_friends", {"userID": "alice"}, token=t["alice"])
    cases: list[tuple[str, dict[str, Any]]] = [
        ("/friend/add_friend", {"fromUserID": "alice", "toUserID": "bob"}),
        ("/friend/add_friend_response", {"fromUserID": "carol", "toUserID": "bob", "handleResult": 1}),
        ("/friend/delete_friend", {"ownerUserID": "alice", "friendUserID": "bob"}),
        ("/friend/set_friend_remark", {"ownerUserID": "alice", "friendUserID": "bob", "remark": "x"}),
        ("/friend/update_friends", {"ownerUserID": "alice", "friendUserIDs": ["bob"], "isPinned": True}),
        ("/friend/add_black", {"ownerUserID": "alice", "blackUserID": "bob"}),
        ("/friend/remove_black", {"ownerUserID": "alice", "blackUserID": "bob"}),
        ("/friend/import_friend", {"ownerUserID": "carol", "friendUserIDs": ["alice"]}),
        ("/friend/get_specified_friends_info", {"ownerUserID": "alice", "userIDList": ["bob"]}),
    ]
    for path, body in cases:
        assert (await api.post(path, body, token=t["carol"]))["errCode"] == 1002, path
    after = await api.ok("/friend/get_incremental_friends", {"userID": "alice"}, token=t["alice"])
    assert (after["versionID"], after["version"]) == (before["versionID"], before["version"])
    data = await api.ok("/friend/get_friend_list", {"userID": "alice", "pagination": PAGE}, token=t["alice"])
    assert [(f["friendUser"]["userID"], f["remark"], f["isPinned"]) for f in data["friendsInfo"]] == [
        ("bob", "", False)
    ]
    pending = await api.ok(
        "/friend/get_friend_apply_list", {"userID": "bob", "pagination": PAGE, "handleResults": [0]}, token=t["bob"]
    )
    assert [r["fromUserID"] for r in pending["FriendRequests"]] == ["carol"]
    blacks = await api.ok("/friend/get_black_list", {"userID": "alice", "pagination": PAGE}, token=t["alice"])
    assert blacks["total"] == 0
