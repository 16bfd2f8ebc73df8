"""Tests for openim.storage.group: group summaries, joined groups, members and group requests."""

from __future__ import annotations

from tests.factories import add_member, dismiss_group, make_group, make_group_request

from openim.protocol.constants import GroupRole, GroupStatus
from openim.storage import Storage
from openim.storage.rows import User

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
