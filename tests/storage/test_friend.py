"""Tests for openim.storage.friend: friend lists, requests and blacklists read back in OpenIM's order."""

from __future__ import annotations

from tests.factories import make_black, make_friend, make_friend_request

from openim.storage import Storage

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
