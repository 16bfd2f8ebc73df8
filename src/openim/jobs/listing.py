"""`openim jobs list`: the scheduled jobs, their schedules under the configuration and their last runs.

Reads the `cron_task` table (`storage/cron_task.py`), which every msgtransfer process and `openim jobs run`
write; the schedules come from `cronTask` of the configuration this command loads, which should be the
deployment's.
"""

from __future__ import annotations

import datetime as dt

from openim.jobs.crontask import schedules
from openim.settings import Settings
from openim.storage import open_storage

__all__ = ["list_jobs"]


def _when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S") if ms else "never"


async def list_jobs(settings: Settings) -> str:
    """One block per job: schedule, last start and end, rows removed, error, and who holds it now."""
    storage = await open_storage(settings.database.url, pool_size=1)
    try:
        states = {s.name: s for s in await storage.cron_task.states()}
    finally:
        await storage.close()
    now = dt.datetime.now().timestamp() * 1000
    lines = []
    for name, expression in schedules(settings.cronTask).items():
        state = states.get(name)
        lines.append(f"{name}: {expression or 'off'}")
        if state is None:
            lines.append("  never ran")
            continue
        lines.append(f"  last run: {_when(state.last_start)} → {_when(state.last_end)}, {state.last_removed} removed")
        if state.last_error:
            lines.append(f"  last error: {state.last_error}")
        if state.lease_until > now:
            lines.append(f"  running now in {state.owner} (lease until {_when(state.lease_until)})")
    return "\n".join(lines)
