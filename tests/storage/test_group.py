"""Tests for openim.storage.group: group summaries, joined groups, members, group requests, and the writes with
their version logs and the members' chat-conversation rows."""

from __future__ import annotations

import pytest
from tests.factories import add_member, dismiss_group, make_group, make_group_request

from openim.protocol.constants import GroupRole, GroupStatus
from openim.protocol.errors import GroupIDExisted, GroupRequestHandled
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.storage import Storage
from openim.storage.commit import NewMsg
from openim.storage.group import MemberChange
from openim.storage.rows import Group, GroupMember, GroupRequest, User
from openim.storage.version import KIND_CONVERSATION, KIND_GROUP_MEMBER, KIND_JOIN_GROUP

NOW = 1_700_000_000_000


async def test_unknown_group_and_user(storage: Storage) -> None:
    """Unknown groups and users read as nothing, not as errors."""
    repo = storage.group
    assert await repo.get_group("g") is None
    assert await repo.get_groups(["g"]) == []
    assert await repo.joined_group_ids("u") == []
    assert await repo.page_joined_groups("u", 0, 10) == (0, [])
    assert await repo.member_ids("g") == []
    assert await repo.get_member("g", "u") is None
    assert await repo.page_members("g", 0, 10) == (0, [])
    assert await repo.managed_group_ids("u") == []
    assert await repo.page_group_requests([], [], 0, 10) == (0, [])
    assert await repo.count_unhandled_requests([]) == 0


async def test_summary_has_owner_and_member_count(storage: Storage) -> None:
    """get_groups returns each existing group once, in request order, with its owner and member count."""
    g1 = await make_group(storage, "g1", "o1", ["m1", "m2"], now=NOW, admins=["a1"])
    await make_group(storage, "g2", "o2", now=NOW)
    found = await storage.group.get_groups(["g2", "nope", "g1", "g2"])
    assert [(s.group.group_id, s.owner_user_id, s.member_count) for s in found] == [("g2", "o2", 1), ("g1", "o1", 4)]
    assert found[1].group == g1


async def test_joined_groups_sorted_by_name_without_dismissed(storage: Storage) -> None:
    """Joined groups come by name then creation time, dismissed ones left out, paged with the total."""
    await make_group(storage, "g1", "o", ["u"], now=NOW, name="beta")
    await make_group(storage, "g2", "o", ["u"], now=NOW, name="alpha")
    await make_group(storage, "g3", "u", now=NOW - 5, name="beta")
    await make_group(storage, "g4", "o", ["u"], now=NOW, name="aaa")
    await make_group(storage, "g5", "o", now=NOW, name="other")
    await dismiss_group(storage, "g4", now=NOW)
    assert await storage.group.joined_group_ids("u") == ["g2", "g3", "g1"]
    total, page = await storage.group.page_joined_groups("u", 1, 1)
    assert total == 3
    assert [s.group.group_id for s in page] == ["g3"]
    assert page[0].owner_user_id == "u"
    assert await storage.group.page_joined_groups("u", 5, 1) == (3, [])


async def test_member_order_role_then_join_time(storage: Storage) -> None:
    """Members come owner, admins, then members, each by join time."""
    await make_group(storage, "g", "owner", ["m1", "m2"], now=NOW, admins=["adm"])
    await add_member(storage, "g", "adm2", now=NOW + 100, role=GroupRole.ADMIN)
    assert await storage.group.member_ids("g") == ["owner", "adm", "adm2", "m1", "m2"]
    total, page = await storage.group.page_members("g", 1, 2)
    assert (total, [m.user_id for m in page]) == (5, ["adm", "adm2"])


async def test_member_row_round_trips(storage: Storage) -> None:
    """get_member and get_members return the stored row; get_members keeps request order and skips others."""
    await make_group(storage, "g", "o", now=NOW)
    written = await add_member(storage, "g", "u", now=NOW + 1, nickname="nick", face_url="f", ex="x")
    assert await storage.group.get_member("g", "u") == written
    assert [m.user_id for m in await storage.group.get_members("g", ["u", "z", "o", "u"])] == ["u", "o"]


async def test_member_keyword_matches_shown_nickname(storage: Storage) -> None:
    """The keyword matches the group nickname, or the user's nickname when the group one is empty."""
    await storage.user.create_users(
        [User(uid, nick, "", "", 0, 0, NOW) for uid, nick in (("o", "Olga"), ("u1", "Alice"), ("u2", "Bob"))]
    )
    await make_group(storage, "g", "o", now=NOW)
    await add_member(storage, "g", "u1", now=NOW + 1)
    await add_member(storage, "g", "u2", now=NOW + 2, nickname="Ally")
    total, found = await storage.group.page_members("g", 0, 10, keyword="al")
    assert (total, [m.user_id for m in found]) == (2, ["u1", "u2"])
    assert (await storage.group.page_members("g", 0, 10, keyword="bob"))[0] == 0
    assert (await storage.group.page_members("g", 0, 10, keyword="%"))[0] == 0


async def test_managed_groups(storage: Storage) -> None:
    """managed_group_ids lists groups where the user is owner or admin, not plain member."""
    await make_group(storage, "g1", "u", now=NOW)
    await make_group(storage, "g2", "o", now=NOW, admins=["u"])
    await make_group(storage, "g3", "o", ["u"], now=NOW)
    assert await storage.group.managed_group_ids("u") == ["g1", "g2"]


async def test_group_requests(storage: Storage) -> None:
    """Requests page newest first by user or by groups, filter by result, and count pending after a time."""
    await make_group(storage, "g1", "o", now=NOW)
    await make_group(storage, "g2", "o", now=NOW)
    r1 = await make_group_request(storage, "g1", "u", now=NOW + 1, req_msg="let me in")
    await make_group_request(storage, "g2", "u", now=NOW + 2, handle_result=-1)
    await make_group_request(storage, "g1", "v", now=NOW + 3)
    total, mine = await storage.group.page_user_requests("u", [], [], 0, 10)
    assert (total, [r.group_id for r in mine]) == (2, ["g2", "g1"])
    assert mine[1] == r1
    total, mine = await storage.group.page_user_requests("u", ["g1"], [], 0, 10)
    assert (total, [r.group_id for r in mine]) == (1, ["g1"])
    total, to_groups = await storage.group.page_group_requests(["g1", "g2"], [0], 0, 10)
    assert (total, [r.user_id for r in to_groups]) == (2, ["v", "u"])
    assert [r.user_id for r in await storage.group.get_requests("g1", ["u", "v"])] == ["v", "u"]
    assert await storage.group.count_unhandled_requests(["g1", "g2"]) == 2
    assert await storage.group.count_unhandled_requests(["g1", "g2"], after=NOW + 2) == 1


async def test_dismissed_group_is_still_readable(storage: Storage) -> None:
    """A dismissed group keeps its row, status 2, and its members."""
    await make_group(storage, "g", "o", ["m"], now=NOW)
    await dismiss_group(storage, "g", now=NOW)
    found = await storage.group.get_group("g")
    assert found is not None and found.status == GroupStatus.DISMISSED
    assert await storage.group.member_ids("g") == ["o", "m"]


# --- the write side ------------------------------------------------------------------------------------------


def _group(group_id: str = "g", *, name: str = "team", now: int = NOW) -> Group:
    return Group(group_id, name, "", "", "", now, "", 0, "o", 2, 0, 0, 0, 0, "")


def _member(user_id: str, role: int = GroupRole.ORDINARY, *, group_id: str = "g", now: int = NOW) -> GroupMember:
    return GroupMember(group_id, user_id, "", "", int(role), now, 2, "o", "o", 0, "")


async def _append(storage: Storage, conversation_id: str, n: int) -> None:
    """n messages in a conversation, through the real write path (no owners: rows come from the group)."""
    msgs = []
    for i in range(n):
        m = MsgData(sendID="o", groupID="g", clientMsgID=f"c{conversation_id}{i}{NOW}", sessionType=3, sendTime=NOW)
        m.contentType, m.content = 101, b"{}"
        msgs.append(NewMsg(conversation_id, m, ()))
    await storage.msg.append_batch(msgs)


async def test_create_group_logs_and_opens_rows(storage: Storage) -> None:
    """create_group: the group, its members, one member-log version, each member's join log and sg_ row; a
    taken groupID is 1202 and writes nothing."""
    state = await storage.group.create_group(_group(), [_member("o", GroupRole.OWNER), _member("m")], now=NOW)
    assert state.version == 1
    assert await storage.group.member_ids("g") == ["o", "m"]
    for user in ("o", "m"):
        delta = await storage.version.incremental(KIND_JOIN_GROUP, user, "", 0)
        assert delta.version == 1
        row = await storage.conversation.get(user, "sg_g")
        assert row is not None and (row.conversation_type, row.group_id, row.min_seq, row.max_seq) == (3, "g", 0, 0)
    with pytest.raises(GroupIDExisted):
        await storage.group.create_group(_group(name="other"), [_member("x")], now=NOW)
    found = await storage.group.get_group("g")
    assert found is not None and found.group_name == "team"
    assert await storage.group.get_member("g", "x") is None


async def test_join_hides_history_and_rejoin_lifts_the_cap(storage: Storage) -> None:
    """A member added with hide_history starts after the current max seq; one that left is capped there and
    gets the cap lifted when it comes back; each row change is logged in the owner's conversation log."""
    await storage.group.create_group(_group(), [_member("o", GroupRole.OWNER)], now=NOW)
    await _append(storage, "sg_g", 3)
    await storage.group.add_members("g", [_member("new")], now=NOW, hide_history=True)
    await storage.group.add_members("g", [_member("old")], now=NOW, hide_history=False)
    new, old = await storage.conversation.get("new", "sg_g"), await storage.conversation.get("old", "sg_g")
    assert new is not None and old is not None and (new.min_seq, old.min_seq) == (4, 0)
    before = await storage.version.current(KIND_CONVERSATION, "old")
    state = await storage.group.remove_members("g", ["old", "nobody"], now=NOW)
    assert state is not None and await storage.group.get_member("g", "old") is None
    capped = await storage.conversation.get("old", "sg_g")
    assert capped is not None and capped.max_seq == 3
    await _append(storage, "sg_g", 2)
    await storage.group.add_members("g", [_member("old")], now=NOW, hide_history=False)
    back = await storage.conversation.get("old", "sg_g")
    assert back is not None and (back.min_seq, back.max_seq) == (0, 0)
    delta = await storage.version.incremental(KIND_CONVERSATION, "old", before.version_id, before.version)
    assert delta.updated == ["sg_g"]
    assert await storage.group.remove_members("g", ["nobody"], now=NOW) is None


async def test_leaving_before_any_message_deletes_the_row(storage: Storage) -> None:
    """With no message yet (a cap of 0 would be "no cap") a leaving member's row is deleted, logged as such."""
    await storage.group.create_group(_group(), [_member("o", GroupRole.OWNER), _member("m")], now=NOW)
    await storage.group.remove_members("g", ["m"], now=NOW)
    assert await storage.conversation.get("m", "sg_g") is None
    delta = await storage.version.incremental(KIND_CONVERSATION, "m", "", 0)
    assert delta.full  # first read of the log; the entry itself:
    current = await storage.version.current(KIND_CONVERSATION, "m")
    assert current.version == 2


async def test_member_updates_bump_once_each(storage: Storage) -> None:
    """update_members: one version per change, the sort element with a role change; transfer swaps roles."""
    first = await storage.group.create_group(
        _group(), [_member("o", GroupRole.OWNER), _member("a", GroupRole.ADMIN), _member("m")], now=NOW
    )
    states = await storage.group.update_members(
        [MemberChange("g", "m", {"nickname": "n"}), MemberChange("g", "a", {"role_level": 20})], now=NOW
    )
    assert [s.version for s in states] == [2, 3]
    delta = await storage.version.incremental(KIND_GROUP_MEMBER, "g", first.version_id, 1)
    assert sorted(delta.updated) == ["a", "m"] and delta.sort_version == 3
    with pytest.raises(ValueError):
        await storage.group.update_members([MemberChange("g", "m", {"group_id": "other"})], now=NOW)
    await storage.group.update_members([MemberChange("g", "m", {"mute_end_time": NOW + 5})], now=NOW)
    state = await storage.group.transfer_owner("g", "o", "m", old_owner_role=20, now=NOW)
    assert state.version == 5
    roles = {x.user_id: (x.role_level, x.mute_end_time) for x in await storage.group.get_members("g", ["o", "m"])}
    assert roles == {"o": (20, 0), "m": (100, 0)}
    assert await storage.group.manager_ids("g") == ["m"]


async def test_update_group_and_announcement_marks(storage: Storage) -> None:
    """update_group logs the group itself (""); `announce` sets groupAtType 4 on members' rows only once."""
    first = await storage.group.create_group(_group(), [_member("o", GroupRole.OWNER), _member("m")], now=NOW)
    state, touched = await storage.group.update_group("g", {"notification": "hi"}, now=NOW, announce=True)
    assert state.version == 2 and touched == ["m", "o"]
    row = await storage.conversation.get("m", "sg_g")
    assert row is not None and row.group_at_type == 4
    _, again = await storage.group.update_group("g", {"notification": "ho"}, now=NOW, announce=True)
    assert again == []
    delta = await storage.version.incremental(KIND_GROUP_MEMBER, "g", first.version_id, 1)
    assert delta.group_changed and not (delta.inserted or delta.updated or delta.deleted)


async def test_dismiss_and_delete_all_members(storage: Storage) -> None:
    """Dismiss sets status 2; deleting every member logs a delete in each join log and drops the member log
    (the next sync of it is full, under a new versionID)."""
    first = await storage.group.create_group(_group(), [_member("o", GroupRole.OWNER), _member("m")], now=NOW)
    assert await storage.group.dismiss_group("g", now=NOW, delete_members=False) == []
    join = await storage.version.current(KIND_JOIN_GROUP, "m")
    assert await storage.group.delete_all_members("g", now=NOW) == ["m", "o"]
    assert await storage.group.member_ids("g") == []
    delta = await storage.version.incremental(KIND_JOIN_GROUP, "m", join.version_id, join.version)
    assert delta.deleted == ["g"]
    members = await storage.version.incremental(KIND_GROUP_MEMBER, "g", first.version_id, 2)
    assert members.full and members.version_id != first.version_id
    found = await storage.group.get_group("g")
    assert found is not None and found.status == GroupStatus.DISMISSED


async def test_requests_replace_and_respond_once(storage: Storage) -> None:
    """put_requests replaces a user's earlier request; respond_request handles a pending one once (then 1206),
    adding the member when given one."""
    await storage.group.create_group(_group(), [_member("o", GroupRole.OWNER)], now=NOW)
    old = GroupRequest("g", "x", -1, "old", "no", NOW, "o", NOW, 3, "", "")
    await storage.group.put_requests([old])
    await storage.group.put_requests([GroupRequest("g", "x", 0, "again", "", NOW + 1, "", 0, 3, "", "e")])
    (request,) = await storage.group.get_requests("g", ["x"])
    assert (request.handle_result, request.req_msg, request.handled_msg, request.ex) == (0, "again", "", "e")
    state = await storage.group.respond_request(
        "g", "x", handle_result=1, handled_msg="ok", handler="o", now=NOW + 2, member=_member("x")
    )
    assert state is not None and await storage.group.get_member("g", "x") is not None
    (request,) = await storage.group.get_requests("g", ["x"])
    assert (request.handle_result, request.handled_msg, request.handle_user_id, request.handled_time) == (
        1,
        "ok",
        "o",
        NOW + 2,
    )
    with pytest.raises(GroupRequestHandled):
        await storage.group.respond_request("g", "x", handle_result=-1, handled_msg="", handler="o", now=NOW)


async def test_search_groups_and_all_members(storage: Storage) -> None:
    """search_groups: name contains the keyword (ASCII case ignored, `%` literal), dismissed left out, newest
    first; all_members: by userID."""
    await storage.group.create_group(_group("g1", name="Alpha 100%"), [_member("o", group_id="g1")], now=NOW)
    await storage.group.create_group(_group("g2", name="alphabet", now=NOW + 1), [_member("b", group_id="g2")], now=NOW)
    await storage.group.create_group(_group("g3", name="alpha"), [_member("o", group_id="g3")], now=NOW)
    await storage.group.dismiss_group("g3", now=NOW, delete_members=False)
    total, found = await storage.group.search_groups("ALPHA", 0, 10)
    assert total == 2 and [s.group.group_id for s in found] == ["g2", "g1"]
    assert (await storage.group.search_groups("0%", 0, 10))[0] == 1
    assert (await storage.group.search_groups("", 1, 10))[0] == 2
    await storage.group.add_members("g1", [_member("a", group_id="g1")], now=NOW, hide_history=False)
    assert [m.user_id for m in await storage.group.all_members("g1")] == ["a", "o"]
