"""Tests for openim.services.friend, write side: the application flow, friends, remarks, blacklist, import, the
notifications they push (contentType and Go-shaped tips) with their versions, and who may do what."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.factories import make_friend
from tests.services.msgkit import ADMIN, MsgKit, caller, msg_kit, text_msg

from openim.infra.bus import Push
from openim.protocol.constants import ContentType
from openim.protocol.errors import (
    ArgsError,
    BlockedByPeer,
    CanNotAddYourselfError,
    FriendRequestHandled,
    NoPermissionError,
    NotPeersFriend,
    RecordNotFoundError,
    RelationshipAlreadyError,
)
from openim.services.friend import FriendService
from openim.services.msg import MsgService
from openim.services.notification import NotificationSender
from openim.services.paging import Page
from openim.storage import Storage
from openim.storage.commit import MsgWriter
from openim.storage.friend import KIND_BLACK
from openim.storage.version import KIND_FRIEND

C = ContentType
PAGE_ALL = 1000


@pytest.fixture
async def kit(storage: Storage) -> AsyncIterator[MsgKit]:
    """The msg kit (its bus collects every push) with users a, b and c."""
    async with msg_kit(storage) as k:
        await k.users("a", "b", "c")
        yield k


@pytest.fixture
def svc(kit: MsgKit) -> FriendService:
    """The friend service over the kit's storage, notification sender and clock."""
    return FriendService(kit.storage, kit.notifications, kit.clock)


def tips_of(push: Push) -> dict[str, Any]:
    """The tips of a pushed notification: content is {"detail": "<Go JSON>"}, decoded twice."""
    detail = json.loads(push.msg.content)["detail"]
    tips: dict[str, Any] = json.loads(detail)
    return tips


async def notes(kit: MsgKit, content_type: int | None = None) -> list[Push]:
    """The friend notifications pushed so far (of one content type if given), emptying the kit's list."""
    pushes = list(await kit.drained())
    kit.pushes.clear()
    return [p for p in pushes if content_type is None or p.msg.contentType == content_type]


async def friend_ids(kit: MsgKit, user_id: str) -> list[str]:
    """The user's friend list, in friend order."""
    return await kit.storage.friend.friend_user_ids(user_id)


# --- the application flow ----------------------------------------------------------------------------------


async def test_apply_pushes_1203_to_the_target(kit: MsgKit, svc: FriendService) -> None:
    """add_friend stores a pending request and pushes 1203 (online only) to B and A's devices, Go-shaped tips."""
    await svc.apply(caller("a"), "a", "b", req_msg="hello", ex="x", operation_id="op1")
    (push,) = await notes(kit)
    assert (push.msg.contentType, push.msg.sessionType, push.msg.seq) == (C.FRIEND_APPLICATION_NOTIFICATION, 1, 0)
    assert (push.msg.sendID, push.msg.recvID, push.conversation_id) == ("a", "b", "n_a_b")
    assert set(push.user_ids) == {"a", "b"} and push.operation_id == "op1"
    assert tips_of(push) == {
        "fromToUserID": {"fromUserID": "a", "toUserID": "b"},
        "request": {
            "fromUserID": "a",
            "fromNickname": "A",
            "fromFaceURL": "",
            "toUserID": "b",
            "toNickname": "B",
            "toFaceURL": "",
            "handleResult": 0,
            "reqMsg": "hello",
            "createTime": kit.clock.now_ms(),
            "handlerUserID": "",
            "handleMsg": "",
            "handleTime": 0,
            "ex": "x",
        },
    }
    assert await kit.storage.msg.seq_states(["n_a_b"]) == {}  # online only: nothing stored


async def test_whole_flow_a_applies_b_agrees(kit: MsgKit, svc: FriendService) -> None:
    """A→B, B agrees: both lists show each other, incremental sync from the previous version returns exactly
    the insert, and A gets 1201 carrying its new friend version, also copied into the si_ chat."""
    base = {u: await kit.storage.version.current(KIND_FRIEND, u) for u in ("a", "b")}
    await svc.apply(caller("a"), "a", "b", req_msg="hi")
    await notes(kit)
    kit.clock.advance(1)
    await svc.respond(caller("b"), "a", "b", 1, handle_msg="welcome", operation_id="op2")
    assert await friend_ids(kit, "a") == ["b"] and await friend_ids(kit, "b") == ["a"]
    total, entries = await svc.get_friend_list(caller("a"), "a", _page())
    assert total == 1 and entries[0].friend.add_source == 2 and entries[0].user is not None
    for user, other in (("a", "b"), ("b", "a")):
        delta = await svc.get_incremental_friends(caller(user), user, base[user].version_id, base[user].version)
        assert delta.full is False and delta.version == base[user].version + 1
        assert [e.friend.friend_user_id for e in delta.inserted or []] == [other]
        assert (delta.updated, delta.deleted) == (None, None)
    approved = await notes(kit, C.FRIEND_APPLICATION_APPROVED_NOTIFICATION)
    online = next(p for p in approved if p.conversation_id == "n_a_b")
    copy = next(p for p in approved if p.conversation_id == "si_a_b")
    assert (online.msg.sendID, online.msg.recvID, online.msg.seq) == ("b", "a", 0)
    assert copy.msg.seq == 1 and set(copy.user_ids) == {"a", "b"}  # the chat copy is stored (isSendMsg)
    tips = tips_of(online)
    a_now = await kit.storage.version.current(KIND_FRIEND, "a")
    assert tips["fromToUserID"] == {"fromUserID": "a", "toUserID": "b"}
    assert (tips["handleMsg"], tips["friendVersion"], tips["friendVersionID"]) == ("welcome", 2, a_now.version_id)
    assert a_now.version == 2
    assert tips["request"]["handleResult"] == 1 and tips["request"]["handlerUserID"] == "b"
    assert tips["request"]["handleTime"] == kit.clock.now_ms() and tips["request"]["handleMsg"] == "welcome"
    assert tips_of(copy) == tips


async def test_agree_also_agrees_a_pending_reverse_request(kit: MsgKit, svc: FriendService) -> None:
    """When both applied, agreeing to one marks the other agreed too."""
    await svc.apply(caller("a"), "a", "b")
    await svc.apply(caller("b"), "b", "a")
    await svc.respond(caller("b"), "a", "b", 1)
    requests = await kit.storage.friend.requests_between("a", "b")
    assert [r.handle_result for r in requests] == [1, 1]
    with pytest.raises(ArgsError):  # the reverse one is handled now
        await svc.respond(caller("a"), "b", "a", 1)


async def test_refuse_pushes_1202_and_handled_requests_are_final(kit: MsgKit, svc: FriendService) -> None:
    """Refusing pushes 1202 to the applicant; answering a handled request: agree 1001, refuse 1305."""
    await svc.apply(caller("a"), "a", "b")
    await notes(kit)
    await svc.respond(caller("b"), "a", "b", -1, handle_msg="no")
    (push,) = await notes(kit)
    assert (push.msg.contentType, push.msg.sendID, push.msg.recvID) == (
        C.FRIEND_APPLICATION_REJECTED_NOTIFICATION,
        "b",
        "a",
    )
    tips = tips_of(push)
    assert tips["handleMsg"] == "no" and tips["request"]["handleResult"] == -1
    assert tips["fromToUserID"] == {"fromUserID": "a", "toUserID": "b"}
    with pytest.raises(FriendRequestHandled):
        await svc.respond(caller("b"), "a", "b", -1)
    with pytest.raises(ArgsError):
        await svc.respond(caller("b"), "a", "b", 1)
    assert await friend_ids(kit, "a") == [] and await notes(kit) == []


async def test_reapply_resets_the_request(kit: MsgKit, svc: FriendService) -> None:
    """Applying again after a refusal makes the request pending again with the new message, answerable again."""
    await svc.apply(caller("a"), "a", "b", req_msg="one")
    await svc.respond(caller("b"), "a", "b", -1)
    kit.clock.advance(5)
    await svc.apply(caller("a"), "a", "b", req_msg="two")
    request = await kit.storage.friend.get_request("a", "b")
    assert request is not None
    assert (request.handle_result, request.req_msg, request.create_time) == (0, "two", kit.clock.now_ms())
    assert await svc.get_self_unhandled_apply_count(caller("b"), "b", 0) == 1
    await svc.respond(caller("b"), "a", "b", 1)
    assert await kit.storage.friend.friendship("a", "b") == (True, True)


async def test_apply_rules(kit: MsgKit, svc: FriendService) -> None:
    """1301 to oneself, 1004 for an unknown user, 1304 when already mutual friends, 1001 without IDs; a
    one-way friendship or a blacklist does not stop an application."""
    with pytest.raises(CanNotAddYourselfError):
        await svc.apply(caller("a"), "a", "a")
    with pytest.raises(RecordNotFoundError):
        await svc.apply(caller("a"), "a", "ghost")
    with pytest.raises(ArgsError):
        await svc.apply(caller("a"), "a", "")
    await make_friend(kit.storage, "a", "b", now=kit.clock.now_ms())
    await svc.apply(caller("a"), "a", "b")  # b does not have a: allowed
    await make_friend(kit.storage, "b", "a", now=kit.clock.now_ms())
    with pytest.raises(RelationshipAlreadyError):
        await svc.apply(caller("a"), "a", "b")
    await svc.add_black(caller("c"), "c", "a")
    await svc.apply(caller("a"), "a", "c")


async def test_respond_rules(kit: MsgKit, svc: FriendService) -> None:
    """A missing request is 1004, a handleResult other than 1/-1 is 1001 (and changes nothing)."""
    with pytest.raises(RecordNotFoundError):
        await svc.respond(caller("b"), "a", "b", 1)
    await svc.apply(caller("a"), "a", "b")
    for bad in (0, 2):
        with pytest.raises(ArgsError):
            await svc.respond(caller("b"), "a", "b", bad)
    request = await kit.storage.friend.get_request("a", "b")
    assert request is not None and request.handle_result == 0


# --- friends -----------------------------------------------------------------------------------------------


async def _friends(kit: MsgKit, svc: FriendService, a: str, *others: str) -> None:
    """Make `a` mutual friends with each of `others` through import (admin)."""
    await svc.import_friends(caller(ADMIN), a, list(others))
    await notes(kit)


async def test_delete_friend_is_one_way_with_1205(kit: MsgKit, svc: FriendService) -> None:
    """A deletes B: only A's row goes (B keeps A), A's sync sees the delete, B gets 1205 with A's version."""
    await _friends(kit, svc, "a", "b")
    before = await kit.storage.version.current(KIND_FRIEND, "a")
    await svc.delete_friend(caller("a"), "a", "b")
    assert await svc.is_friend(caller("a"), "a", "b") == (False, True)
    delta = await svc.get_incremental_friends(caller("a"), "a", before.version_id, before.version)
    assert (delta.deleted, delta.inserted, delta.version) == (["b"], None, before.version + 1)
    (push,) = await notes(kit)
    assert (push.msg.contentType, push.msg.sendID, push.msg.recvID) == (C.FRIEND_DELETED_NOTIFICATION, "a", "b")
    assert tips_of(push) == {
        "fromToUserID": {"fromUserID": "a", "toUserID": "b"},
        "friendVersion": before.version + 1,
        "friendVersionID": before.version_id,
    }
    with pytest.raises(RecordNotFoundError):
        await svc.delete_friend(caller("a"), "a", "b")
    assert await notes(kit) == []


async def test_set_friend_remark_with_1206(kit: MsgKit, svc: FriendService) -> None:
    """The remark is set and logged as an update; 1206 goes owner → friend with the owner's version."""
    await _friends(kit, svc, "a", "b")
    before = await kit.storage.version.current(KIND_FRIEND, "a")
    await svc.set_friend_remark(caller("a"), "a", "b", "bobby")
    (entry,) = await svc.get_designated_friends(caller("a"), "a", ["b"])
    assert entry.friend.remark == "bobby"
    delta = await svc.get_incremental_friends(caller("a"), "a", before.version_id, before.version)
    assert [e.friend.remark for e in delta.updated or []] == ["bobby"]
    (push,) = await notes(kit)
    assert (push.msg.contentType, push.msg.sendID, push.msg.recvID) == (C.FRIEND_REMARK_SET_NOTIFICATION, "a", "b")
    assert tips_of(push) == {
        "fromToUserID": {"fromUserID": "a", "toUserID": "b"},
        "friendVersion": before.version + 1,
        "friendVersionID": before.version_id,
        "friendSortVersion": 0,
    }
    with pytest.raises(RecordNotFoundError):
        await svc.set_friend_remark(caller("a"), "a", "c", "x")


async def test_update_friends_pin_remark_ex_with_1210(kit: MsgKit, svc: FriendService) -> None:
    """update_friends sets only the given fields on every listed friend; a pin reorders and sets sortVersion;
    1210 goes to the owner with the friend IDs and its version."""
    await kit.users("d")
    await _friends(kit, svc, "a", "b", "c", "d")
    before = await kit.storage.version.current(KIND_FRIEND, "a")
    await svc.update_friends(caller("a"), "a", ["c", "d"], is_pinned=True, ex="vip")
    assert await friend_ids(kit, "a") == ["c", "d", "b"]
    rows = {e.friend.friend_user_id: e.friend for e in await svc.get_designated_friends(caller("a"), "a", ["b", "c"])}
    assert (rows["c"].is_pinned, rows["c"].ex, rows["c"].remark) == (True, "vip", "")
    assert (rows["b"].is_pinned, rows["b"].ex) == (False, "")
    delta = await svc.get_incremental_friends(caller("a"), "a", before.version_id, before.version)
    assert sorted(e.friend.friend_user_id for e in delta.updated or []) == ["c", "d"]
    assert delta.sort_version == before.version + 1
    (push,) = await notes(kit)
    assert (push.msg.contentType, push.msg.sendID, push.msg.recvID) == (C.FRIENDS_INFO_UPDATE_NOTIFICATION, "a", "a")
    assert push.user_ids == ("a",)
    assert tips_of(push) == {
        "fromToUserID": {"fromUserID": "", "toUserID": "a"},
        "friendIDs": ["c", "d"],
        "friendVersion": before.version + 1,
        "friendVersionID": before.version_id,
    }
    await svc.update_friends(caller("a"), "a", ["b"], remark="")
    assert (await notes(kit))[0].msg.contentType == C.FRIENDS_INFO_UPDATE_NOTIFICATION


async def test_update_friends_rules(kit: MsgKit, svc: FriendService) -> None:
    """No list, an empty or repeated one, or over 1000 IDs is 1001; a non-friend in the list is 1004, nothing set."""
    await _friends(kit, svc, "a", "b")
    bad_lists: list[list[str] | None] = [None, [], ["b", "b"], [f"u{i}" for i in range(1001)]]
    for ids in bad_lists:
        with pytest.raises(ArgsError):
            await svc.update_friends(caller("a"), "a", ids, remark="x")
    with pytest.raises(RecordNotFoundError):
        await svc.update_friends(caller("a"), "a", ["b", "c"], remark="x")
    (entry,) = await svc.get_designated_friends(caller("a"), "a", ["b"])
    assert entry.friend.remark == ""
    assert await notes(kit) == []


async def test_import_friend(kit: MsgKit, svc: FriendService) -> None:
    """Admin import: both directions at once (addSource 1), no requests, 1201 from each friend to the owner."""
    await svc.import_friends(caller(ADMIN), "a", ["b", "c"])
    assert await friend_ids(kit, "a") == ["b", "c"]
    assert await friend_ids(kit, "b") == ["a"] and await friend_ids(kit, "c") == ["a"]
    assert (await kit.storage.friend.get_friends("b", ["a"]))[0].add_source == 1
    assert await kit.storage.friend.requests_between("a", "b") == []
    approved = [p for p in await notes(kit, C.FRIEND_APPLICATION_APPROVED_NOTIFICATION) if p.msg.seq == 0]
    assert sorted((p.msg.sendID, p.msg.recvID) for p in approved) == [("b", "a"), ("c", "a")]
    a_now = await kit.storage.version.current(KIND_FRIEND, "a")
    tips = tips_of(approved[0])
    assert (tips["request"], tips["friendVersion"], tips["friendVersionID"]) == (None, a_now.version, a_now.version_id)


async def test_import_friend_rules(kit: MsgKit, svc: FriendService) -> None:
    """Only admins (1002); the owner in the list 1301; repeats 1001; unknown users 1004; nothing written."""
    with pytest.raises(NoPermissionError):
        await svc.import_friends(caller("a"), "a", ["b"])
    with pytest.raises(CanNotAddYourselfError):
        await svc.import_friends(caller(ADMIN), "a", ["b", "a"])
    with pytest.raises(ArgsError):
        await svc.import_friends(caller(ADMIN), "a", ["b", "b"])
    with pytest.raises(ArgsError):
        await svc.import_friends(caller(ADMIN), "a", None)
    with pytest.raises(RecordNotFoundError):
        await svc.import_friends(caller(ADMIN), "a", ["b", "ghost"])
    assert await friend_ids(kit, "a") == [] and await notes(kit) == []


async def test_friend_info_changed_pushes_1209_to_whoever_has_the_user(kit: MsgKit, svc: FriendService) -> None:
    """A profile change logs an update in each owner's friend log and sends 1209 {userID} to each owner."""
    await _friends(kit, svc, "a", "b", "c")
    before = await kit.storage.version.current(KIND_FRIEND, "b")
    await svc.friend_info_changed(caller("a"), "a", operation_id="op")
    pushes = await notes(kit, C.FRIEND_INFO_UPDATED_NOTIFICATION)
    assert sorted(p.msg.recvID for p in pushes) == ["b", "c"]
    assert {p.msg.sendID for p in pushes} == {"a"} and tips_of(pushes[0]) == {"userID": "a"}
    delta = await svc.get_incremental_friends(caller("b"), "b", before.version_id, before.version)
    assert [e.friend.friend_user_id for e in delta.updated or []] == ["a"]


async def test_get_specified_friends_info(kit: MsgKit, svc: FriendService) -> None:
    """Each listed friend or blocked user with the owner's rows of it (or None); strangers and unknown users
    are left out."""
    await kit.users("d")
    await _friends(kit, svc, "a", "b")
    await svc.add_black(caller("a"), "a", "c")
    await svc.add_black(caller("a"), "a", "b")
    infos = await svc.get_specified_friends_info(caller("a"), "a", ["c", "ghost", "d", "b"])
    assert [(i.user.user_id, i.friend is not None, i.black is not None) for i in infos] == [
        ("c", False, True),
        ("b", True, True),
    ]
    assert await svc.get_specified_friends_info(caller("d"), "d", ["a", "b"]) == []
    for ids in (None, [], ["b", "b"]):
        with pytest.raises(ArgsError):
            await svc.get_specified_friends_info(caller("a"), "a", ids)


# --- blacklist ---------------------------------------------------------------------------------------------


async def test_black_add_remove_with_1207_1208_and_1302(kit: MsgKit, svc: FriendService) -> None:
    """Blocking stops the blocked user's messages (1302) without touching friendship; 1207/1208 go owner →
    user; the black log records both; repeating either changes nothing and notifies no one."""
    await _friends(kit, svc, "a", "b")
    await svc.add_black(caller("a"), "a", "b", ex="spam")
    (push,) = await notes(kit)
    assert (push.msg.contentType, push.msg.sendID, push.msg.recvID) == (C.BLACK_ADDED_NOTIFICATION, "a", "b")
    assert tips_of(push) == {"fromToUserID": {"fromUserID": "a", "toUserID": "b"}}
    with pytest.raises(BlockedByPeer):
        await kit.send("b", "a")
    await kit.send("a", "b")  # the other direction is not blocked
    assert await kit.storage.friend.friendship("a", "b") == (True, True)
    await svc.add_black(caller("a"), "a", "b", ex="again")
    assert await notes(kit, C.BLACK_ADDED_NOTIFICATION) == []
    state = await kit.storage.version.current(KIND_BLACK, "a")
    await svc.remove_black(caller("a"), "a", "b")
    (push,) = await notes(kit)
    assert (push.msg.contentType, tips_of(push)) == (
        C.BLACK_DELETED_NOTIFICATION,
        {"fromToUserID": {"fromUserID": "a", "toUserID": "b"}},
    )
    delta = await svc.get_incremental_blacks(caller("a"), "a", state.version_id, state.version)
    assert delta.deleted == ["b"]
    await kit.send("b", "a")
    await svc.remove_black(caller("a"), "a", "b")
    assert await notes(kit, C.BLACK_DELETED_NOTIFICATION) == []


async def test_black_rules(kit: MsgKit, svc: FriendService) -> None:
    """Blocking oneself or without IDs is 1001, an unknown user 1004."""
    with pytest.raises(ArgsError):
        await svc.add_black(caller("a"), "a", "a")
    with pytest.raises(ArgsError):
        await svc.add_black(caller("a"), "a", "")
    with pytest.raises(RecordNotFoundError):
        await svc.add_black(caller("a"), "a", "ghost")


async def test_friend_verify_needs_friendship(storage: Storage) -> None:
    """With friendVerify, a single-chat message needs the sender in the receiver's list (1303); after B agrees
    it goes through; without friendVerify strangers may chat."""
    async with msg_kit(storage) as plain:
        await plain.users("a", "b")
        await plain.send("a", "b")  # friendVerify off by default
        verified: MsgService
        writer = MsgWriter(storage.msg, on_commit=lambda batch: verified.on_commit(batch))
        verified = MsgService(storage, writer, plain.bus, plain.clock, admin_user_ids=[ADMIN], friend_verify=True)
        svc = FriendService(storage, NotificationSender(verified, plain.clock), plain.clock)
        try:
            with pytest.raises(NotPeersFriend):
                await verified.send(caller("a"), text_msg("a", "b"), operation_id="x")
            await svc.apply(caller("a"), "a", "b")
            await svc.respond(caller("b"), "a", "b", 1)
            await verified.send(caller("a"), text_msg("a", "b"), operation_id="y")
            await verified.send(caller(ADMIN), text_msg(ADMIN, "b"), operation_id="z")  # admins are exempt
        finally:
            await writer.close()


# --- authorization -----------------------------------------------------------------------------------------


async def test_third_user_can_neither_act_nor_read_for_others(kit: MsgKit, svc: FriendService) -> None:
    """C cannot apply as A, answer B's request, or read or change A's lists (1002), and nothing changes."""
    await _friends(kit, svc, "a", "b")
    await svc.apply(caller("c"), "c", "b")
    await svc.set_friend_remark(caller("a"), "a", "b", "bee")
    await notes(kit)
    versions = {(k, u): await kit.storage.version.current(k, u) for k in (KIND_FRIEND, KIND_BLACK) for u in "abc"}
    c = caller("c")
    attempts: list[Any] = [
        svc.apply(c, "a", "b"),
        svc.respond(c, "c", "b", 1),
        svc.respond(c, "c", "b", -1),
        svc.delete_friend(c, "a", "b"),
        svc.set_friend_remark(c, "a", "b", "mine"),
        svc.update_friends(c, "a", ["b"], is_pinned=True),
        svc.add_black(c, "a", "b"),
        svc.remove_black(c, "a", "b"),
        svc.import_friends(c, "c", ["a"]),
        svc.get_friend_list(c, "a", _page()),
        svc.get_friend_ids(c, "a"),
        svc.get_designated_friends(c, "a", ["b"]),
        svc.get_specified_friends_info(c, "a", ["b"]),
        svc.get_incremental_friends(c, "a", "", 0),
        svc.get_full_friend_user_ids(c, "a", 0),
        svc.get_black_list(c, "a", _page()),
        svc.get_friend_apply_list(c, "b", [], _page()),
        svc.get_self_friend_apply_list(c, "a", [], _page()),
        svc.get_designated_friend_apply(c, "a", "b"),
        svc.is_friend(c, "a", "b"),
    ]
    for attempt in attempts:
        with pytest.raises(NoPermissionError):
            await attempt
    assert await friend_ids(kit, "a") == ["b"] and await friend_ids(kit, "c") == []
    (entry,) = await svc.get_designated_friends(caller("a"), "a", ["b"])
    assert (entry.friend.remark, entry.friend.is_pinned) == ("bee", False)
    request = await kit.storage.friend.get_request("c", "b")
    assert request is not None and request.handle_result == 0
    assert await kit.storage.friend.get_request("a", "b") is None
    for (kind, user), state in versions.items():
        assert await kit.storage.version.current(kind, user) == state
    assert await notes(kit) == []


async def test_admin_may_act_for_users(kit: MsgKit, svc: FriendService) -> None:
    """An imAdmin may apply and answer on users' behalf; the handler recorded is the admin."""
    await svc.apply(caller(ADMIN), "a", "b")
    await svc.respond(caller(ADMIN), "a", "b", 1)
    request = await kit.storage.friend.get_request("a", "b")
    assert request is not None and request.handler_user_id == ADMIN
    assert await kit.storage.friend.friendship("a", "b") == (True, True)


def _page() -> Page:
    return Page(1, PAGE_ALL)
