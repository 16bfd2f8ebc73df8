"""FriendRepo: tables `friend`, `friend_request` and `black` — the one-user side of the social graph.

Reads only for now (the write side comes with friend applications): friend lists in OpenIM's order (pinned
first, then by when they were added), requests to and from a user newest first, blacklists, and the two
questions message sending asks (`are_friends`, `is_blocked`). Each method is one named transaction
(`friend.<method>`) and returns `rows` values; who may ask what is the friend service's business.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from openim.storage.db import Db
from openim.storage.rows import Black, Friend, FriendRequest
from openim.storage.schema import black, friend, friend_request

__all__ = ["KIND_BLACK", "FriendRepo"]

# Version log of a user's blacklist (d_id = ownerUserID, e_id = blockUserID), beside storage.version's kinds.
# OpenIM keeps none (its get_incremental_blacks is unimplemented); add_black/remove_black must record it.
KIND_BLACK = "black"

_IN_CHUNK = 1000  # ids per IN (…) list, far below both databases' bind-parameter limits

_FRIEND = tuple(friend.c[f.name] for f in fields(Friend))
_REQUEST = tuple(friend_request.c[f.name] for f in fields(FriendRequest))
_BLACK = tuple(black.c[f.name] for f in fields(Black))

# OpenIM sorts friends by is_pinned desc, then _id (insertion order); create_time and the id break ties here.
_FRIEND_ORDER = (friend.c.is_pinned.desc(), friend.c.create_time, friend.c.friend_user_id)
_REQUEST_ORDER = (friend_request.c.create_time.desc(), friend_request.c.from_user_id, friend_request.c.to_user_id)
_BLACK_ORDER = (black.c.create_time, black.c.block_user_id)


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

    def __init__(self, db: Db) -> None:
        self.db = db

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
