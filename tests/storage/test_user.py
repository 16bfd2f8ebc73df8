"""Tests for openim.storage.user: registration, lookups, paging, search, updates, admin accounts."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert

from openim.protocol.errors import ArgsError, RegisteredAlreadyError
from openim.storage import Storage
from openim.storage.rows import User
from openim.storage.schema import user as user_table


def make_user(user_id: str, *, nickname: str = "", create_time: int = 1000, level: int = 0) -> User:
    """A User row with defaults for the fields a test does not care about."""
    return User(
        user_id=user_id,
        nickname=nickname or f"nick-{user_id}",
        face_url=f"https://img/{user_id}.png",
        ex='{"k": 1}',
        app_manager_level=level,
        global_recv_msg_opt=0,
        create_time=create_time,
    )


async def test_create_then_get_returns_the_same_rows(storage: Storage) -> None:
    """Every field written by create_users comes back from get_user unchanged."""
    alice = make_user("alice")
    await storage.user.create_users([alice])
    assert await storage.user.get_user("alice") == alice


async def test_get_user_unknown_is_none(storage: Storage) -> None:
    """get_user of an unregistered id returns None."""
    assert await storage.user.get_user("nobody") is None


async def test_get_users_keeps_request_order_drops_unknown_and_duplicates(storage: Storage) -> None:
    """get_users answers in request order, omits unknown ids and lists a repeated id once."""
    await storage.user.create_users([make_user("a"), make_user("b"), make_user("c")])
    got = await storage.user.get_users(["c", "zz", "a", "c", "b", "a"])
    assert [u.user_id for u in got] == ["c", "a", "b"]
    assert await storage.user.get_users([]) == []


async def test_get_users_beyond_one_in_list_chunk(storage: Storage) -> None:
    """More ids than fit in one IN list are all found, still in request order."""
    users = [make_user(f"u{i:05d}", create_time=i) for i in range(2500)]
    await storage.user.create_users(users)
    wanted = [u.user_id for u in reversed(users)]
    got = await storage.user.get_users(wanted)
    assert [u.user_id for u in got] == wanted
    assert await storage.user.existing_ids([*wanted, "missing"]) == set(wanted)


async def test_existing_ids(storage: Storage) -> None:
    """existing_ids returns exactly the registered subset."""
    await storage.user.create_users([make_user("a"), make_user("b")])
    assert await storage.user.existing_ids(["a", "x", "b", "a"]) == {"a", "b"}
    assert await storage.user.existing_ids([]) == set()


async def test_create_with_an_existing_id_writes_nothing(storage: Storage) -> None:
    """If any userID is already registered the whole batch fails with 1102 and no new row appears."""
    await storage.user.create_users([make_user("taken")])
    with pytest.raises(RegisteredAlreadyError) as info:
        await storage.user.create_users([make_user("new1"), make_user("taken"), make_user("new2")])
    assert info.value.code == 1102
    assert info.value.detail == "userID taken already registered"
    assert await storage.user.existing_ids(["new1", "new2"]) == set()


async def test_create_with_a_repeated_id_writes_nothing(storage: Storage) -> None:
    """A userID repeated inside one batch is an ArgsError and nothing is written."""
    with pytest.raises(ArgsError, match="dup"):
        await storage.user.create_users([make_user("ok"), make_user("dup"), make_user("dup")])
    assert await storage.user.get_user("ok") is None


async def test_create_empty_batch_is_a_no_op(storage: Storage) -> None:
    """create_users([]) does nothing and raises nothing."""
    await storage.user.create_users([])
    assert await storage.user.page_user_ids(0, 10) == (0, [])


async def test_concurrent_registrations_of_one_id_have_one_winner(storage: Storage) -> None:
    """Two create_users racing for the same id: exactly one commits, the other gets 1102 and writes nothing."""
    for round_ in range(10):
        shared = f"shared{round_}"
        results = await asyncio.gather(
            storage.user.create_users([make_user(shared, nickname="left"), make_user(f"left{round_}")]),
            storage.user.create_users([make_user(shared, nickname="right"), make_user(f"right{round_}")]),
            return_exceptions=True,
        )
        errors = [r for r in results if r is not None]
        assert len(errors) == 1 and isinstance(errors[0], RegisteredAlreadyError), results
        winner = "left" if results[0] is None else "right"
        loser = "right" if winner == "left" else "left"
        stored = await storage.user.get_user(shared)
        assert stored is not None and stored.nickname == winner
        assert await storage.user.existing_ids([f"{winner}{round_}", f"{loser}{round_}"]) == {f"{winner}{round_}"}


async def test_registration_blocked_by_an_uncommitted_insert_reports_1102(storage: Storage) -> None:
    """create_users that collides with a row committed while it runs still raises 1102 (the integrity-error path)."""
    async with storage.db.write("test.hold") as conn:
        await conn.execute(insert(user_table), [{"user_id": "x", "create_time": 1}])
        task = asyncio.create_task(storage.user.create_users([make_user("y"), make_user("x")]))
        await asyncio.sleep(0.2)  # PostgreSQL: the task now waits on x's row lock; SQLite: on the writer slot
        assert not task.done()
    with pytest.raises(RegisteredAlreadyError, match="userID x already registered"):
        await task
    assert await storage.user.get_user("y") is None


async def test_page_user_ids_orders_by_create_time_then_id(storage: Storage) -> None:
    """page_user_ids pages through ids by create_time, ties broken by user_id, with the full total."""
    await storage.user.create_users(
        [make_user("d", create_time=2), make_user("b", create_time=1), make_user("c", create_time=2)]
    )
    await storage.user.create_users([make_user("a", create_time=3)])
    assert await storage.user.page_user_ids(0, 10) == (4, ["b", "c", "d", "a"])
    assert await storage.user.page_user_ids(1, 2) == (4, ["c", "d"])


async def test_page_user_ids_past_the_end(storage: Storage) -> None:
    """A page beyond the last user is empty but still reports the total."""
    await storage.user.create_users([make_user("a"), make_user("b")])
    assert await storage.user.page_user_ids(2, 10) == (2, [])
    assert await storage.user.page_user_ids(100, 10) == (2, [])


async def test_page_user_ids_includes_admins(storage: Storage) -> None:
    """page_user_ids lists every user, app managers and notification accounts included."""
    await storage.user.create_users([make_user("u"), make_user("admin", level=2), make_user("notice", level=3)])
    total, ids = await storage.user.page_user_ids(0, 10)
    assert total == 3 and set(ids) == {"u", "admin", "notice"}


async def test_page_users_keeps_only_requested_levels(storage: Storage) -> None:
    """page_users lists levels 0 and 1 by default and exactly the given levels otherwise."""
    await storage.user.create_users(
        [
            make_user("plain", create_time=1),
            make_user("level1", create_time=2, level=1),
            make_user("admin", create_time=3, level=2),
            make_user("notice", create_time=4, level=3),
        ]
    )
    total, users = await storage.user.page_users(0, 10)
    assert (total, [u.user_id for u in users]) == (2, ["plain", "level1"])
    total, users = await storage.user.page_users(0, 10, levels=(2, 3))
    assert (total, [u.user_id for u in users]) == (2, ["admin", "notice"])


async def test_page_users_totals_and_past_the_end(storage: Storage) -> None:
    """page_users reports the matching total with every page, including an empty one past the end."""
    await storage.user.create_users([make_user(f"u{i}", create_time=i) for i in range(5)])
    total, users = await storage.user.page_users(3, 10)
    assert (total, [u.user_id for u in users]) == (5, ["u3", "u4"])
    assert await storage.user.page_users(5, 10) == (5, [])


async def test_page_users_keyword_matches_id_or_nickname_ignoring_case(storage: Storage) -> None:
    """The keyword is a case-insensitive substring of user_id or nickname."""
    await storage.user.create_users(
        [
            make_user("Bob123", nickname="builder", create_time=1),
            make_user("carol", nickname="BOBBY tables", create_time=2),
            make_user("dave", nickname="dave", create_time=3),
        ]
    )
    total, users = await storage.user.page_users(0, 10, keyword="bOb")
    assert (total, [u.user_id for u in users]) == (2, ["Bob123", "carol"])
    total, users = await storage.user.page_users(1, 10, keyword="BOB")
    assert (total, [u.user_id for u in users]) == (2, ["carol"])
    assert await storage.user.page_users(0, 10, keyword="nobody") == (0, [])


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [("%", ["pct%x"]), ("_", ["under_x"]), ("\\", ["back\\x"]), ("x%", []), ("r_x", ["under_x"])],
)
async def test_page_users_keyword_wildcards_are_literal(storage: Storage, keyword: str, expected: list[str]) -> None:
    """LIKE wildcards and the escape character in the keyword match themselves only."""
    await storage.user.create_users(
        [
            make_user("pct%x", nickname="p", create_time=1),
            make_user("under_x", nickname="u", create_time=2),
            make_user("back\\x", nickname="b", create_time=3),
            make_user("plainxx", nickname="q", create_time=4),
        ]
    )
    total, users = await storage.user.page_users(0, 10, keyword=keyword)
    assert (total, [u.user_id for u in users]) == (len(expected), expected)


async def test_update_user_changes_only_given_fields(storage: Storage) -> None:
    """Fields passed as None stay as they were; the updated row is returned and stored."""
    original = make_user("alice")
    await storage.user.create_users([original])
    updated = await storage.user.update_user("alice", nickname="Alice", global_recv_msg_opt=2)
    assert updated is not None
    assert updated.nickname == "Alice" and updated.global_recv_msg_opt == 2
    assert (updated.face_url, updated.ex, updated.create_time) == (original.face_url, original.ex, original.create_time)
    assert await storage.user.get_user("alice") == updated


async def test_update_user_can_set_empty_strings(storage: Storage) -> None:
    """An empty string is a value, not "unchanged": it clears the field."""
    await storage.user.create_users([make_user("alice")])
    updated = await storage.user.update_user("alice", face_url="", ex="")
    assert updated is not None and (updated.face_url, updated.ex) == ("", "")


async def test_update_user_without_fields_returns_current_row(storage: Storage) -> None:
    """update_user with nothing to change returns the stored row untouched."""
    alice = make_user("alice")
    await storage.user.create_users([alice])
    assert await storage.user.update_user("alice") == alice


async def test_update_unknown_user_returns_none(storage: Storage) -> None:
    """Updating an unregistered id changes nothing and returns None."""
    assert await storage.user.update_user("ghost", nickname="boo") is None
    assert await storage.user.update_user("ghost") is None
    assert await storage.user.get_user("ghost") is None


async def test_ensure_admins_creates_missing_admins(storage: Storage) -> None:
    """ensure_admins registers each missing admin at level 2 with the given time."""
    await storage.user.ensure_admins([("imAdmin", "superAdmin"), ("ops", "Ops")], now=42)
    assert await storage.user.get_users(["imAdmin", "ops"]) == [
        User("imAdmin", "superAdmin", "", "", 2, 0, 42),
        User("ops", "Ops", "", "", 2, 0, 42),
    ]


async def test_ensure_admins_promotes_existing_user_and_keeps_the_rest(storage: Storage) -> None:
    """An existing user gets level 2 and the configured nickname; its other fields and create_time stay."""
    before = make_user("imAdmin", nickname="old", create_time=7)
    await storage.user.create_users([before])
    await storage.user.ensure_admins([("imAdmin", "superAdmin")], now=99)
    after = await storage.user.get_user("imAdmin")
    assert after is not None
    assert (after.app_manager_level, after.nickname) == (2, "superAdmin")
    assert (after.face_url, after.ex, after.create_time) == (before.face_url, before.ex, 7)


async def test_ensure_admins_is_idempotent(storage: Storage) -> None:
    """Running ensure_admins twice leaves the same rows as running it once."""
    await storage.user.ensure_admins([("imAdmin", "superAdmin")], now=1)
    first = await storage.user.get_user("imAdmin")
    await storage.user.ensure_admins([("imAdmin", "superAdmin")], now=2)
    assert await storage.user.get_user("imAdmin") == first
    assert await storage.user.page_user_ids(0, 10) == (1, ["imAdmin"])
    await storage.user.ensure_admins([], now=3)
