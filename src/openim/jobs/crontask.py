"""The scheduled jobs of the msgtransfer role: what OpenIM's crontask (`internal/tools/cron`) does, and one more.

- `msg_destruct`, at `msgDestructExecuteTime` (every minute): OpenIM's clearUserMsg. For each conversation row with
  `isMsgDestruct` on whose last run is `msgDestructTime` seconds old, raise its owner's min seq past the messages
  sent more than `msgDestructTime` seconds ago and send the owner 1300 ConversationChanged
  (`ConversationService.destruct_due_msgs`).
- `retain_chat_records`, at `cronExecuteTime`, off when `retainChatRecords` is 0: OpenIM's deleteMsg. Delete for
  everyone the messages sent more than `retainChatRecords` days ago and move each conversation's min seq past them
  (`MsgService.destruct_msgs`).
- `version_log_cleanup`, at `cronExecuteTime`, off when `retainVersionLogs` is 0 (openim-py's): drop the deletion
  entries of the incremental-sync version logs older than `retainVersionLogs` days; a client holding a version
  older than them gets a full sync (`VersionRepo.prune_deleted`).

Each job returns how many rows it removed or changed and a summary naming them (the first few), which the
scheduler logs (`jobs/scheduler.py`). `config` is read at every run, so a schedule or retention changed at run
time (/config/set_config) applies from the next firing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from openim.services.conversation import ConversationService
from openim.services.msg import MsgService
from openim.settings import CronTask
from openim.storage.version import VersionRepo

__all__ = [
    "JOB_MSG_DESTRUCT",
    "JOB_RETAIN_CHAT_RECORDS",
    "JOB_VERSION_LOG_CLEANUP",
    "CronJob",
    "JobResult",
    "crontask_jobs",
    "schedules",
]

JOB_MSG_DESTRUCT = "msg_destruct"
JOB_RETAIN_CHAT_RECORDS = "retain_chat_records"
JOB_VERSION_LOG_CLEANUP = "version_log_cleanup"
_DAY_MS = 86_400_000
_PRUNE_BATCH = 1000
_PRUNE_MAX_BATCHES = 10_000
_NAMED = 10  # items a summary names before "… and N more"


@dataclass(frozen=True, slots=True)
class JobResult:
    removed: int  # rows removed or changed
    summary: str  # what, for the log


@dataclass(frozen=True)
class CronJob:
    name: str
    what: str
    schedule: Callable[[], str]  # the cron expression now; "" = off
    run: Callable[[int], Awaitable[JobResult]]  # now (ms) → what it did


def schedules(config: CronTask) -> dict[str, str]:
    """Each job's cron expression under `config`, "" for a job that is off."""
    return {
        JOB_MSG_DESTRUCT: config.msgDestructExecuteTime,
        JOB_RETAIN_CHAT_RECORDS: config.cronExecuteTime if config.retainChatRecords > 0 else "",
        JOB_VERSION_LOG_CLEANUP: config.cronExecuteTime if config.retainVersionLogs > 0 else "",
    }


def _listing(items: Iterable[str]) -> str:
    names = list(items)
    shown = ", ".join(names[:_NAMED])
    return shown + (f" … and {len(names) - _NAMED} more" if len(names) > _NAMED else "")


def _when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def crontask_jobs(
    *,
    conversation: ConversationService,
    msg: MsgService,
    versions: VersionRepo,
    config: Callable[[], CronTask],
) -> list[CronJob]:
    """The three jobs over the given services, reading `config()` at every run."""

    async def msg_destruct(now: int) -> JobResult:
        done = await conversation.destruct_due_msgs(now)
        hidden = [d for d in done if d.min_seq]
        names = (f"{d.owner_user_id} {d.conversation_id} below seq {d.min_seq}" for d in hidden)
        summary = f"{len(done)} conversation row(s) due; messages hidden from {len(hidden)}"
        return JobResult(len(hidden), summary + (f": {_listing(names)}" if hidden else ""))

    async def retain_chat_records(now: int) -> JobResult:
        days = config().retainChatRecords
        before = now - days * _DAY_MS
        expired = await msg.destruct_msgs(before)
        count = sum(e.count for e in expired)
        names = (f"{e.conversation_id} up to seq {e.last_seq} ({e.count})" for e in expired)
        summary = f"{count} message(s) sent before {_when(before)} ({days} days) deleted"
        return JobResult(
            count, summary + (f" from {len(expired)} conversation(s): {_listing(names)}" if expired else "")
        )

    async def version_log_cleanup(now: int) -> JobResult:
        days = config().retainVersionLogs
        before = now - days * _DAY_MS
        per_log: dict[str, int] = {}
        after = None
        for _ in range(_PRUNE_MAX_BATCHES):
            removed, after = await versions.prune_deleted(before, after=after, limit=_PRUNE_BATCH)
            for kind, d_id, _e_id in removed:
                per_log[f"{kind}/{d_id}"] = per_log.get(f"{kind}/{d_id}", 0) + 1
            if after is None:
                break
        count = sum(per_log.values())
        names = (f"{log} ({n})" for log, n in per_log.items())
        summary = f"{count} deletion entr{'y' if count == 1 else 'ies'} older than {_when(before)} removed"
        return JobResult(count, summary + (f" from {len(per_log)} version log(s): {_listing(names)}" if count else ""))

    def schedule_of(name: str) -> Callable[[], str]:
        return lambda: schedules(config())[name]

    return [
        CronJob(
            JOB_MSG_DESTRUCT,
            "hide messages older than msgDestructTime from owners of isMsgDestruct conversations",
            schedule_of(JOB_MSG_DESTRUCT),
            msg_destruct,
        ),
        CronJob(
            JOB_RETAIN_CHAT_RECORDS,
            "delete messages older than retainChatRecords days",
            schedule_of(JOB_RETAIN_CHAT_RECORDS),
            retain_chat_records,
        ),
        CronJob(
            JOB_VERSION_LOG_CLEANUP,
            "drop version-log deletion entries older than retainVersionLogs days",
            schedule_of(JOB_VERSION_LOG_CLEANUP),
            version_log_cleanup,
        ),
    ]
