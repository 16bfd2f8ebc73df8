"""The members' rows of a group's chat conversation (`sg_<groupID>`), written inside a group transaction.

A member owns a row from the moment it joins (docs/protocol/messages.md §3): a new row starts at
`min_seq = max seq + 1` when new members may not read older history; a rejoining member's max_seq cap is
lifted. A member that leaves keeps its row, capped at the conversation's current max seq, so it keeps its
history and sees nothing newer; when the group has no message yet the row is deleted instead, since a cap of
0 means "no cap". They are written in a few statements whatever the number of members, in the membership
change's own transaction. Every change is logged in its owner's conversation version log. No business rules here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openim.protocol.constants import GroupAtType, SessionType
from openim.protocol.ids import group_conversation_id
from openim.storage import dialect
from openim.storage.schema import conversation, group_member, seq_conversation
from openim.storage.version import KIND_CONVERSATION, STATE_DELETE, STATE_INSERT, STATE_UPDATE, record_many

__all__ = ["chat_max_seq", "close_rows", "mark_announcement", "open_rows"]

_IN_CHUNK = 1000


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(ids), _IN_CHUNK):
        yield ids[i : i + _IN_CHUNK]


async def chat_max_seq(conn: AsyncConnection, conversation_id: str) -> int:
    """The conversation's newest seq (0 when it has no message)."""
    value = (
        await conn.execute(
            select(seq_conversation.c.max_seq).where(seq_conversation.c.conversation_id == conversation_id)
        )
    ).scalar()
    return int(value or 0)


async def _caps(conn: AsyncConnection, conversation_id: str, owners: Sequence[str]) -> dict[str, tuple[int, int]]:
    """owner → (min_seq, max_seq) of the owners among `owners` that have a row."""
    found: dict[str, tuple[int, int]] = {}
    for chunk in _chunks(owners):
        result = await conn.execute(
            select(conversation.c.owner_user_id, conversation.c.min_seq, conversation.c.max_seq).where(
                conversation.c.conversation_id == conversation_id, conversation.c.owner_user_id.in_(chunk)
            )
        )
        found.update({owner: (int(mn), int(mx)) for owner, mn, mx in result})
    return found


async def open_rows(
    conn: AsyncConnection, group_id: str, user_ids: Sequence[str], *, now: int, hide_history: bool
) -> None:
    """Members joining: create their rows (history hidden when `hide_history`), lift the cap of existing ones."""
    owners = list(dict.fromkeys(user_ids))
    if not owners:
        return
    cid = group_conversation_id(group_id)
    max_seq = await chat_max_seq(conn, cid)
    floor = max_seq + 1 if hide_history and max_seq else 0
    existing = await _caps(conn, cid, owners)
    fresh = [o for o in owners if o not in existing]
    if fresh:
        await conn.execute(
            dialect.insert_ignore(conn, conversation),
            [
                {
                    "owner_user_id": owner,
                    "conversation_id": cid,
                    "conversation_type": int(SessionType.READ_GROUP_CHAT),
                    "user_id": "",
                    "group_id": group_id,
                    "min_seq": floor,
                    "create_time": now,
                }
                for owner in fresh
            ],
        )
        await record_many(conn, KIND_CONVERSATION, fresh, [cid], STATE_INSERT, now=now)
    changed = {o: max(mn, floor) for o, (mn, mx) in existing.items() if mx != 0 or mn < floor}
    if changed:
        await conn.execute(
            update(conversation)
            .where(conversation.c.owner_user_id == bindparam("b_owner"), conversation.c.conversation_id == cid)
            .values(max_seq=0, min_seq=bindparam("b_min")),
            [{"b_owner": o, "b_min": mn} for o, mn in sorted(changed.items())],
        )
        await record_many(conn, KIND_CONVERSATION, sorted(changed), [cid], STATE_UPDATE, now=now)


async def close_rows(conn: AsyncConnection, group_id: str, user_ids: Sequence[str], *, now: int) -> None:
    """Members leaving: cap their rows at the current max seq, or delete them while the group has no message."""
    owners = list(dict.fromkeys(user_ids))
    if not owners:
        return
    cid = group_conversation_id(group_id)
    max_seq = await chat_max_seq(conn, cid)
    existing = await _caps(conn, cid, owners)
    if max_seq == 0:
        gone = sorted(existing)
        for chunk in _chunks(gone):
            await conn.execute(
                delete(conversation).where(
                    conversation.c.conversation_id == cid, conversation.c.owner_user_id.in_(chunk)
                )
            )
        await record_many(conn, KIND_CONVERSATION, gone, [cid], STATE_DELETE, now=now)
        return
    capped = sorted(o for o, (_, mx) in existing.items() if mx != max_seq)
    for chunk in _chunks(capped):
        await conn.execute(
            update(conversation)
            .where(conversation.c.conversation_id == cid, conversation.c.owner_user_id.in_(chunk))
            .values(max_seq=max_seq)
        )
    await record_many(conn, KIND_CONVERSATION, capped, [cid], STATE_UPDATE, now=now)


async def mark_announcement(conn: AsyncConnection, group_id: str, *, now: int) -> list[str]:
    """Set groupAtType 4 (GroupNotification) on every member's row; returns the owners whose row changed."""
    cid = group_conversation_id(group_id)
    members = select(group_member.c.user_id).where(group_member.c.group_id == group_id)
    result = await conn.execute(
        update(conversation)
        .where(
            conversation.c.conversation_id == cid,
            conversation.c.owner_user_id.in_(members),
            conversation.c.group_at_type != int(GroupAtType.GROUP_NOTIFICATION),
        )
        .values(group_at_type=int(GroupAtType.GROUP_NOTIFICATION))
        .returning(conversation.c.owner_user_id)
    )
    owners = sorted(result.scalars())
    await record_many(conn, KIND_CONVERSATION, owners, [cid], STATE_UPDATE, now=now)
    return owners
