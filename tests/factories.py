"""Setup helpers that put rows straight into the database: setup, not mocks. Add a section per domain.

Social graph: these insert rows as the friend and group write side does, and record the same version-log
entries (`friend`, `black`, `join_group`, `group_member`) in the same transaction, for tests that need a state
without going through the services. Like the repositories, they drop what the storage's fact cache held of the
rows they change (`storage/facts.py`), so a send sees the new state.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, update

from openim.protocol.constants import GroupRole, GroupStatus
from openim.storage import Storage
from openim.storage.facts import FACT_BLACK, FACT_FRIEND, FACT_GROUP, FACT_MEMBERS
from openim.storage.friend import KIND_BLACK
from openim.storage.rows import Black, Friend, FriendRequest, Group, GroupMember, GroupRequest
from openim.storage.schema import black, friend, friend_request, group, group_member, group_request
from openim.storage.version import (
    GROUP_ELEM_ID,
    KIND_FRIEND,
    KIND_GROUP_MEMBER,
    KIND_JOIN_GROUP,
    SORT_ELEM_ID,
    STATE_DELETE,
    STATE_INSERT,
    STATE_UPDATE,
    record,
)

# --- social graph ------------------------------------------------------------------------------------------


async def make_friend(
    storage: Storage,
    owner: str,
    friend_id: str,
    *,
    now: int,
    remark: str = "",
    is_pinned: bool = False,
    ex: str = "",
    add_source: int = 1,
    operator: str = "",
) -> Friend:
    """`friend_id` in `owner`'s list (one direction), logged as an insert in the owner's friend log."""
    row = Friend(owner, friend_id, remark, now, add_source, operator, ex, is_pinned)
    async with storage.facts.writing(FACT_FRIEND, (owner,)), storage.db.write("test.make_friend") as conn:
        await conn.execute(insert(friend).values(**_values(row)))
        await record(conn, KIND_FRIEND, owner, [friend_id], STATE_INSERT, now=now)
    return row


async def pin_friend(storage: Storage, owner: str, friend_id: str, *, now: int) -> None:
    """Pin a friend as update_friends will: an update plus an order change in the owner's friend log."""
    async with storage.db.write("test.pin_friend") as conn:
        await conn.execute(
            update(friend)
            .where(friend.c.owner_user_id == owner, friend.c.friend_user_id == friend_id)
            .values(is_pinned=True)
        )
        await record(conn, KIND_FRIEND, owner, [SORT_ELEM_ID, friend_id], STATE_UPDATE, now=now)


async def unfriend(storage: Storage, owner: str, friend_id: str, *, now: int) -> None:
    """Remove `friend_id` from `owner`'s list, logged as a delete."""
    async with storage.facts.writing(FACT_FRIEND, (owner,)), storage.db.write("test.unfriend") as conn:
        await conn.execute(delete(friend).where(friend.c.owner_user_id == owner, friend.c.friend_user_id == friend_id))
        await record(conn, KIND_FRIEND, owner, [friend_id], STATE_DELETE, now=now)


async def make_friend_request(
    storage: Storage,
    from_id: str,
    to_id: str,
    *,
    now: int,
    handle_result: int = 0,
    req_msg: str = "",
    handler: str = "",
    handle_msg: str = "",
    handle_time: int = 0,
    ex: str = "",
) -> FriendRequest:
    row = FriendRequest(from_id, to_id, handle_result, req_msg, now, handler, handle_msg, handle_time, ex)
    async with storage.db.write("test.make_friend_request") as conn:
        await conn.execute(insert(friend_request).values(**_values(row)))
    return row


async def make_black(
    storage: Storage, owner: str, blocked: str, *, now: int, ex: str = "", add_source: int = 0, operator: str = ""
) -> Black:
    """`owner` blocks `blocked`, logged as an insert in the owner's `black` log."""
    row = Black(owner, blocked, now, add_source, operator or owner, ex)
    async with storage.facts.writing(FACT_BLACK, (owner,)), storage.db.write("test.make_black") as conn:
        await conn.execute(insert(black).values(**_values(row)))
        await record(conn, KIND_BLACK, owner, [blocked], STATE_INSERT, now=now)
    return row


async def make_group(
    storage: Storage,
    group_id: str,
    owner: str,
    members: Sequence[str] = (),
    *,
    now: int,
    admins: Sequence[str] = (),
    name: str = "",
    status: int = GroupStatus.OK,
    need_verification: int = 0,
    ex: str = "",
) -> Group:
    """A group with its owner, admins and members (joined at now, now+1, …), logged as create_group will."""
    row = Group(group_id, name or f"name-{group_id}", "", "", "", now, ex, int(status), owner, 2, need_verification,
                0, 0, 0, "")  # fmt: skip
    roles = [(owner, GroupRole.OWNER), *((a, GroupRole.ADMIN) for a in admins)]
    roles += [(m, GroupRole.ORDINARY) for m in members]
    async with (
        storage.facts.writing(FACT_GROUP, (group_id,)),
        storage.facts.writing(FACT_MEMBERS, (group_id,)),
        storage.db.write("test.make_group") as conn,
    ):
        await conn.execute(insert(group).values(**_values(row)))
        for i, (user_id, role) in enumerate(roles):
            member = GroupMember(group_id, user_id, "", "", int(role), now + i, 2, owner, owner, 0, "")
            await conn.execute(insert(group_member).values(**_values(member)))
            await record(conn, KIND_JOIN_GROUP, user_id, [group_id], STATE_INSERT, now=now)
        await record(conn, KIND_GROUP_MEMBER, group_id, [u for u, _ in roles], STATE_INSERT, now=now)
    return row


async def add_member(
    storage: Storage,
    group_id: str,
    user_id: str,
    *,
    now: int,
    role: int = GroupRole.ORDINARY,
    nickname: str = "",
    face_url: str = "",
    ex: str = "",
) -> GroupMember:
    """One more member, logged in the group's member log and the user's join log."""
    member = GroupMember(group_id, user_id, nickname, face_url, int(role), now, 3, "", user_id, 0, ex)
    async with storage.facts.writing(FACT_MEMBERS, (group_id,)), storage.db.write("test.add_member") as conn:
        await conn.execute(insert(group_member).values(**_values(member)))
        await record(conn, KIND_GROUP_MEMBER, group_id, [user_id], STATE_INSERT, now=now)
        await record(conn, KIND_JOIN_GROUP, user_id, [group_id], STATE_INSERT, now=now)
    return member


async def remove_member(storage: Storage, group_id: str, user_id: str, *, now: int) -> None:
    """A member leaves, logged as a delete in both logs."""
    async with storage.facts.writing(FACT_MEMBERS, (group_id,)), storage.db.write("test.remove_member") as conn:
        await conn.execute(
            delete(group_member).where(group_member.c.group_id == group_id, group_member.c.user_id == user_id)
        )
        await record(conn, KIND_GROUP_MEMBER, group_id, [user_id], STATE_DELETE, now=now)
        await record(conn, KIND_JOIN_GROUP, user_id, [group_id], STATE_DELETE, now=now)


async def rename_group(storage: Storage, group_id: str, name: str, *, now: int) -> None:
    """Change the group's name, logged as the group itself ("") changing, as set_group_info will."""
    async with storage.facts.writing(FACT_GROUP, (group_id,)), storage.db.write("test.rename_group") as conn:
        await conn.execute(update(group).where(group.c.group_id == group_id).values(group_name=name))
        await record(conn, KIND_GROUP_MEMBER, group_id, [GROUP_ELEM_ID], STATE_UPDATE, now=now)


async def dismiss_group(storage: Storage, group_id: str, *, now: int) -> None:
    """Dismiss keeping members (status 2), as dismiss_group with deleteMember=false will."""
    async with storage.facts.writing(FACT_GROUP, (group_id,)), storage.db.write("test.dismiss_group") as conn:
        await conn.execute(update(group).where(group.c.group_id == group_id).values(status=int(GroupStatus.DISMISSED)))
        await record(conn, KIND_GROUP_MEMBER, group_id, [GROUP_ELEM_ID], STATE_UPDATE, now=now)


async def make_group_request(
    storage: Storage,
    group_id: str,
    user_id: str,
    *,
    now: int,
    handle_result: int = 0,
    req_msg: str = "",
    join_source: int = 3,
    inviter: str = "",
    ex: str = "",
) -> GroupRequest:
    row = GroupRequest(group_id, user_id, handle_result, req_msg, "", now, "", 0, join_source, inviter, ex)
    async with storage.db.write("test.make_group_request") as conn:
        await conn.execute(insert(group_request).values(**_values(row)))
    return row


def _values(row: object) -> dict[str, object]:
    return {name: getattr(row, name) for name in row.__dataclass_fields__}  # type: ignore[attr-defined]
