"""Tests for openim.services.group, write side: every rule and error code of the group routes, the tips and
whom they reach, the members' conversations and seq caps, incremental member sync, and a 100,000-member group.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from tests.services.msgkit import ADMIN, MsgKit, caller, msg_kit

from openim.protocol.constants import ContentType, GroupStatus, MsgStatus, SessionType
from openim.protocol.errors import (
    ArgsError,
    DismissedAlreadyError,
    GroupIDExisted,
    GroupIDNotFoundError,
    GroupRequestHandled,
    MutedGroup,
    MutedInGroup,
    NoPermissionError,
    NotInGroupYetError,
    OpenIMError,
    RecordNotFoundError,
    UserIDNotFoundError,
)
from openim.protocol.gojson import to_go
from openim.protocol.ids import new_client_msg_id
from openim.protocol.pb import sdkws_pb2
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.services.group import GroupInfoChange, GroupService, MemberInfoChange, NewGroup
from openim.services.group.manage import member_list_hash
from openim.services.paging import Page
from openim.services.wire import member_pb
from openim.storage import Storage
from openim.storage.rows import User
from openim.storage.version import KIND_CONVERSATION, KIND_GROUP_MEMBER, KIND_JOIN_GROUP

C = ContentType
G = "g1"


@dataclass
class Kit:
    """The group service under test on a msg kit (users o, a, m1, m2, m3, x registered; group g1 made by o
    with admin a and members m1, m2 — x stays outside)."""

    msg: MsgKit
    group: GroupService

    @property
    def storage(self) -> Storage:
        return self.msg.storage

    async def send(self, sender: str, group_id: str = G, body: str = "hi") -> int:
        """A group text from `sender`; returns its seq."""
        resp = await self.msg.service.send(caller(sender), group_text(sender, group_id, body), operation_id="op")
        assert resp.serverMsgID
        stored = await self.storage.msg.seq_states([f"sg_{group_id}"])
        return stored[f"sg_{group_id}"].max_seq

    async def pushes(self, content_type: int | None = None) -> list[Any]:
        """Pushes so far (of one content type), taking them out of the list."""
        found = await self.msg.drained()
        out = [p for p in found if content_type is None or p.msg.contentType == content_type]
        found[:] = [p for p in found if p not in out]
        return out


def group_text(sender: str, group_id: str = G, body: str = "hi") -> MsgData:
    return MsgData(
        sendID=sender,
        groupID=group_id,
        clientMsgID=new_client_msg_id(sender),
        senderPlatformID=5,
        sessionType=SessionType.READ_GROUP_CHAT,
        msgFrom=100,
        contentType=ContentType.TEXT,
        content=json.dumps({"content": body}).encode(),
        createTime=1,
        status=MsgStatus.SENDING,
    )


def tips_of(push: Any) -> dict[str, Any]:
    """The tips JSON inside a notification push."""
    detail: dict[str, Any] = json.loads(json.loads(push.msg.content)["detail"])
    return detail


def recipients(pushes: list[Any]) -> set[str]:
    return {u for p in pushes for u in p.user_ids}


@pytest.fixture
async def kit(storage: Storage) -> AsyncIterator[Kit]:
    async with msg_kit(storage) as m:
        await m.users("o", "a", "m1", "m2", "m3", "x", ADMIN)
        service = GroupService(storage, m.notifications, m.clock)
        k = Kit(m, service)
        await service.create_group(caller("o"), NewGroup(group_id=G, group_name="g"), "o", ["m1", "m2"], ["a"])
        await k.pushes()
        yield k


async def raises(code: type[OpenIMError], coro: Any) -> None:
    with pytest.raises(code):
        await coro


# --- create --------------------------------------------------------------------------------------------------


async def test_create_group_rows_logs_conversations_and_tips(storage: Storage) -> None:
    """create_group: generated decimal groupID, roles 100/60/20 invited by the caller, every member logged and
    given an sg_ row, 1501 (Go-shaped tips with the member version) pushed to every member and copied to sg_."""
    async with msg_kit(storage) as m:
        await m.users("o", "a", "m1")
        service = GroupService(storage, m.notifications, m.clock)
        summary = await service.create_group(caller("o"), NewGroup(group_name="team"), "o", ["m1"], ["a"])
        gid = summary.group.group_id
        assert gid.isdigit() and summary.member_count == 3 and summary.owner_user_id == "o"
        members = {x.user_id: x for x in await storage.group.get_members(gid, ["o", "a", "m1"])}
        assert {u: x.role_level for u, x in members.items()} == {"o": 100, "a": 60, "m1": 20}
        assert {(x.join_source, x.inviter_user_id, x.operator_user_id) for x in members.values()} == {(2, "o", "o")}
        member_log = await storage.version.current(KIND_GROUP_MEMBER, gid)
        assert member_log.version == 1
        for user in ("o", "a", "m1"):
            assert (await storage.version.current(KIND_JOIN_GROUP, user)).version == 1
            row = await storage.conversation.get(user, f"sg_{gid}")
            assert row is not None and row.group_id == gid and row.conversation_type == 3
            assert (await storage.version.current(KIND_CONVERSATION, user)).version >= 1
        await m.bus.drain()
        created = [p for p in m.pushes if p.msg.contentType == C.GROUP_CREATED_NOTIFICATION]
        assert {p.conversation_id for p in created} == {f"n_{gid}", f"sg_{gid}"}
        assert all(set(p.user_ids) == {"o", "a", "m1"} for p in created)
        note = next(p for p in created if p.conversation_id == f"n_{gid}")
        assert note.msg.seq == 0 and note.msg.sessionType == SessionType.READ_GROUP_CHAT and note.msg.recvID == gid
        tips = tips_of(note)
        assert tips["groupMemberVersion"] == 1 and tips["groupMemberVersionID"] == member_log.version_id
        assert tips["group"]["memberCount"] == 3 and tips["group"]["ownerUserID"] == "o"
        assert [x["userID"] for x in tips["memberList"]] == ["o", "a", "m1"]
        assert tips["opUser"]["userID"] == "o" and tips["opUser"]["nickname"] == "O"
        assert tips["groupOwnerUser"]["roleLevel"] == 100


async def test_create_group_errors(kit: Kit) -> None:
    """Type other than 2, no owner, repeated or unknown users, a taken groupID, someone else's group: refused."""
    g = kit.group
    await raises(ArgsError, g.create_group(caller("o"), NewGroup(group_type=0), "o", [], []))
    await raises(ArgsError, g.create_group(caller("o"), None, "o", [], []))
    await raises(ArgsError, g.create_group(caller("o"), NewGroup(), "", [], []))
    await raises(ArgsError, g.create_group(caller("o"), NewGroup(), "o", ["m1", "m1"], []))
    await raises(ArgsError, g.create_group(caller("o"), NewGroup(), "o", ["m1"], ["m1"]))
    await raises(ArgsError, g.create_group(caller("o"), NewGroup(), "o", [f"u{i}" for i in range(1001)], []))
    await raises(ArgsError, g.create_group(caller("o"), NewGroup(status=2), "o", [], []))
    await raises(UserIDNotFoundError, g.create_group(caller("o"), NewGroup(), "o", ["ghost"], []))
    await raises(GroupIDExisted, g.create_group(caller("o"), NewGroup(group_id=G), "o", [], []))
    await raises(NoPermissionError, g.create_group(caller("m1"), NewGroup(), "o", [], []))
    made = await g.create_group(caller(ADMIN), NewGroup(group_id="by-admin"), "o", ["m1"], [])
    assert made.member_count == 2 and made.group.creator_user_id == ADMIN


async def test_create_with_announcement_sends_1519(kit: Kit) -> None:
    """A group created with an announcement also sends 1519, and stamps who set it and when."""
    made = await kit.group.create_group(caller("o"), NewGroup(group_id="g2", notification="rules"), "o", ["m1"], [])
    assert made.group.notification_user_id == "o" and made.group.notification_update_time == kit.msg.clock.now_ms()
    assert await kit.pushes(C.GROUP_INFO_SET_ANNOUNCEMENT_NOTIFICATION)


# --- group info ----------------------------------------------------------------------------------------------


async def test_set_group_info_notifications_and_announcement(kit: Kit) -> None:
    """Name → 1520, announcement → 1519 and groupAtType 4 on every member's sg_ row (1300 to each), the rest →
    1502; all carry the group log's version, which logs only the group itself ("")."""
    before = await kit.storage.version.current(KIND_GROUP_MEMBER, G)
    await kit.group.set_group_info(caller("a"), GroupInfoChange(G, group_name="new", notification=" hi ", ex="e"))
    info = await kit.storage.group.get_group(G)
    assert info is not None and (info.group_name, info.notification, info.ex) == ("new", "hi", "e")
    assert info.notification_user_id == "a"
    for user in ("o", "a", "m1", "m2"):
        row = await kit.storage.conversation.get(user, f"sg_{G}")
        assert row is not None and row.group_at_type == 4
    pushed = await kit.pushes()
    changed = [p for p in pushed if p.msg.contentType == C.CONVERSATION_CHANGE_NOTIFICATION]
    assert recipients(changed) == {"o", "a", "m1", "m2"}
    kinds = {p.msg.contentType for p in pushed}
    assert {C.GROUP_INFO_SET_NAME_NOTIFICATION, C.GROUP_INFO_SET_ANNOUNCEMENT_NOTIFICATION} <= kinds
    info_set = [p for p in pushed if p.msg.contentType == C.GROUP_INFO_SET_NOTIFICATION]
    assert [p.conversation_id for p in info_set] == [f"n_{G}"]  # 1502 is not copied to the chat
    note = info_set[0]
    assert tips_of(note)["groupMemberVersion"] == before.version + 1
    assert tips_of(note)["group"]["groupName"] == "new"
    delta = await kit.storage.version.incremental(KIND_GROUP_MEMBER, G, before.version_id, before.version)
    assert delta.group_changed and not (delta.inserted or delta.updated or delta.deleted)


async def test_set_group_info_rules(kit: Kit) -> None:
    """Only owner, admins or an imAdmin; a blank name is 1001; nothing to change writes nothing; dismissed → 1204."""
    await raises(NoPermissionError, kit.group.set_group_info(caller("m1"), GroupInfoChange(G, group_name="n")))
    await raises(NoPermissionError, kit.group.set_group_info(caller("x"), GroupInfoChange(G, group_name="n")))
    await raises(ArgsError, kit.group.set_group_info(caller("o"), GroupInfoChange(G, group_name="  ")))
    await raises(ArgsError, kit.group.set_group_info(caller("o"), GroupInfoChange(G, need_verification=5)))
    await raises(RecordNotFoundError, kit.group.set_group_info(caller("o"), GroupInfoChange("nope", ex="1")))
    before = await kit.storage.version.current(KIND_GROUP_MEMBER, G)
    await kit.group.set_group_info(caller("o"), GroupInfoChange(G))
    assert await kit.storage.version.current(KIND_GROUP_MEMBER, G) == before
    await kit.group.set_group_info(caller(ADMIN), GroupInfoChange(G, introduction="by admin"))
    await kit.group.dismiss_group(caller("o"), G)
    await raises(DismissedAlreadyError, kit.group.set_group_info(caller(ADMIN), GroupInfoChange(G, ex="1")))


async def test_clearing_the_announcement_sends_1519_without_a_copy(kit: Kit) -> None:
    """An announcement set to "" (set_group_info_ex) sends 1519 online only: no sg_ copy."""
    await kit.group.set_group_info(caller("o"), GroupInfoChange(G, notification=""))
    pushed = await kit.pushes(C.GROUP_INFO_SET_ANNOUNCEMENT_NOTIFICATION)
    assert [p.conversation_id for p in pushed] == [f"n_{G}"]


# --- join, requests ------------------------------------------------------------------------------------------


async def test_join_needs_approval_then_response(kit: Kit) -> None:
    """needVerification 0: join_group files a pending request (1503 to owner, admin and applicant); the admin
    agrees (1505 with receiverAs, then 1510) and x is a member; answering again is 1206."""
    await kit.group.join_group(caller("x"), G, req_message="let me in", join_source=3, inviter_user_id="x")
    assert await kit.storage.group.get_member(G, "x") is None
    applied = await kit.pushes(C.JOIN_GROUP_APPLICATION_NOTIFICATION)
    assert recipients(applied) == {"o", "a", "x"}
    tips = tips_of(applied[0])
    assert tips["applicant"]["userID"] == "x" and tips["reqMsg"] == "let me in" and tips["request"]["handleResult"] == 0
    await raises(NoPermissionError, kit.group.group_application_response(caller("m1"), G, "x", 1))
    await kit.group.group_application_response(caller("a"), G, "x", 1, handled_msg="ok")
    member = await kit.storage.group.get_member(G, "x")
    assert member is not None and member.role_level == 20 and member.join_source == 3
    accepted = await kit.pushes(C.GROUP_APPLICATION_ACCEPTED_NOTIFICATION)
    assert {p.user_ids[0]: tips_of(p)["receiverAs"] for p in accepted} == {"o": 1, "a": 1, "x": 0}
    entered = await kit.pushes(C.MEMBER_ENTER_NOTIFICATION)
    assert "x" in recipients(entered) and tips_of(entered[0])["entrantUser"]["userID"] == "x"
    (request,) = await kit.storage.group.get_requests(G, ["x"])
    assert (request.handle_result, request.handled_msg, request.handle_user_id) == (1, "ok", "a")
    await raises(GroupRequestHandled, kit.group.group_application_response(caller("a"), G, "x", 1))


async def test_join_rules(kit: Kit) -> None:
    """Bad joinSource, an applicant other than the caller, a member, an unknown group: refused; a refusal is 1506."""
    g = kit.group
    await raises(ArgsError, g.join_group(caller("x"), G, join_source=0, inviter_user_id="x"))
    await raises(ArgsError, g.join_group(caller("x"), G, join_source=2))
    await raises(NoPermissionError, g.join_group(caller("x"), G, join_source=3, inviter_user_id="m3"))
    await raises(ArgsError, g.join_group(caller("m1"), G, join_source=3, inviter_user_id="m1"))
    await raises(RecordNotFoundError, g.join_group(caller("x"), "nope", join_source=3, inviter_user_id="x"))
    await raises(RecordNotFoundError, g.group_application_response(caller("o"), G, "x", 1))
    await g.join_group(caller("x"), G, join_source=3)
    await raises(ArgsError, g.group_application_response(caller("o"), G, "x", 0))
    await g.group_application_response(caller("o"), G, "x", -1)
    assert await kit.storage.group.get_member(G, "x") is None
    assert recipients(await kit.pushes(C.GROUP_APPLICATION_REJECTED_NOTIFICATION)) == {"o", "a", "x"}
    await g.dismiss_group(caller("o"), G)
    await raises(DismissedAlreadyError, g.join_group(caller("m3"), G, join_source=3))


async def test_join_directly(kit: Kit) -> None:
    """needVerification 2: the applicant is a member at once, with its conversation, and 1510 goes out."""
    await kit.group.set_group_info(caller("o"), GroupInfoChange(G, need_verification=2))
    await kit.pushes()
    await kit.group.join_group(caller("x"), G, join_source=4, inviter_user_id="x")
    assert await kit.storage.group.get_member(G, "x") is not None
    assert await kit.storage.conversation.get("x", f"sg_{G}") is not None
    assert "x" in recipients(await kit.pushes(C.MEMBER_ENTER_NOTIFICATION))


# --- invite --------------------------------------------------------------------------------------------------


async def test_invite_adds_members_with_one_tip(kit: Kit) -> None:
    """A member invites (needVerification 0): the users join at once, one version bump, one 1509 naming all of
    them with the inviter; inviting a member again, an unknown user or as an outsider is refused."""
    before = await kit.storage.version.current(KIND_GROUP_MEMBER, G)
    await kit.group.invite_user_to_group(caller("m1"), G, ["x", "m3"], reason="join us")
    invited = await kit.pushes(C.MEMBER_INVITED_NOTIFICATION)
    assert recipients(invited) == {"o", "a", "m1", "m2", "x", "m3"}
    tips = tips_of(next(p for p in invited if p.conversation_id.startswith("n_")))
    assert [u["userID"] for u in tips["invitedUserList"]] == ["x", "m3"]
    assert tips["inviterUser"]["userID"] == "m1" and tips["opUser"]["userID"] == "m1"
    assert tips["groupMemberVersion"] == before.version + 1
    x = await kit.storage.group.get_member(G, "x")
    assert x is not None and (x.inviter_user_id, x.join_source, x.role_level) == ("m1", 2, 20)
    await raises(ArgsError, kit.group.invite_user_to_group(caller("m1"), G, ["x"]))
    await raises(ArgsError, kit.group.invite_user_to_group(caller("m1"), G, []))
    await raises(ArgsError, kit.group.invite_user_to_group(caller("m1"), G, ["q", "q"]))
    await kit.storage.user.create_users([User("y", "Y", "", "", 0, 0, 1)])
    await raises(RecordNotFoundError, kit.group.invite_user_to_group(caller("m1"), G, ["y", "ghost"]))
    await raises(NoPermissionError, kit.group.invite_user_to_group(caller("y"), G, ["y"]))


async def test_invite_with_verification_makes_requests_for_ordinary_members(kit: Kit) -> None:
    """needVerification 1: an ordinary member's invitation becomes a pending request (1503 to the managers and
    the inviter); approving it sends 1509 naming the inviter. An admin's invitation joins directly."""
    await kit.group.set_group_info(caller("o"), GroupInfoChange(G, need_verification=1))
    await kit.pushes()
    await kit.group.invite_user_to_group(caller("m1"), G, ["x"])
    assert await kit.storage.group.get_member(G, "x") is None
    (request,) = await kit.storage.group.get_requests(G, ["x"])
    assert (request.inviter_user_id, request.join_source, request.handle_result) == ("m1", 2, 0)
    applied = await kit.pushes(C.JOIN_GROUP_APPLICATION_NOTIFICATION)
    assert recipients(applied) == {"o", "a", "m1"} and tips_of(applied[0])["applicant"]["userID"] == "x"
    await kit.group.group_application_response(caller("o"), G, "x", 1)
    invited = await kit.pushes(C.MEMBER_INVITED_NOTIFICATION)
    assert tips_of(invited[0])["inviterUser"]["userID"] == "m1"
    await kit.group.invite_user_to_group(caller("a"), G, ["m3"])
    assert await kit.storage.group.get_member(G, "m3") is not None


@pytest.mark.parametrize("history", [True, False])
async def test_new_members_history(storage: Storage, history: bool) -> None:
    """enableHistoryForNewMembers: a new member reads the earlier messages (true) or starts after them (false)."""
    async with msg_kit(storage) as m:
        await m.users("o", "x")
        service = GroupService(storage, m.notifications, m.clock, enable_history_for_new_members=history)
        k = Kit(m, service)
        await service.create_group(caller("o"), NewGroup(group_id=G), "o", [], [])
        seq = await k.send("o")
        await service.invite_user_to_group(caller("o"), G, ["x"])
        row = await storage.conversation.get("x", f"sg_{G}")
        assert row is not None and row.min_seq == (0 if history else seq + 1)
        pulled = await m.service.pull_by_ranges(
            caller("x"),
            sdkws_pb2.PullMessageBySeqsReq(
                userID="x", seqRanges=[sdkws_pb2.SeqRange(conversationID=f"sg_{G}", begin=1, end=seq, num=100)]
            ),
        )
        assert bool(pulled.msgs.get(f"sg_{G}")) is history


# --- kick, quit ----------------------------------------------------------------------------------------------


async def test_kick_rules(kit: Kit) -> None:
    """Members cannot kick; an admin kicks only ordinary members; nobody kicks the owner or itself; a target
    that is not a member is 1101; the owner and an imAdmin kick anyone else."""
    g = kit.group
    await raises(NoPermissionError, g.kick_group_member(caller("m1"), G, ["m2"]))
    await raises(NoPermissionError, g.kick_group_member(caller("x"), G, ["m2"]))
    await raises(ArgsError, g.kick_group_member(caller("a"), G, ["o"]))
    await raises(ArgsError, g.kick_group_member(caller("o"), G, ["o"]))
    await raises(ArgsError, g.kick_group_member(caller("o"), G, []))
    await raises(UserIDNotFoundError, g.kick_group_member(caller("o"), G, ["x"]))
    await raises(RecordNotFoundError, g.kick_group_member(caller("o"), "nope", ["m1"]))
    await g.invite_user_to_group(caller("o"), G, ["x"])
    await g.set_group_member_info(caller("o"), [MemberInfoChange(G, "x", role_level=60)])
    await raises(NoPermissionError, g.kick_group_member(caller("a"), G, ["x"]))
    await g.kick_group_member(caller("a"), G, ["m1"])
    await g.kick_group_member(caller("o"), G, ["x"])
    await g.kick_group_member(caller(ADMIN), G, ["a"])
    assert await kit.storage.group.member_ids(G) == ["o", "m2"]


async def test_kicked_member_gets_1508_then_nothing_more(kit: Kit) -> None:
    """A kicked member gets the 1508 push, is capped at the group's max seq, receives no later message and
    cannot pull one; sending is 1203; its joined-group sync reports the group deleted."""
    seq = await kit.send("o")
    join = await kit.storage.version.current(KIND_JOIN_GROUP, "m2")
    await kit.pushes()
    await kit.group.kick_group_member(caller("a"), G, ["m2"], reason="bye")
    kicked = await kit.pushes(C.MEMBER_KICKED_NOTIFICATION)
    note = next(p for p in kicked if p.conversation_id == f"n_{G}" and "m2" in p.user_ids)
    assert [u["userID"] for u in tips_of(note)["kickedUserList"]] == ["m2"]
    row = await kit.storage.conversation.get("m2", f"sg_{G}")
    assert row is not None and row.max_seq == seq
    later = await kit.send("o", body="after")
    assert later > seq + 1  # the 1508 copy sits between
    assert "m2" not in recipients(await kit.pushes(C.TEXT))
    pulled = await kit.msg.service.pull_by_ranges(
        caller("m2"),
        sdkws_pb2.PullMessageBySeqsReq(
            userID="m2", seqRanges=[sdkws_pb2.SeqRange(conversationID=f"sg_{G}", begin=1, end=later, num=100)]
        ),
    )
    assert [x.seq for x in pulled.msgs[f"sg_{G}"].Msgs] == list(range(1, seq + 1))
    newest = await kit.msg.service.get_max_seq(caller("m2"), sdkws_pb2.GetMaxSeqReq(userID="m2"))
    assert newest.maxSeqs[f"sg_{G}"] == seq
    await raises(NotInGroupYetError, kit.send("m2"))
    delta = await kit.storage.version.incremental(KIND_JOIN_GROUP, "m2", join.version_id, join.version)
    assert delta.deleted == [G]


async def test_quit(kit: Kit) -> None:
    """A member quits (1504 to the group and to itself); the owner cannot (1002); a non-member is 1004; nobody
    quits for someone else but an imAdmin."""
    await raises(NoPermissionError, kit.group.quit_group(caller("o"), G))
    await raises(RecordNotFoundError, kit.group.quit_group(caller("x"), G))
    await raises(NoPermissionError, kit.group.quit_group(caller("m1"), G, "m2"))
    await kit.group.quit_group(caller("m1"), G)
    quit_ = await kit.pushes(C.MEMBER_QUIT_NOTIFICATION)
    assert "m1" in recipients(quit_) and tips_of(quit_[0])["quitUser"]["userID"] == "m1"
    await kit.group.quit_group(caller(ADMIN), G, "m2")
    assert await kit.storage.group.member_ids(G) == ["o", "a"]


async def test_leaving_a_group_without_messages_drops_the_row(storage: Storage) -> None:
    """With no message in the group yet a cap of 0 would mean "none": the leaver's sg_ row goes instead,
    so it cannot read what comes later; rejoining gives it a row again."""
    async with msg_kit(storage) as m:
        await m.users("o", "x")
        service = GroupService(storage, m.notifications, m.clock)
        await service.create_group(caller("o"), NewGroup(group_id=G), "o", ["x"], [], send_message=False)
        await service.quit_group(caller("x"), G)
        assert await storage.conversation.get("x", f"sg_{G}") is None
        await service.invite_user_to_group(caller("o"), G, ["x"])
        row = await storage.conversation.get("x", f"sg_{G}")
        assert row is not None and row.max_seq == 0


async def test_rejoin_lifts_the_cap(kit: Kit) -> None:
    """A member who left and is invited back reads new messages again (its max_seq cap is lifted)."""
    await kit.send("o")
    await kit.group.quit_group(caller("m1"), G)
    await kit.group.invite_user_to_group(caller("o"), G, ["m1"])
    row = await kit.storage.conversation.get("m1", f"sg_{G}")
    assert row is not None and row.max_seq == 0
    await kit.pushes()
    await kit.send("o")
    assert "m1" in recipients(await kit.pushes(C.TEXT))


# --- transfer ------------------------------------------------------------------------------------------------


async def test_transfer_owner(kit: Kit) -> None:
    """Only the owner hands over; the new owner (unmuted) is 100, the old one takes its former role; 1507;
    the member log records both and the order (sortVersion)."""
    g = kit.group
    await g.mute_group_member(caller("o"), G, "m1", 600)
    await raises(NoPermissionError, g.transfer_group_owner(caller("a"), G, "o", "m1"))
    await raises(ArgsError, g.transfer_group_owner(caller("o"), G, "o", "o"))
    await raises(ArgsError, g.transfer_group_owner(caller("o"), G, "o", "x"))
    await raises(ArgsError, g.transfer_group_owner(caller(ADMIN), G, "a", "m1"))
    before = await kit.storage.version.current(KIND_GROUP_MEMBER, G)
    await kit.pushes()
    await g.transfer_group_owner(caller("o"), G, "o", "m1")
    members = {x.user_id: x for x in await kit.storage.group.get_members(G, ["o", "m1"])}
    assert (members["m1"].role_level, members["m1"].mute_end_time, members["o"].role_level) == (100, 0, 20)
    (note,) = [p for p in await kit.pushes(C.GROUP_OWNER_TRANSFERRED_NOTIFICATION) if p.conversation_id[0] == "n"]
    tips = tips_of(note)
    assert (tips["newGroupOwner"]["userID"], tips["oldGroupOwner"], tips["group"]["ownerUserID"]) == ("m1", "o", "m1")
    delta = await kit.storage.version.incremental(KIND_GROUP_MEMBER, G, before.version_id, before.version)
    assert sorted(delta.updated) == ["m1", "o"] and delta.sort_version == before.version + 1


# --- member info and roles ------------------------------------------------------------------------------------


async def test_member_cannot_promote_itself(kit: Kit) -> None:
    """OpenIM #2728: a member setting its own roleLevel to 60 is 1002, and nothing changes; it may set its
    own nickname (1516) and keep its role."""
    await raises(
        NoPermissionError, kit.group.set_group_member_info(caller("m1"), [MemberInfoChange(G, "m1", role_level=60)])
    )
    member = await kit.storage.group.get_member(G, "m1")
    assert member is not None and member.role_level == 20
    await kit.group.set_group_member_info(caller("m1"), [MemberInfoChange(G, "m1", nickname="me", role_level=20)])
    member = await kit.storage.group.get_member(G, "m1")
    assert member is not None and (member.nickname, member.role_level) == ("me", 20)
    assert await kit.pushes(C.GROUP_MEMBER_INFO_SET_NOTIFICATION)


@pytest.mark.parametrize(
    ("who", "target", "change", "error"),
    [
        ("m1", "m2", {"nickname": "n"}, NoPermissionError),  # a member edits only itself
        ("x", "m1", {"nickname": "n"}, NoPermissionError),  # outsiders nothing
        ("a", "o", {"nickname": "n"}, NoPermissionError),  # admins not the owner
        ("a", "a2", {"ex": "e"}, NoPermissionError),  # nor other admins
        ("o", "o", {"role_level": 20}, ArgsError),  # the owner keeps its role
        (ADMIN, "o", {"role_level": 60}, ArgsError),  # ownership moves only by transfer
        ("o", "m1", {"role_level": 100}, NoPermissionError),  # nobody makes an owner here
        ("o", "m1", {"role_level": 30}, ArgsError),  # 60 or 20 only
        ("o", "x", {"nickname": "n"}, ArgsError),  # the target must be a member
        ("a", "a", {"role_level": 20}, None),  # an admin may step down
        ("a", "m1", {"role_level": 60}, None),  # and promote a member (OpenIM)
        ("o", "a", {"role_level": 20, "face_url": "f"}, None),
        (ADMIN, "m2", {"ex": "by admin"}, None),
    ],
)
async def test_member_info_rules(kit: Kit, who: str, target: str, change: dict[str, Any], error: Any) -> None:
    """set_group_member_info follows the role rules (docs/protocol/rest.md §4)."""
    await kit.group.invite_user_to_group(caller("o"), G, ["m3"])
    await kit.group.set_group_member_info(caller("o"), [MemberInfoChange(G, "m3", role_level=60)])
    target = "m3" if target == "a2" else target
    call = kit.group.set_group_member_info(caller(who), [MemberInfoChange(G, target, **change)])
    if error is not None:
        await raises(error, call)
        return
    await call
    member = await kit.storage.group.get_member(G, target)
    assert member is not None and all(getattr(member, k) == v for k, v in change.items())


async def test_role_changes_notify_and_log_the_order(kit: Kit) -> None:
    """1517 / 1518 per role set, each with its own member version and the sort version."""
    before = await kit.storage.version.current(KIND_GROUP_MEMBER, G)
    await kit.group.set_group_member_info(
        caller("o"), [MemberInfoChange(G, "m1", role_level=60), MemberInfoChange(G, "a", role_level=20)]
    )
    up = next(p for p in await kit.pushes(C.GROUP_MEMBER_SET_TO_ADMIN_NOTIFICATION))
    assert tips_of(up)["changedUser"]["userID"] == "m1" and tips_of(up)["groupMemberVersion"] == before.version + 1
    assert tips_of(up)["groupSortVersion"] == before.version + 1
    down = next(p for p in await kit.pushes(C.GROUP_MEMBER_SET_TO_ORDINARY_USER_NOTIFICATION))
    assert tips_of(down)["changedUser"]["roleLevel"] == 20 and tips_of(down)["groupMemberVersion"] == before.version + 2
    assert await kit.storage.group.member_ids(G) == ["o", "m1", "a", "m2"]


# --- mutes ---------------------------------------------------------------------------------------------------


async def test_member_mute_blocks_sending_until_it_ends(kit: Kit) -> None:
    """A muted member gets 1402 until muteEndTime, then sends again; cancel lifts it at once; 1512/1513."""
    await kit.group.mute_group_member(caller("a"), G, "m1", 60)
    assert tips_of((await kit.pushes(C.GROUP_MEMBER_MUTED_NOTIFICATION))[0])["mutedSeconds"] == 60
    await raises(MutedInGroup, kit.send("m1"))
    kit.msg.clock.advance(61)
    await kit.send("m1")
    await kit.group.mute_group_member(caller("o"), G, "m1", 600)
    await raises(MutedInGroup, kit.send("m1"))
    await kit.group.cancel_mute_group_member(caller("o"), G, "m1")
    assert await kit.pushes(C.GROUP_MEMBER_CANCEL_MUTED_NOTIFICATION)
    await kit.send("m1")


async def test_mute_rules(kit: Kit) -> None:
    """Nobody mutes the owner; only the owner mutes an admin; members mute nobody; mutedSeconds must be > 0."""
    g = kit.group
    await raises(NoPermissionError, g.mute_group_member(caller("a"), G, "o", 60))
    await raises(NoPermissionError, g.mute_group_member(caller("a"), G, "a", 60))
    await raises(NoPermissionError, g.mute_group_member(caller("m1"), G, "m2", 60))
    await raises(NoPermissionError, g.cancel_mute_group_member(caller("m1"), G, "m1"))
    await raises(NoPermissionError, g.mute_group_member(caller("x"), G, "m2", 60))
    await raises(ArgsError, g.mute_group_member(caller("o"), G, "m2", 0))
    await raises(RecordNotFoundError, g.mute_group_member(caller("o"), G, "x", 60))
    await g.mute_group_member(caller("o"), G, "a", 60)
    await raises(MutedInGroup, kit.send("a"))
    await g.mute_group_member(caller(ADMIN), G, "m2", 60)


async def test_group_mute(kit: Kit) -> None:
    """A muted group (status 3): members get 1403, admins and the owner still send; 1514/1515; G-ADMIN only."""
    await raises(NoPermissionError, kit.group.mute_group(caller("m1"), G, mute=True))
    await kit.group.mute_group(caller("a"), G, mute=True)
    assert await kit.pushes(C.GROUP_MUTED_NOTIFICATION)
    await raises(MutedGroup, kit.send("m1"))
    await kit.send("a")
    await kit.send("o")
    await kit.group.mute_group(caller("o"), G, mute=False)
    assert await kit.pushes(C.GROUP_CANCEL_MUTED_NOTIFICATION)
    await kit.send("m1")


# --- dismiss -------------------------------------------------------------------------------------------------


async def test_dismiss(kit: Kit) -> None:
    """Only the owner (or an imAdmin) dismisses; 1511 reaches every member; then sending is 1204, the members
    are gone (their join logs say so) and dismissing again is 1204."""
    await raises(NoPermissionError, kit.group.dismiss_group(caller("a"), G))
    join = await kit.storage.version.current(KIND_JOIN_GROUP, "m1")
    await kit.group.dismiss_group(caller("o"), G)
    assert recipients(await kit.pushes(C.GROUP_DISMISSED_NOTIFICATION)) == {"o", "a", "m1", "m2"}
    group = await kit.storage.group.get_group(G)
    assert group is not None and group.status == GroupStatus.DISMISSED
    await raises(DismissedAlreadyError, kit.send("o"))
    assert await kit.storage.group.member_ids(G) == []
    delta = await kit.storage.version.incremental(KIND_JOIN_GROUP, "m1", join.version_id, join.version)
    assert delta.deleted == [G]
    await raises(DismissedAlreadyError, kit.group.dismiss_group(caller("o"), G))
    await raises(DismissedAlreadyError, kit.group.invite_user_to_group(caller(ADMIN), G, ["x"]))
    await raises(DismissedAlreadyError, kit.group.mute_group(caller(ADMIN), G, mute=True))


async def test_dismiss_deleting_members_sends_nothing(kit: Kit) -> None:
    """deleteMember=true: dismissed and emptied at once, without 1511."""
    await kit.group.dismiss_group(caller(ADMIN), G, delete_member=True)
    assert await kit.storage.group.member_ids(G) == []
    assert not await kit.pushes(C.GROUP_DISMISSED_NOTIFICATION)


# --- abstract info, search -----------------------------------------------------------------------------------


async def test_abstract_info(kit: Kit) -> None:
    """Member count and OpenIM's member-list hash (MD5 of the Go JSON of the members by userID, populated);
    members only; unknown groups are 1201; the hash changes with the members."""
    (info,) = await kit.group.get_group_abstract_info(caller("m1"), [G])
    members = await kit.group.get_group_members_info(caller("o"), G, ["a", "m1", "m2", "o"])
    assert info.member_count == 4 and info.member_list_hash == member_list_hash(members)
    data = [to_go(member_pb(m)) for m in sorted(members, key=lambda m: m.user_id)]
    assert data[0]["userID"] == "a" and data[0]["nickname"] == "A" and data[0]["appMangerLevel"] == 0
    await raises(NoPermissionError, kit.group.get_group_abstract_info(caller("x"), [G]))
    await raises(GroupIDNotFoundError, kit.group.get_group_abstract_info(caller(ADMIN), [G, "nope"]))
    await raises(ArgsError, kit.group.get_group_abstract_info(caller("o"), [G, G]))
    await kit.group.set_group_member_info(caller("m1"), [MemberInfoChange(G, "m1", nickname="renamed")])
    (after,) = await kit.group.get_group_abstract_info(caller("m1"), [G])
    assert after.member_list_hash != info.member_list_hash


async def test_get_groups_is_for_admins(kit: Kit) -> None:
    """get_groups (the admin console's search) is 1002 for users; by name it skips dismissed groups."""
    await raises(NoPermissionError, kit.group.get_groups(caller("o"), Page(1, 10), group_name="g"))
    await kit.group.create_group(caller("o"), NewGroup(group_id="g2", group_name="other"), "o", [], [])
    total, found = await kit.group.get_groups(caller(ADMIN), Page(1, 10), group_name="G")
    assert total == 1 and found[0].summary.group.group_id == G and found[0].owner_user_name == "O"
    total, found = await kit.group.get_groups(caller(ADMIN), Page(1, 10), group_id="g2")
    assert total == 1 and found[0].summary.group.group_name == "other"


# --- incremental member sync ---------------------------------------------------------------------------------


async def test_incremental_member_sync_returns_exactly_the_changes(kit: Kit) -> None:
    """After invite, kick, a nickname and a group rename, a member's incremental sync from its last version
    has exactly: x inserted, m2 deleted, m1 updated, the group included; from the new version, nothing."""
    first = await kit.group.get_incremental_group_members(caller("a"), G, "", 0)
    assert first.delta.full
    await kit.group.invite_user_to_group(caller("o"), G, ["x"])
    await kit.group.kick_group_member(caller("o"), G, ["m2"])
    await kit.group.set_group_member_info(caller("m1"), [MemberInfoChange(G, "m1", nickname="n1")])
    await kit.group.set_group_info(caller("o"), GroupInfoChange(G, group_name="renamed"))
    answer = await kit.group.get_incremental_group_members(caller("a"), G, first.delta.version_id, first.delta.version)
    d = answer.delta
    assert not d.full and d.version == first.delta.version + 4
    assert [m.user_id for m in d.inserted or []] == ["x"]
    assert d.deleted == ["m2"]
    assert [(m.user_id, m.nickname) for m in d.updated or []] == [("m1", "n1")]
    assert answer.group is not None and answer.group.group.group_name == "renamed"
    again = await kit.group.get_incremental_group_members(caller("a"), G, d.version_id, d.version)
    assert (again.delta.inserted, again.delta.updated, again.delta.deleted) == (None, None, None)


async def test_outsiders_read_and_change_nothing(kit: Kit) -> None:
    """A user outside the group reads no member data and changes nothing (1002)."""
    g, x = kit.group, caller("x")
    calls = [
        g.get_group_member_list(x, G, Page(1, 10)),
        g.get_group_members_info(x, G, ["o"]),
        g.get_group_member_user_ids(x, G),
        g.get_full_group_member_user_ids(x, G, 0),
        g.get_incremental_group_members(x, G, "", 0),
        g.get_group_abstract_info(x, [G]),
        g.get_group_users_req_application_list(x, G, ["m1"]),
        g.set_group_info(x, GroupInfoChange(G, group_name="mine")),
        g.invite_user_to_group(x, G, ["m3"]),
        g.kick_group_member(x, G, ["m1"]),
        g.dismiss_group(x, G),
        g.transfer_group_owner(x, G, "o", "m1"),
        g.mute_group(x, G, mute=True),
        g.mute_group_member(x, G, "m1", 10),
        g.set_group_member_info(x, [MemberInfoChange(G, "m1", nickname="n")]),
        g.group_application_response(x, G, "m3", 1),
    ]
    for call in calls:
        await raises(NoPermissionError, call)
    assert await kit.storage.group.member_ids(G) == ["o", "a", "m1", "m2"]


# --- a group message costs O(1) rows --------------------------------------------------------------------------


async def _rows_of_one_message(kit: Kit, group_id: str, sender: str) -> int:
    stats = kit.storage.msg.stats
    rows, messages = stats.rows, stats.messages
    await kit.send(sender, group_id)
    assert stats.messages - messages == 1
    return stats.rows - rows


async def test_message_rows_do_not_grow_with_the_group(kit: Kit) -> None:
    """A text in a 4-member group and in a 1,200-member group writes the same rows: msg, seq, sender's read."""
    small = await _rows_of_one_message(kit, G, "m1")
    users = [f"u{i:04d}" for i in range(1200)]
    await kit.storage.user.create_users([User(u, u, "", "", 0, 0, 1) for u in users])
    await kit.group.create_group(caller("o"), NewGroup(group_id="big"), "o", users[:999], [])
    await kit.group.invite_user_to_group(caller("o"), "big", users[999:])
    assert small == await _rows_of_one_message(kit, "big", "u0001") == 3


BIG = int(os.environ.get("OPENIM_TEST_BIG_GROUP", "100000"))


async def _analyze(storage: Storage) -> None:
    """What PostgreSQL's autovacuum does as tables grow (the test server runs without it): fresh planner
    statistics, without which a `key IN (…1000 IDs…)` on a never-analyzed table is planned as a full scan."""
    async with storage.db.write("test.analyze") as conn:
        await conn.execute(text("ANALYZE"))


@pytest.mark.slow(seconds=120)
async def test_100k_member_group(storage: Storage) -> None:
    """A group of BIG members (100,000 unless OPENIM_TEST_BIG_GROUP says otherwise) built through invites of
    1,000 (sendMessage false: each batch's 1509 goes online only, with no sg_ copy): one message then writes 3
    rows (constant), every member gets its push, and member pages are right at the start, middle and end."""
    async with msg_kit(storage) as m:
        service = GroupService(storage, m.notifications, m.clock)
        users = [f"u{i:06d}" for i in range(BIG)]
        for i in range(0, BIG, 10_000):
            await storage.user.create_users([User(u, u, "", "", 0, 0, 1) for u in users[i : i + 10_000]])
        owner = caller(users[0])
        started = time.perf_counter()
        await service.create_group(owner, NewGroup(group_id="huge"), users[0], users[1:1000], [])
        for i in range(1000, BIG, 1000):
            await service.invite_user_to_group(owner, "huge", users[i : i + 1000], send_message=False)
            if storage.db.dialect == "postgresql" and i % 10_000 == 0:
                await _analyze(storage)
        built = time.perf_counter() - started
        await m.drained()
        m.pushes.clear()
        stats = storage.msg.stats
        rows, messages = stats.rows, stats.messages
        await m.service.send(caller(users[1]), group_text(users[1], "huge"), operation_id="op")
        assert (stats.rows - rows, stats.messages - messages) == (3, 1)
        pushed = await m.drained()
        assert len(pushed) == 1 and len(pushed[0].user_ids) == BIG
        total, first = await service.get_group_member_list(owner, "huge", Page(1, 100))
        assert total == BIG and [x.user_id for x in first][:2] == [users[0], users[1]]
        middle = BIG // 200
        _, page = await service.get_group_member_list(owner, "huge", Page(middle, 100))
        assert [x.user_id for x in page] == users[(middle - 1) * 100 : middle * 100]
        _, last = await service.get_group_member_list(owner, "huge", Page(BIG // 100, 100))
        assert last[-1].user_id == users[-1] and len(last) == 100
        print(f"\n{BIG} members built in {built:.1f} s on {storage.db.dialect}")
