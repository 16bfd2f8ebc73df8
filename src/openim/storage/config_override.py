"""ConfigOverrideRepo: the `config_override` table — the config centre's changes and its enabled flag.

Changes are key paths of config/config.yaml (`log.remainLogLevel`) with JSON values, as the file would spell
them; the flag is the row `ENABLE_KEY`. Which keys may be stored, and when they apply, is the config manager's
business (`services/config_manager.py`) and the runtime's (`Runtime.reload`). One transaction per method
(`config_override.<method>`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import delete, select

from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.schema import config_override

__all__ = ["ENABLE_KEY", "ConfigOverrideRepo"]

ENABLE_KEY = "@enable"  # never a key path: paths are letters and dots


class ConfigOverrideRepo:
    def __init__(self, db: Db) -> None:
        self.db = db

    async def state(self) -> tuple[bool, dict[str, Any]]:
        """(is the config manager enabled, the stored changes by key path)."""
        async with self.db.read("config_override.state") as conn:
            rows = (await conn.execute(select(config_override.c.key, config_override.c.value))).all()
        values = {key: orjson.loads(value) for key, value in rows}
        enabled = values.pop(ENABLE_KEY, False) is True
        return enabled, values

    async def put(self, values: Mapping[str, Any], *, now: int, operator: str) -> None:
        """Store (or replace) changes, all in one transaction."""
        if not values:
            return
        async with self.db.write("config_override.put") as conn:
            await conn.execute(
                dialect.upsert(conn, config_override, ["key"], ["value", "update_time", "operator_user_id"]),
                [
                    {"key": k, "value": orjson.dumps(v).decode(), "update_time": now, "operator_user_id": operator}
                    for k, v in sorted(values.items())
                ],
            )

    async def reset(self, *, enabled: bool | None = None, now: int, operator: str) -> None:
        """Drop every stored change; with `enabled`, also set the flag — in one transaction."""
        async with self.db.write("config_override.reset") as conn:
            await conn.execute(delete(config_override).where(config_override.c.key != ENABLE_KEY))
            if enabled is not None:
                row = {"key": ENABLE_KEY, "value": orjson.dumps(enabled).decode(), "update_time": now}
                await conn.execute(
                    dialect.upsert(conn, config_override, ["key"], ["value", "update_time", "operator_user_id"]),
                    {**row, "operator_user_id": operator},
                )
