"""Tests for openim.storage.friend: friend lists, requests and blacklists read back in OpenIM's order, and the
writes — each one transaction with its version-log entries."""

from __future__ import annotations

import asyncio

from tests.factories import make_black, make_friend, make_friend_request

from openim.storage import Storage
from openim.storage.friend import HANDLE_AGREED, HANDLE_PENDING, HANDLE_REFUSED, KIND_BLACK
from openim.storage.version import KIND_FRIEND

NOW = 1_700_000_000_000


async def test_empty_user_has_nothing(storage: Storage) -> None:
    """A user without rows has no friends, requests or blacks, and the counts are 0."""
    repo = storage.friend
    assert await repo.page_friends("a", 0, 10) == (0, [])
    assert await repo.friend_user_ids("a") == []
    assert await repo.page_requests_to("a", [], 0, 10) == (0, [])
    assert await repo.page_requests_from("a", [], 0, 10) == (0, [])
    assert await repo.page_blacks("a", 0, 10) == (0, [])
    assert await repo.count_unhandled_requests("a") == 0
    assert await repo.friendship("a", "b") == (False, False)


async def test_friend_order_is_pinned_first_then_added(storage: Storage) -> None:
    """Friends come pinned first, then oldest first; pages slice that order and report the full total."""
    await make_friend(storage, "a", "f3", now=NOW + 3)
    await make_friend(storage, "a", "f1", now=NOW + 1)
    await make_friend(storage, "a", "f2", now=NOW + 2, is_pinned=True)
    await make_friend(storage, "b", "a", now=NOW)
    assert await storage.friend.friend_user_ids("a") == ["f2", "f1", "f3"]
    total, page = await storage.friend.page_friends("a", 1, 1)
    assert total == 3
    assert [f.friend_user_id for f in page] == ["f1"]
    assert await storage.friend.page_friends("a", 3, 10) == (3, [])
    assert await storage.friend.page_friends("a", 0, 0) == (3, [])


async def test_friend_row_round_trips(storage: Storage) -> None:
    """Every column of a friend row reads back as written, is_pinned as a bool."""
    written = await make_friend(
        storage, "a", "b", now=NOW, remark="bobby", is_pinned=True, ex="{}", add_source=2, operator="a"
    )
    assert await storage.friend.get_friends("a", ["b"]) == [written]
    assert (await storage.friend.get_friends("a", ["b"]))[0].is_pinned is True


async def test_get_friends_keeps_request_order_and_skips_non_friends(storage: Storage) -> None:
    """Designated friends come in request order, once each; non-friends are left out."""
    for f in ("x", "y", "z"):
        await make_friend(storage, "a", f, now=NOW)
    found = await storage.friend.get_friends("a", ["z", "nobody", "x", "z"])
    assert [f.friend_user_id for f in found] == ["z", "x"]


async def test_friendship_is_directional(storage: Storage) -> None:
    """are_friends and friendship look at each direction separately (delete_friend is one-sided)."""
    await make_friend(storage, "a", "b", now=NOW)
    assert await storage.friend.are_friends("a", "b") is True
    assert await storage.friend.are_friends("b", "a") is False
    assert await storage.friend.friendship("a", "b") == (True, False)
    assert await storage.friend.friendship("b", "a") == (False, True)


async def test_requests_to_and_from_newest_first_with_filters(storage: Storage) -> None:
    """Requests page newest first; handle_results filters; the count of pending ones honours `after`."""
    await make_friend_request(storage, "x", "me", now=NOW + 1)
    await make_friend_request(storage, "y", "me", now=NOW + 2, handle_result=1)
    await make_friend_request(storage, "z", "me", now=NOW + 3, handle_result=-1)
    await make_friend_request(storage, "me", "w", now=NOW + 4)
    total, to_me = await storage.friend.page_requests_to("me", [], 0, 10)
    assert total == 3
    assert [r.from_user_id for r in to_me] == ["z", "y", "x"]
    total, pending = await storage.friend.page_requests_to("me", [0, 1], 0, 1)
    assert total == 2
    assert [r.from_user_id for r in pending] == ["y"]
    total, mine = await storage.friend.page_requests_from("me", [], 0, 10)
    assert (total, [r.to_user_id for r in mine]) == (1, ["w"])
    assert await storage.friend.count_unhandled_requests("me") == 1
    assert await storage.friend.count_unhandled_requests("me", after=NOW + 1) == 0


async def test_requests_between_both_directions(storage: Storage) -> None:
    """requests_between returns the requests each way between two users and nothing else."""
    await make_friend_request(storage, "a", "b", now=NOW + 1)
    await make_friend_request(storage, "b", "a", now=NOW + 2, req_msg="hi")
    await make_friend_request(storage, "a", "c", now=NOW + 3)
    found = await storage.friend.requests_between("a", "b")
    assert [(r.from_user_id, r.to_user_id) for r in found] == [("b", "a"), ("a", "b")]
    assert found[0].req_msg == "hi"


async def test_blacks(storage: Storage) -> None:
    """Blacks page oldest first, specified blacks keep request order, is_blocked is directional."""
    first = await make_black(storage, "a", "x", now=NOW + 1, ex="e")
    await make_black(storage, "a", "y", now=NOW + 2)
    await make_black(storage, "b", "a", now=NOW)
    total, page = await storage.friend.page_blacks("a", 0, 10)
    assert (total, [b.block_user_id for b in page]) == (2, ["x", "y"])
    assert page[0] == first
    assert [b.block_user_id for b in await storage.friend.get_blacks("a", ["y", "q", "x"])] == ["y", "x"]
    assert await storage.friend.is_blocked("a", "x") is True
    assert await storage.friend.is_blocked("x", "a") is False


# --- writes ------------------------------------------------------------------------------------------------


async def test_upsert_request_creates_then_resets(storage: Storage) -> None:
    """A new request is pending; applying again resets a handled one to pending with the new text and time."""
    repo = storage.friend
    first = await repo.upsert_request("a", "b", req_msg="hi", ex="e", now=NOW)
    assert await repo.get_request("a", "b") == first
    assert (first.handle_result, first.req_msg, first.create_time) == (HANDLE_PENDING, "hi", NOW)
    assert await repo.refuse_request("a", "b", handler_user_id="b", handle_msg="no", now=NOW + 1) is not None
    again = await repo.upsert_request("a", "b", req_msg="please", ex="", now=NOW + 2)
    assert await repo.get_request("a", "b") == again
    assert (again.handle_result, again.req_msg, again.handle_msg, again.handle_time) == (0, "please", "", 0)
    assert await repo.get_request("b", "a") is None


async def test_accept_request_makes_friends_both_ways_with_logs(storage: Storage) -> None:
    """Agreeing marks the request (and a pending reverse one) agreed and inserts both rows, each logged."""
    repo = storage.friend
    await repo.upsert_request("a", "b", req_msg="hi", ex="", now=NOW)
    await repo.upsert_request("b", "a", req_msg="me too", ex="", now=NOW + 1)
    accepted = await repo.accept_request("a", "b", handler_user_id="b", handle_msg="ok", add_source=2, now=NOW + 5)
    assert accepted is not None
    assert accepted.request == (await repo.get_request("a", "b"))
    assert (accepted.request.handle_result, accepted.request.handle_msg) == (HANDLE_AGREED, "ok")
    assert (accepted.request.handler_user_id, accepted.request.handle_time) == ("b", NOW + 5)
    reverse = await repo.get_request("b", "a")
    assert reverse is not None and (reverse.handle_result, reverse.handle_msg) == (HANDLE_AGREED, "")
    assert await repo.friendship("a", "b") == (True, True)
    row = (await repo.get_friends("b", ["a"]))[0]
    assert (row.add_source, row.operator_user_id, row.create_time) == (2, "a", NOW + 5)
    assert sorted(accepted.versions) == ["a", "b"]
    for owner in ("a", "b"):  # each log was created by this insert: version 1
        assert accepted.versions[owner] == await storage.version.current(KIND_FRIEND, owner)
        assert accepted.versions[owner].version == 1


async def test_accept_request_keeps_existing_rows_and_logs_only_new_ones(storage: Storage) -> None:
    """When one side already has the other, only the missing row is created and logged."""
    await make_friend(storage, "a", "b", now=NOW)
    before = await storage.version.current(KIND_FRIEND, "a")
    await storage.friend.upsert_request("a", "b", req_msg="", ex="", now=NOW)
    accepted = await storage.friend.accept_request("a", "b", handler_user_id="b", handle_msg="", add_source=2, now=NOW)
    assert accepted is not None and list(accepted.versions) == ["b"]
    assert await storage.version.current(KIND_FRIEND, "a") == before
    assert (await storage.friend.get_friends("a", ["b"]))[0].add_source == 1


async def test_accept_and_refuse_need_a_pending_request(storage: Storage) -> None:
    """A missing or handled request is not changed: accept and refuse answer None and write nothing."""
    repo = storage.friend
    assert await repo.accept_request("a", "b", handler_user_id="b", handle_msg="", add_source=2, now=NOW) is None
    assert await repo.refuse_request("a", "b", handler_user_id="b", handle_msg="", now=NOW) is None
    await repo.upsert_request("a", "b", req_msg="", ex="", now=NOW)
    refused = await repo.refuse_request("a", "b", handler_user_id="b", handle_msg="no", now=NOW + 1)
    assert refused is not None and (refused.handle_result, refused.handle_msg) == (HANDLE_REFUSED, "no")
    await repo.upsert_request("b", "a", req_msg="", ex="", now=NOW)
    assert await repo.accept_request("a", "b", handler_user_id="b", handle_msg="", add_source=2, now=NOW) is None
    assert await repo.refuse_request("a", "b", handler_user_id="b", handle_msg="", now=NOW) is None
    reverse = await repo.get_request("b", "a")
    assert reverse is not None and reverse.handle_result == HANDLE_PENDING  # the rolled-back accept left it
    assert await repo.friendship("a", "b") == (False, False)


async def test_concurrent_accepts_agree_once(storage: Storage) -> None:
    """Two answers to one request racing: exactly one wins, the friend rows and logs are written once."""
    await storage.friend.upsert_request("a", "b", req_msg="", ex="", now=NOW)
    results = await asyncio.gather(
        *(
            storage.friend.accept_request("a", "b", handler_user_id="b", handle_msg=str(i), add_source=2, now=NOW)
            for i in range(4)
        )
    )
    assert sum(r is not None for r in results) == 1
    assert (await storage.version.current(KIND_FRIEND, "a")).version == 1


async def test_become_friends_both_ways_one_version_per_log(storage: Storage) -> None:
    """Import: rows each way for every new friend; the owner's log bumps once, each friend's once."""
    await make_friend(storage, "o", "x", now=NOW)
    await make_friend(storage, "x", "o", now=NOW)
    versions = await storage.friend.become_friends("o", ["x", "y", "z", "o"], add_source=1, operator="admin", now=NOW)
    assert sorted(versions) == ["o", "y", "z"]
    assert versions["o"].version == 2  # make_friend was 1; y and z together are 2
    delta = await storage.version.incremental(KIND_FRIEND, "o", versions["o"].version_id, 1)
    assert sorted(delta.inserted) == ["y", "z"]
    assert await storage.friend.friend_user_ids("y") == ["o"]
    row = (await storage.friend.get_friends("z", ["o"]))[0]
    assert (row.add_source, row.operator_user_id) == (1, "admin")
    assert await storage.friend.become_friends("o", ["x", "y"], add_source=1, operator="admin", now=NOW) == {}


async def test_delete_friend_is_one_sided_and_logged(storage: Storage) -> None:
    """Deleting removes only the owner's row and logs a delete; deleting again changes nothing."""
    await make_friend(storage, "a", "b", now=NOW)
    await make_friend(storage, "b", "a", now=NOW)
    state = await storage.friend.delete_friend("a", "b", now=NOW + 1)
    assert state is not None and state.version == 2
    assert await storage.friend.friendship("a", "b") == (False, True)
    delta = await storage.version.incremental(KIND_FRIEND, "a", state.version_id, 1)
    assert (delta.deleted, delta.inserted) == (["b"], [])
    assert await storage.friend.delete_friend("a", "b", now=NOW + 2) is None
    assert await storage.version.current(KIND_FRIEND, "a") == state


async def test_update_friends_sets_fields_and_logs_sort_on_pin(storage: Storage) -> None:
    """Only given fields change; a pin change also logs the order element (sortVersion)."""
    for f in ("b", "c", "d"):
        await make_friend(storage, "a", f, now=NOW, remark="r", ex="e")
    state = await storage.friend.update_friends("a", ["b", "c"], remark="new", now=NOW)
    assert state is not None
    rows = await storage.friend.get_friends("a", ["b", "d"])
    assert [(r.remark, r.ex, r.is_pinned) for r in rows] == [("new", "e", False), ("r", "e", False)]
    delta = await storage.version.incremental(KIND_FRIEND, "a", state.version_id, 3)
    assert (sorted(delta.updated), delta.sort_version) == (["b", "c"], 0)
    pinned = await storage.friend.update_friends("a", ["d"], is_pinned=True, ex="", now=NOW)
    assert pinned is not None
    delta = await storage.version.incremental(KIND_FRIEND, "a", state.version_id, state.version)
    assert (delta.updated, delta.sort_version) == (["d"], pinned.version)
    assert await storage.friend.friend_user_ids("a") == ["d", "b", "c"]
    assert await storage.friend.update_friends("a", ["b"], now=NOW) is None  # nothing to set
    assert await storage.friend.update_friends("a", ["nobody"], remark="x", now=NOW) is None


async def test_touch_friend_logs_an_update_for_every_owner(storage: Storage) -> None:
    """A profile change logs an update of the user in the log of each user who has it as a friend."""
    await make_friend(storage, "a", "u", now=NOW)
    await make_friend(storage, "b", "u", now=NOW)
    await make_friend(storage, "u", "c", now=NOW)
    versions = await storage.friend.touch_friend("u", now=NOW)
    assert sorted(versions) == ["a", "b"]
    delta = await storage.version.incremental(KIND_FRIEND, "a", versions["a"].version_id, 1)
    assert delta.updated == ["u"]
    assert await storage.friend.touch_friend("nobody", now=NOW) == {}


async def test_add_and_remove_black_are_logged_once(storage: Storage) -> None:
    """Blocking inserts and logs once (again: None); unblocking deletes and logs once (again: None)."""
    added = await storage.friend.add_black("a", "x", ex="e", operator="a", now=NOW)
    assert added is not None and added.version == 1
    assert await storage.friend.add_black("a", "x", ex="other", operator="a", now=NOW + 1) is None
    (row,) = await storage.friend.get_blacks("a", ["x"])
    assert (row.ex, row.create_time, row.operator_user_id) == ("e", NOW, "a")
    removed = await storage.friend.remove_black("a", "x", now=NOW + 2)
    assert removed is not None and removed.version == 2
    delta = await storage.version.incremental(KIND_BLACK, "a", added.version_id, 1)
    assert (delta.deleted, delta.inserted) == (["x"], [])
    assert await storage.friend.remove_black("a", "x", now=NOW + 3) is None
    assert await storage.friend.is_blocked("a", "x") is False
