"""/user routes over HTTP: register, profiles, listing, receive option, client config, and access rules."""

from __future__ import annotations

from tests.api.conftest import Api


async def test_register_and_read_back(api: Api) -> None:
    """A registered user reads back with every UserInfo field and a creation time in ms."""
    admin = await api.admin_token()
    await api.ok(
        "/user/user_register",
        {"users": [{"userID": "alice", "nickname": "Alice", "faceURL": "http://f/a.png", "ex": "{}"}]},
        token=admin,
    )
    data = await api.ok("/user/get_users_info", {"userIDs": ["alice"]}, token=admin)
    (info,) = data["usersInfo"]
    assert info == {
        "userID": "alice",
        "nickname": "Alice",
        "faceURL": "http://f/a.png",
        "ex": "{}",
        "createTime": api.runtime.clock.now_ms(),
        "appMangerLevel": 0,
        "globalRecvMsgOpt": 0,
    }


async def test_register_duplicate_is_1102_and_writes_nothing(api: Api) -> None:
    """Registering an existing userID is 1102 and the other users of the batch are not created."""
    await api.register("alice")
    admin = await api.admin_token()
    result = await api.post(
        "/user/user_register",
        {"users": [{"userID": "carol", "nickname": "C"}, {"userID": "alice", "nickname": "A"}]},
        token=admin,
    )
    assert result["errCode"] == 1102
    data = await api.ok("/user/account_check", {"checkUserIDs": ["carol"]}, token=admin)
    assert data["results"] == [{"userID": "carol", "accountStatus": 0}]


async def test_register_validation(api: Api) -> None:
    """Empty list, repeated IDs, ':' in an ID, empty nickname and bad receive option are 1001."""
    admin = await api.admin_token()
    bad_batches = [
        [],
        [{"userID": "a", "nickname": "x"}, {"userID": "a", "nickname": "y"}],
        [{"userID": "a:b", "nickname": "x"}],
        [{"userID": "", "nickname": "x"}],
        [{"userID": "a", "nickname": ""}],
        [{"userID": "a", "nickname": "x", "globalRecvMsgOpt": 7}],
        [{"userID": "a" * 65, "nickname": "x"}],
    ]
    for users in bad_batches:
        result = await api.post("/user/user_register", {"users": users}, token=admin)
        assert result["errCode"] == 1001, users
    result = await api.post("/user/user_register", {}, token=admin)
    assert result["errCode"] == 1001


async def test_register_needs_admin(api: Api) -> None:
    """A user token cannot register users."""
    await api.register("alice")
    alice = await api.user_token("alice")
    result = await api.post("/user/user_register", {"users": [{"userID": "eve", "nickname": "E"}]}, token=alice)
    assert result["errCode"] == 1002


async def test_update_user_info_changes_only_non_empty_fields(api: Api) -> None:
    """update_user_info ignores empty fields; a user may update itself."""
    await api.register("alice")
    alice = await api.user_token("alice")
    await api.ok("/user/update_user_info", {"userInfo": {"userID": "alice", "faceURL": "http://x"}}, token=alice)
    data = await api.ok("/user/get_users_info", {"userIDs": ["alice"]}, token=alice)
    assert data["usersInfo"][0]["nickname"] == "nick-alice"
    assert data["usersInfo"][0]["faceURL"] == "http://x"


async def test_update_user_info_ex_can_clear_a_field(api: Api) -> None:
    """update_user_info_ex: a present "" sets the field empty, an absent field stays."""
    await api.register("alice")
    alice = await api.user_token("alice")
    await api.ok("/user/update_user_info", {"userInfo": {"userID": "alice", "ex": "old"}}, token=alice)
    await api.ok("/user/update_user_info_ex", {"userInfo": {"userID": "alice", "ex": ""}}, token=alice)
    data = await api.ok("/user/get_users_info", {"userIDs": ["alice"]}, token=alice)
    assert data["usersInfo"][0]["ex"] == ""
    assert data["usersInfo"][0]["nickname"] == "nick-alice"


async def test_user_cannot_update_another_user(api: Api) -> None:
    """Updating someone else's profile is 1002; the profile is unchanged."""
    await api.register("alice", "bob")
    alice = await api.user_token("alice")
    result = await api.post("/user/update_user_info", {"userInfo": {"userID": "bob", "nickname": "pwned"}}, token=alice)
    assert result["errCode"] == 1002
    data = await api.ok("/user/get_users_info", {"userIDs": ["bob"]}, token=alice)
    assert data["usersInfo"][0]["nickname"] == "nick-bob"


async def test_update_unknown_user_is_1004(api: Api) -> None:
    """An admin updating a missing user gets RecordNotFoundError."""
    admin = await api.admin_token()
    result = await api.post("/user/update_user_info", {"userInfo": {"userID": "ghost", "nickname": "x"}}, token=admin)
    assert result["errCode"] == 1004


async def test_get_users_info_keeps_request_order_and_skips_unknown(api: Api) -> None:
    """Profiles come back in request order; unknown IDs are omitted."""
    await api.register("alice", "bob")
    alice = await api.user_token("alice")
    data = await api.ok("/user/get_users_info", {"userIDs": ["bob", "ghost", "alice"]}, token=alice)
    assert [u["userID"] for u in data["usersInfo"]] == ["bob", "alice"]


async def test_set_global_msg_recv_opt_self_only(api: Api) -> None:
    """A user sets its own receive option; setting another user's is 1002 (OpenIM checks nothing here)."""
    await api.register("alice", "bob")
    alice = await api.user_token("alice")
    await api.ok("/user/set_global_msg_recv_opt", {"userID": "alice", "globalRecvMsgOpt": 2}, token=alice)
    data = await api.ok("/user/get_users_info", {"userIDs": ["alice"]}, token=alice)
    assert data["usersInfo"][0]["globalRecvMsgOpt"] == 2
    result = await api.post("/user/set_global_msg_recv_opt", {"userID": "bob", "globalRecvMsgOpt": 1}, token=alice)
    assert result["errCode"] == 1002


async def test_get_all_users_uid_pages_with_total(api: Api) -> None:
    """Pages are 1-based; past the end the list is null and total is still the full count."""
    await api.register("u1", "u2", "u3")
    admin = await api.admin_token()
    first = await api.ok("/user/get_all_users_uid", {"pagination": {"pageNumber": 1, "showNumber": 2}}, token=admin)
    assert first["total"] == 4  # imAdmin included, as OpenIM does
    assert len(first["userIDs"]) == 2
    beyond = await api.ok("/user/get_all_users_uid", {"pagination": {"pageNumber": 9, "showNumber": 2}}, token=admin)
    assert beyond == {"total": 4, "userIDs": None}
    result = await api.post("/user/get_all_users_uid", {"pagination": {"pageNumber": 0}}, token=admin)
    assert result["errCode"] == 1001
    result = await api.post("/user/get_all_users_uid", {}, token=admin)
    assert result["errCode"] == 1001


async def test_listing_users_is_admin_only(api: Api) -> None:
    """get_all_users_uid, get_users and account_check leak the user base, so users get 1002 (OpenIM #3314)."""
    await api.register("alice")
    alice = await api.user_token("alice")
    page = {"pagination": {"pageNumber": 1, "showNumber": 10}}
    for path, body in [
        ("/user/get_all_users_uid", page),
        ("/user/get_users", page),
        ("/user/account_check", {"checkUserIDs": ["alice"]}),
    ]:
        result = await api.post(path, body, token=alice)
        assert result["errCode"] == 1002, path


async def test_get_users_searches_and_excludes_admins(api: Api) -> None:
    """get_users lists ordinary users only and filters by a userID or nickname fragment."""
    await api.register("alice", "bob", "alfred")
    admin = await api.admin_token()
    page = {"pageNumber": 1, "showNumber": 10}
    everyone = await api.ok("/user/get_users", {"pagination": page}, token=admin)
    assert everyone["total"] == 3
    assert "imAdmin" not in [u["userID"] for u in everyone["users"]]
    found = await api.ok("/user/get_users", {"pagination": page, "userID": "AL"}, token=admin)
    assert sorted(u["userID"] for u in found["users"]) == ["alfred", "alice"]


async def test_a_page_past_any_table_is_empty(api: Api) -> None:
    """The largest page the decoder lets through (int32 numbers, whose product nears 2^62) is an empty page with
    the total; so is a negative showNumber (it gave a negative SQL OFFSET, errCode 500 on PostgreSQL). Before the
    decoder bounded them to int32, schemathesis found numbers whose product passed 64 bits: services/paging.py
    clamps the offset as well."""
    await api.register("alice", "bob")
    admin = await api.admin_token()
    for page in ({"pageNumber": 2**31 - 1, "showNumber": 2**31 - 1}, {"pageNumber": 2, "showNumber": -5}):
        for path in ("/user/get_users", "/user/get_all_users_uid", "/user/search_notification_account"):
            result = await api.post(path, {"pagination": page}, token=admin)
            assert result["errCode"] == 0, (path, page, result)
        data = await api.ok("/user/get_users", {"pagination": page}, token=admin)
        assert (data["total"], data["users"]) == (2, [])


async def test_account_check_reports_each_id(api: Api) -> None:
    """account_check answers 1 for registered and 0 for unknown IDs, in request order; repeats are 1001."""
    await api.register("alice")
    admin = await api.admin_token()
    data = await api.ok("/user/account_check", {"checkUserIDs": ["ghost", "alice"]}, token=admin)
    assert data["results"] == [{"userID": "ghost", "accountStatus": 0}, {"userID": "alice", "accountStatus": 1}]
    result = await api.post("/user/account_check", {"checkUserIDs": ["a", "a"]}, token=admin)
    assert result["errCode"] == 1001


async def test_client_config_global_and_per_user(api: Api) -> None:
    """The admin sets global and per-user client config; a user reads the global map overlaid with its own."""
    await api.register("alice", "bob")
    admin = await api.admin_token()
    await api.ok("/user/set_user_client_config", {"userID": "", "configs": {"a": "1", "b": "1"}}, token=admin)
    await api.ok("/user/set_user_client_config", {"userID": "alice", "configs": {"b": "2"}}, token=admin)
    alice = await api.user_token("alice")
    data = await api.ok("/user/get_user_client_config", {"userID": "alice"}, token=alice)
    assert data == {"configs": {"a": "1", "b": "2"}}
    result = await api.post("/user/get_user_client_config", {"userID": "bob"}, token=alice)
    assert result["errCode"] == 1002
    result = await api.post("/user/set_user_client_config", {"userID": "alice", "configs": {"x": "y"}}, token=alice)
    assert result["errCode"] == 1002
    page = await api.ok(
        "/user/page_user_client_config",
        {"userID": "alice", "pagination": {"pageNumber": 1, "showNumber": 10}},
        token=admin,
    )
    assert page == {"total": 1, "configs": [{"key": "b", "userID": "alice", "value": "2"}]}
    await api.ok("/user/del_user_client_config", {"userID": "alice", "keys": ["b"]}, token=admin)
    data = await api.ok("/user/get_user_client_config", {"userID": "alice"}, token=alice)
    assert data == {"configs": {"a": "1", "b": "1"}}


async def test_empty_client_config_is_null(api: Api) -> None:
    """No config at all prints configs as null (a nil Go map)."""
    await api.register("alice")
    alice = await api.user_token("alice")
    data = await api.ok("/user/get_user_client_config", {"userID": ""}, token=alice)
    assert data == {"configs": None}


async def test_get_users_online_status_from_presence(api: Api) -> None:
    """Admins see each user's live connections from presence (with the app's background flag), in request order;
    users may not ask (1002)."""
    await api.register("alice", "bob")
    await api.runtime.presence.set_online("alice", 5, "conn-1")
    await api.runtime.presence.set_online("alice", 2, "conn-2", background=True)
    admin = await api.admin_token()
    data = await api.ok("/user/get_users_online_status", {"userIDs": ["bob", "alice"]}, token=admin)
    assert data == [
        {"userID": "bob", "status": 0, "detailPlatformStatus": None},
        {
            "userID": "alice",
            "status": 1,
            "detailPlatformStatus": [
                {"platformID": 2, "connID": "conn-2", "isBackground": True, "token": ""},
                {"platformID": 5, "connID": "conn-1", "isBackground": False, "token": ""},
            ],
        },
    ]
    alice = await api.user_token("alice")
    result = await api.post("/user/get_users_online_status", {"userIDs": ["bob"]}, token=alice)
    assert result["errCode"] == 1002
