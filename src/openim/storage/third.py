"""ThirdRepo: the tables behind /third — `fcm_token`, `user_badge` and `log`.

Push tokens are kept per (user, platform) with an absolute expiry (0 = never): an expired token reads as absent,
and is overwritten by the next registration. Each method is one named transaction (`third.<method>`). Who may
read or change what is the third service's business, not this module's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select

from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.rows import ClientLog
from openim.storage.schema import fcm_token, log, user_badge

__all__ = ["ThirdRepo"]

_LOG_COLUMNS = (
    log.c.log_id,
    log.c.platform,
    log.c.user_id,
    log.c.create_time,
    log.c.url,
    log.c.file_name,
    log.c.system_type,
    log.c.app_framework,
    log.c.version,
    log.c.ex,
)


def _log_of(row: Sequence[Any]) -> ClientLog:
    return ClientLog(*row)


class ThirdRepo:
    """Reads and writes the /third tables; every method is one transaction named `third.<method>`."""

    def __init__(self, db: Db) -> None:
        self.db = db

    # ---- push tokens ------------------------------------------------------------------------------------------

    async def set_fcm_token(self, user_id: str, platform_id: int, token: str, *, expire_time: int) -> None:
        """Store (or replace) the push token of `user_id` on `platform_id`, valid until `expire_time` (0 = never)."""
        async with self.db.write("third.set_fcm_token") as conn:
            await conn.execute(
                dialect.upsert(conn, fcm_token, ["user_id", "platform_id"], ["token", "expire_time"]),
                {"user_id": user_id, "platform_id": platform_id, "token": token, "expire_time": expire_time},
            )

    async def get_fcm_token(self, user_id: str, platform_id: int, *, now: int) -> str | None:
        """The token of `user_id` on `platform_id`, or None when there is none or it expired before `now`."""
        async with self.db.read("third.get_fcm_token") as conn:
            return (
                await conn.execute(
                    select(fcm_token.c.token).where(
                        fcm_token.c.user_id == user_id,
                        fcm_token.c.platform_id == platform_id,
                        or_(fcm_token.c.expire_time == 0, fcm_token.c.expire_time > now),
                    )
                )
            ).scalar_one_or_none()

    async def delete_fcm_token(self, user_id: str, platform_id: int) -> None:
        """Forget the token of `user_id` on `platform_id` (nothing happens when there is none)."""
        async with self.db.write("third.delete_fcm_token") as conn:
            await conn.execute(
                delete(fcm_token).where(fcm_token.c.user_id == user_id, fcm_token.c.platform_id == platform_id)
            )

    async def get_fcm_tokens(self, user_id: str, platform_ids: Sequence[int], *, now: int) -> dict[int, str]:
        """The live tokens of `user_id` on each of `platform_ids` that has one (expired ones are left out)."""
        async with self.db.read("third.get_fcm_tokens") as conn:
            rows = await conn.execute(
                select(fcm_token.c.platform_id, fcm_token.c.token).where(
                    fcm_token.c.user_id == user_id,
                    fcm_token.c.platform_id.in_(list(platform_ids)),
                    or_(fcm_token.c.expire_time == 0, fcm_token.c.expire_time > now),
                )
            )
            return {int(platform_id): str(token) for platform_id, token in rows}

    async def delete_fcm_token_if(self, user_id: str, platform_id: int, token: str) -> None:
        """Forget the token of (user, platform) only if it is still `token` (not a newer registration)."""
        async with self.db.write("third.delete_fcm_token_if") as conn:
            await conn.execute(
                delete(fcm_token).where(
                    fcm_token.c.user_id == user_id, fcm_token.c.platform_id == platform_id, fcm_token.c.token == token
                )
            )

    # ---- app badge --------------------------------------------------------------------------------------------

    async def set_badge(self, user_id: str, unread_count: int) -> None:
        """Set the app-icon badge (unread total the app reports) of `user_id`."""
        async with self.db.write("third.set_badge") as conn:
            await conn.execute(
                dialect.upsert(conn, user_badge, ["user_id"], ["unread_count"]),
                {"user_id": user_id, "unread_count": unread_count},
            )

    async def incr_badge(self, user_id: str) -> int:
        """Add one to the badge of `user_id` (a row with 1 when it had none); the new value."""
        async with self.db.write("third.incr_badge") as conn:
            await conn.execute(
                dialect.upsert_add(conn, user_badge, ["user_id"], "unread_count"),
                {"user_id": user_id, "unread_count": 1},
            )
            value = (
                await conn.execute(select(user_badge.c.unread_count).where(user_badge.c.user_id == user_id))
            ).scalar_one()
        return int(value)

    async def get_badge(self, user_id: str) -> int:
        """The badge of `user_id`; 0 when it never set one."""
        async with self.db.read("third.get_badge") as conn:
            value = (
                await conn.execute(select(user_badge.c.unread_count).where(user_badge.c.user_id == user_id))
            ).scalar_one_or_none()
        return value or 0

    # ---- client logs ------------------------------------------------------------------------------------------

    async def existing_log_ids(self, log_ids: Sequence[str]) -> set[str]:
        """The subset of `log_ids` already taken."""
        async with self.db.read("third.existing_log_ids") as conn:
            result = await conn.execute(select(log.c.log_id).where(log.c.log_id.in_(list(log_ids))))
            return set(result.scalars())

    async def add_logs(self, logs: Sequence[ClientLog]) -> None:
        """Insert the records, all or none."""
        if not logs:
            return
        async with self.db.write("third.add_logs") as conn:
            await conn.execute(log.insert(), [asdict(r) for r in logs])

    async def get_logs(self, log_ids: Sequence[str], *, user_id: str | None = None) -> list[ClientLog]:
        """The records among `log_ids` (only `user_id`'s when given); unknown IDs are left out."""
        where: list[ColumnElement[bool]] = [log.c.log_id.in_(list(log_ids))]
        if user_id is not None:
            where.append(log.c.user_id == user_id)
        async with self.db.read("third.get_logs") as conn:
            result = await conn.execute(select(*_LOG_COLUMNS).where(*where).order_by(log.c.log_id))
            return [_log_of(row) for row in result]

    async def delete_logs(self, log_ids: Sequence[str], *, user_id: str | None = None) -> int:
        """Delete the records among `log_ids` (only `user_id`'s when given); returns how many went."""
        where: list[ColumnElement[bool]] = [log.c.log_id.in_(list(log_ids))]
        if user_id is not None:
            where.append(log.c.user_id == user_id)
        async with self.db.write("third.delete_logs") as conn:
            return (await conn.execute(delete(log).where(*where))).rowcount

    async def search_logs(
        self, keyword: str, *, start: int, end: int, offset: int, limit: int
    ) -> tuple[int, list[ClientLog]]:
        """(total, one page) of records created in [start, end] whose userID contains `keyword`, newest first."""
        where: list[ColumnElement[bool]] = [log.c.create_time >= start, log.c.create_time <= end]
        if keyword:
            # A literal substring (OpenIM passes the keyword to a MongoDB $regex; a pattern here is not one).
            where.append(log.c.user_id.contains(keyword, autoescape=True))
        async with self.db.read("third.search_logs") as conn:
            total = (await conn.execute(select(func.count()).select_from(log).where(*where))).scalar_one()
            if limit <= 0 or offset >= total:
                return total, []
            result = await conn.execute(
                select(*_LOG_COLUMNS)
                .where(*where)
                .order_by(log.c.create_time.desc(), log.c.log_id)
                .offset(offset)
                .limit(limit)
            )
            return total, [_log_of(row) for row in result]
