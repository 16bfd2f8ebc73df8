"""UserRepo: the `user` table — registration, lookups, paging and search, profile updates, admin accounts.

Each method is one named transaction (`user.<method>`) and returns `rows.User` values. Business rules
(who may register whom, userID syntax, which fields a route may change) live in `services/user.py`;
this module only guarantees what the database can: registration is all-or-nothing, also under races.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from openim.protocol.errors import ArgsError, RegisteredAlreadyError
from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.facts import FACT_USER, FactCache
from openim.storage.rows import User
from openim.storage.schema import user

__all__ = ["USER_COLUMNS", "UserRepo", "user_of"]

# Ids per `IN (…)` list: far below SQLite's 32766 and asyncpg's 32767 bind parameters.
_IN_CHUNK = 1000

# Selected in the field order of rows.User, so a result row unpacks straight into it.
USER_COLUMNS = tuple(user.c[f.name] for f in fields(User))


def user_of(row: Sequence[Any]) -> User:
    """The User of a row selected with USER_COLUMNS."""
    return User(*row)


def _values(u: User) -> dict[str, Any]:
    return {f.name: getattr(u, f.name) for f in fields(User)}


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(ids), _IN_CHUNK):
        yield ids[i : i + _IN_CHUNK]


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _already_registered(ids: Sequence[str], existing: set[str]) -> RegisteredAlreadyError:
    first = next(i for i in ids if i in existing)
    return RegisteredAlreadyError(detail=f"userID {first} already registered")


async def _page(
    conn: AsyncConnection, where: Sequence[ColumnElement[bool]], offset: int, limit: int
) -> tuple[int, list[User]]:
    """(matching total, one page) of the users matching `where`, by create_time then user_id."""
    total = (await conn.execute(select(func.count()).select_from(user).where(*where))).scalar_one()
    result = await conn.execute(
        select(*USER_COLUMNS).where(*where).order_by(user.c.create_time, user.c.user_id).offset(offset).limit(limit)
    )
    return total, [user_of(row) for row in result]


class UserRepo:
    """Reads and writes `user`; every method is one transaction named `user.<method>`."""

    def __init__(self, db: Db, facts: FactCache | None = None) -> None:
        self.db = db
        self.facts = facts if facts is not None else FactCache(db)

    async def create_users(self, users: list[User]) -> None:
        """Insert all of `users` or none: if any userID exists, raise RegisteredAlreadyError naming the first.

        A userID repeated inside `users` raises ArgsError (the service rejects that earlier, with 1001 too).
        Two concurrent calls for the same userID: one commits, the other gets RegisteredAlreadyError.
        """
        if not users:
            return
        ids = [u.user_id for u in users]
        repeated = [i for i, n in Counter(ids).items() if n > 1]
        if repeated:
            raise ArgsError(detail=f"userID {repeated[0]} repeated")
        try:
            async with self.facts.writing(FACT_USER, ids), self.db.write("user.create_users") as conn:
                existing = await self._existing(conn, ids)
                if existing:
                    raise _already_registered(ids, existing)
                await conn.execute(insert(user), [_values(u) for u in users])
        except IntegrityError as exc:
            # Lost a race (PostgreSQL: the other insert committed first; the whole transaction rolled back).
            existing = await self.existing_ids(ids)
            if not existing:
                raise
            raise _already_registered(ids, existing) from exc

    async def get_users(self, user_ids: Sequence[str]) -> list[User]:
        """The users that exist among `user_ids`, in request order, each once; unknown ids are omitted."""
        wanted = _unique(user_ids)
        found: dict[str, User] = {}
        async with self.db.read("user.get_users") as conn:
            for chunk in _chunks(wanted):
                result = await conn.execute(select(*USER_COLUMNS).where(user.c.user_id.in_(chunk)))
                for row in result:
                    found[row.user_id] = user_of(row)
        return [found[i] for i in wanted if i in found]

    async def get_user(self, user_id: str) -> User | None:
        """One user, or None when the userID is not registered."""
        async with self.db.read("user.get_user") as conn:
            row = (await conn.execute(select(*USER_COLUMNS).where(user.c.user_id == user_id))).first()
        return None if row is None else user_of(row)

    async def existing_ids(self, user_ids: Sequence[str]) -> set[str]:
        """The subset of `user_ids` that is registered."""
        async with self.db.read("user.existing_ids") as conn:
            return await self._existing(conn, _unique(user_ids))

    async def page_user_ids(self, offset: int, limit: int) -> tuple[int, list[str]]:
        """(total users, one page of userIDs ordered by create_time then user_id); past the end the page is empty."""
        async with self.db.read("user.page_user_ids") as conn:
            total = (await conn.execute(select(func.count()).select_from(user))).scalar_one()
            result = await conn.execute(
                select(user.c.user_id).order_by(user.c.create_time, user.c.user_id).offset(offset).limit(limit)
            )
            return total, list(result.scalars())

    async def page_users(
        self, offset: int, limit: int, *, keyword: str = "", levels: tuple[int, ...] = (0, 1)
    ) -> tuple[int, list[User]]:
        """(matching total, one page) of users whose app_manager_level is in `levels`, by create_time then user_id.

        A non-empty `keyword` keeps users whose user_id or nickname contains it, ignoring case; `%`, `_`
        and `\\` in it match literally. Case folding is guaranteed for ASCII letters on both databases.
        """
        where: list[ColumnElement[bool]] = [user.c.app_manager_level.in_(levels)]
        if keyword:
            where.append(
                or_(
                    user.c.user_id.icontains(keyword, autoescape=True),
                    user.c.nickname.icontains(keyword, autoescape=True),
                )
            )
        async with self.db.read("user.page_users") as conn:
            return await _page(conn, where, offset, limit)

    async def page_accounts(
        self,
        offset: int,
        limit: int,
        *,
        min_level: int,
        level: int | None = None,
        user_id: str | None = None,
        nickname: str | None = None,
    ) -> tuple[int, list[User]]:
        """(matching total, one page) of users with app_manager_level >= `min_level` (or exactly `level`), with
        an exact `user_id` and/or `nickname` when given; by create_time then user_id."""
        where: list[ColumnElement[bool]] = [user.c.app_manager_level >= min_level]
        if level is not None:
            where.append(user.c.app_manager_level == level)
        if user_id is not None:
            where.append(user.c.user_id == user_id)
        if nickname is not None:
            where.append(user.c.nickname == nickname)
        async with self.db.read("user.page_accounts") as conn:
            return await _page(conn, where, offset, limit)

    async def update_user(
        self,
        user_id: str,
        *,
        nickname: str | None = None,
        face_url: str | None = None,
        ex: str | None = None,
        global_recv_msg_opt: int | None = None,
    ) -> User | None:
        """Set the fields that are not None and return the updated user; None when the userID is unknown."""
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("nickname", nickname),
                ("face_url", face_url),
                ("ex", ex),
                ("global_recv_msg_opt", global_recv_msg_opt),
            )
            if value is not None
        }
        if not changes:
            return await self.get_user(user_id)
        async with self.facts.writing(FACT_USER, (user_id,)), self.db.write("user.update_user") as conn:
            stmt = update(user).where(user.c.user_id == user_id).values(changes).returning(*USER_COLUMNS)
            row = (await conn.execute(stmt)).first()
        return None if row is None else user_of(row)

    async def ensure_admins(self, admins: list[tuple[str, str]], *, now: int) -> None:
        """Make each (userID, nickname) an app manager (level 2): create it at `now`, or fix nickname and level."""
        if not admins:
            return
        async with self.facts.writing(FACT_USER, [a for a, _ in admins]), self.db.write("user.ensure_admins") as conn:
            stmt = dialect.upsert(conn, user, ["user_id"], ["nickname", "app_manager_level"])
            await conn.execute(
                stmt,
                [
                    {
                        "user_id": user_id,
                        "nickname": nickname,
                        "face_url": "",
                        "ex": "",
                        "app_manager_level": 2,
                        "global_recv_msg_opt": 0,
                        "create_time": now,
                    }
                    for user_id, nickname in dict(admins).items()
                ],
            )

    @staticmethod
    async def _existing(conn: AsyncConnection, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(ids):
            result = await conn.execute(select(user.c.user_id).where(user.c.user_id.in_(chunk)))
            found.update(result.scalars())
        return found
