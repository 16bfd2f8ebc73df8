"""Tests for openim.storage.third: push tokens with expiry, app badges, client log records and their search."""

from __future__ import annotations

from openim.storage import Storage
from openim.storage.rows import ClientLog

NOW = 1_767_225_600_000


def record(log_id: str, user_id: str, create_time: int, *, file_name: str = "a.zip") -> ClientLog:
    return ClientLog(log_id, "Android", user_id, create_time, f"http://x/{log_id}", file_name, "", "flutter", "3.8", "")


async def test_fcm_token_is_kept_per_user_and_platform_until_it_expires(storage: Storage) -> None:
    """A token reads back for its (user, platform) until expire_time; 0 never expires; a new one replaces it."""
    third = storage.third
    await third.set_fcm_token("alice", 2, "old", expire_time=NOW + 1000)
    await third.set_fcm_token("alice", 2, "t-android", expire_time=NOW + 1000)
    await third.set_fcm_token("alice", 1, "t-ios", expire_time=0)
    assert await third.get_fcm_token("alice", 2, now=NOW + 999) == "t-android"
    assert await third.get_fcm_token("alice", 2, now=NOW + 1000) is None
    assert await third.get_fcm_token("alice", 1, now=NOW * 2) == "t-ios"
    assert await third.get_fcm_token("bob", 2, now=NOW) is None


async def test_delete_fcm_token_removes_one_device(storage: Storage) -> None:
    """Deleting (alice, 2) leaves alice's other platforms; deleting what is absent is no error."""
    await storage.third.set_fcm_token("alice", 2, "a", expire_time=0)
    await storage.third.set_fcm_token("alice", 5, "w", expire_time=0)
    await storage.third.delete_fcm_token("alice", 2)
    await storage.third.delete_fcm_token("nobody", 2)
    assert await storage.third.get_fcm_token("alice", 2, now=NOW) is None
    assert await storage.third.get_fcm_token("alice", 5, now=NOW) == "w"


async def test_badge_defaults_to_zero_and_is_overwritten(storage: Storage) -> None:
    """A user that never set a badge has 0; set_badge replaces the value."""
    assert await storage.third.get_badge("alice") == 0
    await storage.third.set_badge("alice", 7)
    await storage.third.set_badge("alice", 3)
    assert await storage.third.get_badge("alice") == 3


async def test_logs_get_and_delete_can_be_scoped_to_an_owner(storage: Storage) -> None:
    """get_logs/delete_logs with user_id see only that user's records; without, every record."""
    third = storage.third
    await third.add_logs([record("1000000001", "alice", NOW), record("1000000002", "bob", NOW)])
    ids = ["1000000001", "1000000002", "1999999999"]
    assert [r.log_id for r in await third.get_logs(ids)] == ["1000000001", "1000000002"]
    assert [r.log_id for r in await third.get_logs(ids, user_id="alice")] == ["1000000001"]
    assert await third.existing_log_ids(ids) == {"1000000001", "1000000002"}
    assert await third.delete_logs(["1000000002"], user_id="alice") == 0
    assert await third.delete_logs(ids) == 2
    assert await third.get_logs(ids) == []


async def test_search_logs_by_user_substring_time_range_and_page(storage: Storage) -> None:
    """Search filters userID by literal substring and [start, end], orders newest first, pages, counts all."""
    third = storage.third
    await third.add_logs(
        [
            record("1000000001", "alice", NOW),
            record("1000000002", "alice", NOW + 10),
            record("1000000003", "malice", NOW + 20),
            record("1000000004", "bob", NOW + 30),
            record("1000000005", "a%b", NOW + 40),
        ]
    )
    total, page = await third.search_logs("lice", start=NOW, end=NOW + 100, offset=0, limit=2)
    assert (total, [r.log_id for r in page]) == (3, ["1000000003", "1000000002"])
    total, page = await third.search_logs("lice", start=NOW, end=NOW + 100, offset=2, limit=2)
    assert (total, [r.log_id for r in page]) == (3, ["1000000001"])
    total, page = await third.search_logs("", start=NOW + 10, end=NOW + 30, offset=0, limit=10)
    assert [r.log_id for r in page] == ["1000000004", "1000000003", "1000000002"]  # both ends included
    total, page = await third.search_logs("%", start=0, end=NOW * 2, offset=0, limit=10)
    assert [r.log_id for r in page] == ["1000000005"]  # % is a character, not a wildcard
    assert await third.search_logs("", start=0, end=NOW * 2, offset=0, limit=0) == (5, [])
    assert (await third.search_logs("", start=0, end=NOW * 2, offset=9, limit=5))[1] == []
    assert page[0] == record("1000000005", "a%b", NOW + 40)
