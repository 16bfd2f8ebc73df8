"""The user hooks through the REST API: beforeUserRegister refuses or replaces the users (checked again),
afterUserRegister hears of those created, before/afterUpdateUserInfo(Ex) with OpenIM's bodies, the before ones
replacing nickName, faceURL and ex. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.webhook_receiver import refuse
from tests.webhooks.conftest import Hooked

REGISTER_BEFORE, REGISTER_AFTER = "callbackBeforeUserRegisterCommand", "callbackAfterUserRegisterCommand"
USER_INFO = {"userID", "nickname", "faceURL", "ex", "createTime", "appMangerLevel", "globalRecvMsgOpt"}


async def register(hooked: Hooked, *users: dict[str, Any]) -> dict[str, Any]:
    admin = await hooked.api.admin_token()
    return await hooked.api.post("/user/user_register", {"users": list(users)}, token=admin)


async def test_register_hooks(hooked: Hooked) -> None:
    """Both hooks post {callbackCommand, users: [sdkws.UserInfo]}; the after one arrives once the users exist."""
    result = await register(hooked, {"userID": "u1", "nickname": "One", "faceURL": "f", "ex": "e"})
    assert result["errCode"] == 0
    [before] = hooked.receiver.calls_of(REGISTER_BEFORE)
    assert set(before.body) == {"callbackCommand", "users"}
    [user] = before.body["users"]
    assert set(user) == USER_INFO
    assert (user["userID"], user["nickname"], user["faceURL"], user["ex"]) == ("u1", "One", "f", "e")
    [after] = await hooked.receiver.wait_for(REGISTER_AFTER)
    assert [u["userID"] for u in after.body["users"]] == ["u1"]


async def test_register_refused(hooked: Hooked) -> None:
    """A refusal returns the receiver's error and creates nobody."""
    hooked.receiver.answer(REGISTER_BEFORE, refuse(7001, "invite only"))
    result = await register(hooked, {"userID": "u2", "nickname": "Two"})
    assert (result["errCode"], result["errMsg"]) == (7001, "invite only")
    assert await hooked.runtime.storage.user.get_user("u2") is None


async def test_register_users_replaced_and_checked(hooked: Hooked) -> None:
    """The answer's users replace the request's; an invalid replacement (empty nickname) is refused with 1001."""
    hooked.receiver.answer(REGISTER_BEFORE, {"users": [{"userID": "u3", "nickname": "Three (checked)", "ex": "vip"}]})
    assert (await register(hooked, {"userID": "u3", "nickname": "Three"}))["errCode"] == 0
    stored = await hooked.runtime.storage.user.get_user("u3")
    assert stored is not None and (stored.nickname, stored.ex) == ("Three (checked)", "vip")
    [after] = await hooked.receiver.wait_for(REGISTER_AFTER)
    assert after.body["users"][0]["nickname"] == "Three (checked)"
    hooked.receiver.answer(REGISTER_BEFORE, {"users": [{"userID": "u4", "nickname": ""}]})
    assert (await register(hooked, {"userID": "u4", "nickname": "Four"}))["errCode"] == 1001
    assert await hooked.runtime.storage.user.get_user("u4") is None


async def test_update_user_info_hooks(hooked: Hooked) -> None:
    """update_user_info: before/after bodies {callbackCommand, userID, nickName, faceURL, ex}; the answer's
    nickName replaces the request's; an empty answer field leaves the stored value (the plain route's rule)."""
    chat = await hooked.chat("alice")
    hooked.receiver.answer("callbackBeforeUpdateUserInfoCommand", {"nickName": "Alice ✓", "faceURL": ""})
    info = {"userID": "alice", "nickname": "al", "faceURL": "https://x/a.png"}
    await chat.ok("/user/update_user_info", {"userInfo": info}, as_="alice")
    [before] = hooked.receiver.calls_of("callbackBeforeUpdateUserInfoCommand")
    assert before.body == {
        "callbackCommand": "callbackBeforeUpdateUserInfoCommand",
        "userID": "alice",
        "nickName": "al",
        "faceURL": "https://x/a.png",
        "ex": "",
    }
    stored = await hooked.runtime.storage.user.get_user("alice")
    assert stored is not None and (stored.nickname, stored.face_url) == ("Alice ✓", "")
    [after] = await hooked.receiver.wait_for("callbackAfterUpdateUserInfoCommand")
    assert (after.body["nickName"], after.body["faceURL"]) == ("Alice ✓", "")


async def test_update_user_info_ex_hooks(hooked: Hooked) -> None:
    """update_user_info_ex: unset wrapper fields are null in the body; the answer's "" sets a field; a refusal
    changes nothing."""
    chat = await hooked.chat("bob")
    hooked.receiver.answer("callbackBeforeUpdateUserInfoExCommand", {"ex": ""})
    await chat.ok("/user/update_user_info_ex", {"userInfo": {"userID": "bob", "ex": "old?"}}, as_="bob")
    [before] = hooked.receiver.calls_of("callbackBeforeUpdateUserInfoExCommand")
    assert before.body == {
        "callbackCommand": "callbackBeforeUpdateUserInfoExCommand",
        "userID": "bob",
        "nickName": None,
        "faceURL": None,
        "ex": "old?",
    }
    stored = await hooked.runtime.storage.user.get_user("bob")
    assert stored is not None and stored.ex == ""
    [after] = await hooked.receiver.wait_for("callbackAfterUpdateUserInfoExCommand")
    assert after.body["ex"] == ""
    hooked.receiver.answer("callbackBeforeUpdateUserInfoExCommand", refuse(7002, "locked"))
    result = await chat.post("/user/update_user_info_ex", {"userInfo": {"userID": "bob", "nickname": "B"}}, as_="bob")
    assert (result["errCode"], result["errMsg"]) == (7002, "locked")
    stored = await hooked.runtime.storage.user.get_user("bob")
    assert stored is not None and stored.nickname == "nick-bob"
