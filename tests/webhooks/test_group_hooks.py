"""The group hooks through the REST API, as OpenIM's `internal/rpc/group` fires them: the bodies of
`pkg/callbackstruct/group.go` field for field, each before hook's refusal (the receiver's errCode, nothing
written), each change an answer may make, and the after hooks arriving. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.api.chat import Chat
from tests.webhook_receiver import Reply, refuse
from tests.webhooks.conftest import GROUP_HOOKS, Hooked, enable

CREATE_BEFORE, CREATE_AFTER = "callbackBeforeCreateGroupCommand", "callbackAfterCreateGroupCommand"
JOIN_BEFORE = "callbackBeforeMembersJoinGroupCommand"
INVITE_BEFORE = "callbackBeforeInviteJoinGroupCommand"
APPLY_BEFORE, JOIN_AFTER = "callbackBeforeJoinGroupCommand", "callbackAfterJoinGroupCommand"
MEMBER_BEFORE, MEMBER_AFTER = "callbackBeforeSetGroupMemberInfoCommand", "callbackAfterSetGroupMemberInfoCommand"
INFO_BEFORE, INFO_AFTER = "callbackBeforeSetGroupInfoCommand", "callbackAfterSetGroupInfoCommand"
INFO_EX_BEFORE, INFO_EX_AFTER = "callbackBeforeSetGroupInfoExCommand", "callbackAfterSetGroupInfoExCommand"
QUIT_AFTER, KICK_AFTER = "callbackAfterQuitGroupCommand", "callbackAfterKickGroupCommand"
DISMISS_AFTER, TRANSFER_AFTER = "callbackAfterDisMissGroupCommand", "callbackAfterTransferGroupOwnerCommand"

GROUP_INFO = {
    "groupID",
    "groupName",
    "notification",
    "introduction",
    "faceURL",
    "ownerUserID",
    "createTime",
    "memberCount",
    "ex",
    "status",
    "creatorUserID",
    "groupType",
    "needVerification",
    "lookMemberInfo",
    "applyMemberFriend",
    "notificationUpdateTime",
    "notificationUserID",
}
WORKING = "\u0002"  # Go's string(int32(2)): OpenIM's groupType in the dismiss and join-request bodies


async def create(
    chat: Chat,
    group_id: str = "",
    *,
    members: tuple[str, ...] = (),
    admins: tuple[str, ...] = (),
    owner: str = "alice",
    **info: Any,
) -> dict[str, Any]:
    """create_group by its owner (alice): the whole envelope."""
    body = {
        "ownerUserID": owner,
        "adminUserIDs": list(admins),
        "memberUserIDs": list(members),
        "groupInfo": {"groupID": group_id, "groupName": "team", "groupType": 2, **info},
    }
    return await chat.post("/group/create_group", body, as_=owner, op="op-create")


async def quiet_group(hooked: Hooked, chat: Chat, group_id: str, **info: Any) -> None:
    """A group of alice (owner), bob (admin) and carol, created with the hooks' default answers, calls cleared."""
    result = await create(chat, group_id, admins=("bob",), members=("carol",), **info)
    assert result["errCode"] == 0, result
    await hooked.receiver.wait_for(CREATE_AFTER)
    hooked.receiver.clear()


async def member_ids(hooked: Hooked, group_id: str) -> set[str]:
    return {m.user_id for m in await hooked.runtime.storage.group.all_members(group_id)}


async def test_create_group_bodies(hooked: Hooked) -> None:
    """beforeCreateGroup: {operationID, callbackCommand, GroupInfo's fields inline, initMemberList}; then
    beforeMemberJoinGroup {groupID, memberList [{userID, ex}], groupEx}; afterCreateGroup: the created group
    (owner, member count) and the members with their roles."""
    chat = await hooked.chat("alice", "bob", "carol")
    result = await create(chat, "g1", admins=("bob",), members=("carol",), ex="gx", introduction="hi")
    assert result["errCode"] == 0, result
    [before] = hooked.receiver.calls_of(CREATE_BEFORE)
    assert set(before.body) == {"operationID", "callbackCommand", "initMemberList"} | GROUP_INFO
    assert before.headers["operationid"] == before.body["operationID"] == "op-create"
    assert before.body["callbackCommand"] == CREATE_BEFORE
    fields = ("groupID", "groupName", "introduction", "ex", "groupType", "ownerUserID")
    assert [before.body[k] for k in fields] == ["g1", "team", "hi", "gx", 2, "alice"]
    roles = [{"userID": "alice", "roleLevel": 100}, {"userID": "bob", "roleLevel": 60}]
    roles.append({"userID": "carol", "roleLevel": 20})
    assert before.body["initMemberList"] == roles
    [join] = hooked.receiver.calls_of(JOIN_BEFORE)
    assert join.body == {
        "callbackCommand": JOIN_BEFORE,
        "groupID": "g1",
        "memberList": [{"userID": u, "ex": ""} for u in ("alice", "bob", "carol")],
        "groupEx": "gx",
    }
    [after] = await hooked.receiver.wait_for(CREATE_AFTER)
    assert set(after.body) == {"callbackCommand", "initMemberList"} | GROUP_INFO
    assert (after.body["groupID"], after.body["ownerUserID"], after.body["memberCount"]) == ("g1", "alice", 3)
    assert after.body["createTime"] > 0
    assert after.body["initMemberList"] == roles


async def test_create_group_changed_by_answers(hooked: Hooked) -> None:
    """beforeCreateGroup's answer replaces the groupInfo fields it sets (a generated groupID too);
    beforeMemberJoinGroup's sets a joining member's nickname, faceURL, roleLevel, muteEndTime and ex."""
    chat = await hooked.chat("alice", "bob", "carol")
    hooked.receiver.answer(
        CREATE_BEFORE,
        {
            "groupID": "chosen",
            "groupName": "renamed",
            "notification": "welcome",
            "introduction": "intro",
            "faceURL": "f.png",
            "ownerUserID": "carol",  # no effect, as in OpenIM: the owner is the request's ownerUserID
            "ex": "hooked",
            "status": 3,
            "creatorUserID": "bob",
            "needVerification": 2,
            "lookMemberInfo": 1,
            "applyMemberFriend": 1,
        },
    )
    member = {"userID": "carol", "nickname": "Caz", "faceURL": "c.png", "roleLevel": 60, "muteEndTime": 9, "ex": "m"}
    hooked.receiver.answer(JOIN_BEFORE, {"memberCallbackList": [member, {"userID": "nobody", "nickname": "x"}]})
    result = await create(chat, members=("carol",))
    assert result["errCode"] == 0, result
    assert result["data"]["groupInfo"]["groupID"] == "chosen"
    group = await hooked.runtime.storage.group.get_group("chosen")
    assert group is not None
    stored = (
        group.group_name,
        group.notification,
        group.introduction,
        group.face_url,
        group.ex,
        group.status,
        group.creator_user_id,
        group.need_verification,
        group.look_member_info,
        group.apply_member_friend,
    )
    assert stored == ("renamed", "welcome", "intro", "f.png", "hooked", 3, "bob", 2, 1, 1)
    [join] = hooked.receiver.calls_of(JOIN_BEFORE)
    assert (join.body["groupID"], join.body["groupEx"]) == ("chosen", "hooked")
    carol = await hooked.runtime.storage.group.get_member("chosen", "carol")
    assert carol is not None
    assert (carol.nickname, carol.face_url, carol.role_level, carol.mute_end_time, carol.ex) == (
        "Caz",
        "c.png",
        60,
        9,
        "m",
    )
    owner = await hooked.runtime.storage.group.get_member("chosen", "alice")
    assert owner is not None and owner.role_level == 100
    [after] = await hooked.receiver.wait_for(CREATE_AFTER)
    assert (after.body["groupID"], after.body["groupName"], after.body["ownerUserID"]) == ("chosen", "renamed", "alice")
    assert after.body["initMemberList"] == [{"userID": "alice", "roleLevel": 100}, {"userID": "carol", "roleLevel": 60}]


async def test_create_group_refused_writes_nothing(hooked: Hooked) -> None:
    """A refusal of beforeCreateGroup or of beforeMemberJoinGroup answers the receiver's error and leaves no
    group behind; an answer that breaks the request's rules (groupType 1, a second owner) is 1001."""
    chat = await hooked.chat("alice", "bob")
    hooked.receiver.answer(CREATE_BEFORE, refuse(7101, "no groups today", "quota"))
    result = await create(chat, "r1", members=("bob",))
    assert (result["errCode"], result["errMsg"], result["errDlt"]) == (7101, "no groups today", "quota")
    assert hooked.receiver.calls_of(JOIN_BEFORE) == []
    hooked.receiver.clear()
    hooked.receiver.answer(JOIN_BEFORE, refuse(7102, "bob may not join"))
    result = await create(chat, "r2", members=("bob",))
    assert (result["errCode"], result["errMsg"]) == (7102, "bob may not join")
    hooked.receiver.clear()
    hooked.receiver.answer(CREATE_BEFORE, {"groupType": 1})
    assert (await create(chat, "r3", members=("bob",)))["errCode"] == 1001
    hooked.receiver.clear()
    hooked.receiver.answer(JOIN_BEFORE, {"memberCallbackList": [{"userID": "bob", "roleLevel": 100}]})
    assert (await create(chat, "r4", members=("bob",)))["errCode"] == 1001
    for group_id in ("r1", "r2", "r3", "r4"):
        assert await hooked.runtime.storage.group.get_group(group_id) is None
        assert await member_ids(hooked, group_id) == set()
    await hooked.runtime.services.msg.drain_jobs()
    assert hooked.receiver.calls_of(CREATE_AFTER) == []


async def test_create_group_failed_call_goes_on_unmodified(hooked_with: Any) -> None:
    """An undecodable answer (groupName a number) is a failed call: failedContinue true creates the group as
    asked; false fails it with 90007 and writes nothing."""
    lenient = await hooked_with(**enable(*GROUP_HOOKS))
    chat = await lenient.chat("alice")
    lenient.receiver.answer(CREATE_BEFORE, {"groupName": 5})
    assert (await create(chat, "f1"))["errCode"] == 0
    group = await lenient.runtime.storage.group.get_group("f1")
    assert group is not None and group.group_name == "team"
    strict = await hooked_with(**enable(*GROUP_HOOKS, OPENIM_WEBHOOKS_BEFORECREATEGROUP_FAILEDCONTINUE="false"))
    chat = await strict.chat("zoe")  # the same database: another user
    strict.receiver.answer(CREATE_BEFORE, Reply(b"[]"))
    assert (await create(chat, "f2", owner="zoe"))["errCode"] == 90007
    assert await strict.runtime.storage.group.get_group("f2") is None


async def test_invite_hooks(hooked: Hooked) -> None:
    """invite_user_to_group: beforeInviteUserToGroup {operationID, groupID, reason, invitedUserIDs} may refuse;
    then beforeMemberJoinGroup, which may refuse or change the new members."""
    chat = await hooked.chat("alice", "bob", "carol", "dave", "erin")
    await quiet_group(hooked, chat, "gi", ex="gex")
    invite = {"groupID": "gi", "invitedUserIDs": ["dave", "erin"], "reason": "friends"}
    hooked.receiver.answer(INVITE_BEFORE, refuse(7201, "closed"))
    result = await chat.post("/group/invite_user_to_group", invite, as_="bob", op="op-inv")
    assert (result["errCode"], result["errMsg"]) == (7201, "closed")
    [before] = hooked.receiver.calls_of(INVITE_BEFORE)
    assert before.body == {
        "callbackCommand": INVITE_BEFORE,
        "operationID": "op-inv",
        "groupID": "gi",
        "reason": "friends",
        "invitedUserIDs": ["dave", "erin"],
    }
    assert hooked.receiver.calls_of(JOIN_BEFORE) == []
    hooked.receiver.clear()
    hooked.receiver.answer(JOIN_BEFORE, refuse(7202, "not erin"))
    assert (await chat.post("/group/invite_user_to_group", invite, as_="bob"))["errCode"] == 7202
    [join] = hooked.receiver.calls_of(JOIN_BEFORE)
    assert join.body["memberList"] == [{"userID": "dave", "ex": ""}, {"userID": "erin", "ex": ""}]
    assert join.body["groupEx"] == "gex"
    assert await member_ids(hooked, "gi") == {"alice", "bob", "carol"}
    hooked.receiver.clear()
    hooked.receiver.answer(JOIN_BEFORE, {"memberCallbackList": [{"userID": "erin", "nickname": "E", "ex": "vip"}]})
    await chat.ok("/group/invite_user_to_group", invite, as_="bob")
    assert await member_ids(hooked, "gi") == {"alice", "bob", "carol", "dave", "erin"}
    erin = await hooked.runtime.storage.group.get_member("gi", "erin")
    assert erin is not None and (erin.nickname, erin.ex, erin.role_level) == ("E", "vip", 20)


async def test_join_group_hooks(hooked: Hooked) -> None:
    """join_group: beforeApplyJoinGroup {groupID, groupType (sic: Go's string of 2), applyID, reqMessage, ex}
    may refuse (no request, no member); a direct join (needVerification 2) then asks beforeMemberJoinGroup and
    tells afterJoinGroup {operationID, groupID, reqMessage, joinSource, inviterUserID}."""
    chat = await hooked.chat("alice", "bob", "carol", "dave")
    await quiet_group(hooked, chat, "gj", needVerification=2)
    apply = {"groupID": "gj", "reqMessage": "let me in", "joinSource": 3, "ex": "e1"}
    hooked.receiver.answer(APPLY_BEFORE, refuse(7301, "invite only"))
    result = await chat.post("/group/join_group", apply, as_="dave")
    assert (result["errCode"], result["errMsg"]) == (7301, "invite only")
    [before] = hooked.receiver.calls_of(APPLY_BEFORE)
    assert before.body == {
        "callbackCommand": APPLY_BEFORE,
        "groupID": "gj",
        "groupType": WORKING,
        "applyID": "dave",
        "reqMessage": "let me in",
        "ex": "e1",
    }
    assert "dave" not in await member_ids(hooked, "gj")
    assert await hooked.runtime.storage.group.get_requests("gj", ["dave"]) == []
    hooked.receiver.clear()
    hooked.receiver.answer(JOIN_BEFORE, {"memberCallbackList": [{"userID": "dave", "muteEndTime": 123}]})
    await chat.ok("/group/join_group", apply, as_="dave", op="op-join")
    dave = await hooked.runtime.storage.group.get_member("gj", "dave")
    assert dave is not None and dave.mute_end_time == 123
    [after] = await hooked.receiver.wait_for(JOIN_AFTER)
    assert after.body == {
        "callbackCommand": JOIN_AFTER,
        "operationID": "op-join",
        "groupID": "gj",
        "reqMessage": "let me in",
        "joinSource": 3,
        "inviterUserID": "",
    }


async def test_application_response_asks_before_member_join(hooked: Hooked) -> None:
    """An application agreed to asks beforeMemberJoinGroup: a refusal keeps the request pending and the user
    out; an allowed one joins with the answer's changes. afterJoinGroup is for direct joins only (OpenIM)."""
    chat = await hooked.chat("alice", "bob", "carol", "dave")
    await quiet_group(hooked, chat, "ga")
    await chat.ok("/group/join_group", {"groupID": "ga", "reqMessage": "pls", "joinSource": 3}, as_="dave")
    assert len(hooked.receiver.calls_of(APPLY_BEFORE)) == 1
    assert hooked.receiver.calls_of(JOIN_BEFORE) == []  # a request, not a join
    agree = {"groupID": "ga", "fromUserID": "dave", "handledMsg": "ok", "handleResult": 1}
    hooked.receiver.answer(JOIN_BEFORE, refuse(7401, "banned"))
    assert (await chat.post("/group/group_application_response", agree, as_="bob"))["errCode"] == 7401
    [request] = await hooked.runtime.storage.group.get_requests("ga", ["dave"])
    assert request.handle_result == 0
    assert "dave" not in await member_ids(hooked, "ga")
    hooked.receiver.answer(JOIN_BEFORE, {"memberCallbackList": [{"userID": "dave", "nickname": "D", "roleLevel": 60}]})
    await chat.ok("/group/group_application_response", agree, as_="bob")
    dave = await hooked.runtime.storage.group.get_member("ga", "dave")
    assert dave is not None and (dave.nickname, dave.role_level) == ("D", 60)
    await hooked.runtime.services.msg.drain_jobs()
    assert hooked.receiver.calls_of(JOIN_AFTER) == []


async def test_set_group_member_info_hooks(hooked: Hooked) -> None:
    """before/afterSetGroupMemberInfo {groupID, userID, nickName, faceURL, roleLevel, ex} (null = not set), one
    call per member; the answer replaces fields; one refusal writes nothing for any member."""
    chat = await hooked.chat("alice", "bob", "carol")
    await quiet_group(hooked, chat, "gm")
    both = [{"groupID": "gm", "userID": "carol", "nickname": "C"}, {"groupID": "gm", "userID": "bob", "ex": "b"}]

    def answer(call: Any) -> dict[str, Any]:
        return refuse(7501, "not bob") if call.body["userID"] == "bob" else {}

    hooked.receiver.answer(MEMBER_BEFORE, answer)
    result = await chat.post("/group/set_group_member_info", {"members": both}, as_="alice")
    assert (result["errCode"], result["errMsg"]) == (7501, "not bob")
    carol = await hooked.runtime.storage.group.get_member("gm", "carol")
    assert carol is not None and carol.nickname == ""
    first = hooked.receiver.calls_of(MEMBER_BEFORE)[0]
    assert first.body == {
        "callbackCommand": MEMBER_BEFORE,
        "groupID": "gm",
        "userID": "carol",
        "nickName": "C",
        "faceURL": None,
        "roleLevel": None,
        "ex": None,
    }
    hooked.receiver.clear()
    hooked.receiver.answer(MEMBER_BEFORE, {"nickName": "Carol ✓", "roleLevel": 60, "ex": ""})
    await chat.ok("/group/set_group_member_info", {"members": both[:1]}, as_="alice")
    carol = await hooked.runtime.storage.group.get_member("gm", "carol")
    assert carol is not None and (carol.nickname, carol.role_level) == ("Carol ✓", 60)
    [after] = await hooked.receiver.wait_for(MEMBER_AFTER)
    assert after.body == {
        "callbackCommand": MEMBER_AFTER,
        "groupID": "gm",
        "userID": "carol",
        "nickName": "Carol ✓",
        "faceURL": None,
        "roleLevel": 60,
        "ex": "",
    }
    hooked.receiver.answer(MEMBER_BEFORE, {"roleLevel": 100})  # nobody becomes owner but by transfer
    result = await chat.post("/group/set_group_member_info", {"members": both[:1]}, as_="alice")
    assert result["errCode"] == 1001
    carol = await hooked.runtime.storage.group.get_member("gm", "carol")
    assert carol is not None and carol.role_level == 60


async def test_set_group_info_hooks(hooked: Hooked) -> None:
    """set_group_info: the before body has plain strings and zero values, the after body null for the wrapper
    fields not set; the answer's non-empty strings and set wrappers replace the request's, its groupID is not
    taken; a refusal changes nothing."""
    chat = await hooked.chat("alice", "bob", "carol")
    await quiet_group(hooked, chat, "gs")
    await quiet_group(hooked, chat, "other")
    change = {"groupInfoForSet": {"groupID": "gs", "introduction": "about us", "lookMemberInfo": 1}}
    hooked.receiver.answer(INFO_BEFORE, refuse(7601, "frozen"))
    result = await chat.post("/group/set_group_info", change, as_="bob", op="op-set")
    assert (result["errCode"], result["errMsg"]) == (7601, "frozen")
    [before] = hooked.receiver.calls_of(INFO_BEFORE)
    assert before.body == {
        "callbackCommand": INFO_BEFORE,
        "operationID": "op-set",
        "groupID": "gs",
        "groupName": "",
        "notification": "",
        "introduction": "about us",
        "faceURL": "",
        "ex": "",
        "needVerification": 0,
        "lookMemberInfo": 1,
        "applyMemberFriend": 0,
    }
    group = await hooked.runtime.storage.group.get_group("gs")
    assert group is not None and (group.introduction, group.look_member_info) == ("", 0)
    hooked.receiver.clear()
    answer = {"groupID": "other", "groupName": "", "introduction": "rewritten", "ex": "x", "applyMemberFriend": 1}
    hooked.receiver.answer(INFO_BEFORE, answer)
    await chat.ok("/group/set_group_info", change, as_="bob", op="op-set")
    group = await hooked.runtime.storage.group.get_group("gs")
    assert group is not None
    assert (group.group_name, group.introduction, group.ex, group.look_member_info, group.apply_member_friend) == (
        "team",
        "rewritten",
        "x",
        1,
        1,
    )
    other = await hooked.runtime.storage.group.get_group("other")
    assert other is not None and other.introduction == ""
    [after] = await hooked.receiver.wait_for(INFO_AFTER)
    assert after.body == {
        "callbackCommand": INFO_AFTER,
        "operationID": "op-set",
        "groupID": "gs",
        "groupName": "",
        "notification": "",
        "introduction": "rewritten",
        "faceURL": "",
        "ex": "x",
        "needVerification": None,
        "lookMemberInfo": 1,
        "applyMemberFriend": 1,
    }
    assert hooked.receiver.calls_of(INFO_EX_BEFORE) == []


async def test_set_group_info_ex_hooks(hooked: Hooked) -> None:
    """set_group_info_ex: bodies carry each field or null; the answer's "" sets a field; a refusal changes
    nothing; a modified needVerification is checked as the request's (1001)."""
    chat = await hooked.chat("alice", "bob", "carol")
    await quiet_group(hooked, chat, "gx", ex="old")
    change = {"groupID": "gx", "faceURL": "new.png", "needVerification": 1}
    hooked.receiver.answer(INFO_EX_BEFORE, refuse(7701, "nope"))
    result = await chat.post("/group/set_group_info_ex", change, as_="alice", op="op-ex")
    assert (result["errCode"], result["errMsg"]) == (7701, "nope")
    [before] = hooked.receiver.calls_of(INFO_EX_BEFORE)
    assert before.body == {
        "callbackCommand": INFO_EX_BEFORE,
        "operationID": "op-ex",
        "groupID": "gx",
        "groupName": None,
        "notification": None,
        "introduction": None,
        "faceURL": "new.png",
        "ex": None,
        "needVerification": 1,
        "lookMemberInfo": None,
        "applyMemberFriend": None,
    }
    group = await hooked.runtime.storage.group.get_group("gx")
    assert group is not None and (group.face_url, group.need_verification) == ("", 0)
    hooked.receiver.clear()
    hooked.receiver.answer(INFO_EX_BEFORE, {"ex": "", "notification": "read me"})
    await chat.ok("/group/set_group_info_ex", change, as_="alice", op="op-ex")
    group = await hooked.runtime.storage.group.get_group("gx")
    assert group is not None
    assert (group.face_url, group.need_verification, group.ex, group.notification) == ("new.png", 1, "", "read me")
    [after] = await hooked.receiver.wait_for(INFO_EX_AFTER)
    assert after.body == {
        "callbackCommand": INFO_EX_AFTER,
        "operationID": "op-ex",
        "groupID": "gx",
        "groupName": None,
        "notification": "read me",
        "introduction": None,
        "faceURL": "new.png",
        "ex": "",
        "needVerification": 1,
        "lookMemberInfo": None,
        "applyMemberFriend": None,
    }
    assert hooked.receiver.calls_of(INFO_BEFORE) == []
    hooked.receiver.answer(INFO_EX_BEFORE, {"needVerification": 9})
    assert (await chat.post("/group/set_group_info_ex", change, as_="alice"))["errCode"] == 1001


async def test_leaving_and_owner_after_hooks(hooked: Hooked) -> None:
    """afterKickGroupMember {groupID, kickedUserIDs, reason}, afterQuitGroup {groupID, userID},
    afterTransferGroupOwner {groupID, oldOwnerUserID, newOwnerUserID}."""
    chat = await hooked.chat("alice", "bob", "carol", "dave")
    await quiet_group(hooked, chat, "gl")
    await chat.ok("/group/invite_user_to_group", {"groupID": "gl", "invitedUserIDs": ["dave"]}, as_="alice")
    kick = {"groupID": "gl", "kickedUserIDs": ["dave"], "reason": "spam"}
    await chat.ok("/group/kick_group", kick, as_="bob")
    [kicked] = await hooked.receiver.wait_for(KICK_AFTER)
    assert kicked.body == {"callbackCommand": KICK_AFTER, **kick}
    await chat.ok("/group/quit_group", {"groupID": "gl"}, as_="carol")
    [quit_] = await hooked.receiver.wait_for(QUIT_AFTER)
    assert quit_.body == {"callbackCommand": QUIT_AFTER, "groupID": "gl", "userID": "carol"}
    transfer = {"groupID": "gl", "oldOwnerUserID": "alice", "newOwnerUserID": "bob"}
    await chat.ok("/group/transfer_group", transfer, as_="alice")
    [moved] = await hooked.receiver.wait_for(TRANSFER_AFTER)
    assert moved.body == {"callbackCommand": TRANSFER_AFTER, **transfer}


async def test_dismiss_after_hook(hooked: Hooked) -> None:
    """afterDismissGroup {groupID, ownerID, groupType (sic: Go's string of 2), membersID}, with or without
    deleteMember."""
    chat = await hooked.chat("alice", "bob", "carol")
    await quiet_group(hooked, chat, "gd1")
    await quiet_group(hooked, chat, "gd2")
    await chat.ok("/group/dismiss_group", {"groupID": "gd1"}, as_="alice")
    await chat.ok("/group/dismiss_group", {"groupID": "gd2", "deleteMember": True}, as_="admin")
    calls = await hooked.receiver.wait_for(DISMISS_AFTER, 2)
    bodies = sorted((c.body for c in calls), key=lambda b: str(b["groupID"]))
    for body, group_id in zip(bodies, ("gd1", "gd2"), strict=True):
        assert set(body) == {"callbackCommand", "groupID", "ownerID", "groupType", "membersID"}
        assert (body["groupID"], body["ownerID"], body["groupType"]) == (group_id, "alice", WORKING)
        assert sorted(body["membersID"]) == ["alice", "bob", "carol"]


async def test_group_hooks_off_post_nothing(hooked_with: Any) -> None:
    """With the group hooks off (the default) the same operations post nothing."""
    quiet = await hooked_with()
    chat = await quiet.chat("alice", "bob", "carol")
    assert (await create(chat, "g0", admins=("bob",), members=("carol",)))["errCode"] == 0
    await chat.ok("/group/kick_group", {"groupID": "g0", "kickedUserIDs": ["carol"]}, as_="alice")
    await chat.ok("/group/set_group_info_ex", {"groupID": "g0", "ex": "x"}, as_="alice")
    await chat.ok("/group/dismiss_group", {"groupID": "g0"}, as_="alice")
    await quiet.runtime.services.msg.drain_jobs()
    assert quiet.receiver.calls == []
