"""CronTaskRepo: the `cron_task` table — the lease that lets one process of the deployment run a scheduled job at
a time, and the record of its last run.

`claim` takes the lease when it is free (its `lease_until` has passed) and, for a scheduled firing, only if no
process ran that firing (`slot`) already: processes whose schedulers fire at the same cron time compete for one
row and exactly one wins. The holder extends the lease while it works (`renew`) and gives it back with the
outcome (`finish`); a holder that died frees it when the lease runs out. Each method is one transaction
(`cron_task.<method>`).
"""

from __future__ import annotations

from dataclasses import fields

from sqlalchemy import select, update

from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.rows import CronTaskState
from openim.storage.schema import cron_task

__all__ = ["CronTaskRepo"]

_COLUMNS = tuple(cron_task.c[f.name] for f in fields(CronTaskState))


class CronTaskRepo:
    def __init__(self, db: Db) -> None:
        self.db = db

    async def claim(self, name: str, owner: str, *, now: int, lease_ms: int, slot: int | None = None) -> bool:
        """Take job `name`'s lease for `lease_ms` if it is free (and, with `slot`, if that firing is not done)."""
        async with self.db.write("cron_task.claim") as conn:
            await conn.execute(dialect.insert_ignore(conn, cron_task).values(name=name))
            stmt = update(cron_task).where(cron_task.c.name == name, cron_task.c.lease_until < now)
            values: dict[str, object] = {"owner": owner, "lease_until": now + lease_ms, "last_start": now}
            if slot is not None:
                stmt = stmt.where(cron_task.c.slot < slot)
                values["slot"] = slot
            claimed = (await conn.execute(stmt.values(values).returning(cron_task.c.name))).first()
        return claimed is not None

    async def renew(self, name: str, owner: str, *, lease_until: int) -> bool:
        """Extend the lease `owner` holds; False when it lost it (it ran out and another process took it)."""
        async with self.db.write("cron_task.renew") as conn:
            result = await conn.execute(
                update(cron_task)
                .where(cron_task.c.name == name, cron_task.c.owner == owner, cron_task.c.lease_until > 0)
                .values(lease_until=lease_until)
                .returning(cron_task.c.name)
            )
            return result.first() is not None

    async def finish(self, name: str, owner: str, *, now: int, removed: int, error: str = "") -> None:
        """Give the lease back and record the run's outcome (nothing changes if `owner` no longer holds it)."""
        async with self.db.write("cron_task.finish") as conn:
            await conn.execute(
                update(cron_task)
                .where(cron_task.c.name == name, cron_task.c.owner == owner)
                .values(lease_until=0, last_end=now, last_removed=removed, last_error=error[:2000])
            )

    async def states(self) -> list[CronTaskState]:
        """Every job that ever ran or was claimed, by name."""
        async with self.db.read("cron_task.states") as conn:
            result = await conn.execute(select(*_COLUMNS).order_by(cron_task.c.name))
            return [CronTaskState(*row) for row in result]
