"""UserCommandRepo: the `user_command` table, each user's typed lists of items (OpenIM's `userCommands`).

Each method is one named transaction (`user_command.<method>`) and returns `rows.UserCommand` values. Who may
touch whose commands, and the size bounds, are the user service's business.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy import delete, func, select, update

from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.rows import UserCommand
from openim.storage.schema import user_command

__all__ = ["UserCommandRepo"]

_COLUMNS = tuple(user_command.c[f.name] for f in fields(UserCommand))


class UserCommandRepo:
    """Reads and writes `user_command`; every method is one transaction named `user_command.<method>`."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def add(self, command: UserCommand, *, max_per_user: int) -> bool:
        """Insert `command`, or replace value, ex and create_time of the same (user, type, uuid).

        False (and nothing written) when it is new and the user already holds `max_per_user` commands.
        """
        async with self.db.write("user_command.add") as conn:
            key = (
                user_command.c.user_id == command.user_id,
                user_command.c.type == command.type,
                user_command.c.uuid == command.uuid,
            )
            exists = (await conn.execute(select(func.count()).select_from(user_command).where(*key))).scalar_one()
            if not exists:
                held = (
                    await conn.execute(
                        select(func.count()).select_from(user_command).where(user_command.c.user_id == command.user_id)
                    )
                ).scalar_one()
                if held >= max_per_user:
                    return False
            values = {f.name: getattr(command, f.name) for f in fields(UserCommand)}
            stmt = dialect.upsert(conn, user_command, ["user_id", "type", "uuid"], ["value", "ex", "create_time"])
            await conn.execute(stmt, [values])
        return True

    async def delete(self, user_id: str, type_: int, uuid: str) -> bool:
        """Remove one command; False when there was none."""
        async with self.db.write("user_command.delete") as conn:
            result = await conn.execute(
                delete(user_command).where(
                    user_command.c.user_id == user_id, user_command.c.type == type_, user_command.c.uuid == uuid
                )
            )
        return bool(result.rowcount)

    async def update(self, user_id: str, type_: int, uuid: str, *, value: str | None, ex: str | None) -> bool:
        """Set the given fields (None = unchanged) of one command; False when there is none."""
        changes: dict[str, Any] = {k: v for k, v in (("value", value), ("ex", ex)) if v is not None}
        where = (user_command.c.user_id == user_id, user_command.c.type == type_, user_command.c.uuid == uuid)
        async with self.db.write("user_command.update") as conn:
            if not changes:  # OpenIM: an update without fields succeeds only if the command exists (Mongo match)
                found = (await conn.execute(select(func.count()).select_from(user_command).where(*where))).scalar_one()
                return bool(found)
            result = await conn.execute(update(user_command).where(*where).values(changes))
        return bool(result.rowcount)

    async def list_commands(self, user_id: str, type_: int | None = None) -> list[UserCommand]:
        """The user's commands (of one type, or all), oldest first."""
        stmt = select(*_COLUMNS).where(user_command.c.user_id == user_id)
        if type_ is not None:
            stmt = stmt.where(user_command.c.type == type_)
        stmt = stmt.order_by(user_command.c.create_time, user_command.c.type, user_command.c.uuid)
        async with self.db.read("user_command.list_commands") as conn:
            return [UserCommand(*row) for row in await conn.execute(stmt)]
