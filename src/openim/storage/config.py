"""ClientConfigRepo: the `client_config` table, key/value settings handed to SDKs, global or per user.

user_id "" holds the global entries; a user's own entries override them key by key (`get_configs`).
Each method is one named transaction (`config.<method>`). Who may read or change which entries is the
user service's business, not this module's.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, func, select

from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.rows import ClientConfigEntry
from openim.storage.schema import client_config

__all__ = ["ClientConfigRepo"]


class ClientConfigRepo:
    """Reads and writes `client_config`; every method is one transaction named `config.<method>`."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def get_configs(self, user_id: str) -> dict[str, str]:
        """The effective map for `user_id`: global entries overlaid by the user's; "" gives the global map alone."""
        async with self.db.read("config.get_configs") as conn:
            result = await conn.execute(
                select(client_config.c.user_id, client_config.c.key, client_config.c.value).where(
                    client_config.c.user_id.in_(["", user_id] if user_id else [""])
                )
            )
            rows = result.all()
        merged = {key: value for owner, key, value in rows if owner == ""}
        merged.update((key, value) for owner, key, value in rows if owner != "")
        return merged

    async def set_configs(self, user_id: str, configs: dict[str, str]) -> None:
        """Insert or overwrite each key of `configs` for `user_id` ("" = global); other keys are left alone."""
        if not configs:
            return
        async with self.db.write("config.set_configs") as conn:
            await conn.execute(
                dialect.upsert(conn, client_config, ["key", "user_id"], ["value"]),
                [{"key": key, "user_id": user_id, "value": value} for key, value in configs.items()],
            )

    async def delete_configs(self, user_id: str, keys: Sequence[str]) -> None:
        """Remove `keys` of `user_id` ("" = global); missing keys are ignored."""
        if not keys:
            return
        async with self.db.write("config.delete_configs") as conn:
            await conn.execute(
                delete(client_config).where(client_config.c.user_id == user_id, client_config.c.key.in_(list(keys)))
            )

    async def page_configs(
        self, user_id: str, key: str, offset: int, limit: int
    ) -> tuple[int, list[ClientConfigEntry]]:
        """(total, one page) of entries ordered by user_id then key, as OpenIM filters them.

        An empty `user_id` or `key` does not filter on that column (so "" lists every user's entries,
        not only the global ones).
        """
        where: list[ColumnElement[bool]] = []
        if user_id:
            where.append(client_config.c.user_id == user_id)
        if key:
            where.append(client_config.c.key == key)
        async with self.db.read("config.page_configs") as conn:
            total = (await conn.execute(select(func.count()).select_from(client_config).where(*where))).scalar_one()
            result = await conn.execute(
                select(client_config.c.key, client_config.c.user_id, client_config.c.value)
                .where(*where)
                .order_by(client_config.c.user_id, client_config.c.key)
                .offset(offset)
                .limit(limit)
            )
            return total, [ClientConfigEntry(key=k, user_id=u, value=v) for k, u, v in result]
