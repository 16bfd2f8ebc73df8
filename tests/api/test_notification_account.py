"""/user/{add,update,search}_notification_account: admin-only system senders of appMangerLevel >= 3."""

from __future__ import annotations

from tests.api.conftest import Api

ADD, UPDATE, SEARCH = (f"/user/{v}_notification_account" for v in ("add", "update", "search"))
PAGE = {"pageNumber": 1, "showNumber": 10}


async def test_add_update_search_with_openim_fields(api: Api) -> None:
    """An account reads back with OpenIM's fields; search by exact userID, then exact nickname, or all."""
    admin = await api.admin_token()
    data = await api.ok(ADD, {"userID": "sys1", "nickName": "News", "faceURL": "f", "appMangerLevel": 3}, token=admin)
    assert data == {"userID": "sys1", "faceURL": "f", "nickName": "News", "appMangerLevel": 3}
    api.runtime.clock.advance(1)  # listed by creation time
    generated = await api.ok(ADD, {"nickName": "Bot", "appMangerLevel": 4}, token=admin)
    assert len(generated["userID"]) == 10 and generated["userID"].isdigit() and generated["userID"][0] != "0"
    await api.register("alice")  # ordinary users are never listed

    everything = await api.ok(SEARCH, {"pagination": PAGE}, token=admin)
    assert everything["total"] == 2
    assert [a["userID"] for a in everything["notificationAccounts"]] == ["sys1", generated["userID"]]
    robots = await api.ok(SEARCH, {"appManagerLevel": 4, "pagination": PAGE}, token=admin)
    assert [a["nickName"] for a in robots["notificationAccounts"]] == ["Bot"]
    by_id = await api.ok(SEARCH, {"keyword": "sys1", "pagination": PAGE}, token=admin)
    assert by_id == {"total": 1, "notificationAccounts": [data]}
    by_name = await api.ok(SEARCH, {"keyword": "Bot", "pagination": PAGE}, token=admin)
    assert [a["userID"] for a in by_name["notificationAccounts"]] == [generated["userID"]]
    none = await api.ok(SEARCH, {"keyword": "alice", "pagination": PAGE}, token=admin)
    assert none == {"total": 0, "notificationAccounts": []}
    page2 = await api.ok(SEARCH, {"pagination": {"pageNumber": 2, "showNumber": 1}}, token=admin)
    assert (page2["total"], [a["nickName"] for a in page2["notificationAccounts"]]) == (2, ["Bot"])

    await api.ok(UPDATE, {"userID": "sys1", "nickName": "Daily News"}, token=admin)
    info = await api.ok("/user/get_users_info", {"userIDs": ["sys1"]}, token=admin)
    assert (info["usersInfo"][0]["nickname"], info["usersInfo"][0]["faceURL"]) == ("Daily News", "f")


async def test_what_openim_does_with_their_messages(api: Api) -> None:
    """No user token for them (1001); an admin sends as them, OANotification included; a user may not (1002)."""
    admin = await api.admin_token()
    await api.ok(ADD, {"userID": "sys1", "nickName": "News", "appMangerLevel": 3}, token=admin)
    await api.register("alice", "bob")
    token = await api.post("/auth/get_user_token", {"userID": "sys1", "platformID": 1}, token=admin)
    assert token["errCode"] == 1001
    oa = {"notificationName": "News", "notificationType": 1, "text": "hello"}
    body = {"sendID": "sys1", "recvID": "alice", "contentType": 1400, "sessionType": 4, "content": oa}
    await api.ok("/msg/send_msg", body, token=admin)
    text = {"sendID": "sys1", "recvID": "alice", "contentType": 101, "sessionType": 1, "content": {"content": "x"}}
    await api.ok("/msg/send_msg", text, token=admin)
    as_bob = {**body, "sendID": "bob"}
    assert (await api.post("/msg/send_msg", as_bob, token=admin))["errCode"] == 1002
    users = await api.ok("/user/get_users", {"pagination": PAGE}, token=admin)
    assert "sys1" not in [u["userID"] for u in users["users"]]


async def test_bad_args_are_1001(api: Api) -> None:
    """Empty nickname, a level below 3, a used or malformed userID, nothing to update, an ordinary user, no page."""
    admin = await api.admin_token()
    await api.register("alice")
    await api.ok(ADD, {"userID": "sys1", "nickName": "News", "appMangerLevel": 3}, token=admin)
    bad = [
        (ADD, {"nickName": "", "appMangerLevel": 3}),
        (ADD, {"nickName": "x", "appMangerLevel": 2}),
        (ADD, {"userID": "alice", "nickName": "x", "appMangerLevel": 3}),
        (ADD, {"userID": "sys1", "nickName": "x", "appMangerLevel": 3}),
        (ADD, {"userID": "a:b", "nickName": "x", "appMangerLevel": 3}),
        (UPDATE, {"userID": "", "nickName": "x"}),
        (UPDATE, {"userID": "sys1"}),
        (UPDATE, {"userID": "alice", "nickName": "x"}),
        (UPDATE, {"userID": "nobody", "nickName": "x"}),
        (SEARCH, {"keyword": ""}),
        (SEARCH, {"pagination": {"pageNumber": 0, "showNumber": 10}}),
    ]
    for path, body in bad:
        assert (await api.post(path, body, token=admin))["errCode"] == 1001, (path, body)
    info = await api.ok("/user/get_users_info", {"userIDs": ["alice"]}, token=admin)
    assert info["usersInfo"][0]["appMangerLevel"] == 0


async def test_admin_only(api: Api) -> None:
    """A user gets 1002 on each route, and nothing is created or changed."""
    admin = await api.admin_token()
    await api.register("alice")
    alice = await api.user_token("alice")
    await api.ok(ADD, {"userID": "sys1", "nickName": "News", "appMangerLevel": 3}, token=admin)
    for path, body in [
        (ADD, {"userID": "sys2", "nickName": "x", "appMangerLevel": 3}),
        (UPDATE, {"userID": "sys1", "nickName": "hijacked"}),
        (SEARCH, {"pagination": PAGE}),
    ]:
        assert (await api.post(path, body, token=alice))["errCode"] == 1002, path
    everything = await api.ok(SEARCH, {"pagination": PAGE}, token=admin)
    assert [(a["userID"], a["nickName"]) for a in everything["notificationAccounts"]] == [("sys1", "News")]
