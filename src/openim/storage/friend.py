"""FriendRepo: tables `friend`, `friend_request` and `black` — the one-user side of the social graph.

Reads: friend lists in OpenIM's order (pinned first, then by when they were added), requests to and from a
user newest first, blacklists, and the two questions message sending asks (`are_friends`, `is_blocked`).
Writes: each is one named transaction (`friend.<method>`) that also records its change in the version logs
— "friend" (owner → friendUserID, plus `SORT_ELEM_ID` when a pin changes) and "black" (owner → blockUserID) —
and returns the log states it wrote, which the friend service puts into its tips. A write that finds nothing to
change records nothing. Who may do what, and which errors follow, is the friend service's business.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, delete, func, or_, select, update

from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.facts import FACT_BLACK, FACT_FRIEND, FactCache
from openim.storage.rows import Black, Friend, FriendRequest
from openim.storage.schema import black, friend, friend_request
from openim.storage.version import (
    KIND_FRIEND,
    SORT_ELEM_ID,
    STATE_DELETE,
    STATE_INSERT,
    STATE_UPDATE,
    VersionState,
    record,
    record_many,
)

__all__ = ["HANDLE_AGREED", "HANDLE_PENDING", "HANDLE_REFUSED", "KIND_BLACK", "Accepted", "FriendRepo"]

# Version log of a user's blacklist (d_id = ownerUserID, e_id = blockUserID), beside storage.version's kinds.
# OpenIM keeps none (its get_incremental_blacks is unimplemented); add_black/remove_black must record it.
KIND_BLACK = "black"

# friend_request.handle_result (OpenIM's FriendResponseNotHandle / Agree / Refuse)
HANDLE_PENDING, HANDLE_AGREED, HANDLE_REFUSED = 0, 1, -1

_IN_CHUNK = 1000  # ids per IN (…) list, far below both databases' bind-parameter limits

_FRIEND = tuple(friend.c[f.name] for f in fields(Friend))
_REQUEST = tuple(friend_request.c[f.name] for f in fields(FriendRequest))
_BLACK = tuple(black.c[f.name] for f in fields(Black))

# OpenIM sorts friends by is_pinned desc, then _id (insertion order); create_time and the id break ties here.
_FRIEND_ORDER = (friend.c.is_pinned.desc(), friend.c.create_time, friend.c.friend_user_id)
_REQUEST_ORDER = (friend_request.c.create_time.desc(), friend_request.c.from_user_id, friend_request.c.to_user_id)
_BLACK_ORDER = (black.c.create_time, black.c.block_user_id)


@dataclass(frozen=True, slots=True)
class Accepted:
    """An agreed request and the friend-log state of each user whose list gained the other (no entry: it had)."""

    request: FriendRequest
    versions: dict[str, VersionState] = field(default_factory=dict)


class _Lost(Exception):
    """Rolls a write back: the row it was to change is no longer in the state the caller checked."""


def _friend(row: Sequence[Any]) -> Friend:
    values = list(row)
    values[-1] = bool(values[-1])  # SQLite hands back 0/1
    return Friend(*values)


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(ids), _IN_CHUNK):
        yield ids[i : i + _IN_CHUNK]


def _unique(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _with_results(stmt: Select[Any], handle_results: Sequence[int]) -> Select[Any]:
    return stmt.where(friend_request.c.handle_result.in_(list(handle_results))) if handle_results else stmt


class FriendRepo:
    """Reads `friend`, `friend_request` and `black`; every method is one transaction named `friend.<method>`."""

    def __init__(self, db: Db, facts: FactCache | None = None) -> None:
        self.db = db
        self.facts = facts if facts is not None else FactCache(db)

    # --- friends ------------------------------------------------------------------------------------------

    async def page_friends(self, owner_user_id: str, offset: int, limit: int) -> tuple[int, list[Friend]]:
        """(friends of the owner, one page of them in friend order); past the end the page is empty."""
        where = friend.c.owner_user_id == owner_user_id
        async with self.db.read("friend.page_friends") as conn:
            total = (await conn.execute(select(func.count()).select_from(friend).where(where))).scalar_one()
            if limit <= 0 or offset >= total:
                return total, []
            result = await conn.execute(
                select(*_FRIEND).where(where).order_by(*_FRIEND_ORDER).offset(offset).limit(limit)
            )
            return total, [_friend(row) for row in result]

    async def get_friends(self, owner_user_id: str, friend_user_ids: Sequence[str]) -> list[Friend]:
        """The owner's friend rows for those of `friend_user_ids` that are friends, in request order, each once."""
        wanted = _unique(friend_user_ids)
        found: dict[str, Friend] = {}
        async with self.db.read("friend.get_friends") as conn:
            for chunk in _chunks(wanted):
                result = await conn.execute(
                    select(*_FRIEND).where(friend.c.owner_user_id == owner_user_id, friend.c.friend_user_id.in_(chunk))
                )
                for row in result:
                    found[row.friend_user_id] = _friend(row)
        return [found[i] for i in wanted if i in found]

    async def friend_user_ids(self, owner_user_id: str) -> list[str]:
        """Every friend's userID, in friend order (the order OpenIM hashes for get_full_friend_user_ids)."""
        async with self.db.read("friend.friend_user_ids") as conn:
            result = await conn.execute(
                select(friend.c.friend_user_id).where(friend.c.owner_user_id == owner_user_id).order_by(*_FRIEND_ORDER)
            )
            return list(result.scalars())

    async def are_friends(self, owner_user_id: str, friend_user_id: str) -> bool:
        """Whether `friend_user_id` is in `owner_user_id`'s friend list (one direction: the other may differ)."""
        async with self.db.read("friend.are_friends") as conn:
            row = await conn.execute(
                select(friend.c.owner_user_id).where(
                    friend.c.owner_user_id == owner_user_id, friend.c.friend_user_id == friend_user_id
                )
            )
            return row.first() is not None

    async def friendship(self, user_id1: str, user_id2: str) -> tuple[bool, bool]:
        """(user_id2 is in user_id1's list, user_id1 is in user_id2's list), as /friend/is_friend reports it."""
        async with self.db.read("friend.friendship") as conn:
            result = await conn.execute(
                select(friend.c.owner_user_id).where(
                    or_(
                        and_(friend.c.owner_user_id == user_id1, friend.c.friend_user_id == user_id2),
                        and_(friend.c.owner_user_id == user_id2, friend.c.friend_user_id == user_id1),
                    )
                )
            )
            owners = set(result.scalars())
        return user_id1 in owners, user_id2 in owners

    # --- friend requests ----------------------------------------------------------------------------------

    async def page_requests_to(
        self, to_user_id: str, handle_results: Sequence[int], offset: int, limit: int
    ) -> tuple[int, list[FriendRequest]]:
        """(matching total, one page) of requests sent to the user, newest first; empty `handle_results` = all."""
        who = friend_request.c.to_user_id == to_user_id
        return await self._page_requests("friend.page_requests_to", who, handle_results, offset, limit)

    async def page_requests_from(
        self, from_user_id: str, handle_results: Sequence[int], offset: int, limit: int
    ) -> tuple[int, list[FriendRequest]]:
        """(matching total, one page) of requests the user sent, newest first; empty `handle_results` = all."""
        who = friend_request.c.from_user_id == from_user_id
        return await self._page_requests("friend.page_requests_from", who, handle_results, offset, limit)

    async def requests_between(self, user_id1: str, user_id2: str) -> list[FriendRequest]:
        """The requests from either user to the other (0, 1 or 2), newest first."""
        async with self.db.read("friend.requests_between") as conn:
            result = await conn.execute(
                select(*_REQUEST)
                .where(
                    or_(
                        and_(friend_request.c.from_user_id == user_id1, friend_request.c.to_user_id == user_id2),
                        and_(friend_request.c.from_user_id == user_id2, friend_request.c.to_user_id == user_id1),
                    )
                )
                .order_by(*_REQUEST_ORDER)
            )
            return [FriendRequest(*row) for row in result]

    async def count_unhandled_requests(self, to_user_id: str, *, after: int = 0) -> int:
        """Pending requests to the user created after `after` (ms; 0 = all)."""
        where: list[ColumnElement[bool]] = [
            friend_request.c.to_user_id == to_user_id,
            friend_request.c.handle_result == 0,
        ]
        if after:
            where.append(friend_request.c.create_time > after)
        async with self.db.read("friend.count_unhandled_requests") as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(friend_request).where(*where))).scalar_one()
            )

    async def _page_requests(
        self, name: str, who: ColumnElement[bool], handle_results: Sequence[int], offset: int, limit: int
    ) -> tuple[int, list[FriendRequest]]:
        async with self.db.read(name) as conn:
            count = _with_results(select(func.count()).select_from(friend_request).where(who), handle_results)
            total = (await conn.execute(count)).scalar_one()
            if limit <= 0 or offset >= total:
                return total, []
            page = _with_results(select(*_REQUEST).where(who), handle_results)
            result = await conn.execute(page.order_by(*_REQUEST_ORDER).offset(offset).limit(limit))
            return total, [FriendRequest(*row) for row in result]

    # --- blacklist ----------------------------------------------------------------------------------------

    async def page_blacks(self, owner_user_id: str, offset: int, limit: int) -> tuple[int, list[Black]]:
        """(users the owner blocked, one page of them, oldest first); past the end the page is empty."""
        where = black.c.owner_user_id == owner_user_id
        async with self.db.read("friend.page_blacks") as conn:
            total = (await conn.execute(select(func.count()).select_from(black).where(where))).scalar_one()
            if limit <= 0 or offset >= total:
                return total, []
            result = await conn.execute(
                select(*_BLACK).where(where).order_by(*_BLACK_ORDER).offset(offset).limit(limit)
            )
            return total, [Black(*row) for row in result]

    async def get_blacks(self, owner_user_id: str, block_user_ids: Sequence[str]) -> list[Black]:
        """The owner's black rows for those of `block_user_ids` it blocked, in request order, each once."""
        wanted = _unique(block_user_ids)
        found: dict[str, Black] = {}
        async with self.db.read("friend.get_blacks") as conn:
            for chunk in _chunks(wanted):
                result = await conn.execute(
                    select(*_BLACK).where(black.c.owner_user_id == owner_user_id, black.c.block_user_id.in_(chunk))
                )
                for row in result:
                    found[row.block_user_id] = Black(*row)
        return [found[i] for i in wanted if i in found]

    async def is_blocked(self, owner_user_id: str, block_user_id: str) -> bool:
        """Whether `owner_user_id` blocked `block_user_id` (then its single-chat messages to the owner fail, 1302)."""
        async with self.db.read("friend.is_blocked") as conn:
            row = await conn.execute(
                select(black.c.owner_user_id).where(
                    black.c.owner_user_id == owner_user_id, black.c.block_user_id == block_user_id
                )
            )
            return row.first() is not None

    # --- writes: requests ---------------------------------------------------------------------------------

    async def get_request(self, from_user_id: str, to_user_id: str) -> FriendRequest | None:
        """The request from one user to the other, or None."""
        async with self.db.read("friend.get_request") as conn:
            row = (
                await conn.execute(
                    select(*_REQUEST).where(
                        friend_request.c.from_user_id == from_user_id, friend_request.c.to_user_id == to_user_id
                    )
                )
            ).first()
        return None if row is None else FriendRequest(*row)

    async def upsert_request(
        self, from_user_id: str, to_user_id: str, *, req_msg: str, ex: str, now: int
    ) -> FriendRequest:
        """Create the (from, to) request, or reset an existing one to pending with the new text and time."""
        row = FriendRequest(from_user_id, to_user_id, HANDLE_PENDING, req_msg, now, "", "", 0, ex)
        values = {f.name: getattr(row, f.name) for f in fields(FriendRequest)}
        async with self.db.write("friend.upsert_request") as conn:
            await conn.execute(
                dialect.upsert(
                    conn,
                    friend_request,
                    ["from_user_id", "to_user_id"],
                    [n for n in values if n not in ("from_user_id", "to_user_id")],
                ).values(**values)
            )
        return row

    async def accept_request(
        self, from_user_id: str, to_user_id: str, *, handler_user_id: str, handle_msg: str, add_source: int, now: int
    ) -> Accepted | None:
        """Agree to the pending (from, to) request and make the two users friends, in one transaction.

        A pending request the other way is agreed too; each missing friend row (both directions, `add_source`,
        operator = the applicant as OpenIM) is created and logged as an insert in its owner's friend log.
        None, with nothing changed, when the request is not pending (any more).
        """
        primary = and_(friend_request.c.from_user_id == from_user_id, friend_request.c.to_user_id == to_user_id)
        reverse = and_(friend_request.c.from_user_id == to_user_id, friend_request.c.to_user_id == from_user_id)
        try:
            async with (
                self.facts.writing(FACT_FRIEND, (from_user_id, to_user_id)),
                self.db.write("friend.accept_request") as conn,
            ):
                # One statement for both requests: two accepts crossing each other lock the rows in one order.
                result = await conn.execute(
                    update(friend_request)
                    .where(or_(primary, reverse), friend_request.c.handle_result == HANDLE_PENDING)
                    .values(
                        handle_result=HANDLE_AGREED,
                        handler_user_id=handler_user_id,
                        handle_time=now,
                        handle_msg=case((primary, handle_msg), else_=friend_request.c.handle_msg),
                    )
                    .returning(*_REQUEST)
                )
                agreed = [FriendRequest(*r) for r in result]
                request = next((r for r in agreed if r.from_user_id == from_user_id), None)
                if request is None:
                    raise _Lost
                pairs = [(to_user_id, from_user_id), (from_user_id, to_user_id)]
                inserted = await conn.execute(
                    dialect.insert_ignore(conn, friend).returning(friend.c.owner_user_id),
                    [_new_friend(o, f, add_source=add_source, operator=from_user_id, now=now) for o, f in pairs],
                )
                owners = sorted(inserted.scalars())
                versions: dict[str, VersionState] = {}
                for owner in owners:  # sorted: every writer locks version rows in one order
                    other = to_user_id if owner == from_user_id else from_user_id
                    versions[owner] = await record(conn, KIND_FRIEND, owner, [other], STATE_INSERT, now=now)
                return Accepted(request, versions)
        except _Lost:
            return None

    async def refuse_request(
        self, from_user_id: str, to_user_id: str, *, handler_user_id: str, handle_msg: str, now: int
    ) -> FriendRequest | None:
        """Refuse the pending (from, to) request; the refused row, or None when it is not pending (any more)."""
        async with self.db.write("friend.refuse_request") as conn:
            row = (
                await conn.execute(
                    update(friend_request)
                    .where(
                        friend_request.c.from_user_id == from_user_id,
                        friend_request.c.to_user_id == to_user_id,
                        friend_request.c.handle_result == HANDLE_PENDING,
                    )
                    .values(
                        handle_result=HANDLE_REFUSED,
                        handler_user_id=handler_user_id,
                        handle_msg=handle_msg,
                        handle_time=now,
                    )
                    .returning(*_REQUEST)
                )
            ).first()
        return None if row is None else FriendRequest(*row)

    # --- writes: friends ----------------------------------------------------------------------------------

    async def become_friends(
        self, owner_user_id: str, friend_user_ids: Sequence[str], *, add_source: int, operator: str, now: int
    ) -> dict[str, VersionState]:
        """Make the owner and each of `friend_user_ids` friends both ways (import); existing rows are kept.

        Returns the friend-log state of every user whose list gained a row (the owner's log gets one version
        for all its new friends, each friend's log one for the owner).
        """
        wanted = [f for f in _unique(friend_user_ids) if f != owner_user_id]
        if not wanted:
            return {}
        versions: dict[str, VersionState] = {}
        async with (
            self.facts.writing(FACT_FRIEND, [owner_user_id, *wanted]),
            self.db.write("friend.become_friends") as conn,
        ):
            mine: list[str] = []
            theirs: list[str] = []
            for chunk in _chunks(wanted):
                result = await conn.execute(
                    dialect.insert_ignore(conn, friend).returning(friend.c.friend_user_id),
                    [_new_friend(owner_user_id, f, add_source=add_source, operator=operator, now=now) for f in chunk],
                )
                mine += result.scalars()
                result = await conn.execute(
                    dialect.insert_ignore(conn, friend).returning(friend.c.owner_user_id),
                    [_new_friend(f, owner_user_id, add_source=add_source, operator=operator, now=now) for f in chunk],
                )
                theirs += result.scalars()
            if mine:
                versions[owner_user_id] = await record(conn, KIND_FRIEND, owner_user_id, mine, STATE_INSERT, now=now)
            if theirs:
                versions.update(await record_many(conn, KIND_FRIEND, theirs, [owner_user_id], STATE_INSERT, now=now))
        return versions

    async def delete_friend(self, owner_user_id: str, friend_user_id: str, *, now: int) -> VersionState | None:
        """Remove `friend_user_id` from the owner's list only (the other list keeps its row), logged as a delete."""
        async with (
            self.facts.writing(FACT_FRIEND, (owner_user_id,)),
            self.db.write("friend.delete_friend") as conn,
        ):
            result = await conn.execute(
                delete(friend).where(friend.c.owner_user_id == owner_user_id, friend.c.friend_user_id == friend_user_id)
            )
            if not result.rowcount:
                return None
            return await record(conn, KIND_FRIEND, owner_user_id, [friend_user_id], STATE_DELETE, now=now)

    async def update_friends(
        self,
        owner_user_id: str,
        friend_user_ids: Sequence[str],
        *,
        now: int,
        remark: str | None = None,
        ex: str | None = None,
        is_pinned: bool | None = None,
    ) -> VersionState | None:
        """Set the given fields (None = unchanged) on the owner's rows for `friend_user_ids`, logged as updates.

        A pin change also logs the order element (`SORT_ELEM_ID`), as OpenIM. None when no row changed.
        """
        changes: dict[str, object] = {}
        if remark is not None:
            changes["remark"] = remark
        if ex is not None:
            changes["ex"] = ex
        if is_pinned is not None:
            changes["is_pinned"] = is_pinned
        ids = _unique(friend_user_ids)
        if not changes or not ids:
            return None
        async with self.db.write("friend.update_friends") as conn:
            changed: list[str] = []
            for chunk in _chunks(ids):
                result = await conn.execute(
                    update(friend)
                    .where(friend.c.owner_user_id == owner_user_id, friend.c.friend_user_id.in_(chunk))
                    .values(changes)
                    .returning(friend.c.friend_user_id)
                )
                changed += result.scalars()
            if not changed:
                return None
            e_ids = [SORT_ELEM_ID, *changed] if is_pinned is not None else changed
            return await record(conn, KIND_FRIEND, owner_user_id, e_ids, STATE_UPDATE, now=now)

    async def touch_friend(self, friend_user_id: str, *, now: int) -> dict[str, VersionState]:
        """Log an update of `friend_user_id` in the friend log of everyone who has it as a friend (its profile
        changed); the state of each log written."""
        async with self.db.write("friend.touch_friend") as conn:
            result = await conn.execute(select(friend.c.owner_user_id).where(friend.c.friend_user_id == friend_user_id))
            owners = list(result.scalars())
            if not owners:
                return {}
            return await record_many(conn, KIND_FRIEND, owners, [friend_user_id], STATE_UPDATE, now=now)

    # --- writes: blacklist --------------------------------------------------------------------------------

    async def add_black(
        self, owner_user_id: str, block_user_id: str, *, ex: str, operator: str, now: int
    ) -> VersionState | None:
        """The owner blocks `block_user_id`, logged as an insert in the owner's black log; None if it already had."""
        row = Black(owner_user_id, block_user_id, now, 0, operator, ex)
        async with self.facts.writing(FACT_BLACK, (owner_user_id,)), self.db.write("friend.add_black") as conn:
            result = await conn.execute(
                dialect.insert_ignore(conn, black)
                .values(**{f.name: getattr(row, f.name) for f in fields(Black)})
                .returning(black.c.block_user_id)
            )
            if result.first() is None:
                return None
            return await record(conn, KIND_BLACK, owner_user_id, [block_user_id], STATE_INSERT, now=now)

    async def remove_black(self, owner_user_id: str, block_user_id: str, *, now: int) -> VersionState | None:
        """The owner unblocks `block_user_id`, logged as a delete; None if it was not blocked."""
        async with self.facts.writing(FACT_BLACK, (owner_user_id,)), self.db.write("friend.remove_black") as conn:
            result = await conn.execute(
                delete(black).where(black.c.owner_user_id == owner_user_id, black.c.block_user_id == block_user_id)
            )
            if not result.rowcount:
                return None
            return await record(conn, KIND_BLACK, owner_user_id, [block_user_id], STATE_DELETE, now=now)


def _new_friend(owner: str, friend_id: str, *, add_source: int, operator: str, now: int) -> dict[str, object]:
    row = Friend(owner, friend_id, "", now, add_source, operator, "", False)
    return {f.name: getattr(row, f.name) for f in fields(Friend)}
