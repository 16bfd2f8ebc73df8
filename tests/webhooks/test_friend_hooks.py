"""The friend hooks through the REST API, as OpenIM's internal/rpc/relation fires them: each posts OpenIM's body
(pkg/callbackstruct/friend.go, field for field and in its order); each before hook's refusal returns the
receiver's error and writes nothing; beforeImportFriends may replace the list (checked again) and
beforeSetFriendRemark the remark (not with ""); the after hooks arrive once the change is written. A hook that is
off posts nothing. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.api.chat import Chat
from tests.webhook_receiver import refuse
from tests.webhooks.conftest import Build, Hooked, enable

ADD_BEFORE, ADD_AFTER = "callbackBeforeAddFriendCommand", "callbackAfterAddFriendCommand"
AGREE_BEFORE, AGREE_AFTER = "callbackBeforeAddFriendAgreeCommand", "callbackAfterAddFriendAgreeCommand"
DELETE_AFTER = "callbackAfterDeleteFriendCommand"
IMPORT_BEFORE, IMPORT_AFTER = "callbackBeforeImportFriendsCommand", "callbackAfterImportFriendsCommand"
REMARK_BEFORE, REMARK_AFTER = "callbackBeforeSetFriendRemarkCommand", "callbackAfterSetFriendRemarkCommand"
BLACK_BEFORE, UNBLACK_AFTER = "callbackBeforeAddBlackCommand", "callbackAfterRemoveBlackCommand"


def exactly(body: Any, expected: dict[str, Any]) -> None:
    """`body` has OpenIM's fields, values and field order."""
    assert body == expected
    assert list(body) == list(expected)


async def apply(chat: Chat, from_user: str, to_user: str, req_msg: str = "hi", ex: str = "") -> dict[str, Any]:
    body = {"fromUserID": from_user, "toUserID": to_user, "reqMsg": req_msg, "ex": ex}
    return await chat.post("/friend/add_friend", body, as_=from_user)


async def respond(chat: Chat, from_user: str, to_user: str, result: int, msg: str = "") -> dict[str, Any]:
    body = {"fromUserID": from_user, "toUserID": to_user, "handleResult": result, "handleMsg": msg}
    return await chat.post("/friend/add_friend_response", body, as_=to_user)


async def import_friends(chat: Chat, owner: str, friends: list[str]) -> dict[str, Any]:
    return await chat.post("/friend/import_friend", {"ownerUserID": owner, "friendUserIDs": friends}, as_="admin")


async def set_remark(chat: Chat, owner: str, friend: str, remark: str) -> dict[str, Any]:
    body = {"ownerUserID": owner, "friendUserID": friend, "remark": remark}
    return await chat.post("/friend/set_friend_remark", body, as_=owner)


async def remark_of(hooked: Hooked, owner: str, friend: str) -> str:
    [row] = await hooked.runtime.storage.friend.get_friends(owner, [friend])
    return row.remark


async def test_add_friend_hooks(hooked: Hooked) -> None:
    """beforeAddFriend {fromUserID, toUserID, reqMsg, ex} with the request's operationID; afterAddFriend the same
    without ex, once the request is stored."""
    chat = await hooked.chat("alice", "bob")
    body = {"fromUserID": "alice", "toUserID": "bob", "reqMsg": "hello", "ex": "from search"}
    await chat.ok("/friend/add_friend", body, as_="alice", op="op-add-1")
    [before] = hooked.receiver.calls_of(ADD_BEFORE)
    exactly(
        before.body,
        {
            "callbackCommand": ADD_BEFORE,
            "fromUserID": "alice",
            "toUserID": "bob",
            "reqMsg": "hello",
            "ex": "from search",
        },
    )
    assert before.headers["operationid"] == "op-add-1"
    [after] = await hooked.receiver.wait_for(ADD_AFTER)
    exactly(after.body, {"callbackCommand": ADD_AFTER, "fromUserID": "alice", "toUserID": "bob", "reqMsg": "hello"})
    assert after.headers["operationid"] == "op-add-1"


async def test_add_friend_refused(hooked: Hooked) -> None:
    """A refusal returns the receiver's errCode and errMsg, stores no request and queues no afterAddFriend."""
    chat = await hooked.chat("alice", "bob")
    hooked.receiver.answer(ADD_BEFORE, refuse(7101, "no strangers"))
    result = await apply(chat, "alice", "bob", "first")
    assert (result["errCode"], result["errMsg"]) == (7101, "no strangers")
    assert await hooked.runtime.storage.friend.get_request("alice", "bob") is None
    hooked.receiver.answer(ADD_BEFORE, {"actionCode": 0, "errCode": 0, "nextCode": 0})
    assert (await apply(chat, "alice", "bob", "second"))["errCode"] == 0
    # the after hooks are posted in queue order: a call queued by the refused request would have come first
    [after] = await hooked.receiver.wait_for(ADD_AFTER)
    assert after.body["reqMsg"] == "second"


async def test_add_friend_agree_hooks(hooked: Hooked) -> None:
    """before/afterAddFriendAgree post OpenIM's keys, sic: the agreeing user as blackUserID, HandleResult and
    HandleMsg capitalised; a refusal leaves the request pending and the users strangers; refusing a request
    fires neither."""
    chat = await hooked.chat("alice", "bob", "carol")
    await apply(chat, "alice", "bob")
    await apply(chat, "carol", "bob")
    hooked.receiver.answer(AGREE_BEFORE, refuse(7102, "verify first", "kyc"))
    result = await respond(chat, "alice", "bob", 1, "sure")
    assert (result["errCode"], result["errMsg"]) == (7102, "verify first")
    request = await hooked.runtime.storage.friend.get_request("alice", "bob")
    assert request is not None and request.handle_result == 0
    assert await hooked.runtime.storage.friend.friendship("alice", "bob") == (False, False)

    hooked.receiver.answer(AGREE_BEFORE, {})
    assert (await respond(chat, "alice", "bob", 1, "sure"))["errCode"] == 0
    expected = {
        "callbackCommand": AGREE_BEFORE,
        "fromUserID": "alice",
        "blackUserID": "bob",
        "HandleResult": 1,
        "HandleMsg": "sure",
    }
    first, second = hooked.receiver.calls_of(AGREE_BEFORE)
    exactly(first.body, expected)
    exactly(second.body, expected)
    assert await hooked.runtime.storage.friend.friendship("alice", "bob") == (True, True)
    [after] = await hooked.receiver.wait_for(AGREE_AFTER)
    exactly(after.body, expected | {"callbackCommand": AGREE_AFTER})

    assert (await respond(chat, "carol", "bob", -1, "no"))["errCode"] == 0
    assert len(hooked.receiver.calls_of(AGREE_BEFORE)) == 2


async def test_delete_friend_hook(hooked: Hooked) -> None:
    """afterDeleteFriend {ownerUserID, friendUserID} once the friend is gone; deleting a non-friend (1004) fires
    nothing."""
    chat = await hooked.chat("alice", "bob", "carol")
    await import_friends(chat, "alice", ["bob"])
    missing = await chat.post("/friend/delete_friend", {"ownerUserID": "alice", "friendUserID": "carol"}, as_="alice")
    assert missing["errCode"] == 1004
    await chat.ok("/friend/delete_friend", {"ownerUserID": "alice", "friendUserID": "bob"}, as_="alice")
    assert await hooked.runtime.storage.friend.friendship("alice", "bob") == (False, True)
    [after] = await hooked.receiver.wait_for(DELETE_AFTER)
    exactly(after.body, {"callbackCommand": DELETE_AFTER, "ownerUserID": "alice", "friendUserID": "bob"})


async def test_import_friends_hooks(hooked: Hooked) -> None:
    """before/afterImportFriends {ownerUserID, friendUserIDs}; the answer's non-empty friendUserIDs replace the
    request's (the after body carries them); an empty list changes nothing."""
    chat = await hooked.chat("alice", "bob", "carol", "dave")
    hooked.receiver.answer(IMPORT_BEFORE, {"friendUserIDs": ["carol", "dave"]})
    assert (await import_friends(chat, "alice", ["bob"]))["errCode"] == 0
    [before] = hooked.receiver.calls_of(IMPORT_BEFORE)
    exactly(before.body, {"callbackCommand": IMPORT_BEFORE, "ownerUserID": "alice", "friendUserIDs": ["bob"]})
    assert await hooked.runtime.storage.friend.friend_user_ids("alice") == ["carol", "dave"]
    [after] = await hooked.receiver.wait_for(IMPORT_AFTER)
    exactly(after.body, {"callbackCommand": IMPORT_AFTER, "ownerUserID": "alice", "friendUserIDs": ["carol", "dave"]})

    hooked.receiver.answer(IMPORT_BEFORE, {"friendUserIDs": []})
    assert (await import_friends(chat, "bob", ["dave"]))["errCode"] == 0
    assert await hooked.runtime.storage.friend.friend_user_ids("bob") == ["dave"]


async def test_import_friends_refused_or_replaced_badly(hooked: Hooked) -> None:
    """A refusal imports nobody; a replacement list is checked as a request: the owner in it is 1301, an unknown
    user 1004, a repeat 1001 — and nothing is written."""
    chat = await hooked.chat("alice", "bob", "carol")
    hooked.receiver.answer(IMPORT_BEFORE, refuse(7103, "import closed"))
    result = await import_friends(chat, "alice", ["bob"])
    assert (result["errCode"], result["errMsg"]) == (7103, "import closed")
    for replacement, code in ((["bob", "alice"], 1301), (["bob", "nobody"], 1004), (["carol", "carol"], 1001)):
        hooked.receiver.answer(IMPORT_BEFORE, {"friendUserIDs": replacement})
        assert (await import_friends(chat, "alice", ["bob"]))["errCode"] == code
    assert await hooked.runtime.storage.friend.friend_user_ids("alice") == []
    assert await hooked.runtime.storage.friend.friend_user_ids("bob") == []


async def test_set_friend_remark_hooks(hooked: Hooked) -> None:
    """before/afterSetFriendRemark {ownerUserID, friendUserID, remark}: the answer's remark replaces the request's
    (the after body carries it), an empty one does not; a refusal leaves the remark."""
    chat = await hooked.chat("alice", "bob")
    await import_friends(chat, "alice", ["bob"])
    hooked.receiver.answer(REMARK_BEFORE, {"remark": "Bob (work)"})
    assert (await set_remark(chat, "alice", "bob", "bobby"))["errCode"] == 0
    [before] = hooked.receiver.calls_of(REMARK_BEFORE)
    exactly(
        before.body,
        {"callbackCommand": REMARK_BEFORE, "ownerUserID": "alice", "friendUserID": "bob", "remark": "bobby"},
    )
    assert await remark_of(hooked, "alice", "bob") == "Bob (work)"
    [after] = await hooked.receiver.wait_for(REMARK_AFTER)
    exactly(
        after.body,
        {"callbackCommand": REMARK_AFTER, "ownerUserID": "alice", "friendUserID": "bob", "remark": "Bob (work)"},
    )

    hooked.receiver.answer(REMARK_BEFORE, {"remark": ""})
    assert (await set_remark(chat, "alice", "bob", "B."))["errCode"] == 0
    assert await remark_of(hooked, "alice", "bob") == "B."

    hooked.receiver.answer(REMARK_BEFORE, refuse(7104, "remarks are frozen"))
    result = await set_remark(chat, "alice", "bob", "changed")
    assert (result["errCode"], result["errMsg"]) == (7104, "remarks are frozen")
    assert await remark_of(hooked, "alice", "bob") == "B."


async def test_remark_hook_after_access_check(hooked: Hooked) -> None:
    """Someone setting another user's remark gets 1002 and the hook is not asked (OpenIM asks it first)."""
    chat = await hooked.chat("alice", "bob", "mallory")
    await import_friends(chat, "alice", ["bob"])
    body = {"ownerUserID": "alice", "friendUserID": "bob", "remark": "x"}
    assert (await chat.post("/friend/set_friend_remark", body, as_="mallory"))["errCode"] == 1002
    assert hooked.receiver.calls_of(REMARK_BEFORE) == []


async def test_black_hooks(hooked: Hooked) -> None:
    """beforeAddBlack {ownerUserID, blackUserID}: a refusal blocks nobody; afterRemoveBlack the same keys, once
    the block is gone (unblocking someone not blocked fires nothing)."""
    chat = await hooked.chat("alice", "bob")
    black = {"ownerUserID": "alice", "blackUserID": "bob"}
    hooked.receiver.answer(BLACK_BEFORE, refuse(7105, "cannot block support"))
    result = await chat.post("/friend/add_black", black | {"ex": "spam"}, as_="alice")
    assert (result["errCode"], result["errMsg"]) == (7105, "cannot block support")
    assert not await hooked.runtime.storage.friend.is_blocked("alice", "bob")

    hooked.receiver.answer(BLACK_BEFORE, {})
    await chat.ok("/friend/add_black", black | {"ex": "spam"}, as_="alice")
    assert await hooked.runtime.storage.friend.is_blocked("alice", "bob")
    first, second = hooked.receiver.calls_of(BLACK_BEFORE)
    exactly(first.body, {"callbackCommand": BLACK_BEFORE, "ownerUserID": "alice", "blackUserID": "bob"})
    exactly(second.body, first.body)

    await chat.ok("/friend/remove_black", black, as_="alice")
    await chat.ok("/friend/remove_black", black, as_="alice")  # not blocked any more: nothing to tell
    await import_friends(chat, "alice", ["bob"])  # a later after hook, queued behind any second afterRemoveBlack
    await hooked.receiver.wait_for(IMPORT_AFTER)
    [after] = hooked.receiver.calls_of(UNBLACK_AFTER)
    exactly(after.body, {"callbackCommand": UNBLACK_AFTER, "ownerUserID": "alice", "blackUserID": "bob"})


async def test_hooks_off_post_nothing(hooked_with: Build) -> None:
    """With only afterRemoveBlack on, a whole friend life (apply, agree, remark, import, delete, block, unblock)
    posts that one call: every other friend hook, before or after, is skipped when off."""
    hooked = await hooked_with(**enable("afterRemoveBlack"))
    chat = await hooked.chat("alice", "bob", "carol")
    assert (await apply(chat, "alice", "bob"))["errCode"] == 0
    assert (await respond(chat, "alice", "bob", 1))["errCode"] == 0
    assert (await set_remark(chat, "alice", "bob", "B"))["errCode"] == 0
    assert (await import_friends(chat, "alice", ["carol"]))["errCode"] == 0
    await chat.ok("/friend/delete_friend", {"ownerUserID": "alice", "friendUserID": "bob"}, as_="alice")
    await chat.ok("/friend/add_black", {"ownerUserID": "alice", "blackUserID": "bob"}, as_="alice")
    await chat.ok("/friend/remove_black", {"ownerUserID": "alice", "blackUserID": "bob"}, as_="alice")
    await hooked.receiver.wait_for(UNBLACK_AFTER)
    assert [c.command for c in hooked.receiver.calls] == [UNBLACK_AFTER]


async def test_undecodable_answers(hooked_with: Build) -> None:
    """An answer whose friendUserIDs or remark has the wrong JSON type cannot be decoded (as Go's decoder of
    OpenIM's response struct): a failed call, so failedContinue decides — true imports the request's list,
    false fails with 90007 and writes nothing."""
    hooked = await hooked_with(
        **enable(
            "beforeImportFriends",
            "beforeSetFriendRemark",
            OPENIM_WEBHOOKS_BEFORESETFRIENDREMARK_FAILEDCONTINUE="false",
        )
    )
    chat = await hooked.chat("alice", "bob", "carol")
    hooked.receiver.answer(IMPORT_BEFORE, {"friendUserIDs": "carol"})
    assert (await import_friends(chat, "alice", ["bob"]))["errCode"] == 0
    assert await hooked.runtime.storage.friend.friend_user_ids("alice") == ["bob"]
    hooked.receiver.answer(REMARK_BEFORE, {"remark": 42})
    assert (await set_remark(chat, "alice", "bob", "B"))["errCode"] == 90007
    assert await remark_of(hooked, "alice", "bob") == ""
