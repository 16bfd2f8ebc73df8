"""Doctor checks of the webhooks (docs/integrations.md): which hooks are on and whether their receiver answers
(`webhooks`), and the queued after-hook calls with their dead letters (`webhooks.queue`).

`webhooks` opens a TCP connection to the host and port of `webhooks.url` — it posts nothing, a receiver's logic
never runs for the doctor. Unreachable is a FAIL when a before hook with `failedContinue: false` is on (every
such operation fails with 90004 until it answers), else a WARN (before hooks go on unchecked, after hooks pile
up and are retried). `webhooks.queue` reads the durable queue of the after hooks — the database's tables `job`
and `job_dead` without `redis.url`, the Redis streams `openim:queue:webhook` and `openim:dead:webhook` with it —
and WARNs on dead letters (calls that failed every try), showing the newest one's reason.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis

from openim.infra.queue import DeadLetter, QueueStats
from openim.infra.redis.queue import RedisStreamQueue, dead_key, stream_key
from openim.ops.doctor import Check, Context, Status
from openim.ops.doctor.database import sqlite_file
from openim.storage.db import Db
from openim.storage.queue import JobRepo
from openim.webhooks import TOPIC_WEBHOOK
from openim.webhooks.catalogue import COMMANDS, is_before

__all__ = ["check_webhook_queue", "check_webhooks"]

GROUP = "msgtransfer"


def _enabled(ctx: Context) -> list[str]:
    section = ctx.settings.webhooks
    return [name for name in COMMANDS if getattr(section, name).enable]


async def check_webhooks(ctx: Context) -> Check:
    """Hooks on, and whether `webhooks.url` accepts a connection."""
    enabled = _enabled(ctx)
    if not enabled:
        return Check("webhooks", Status.OK, "no hook is enabled (webhooks.*.enable): nothing is posted")
    url = ctx.settings.webhooks.url
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    names = ", ".join(enabled)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), ctx.thresholds.connect_timeout_s)
    except (OSError, TimeoutError) as exc:
        failing = [n for n in enabled if is_before(n) and not getattr(ctx.settings.webhooks, n).failedContinue]
        saw = f"{len(enabled)} hooks on ({names}); {host}:{port} of webhooks.url refuses connections ({exc!r})"
        remedy = "start your receiver, or correct webhooks.url (docs/integrations.md)"
        if failing:
            return Check(
                "webhooks",
                Status.FAIL,
                saw + f"; {', '.join(failing)} fail their operations with 90004 meanwhile (failedContinue false)",
                remedy,
            )
        return Check("webhooks", Status.WARN, saw + "; after hooks are retried until it answers", remedy)
    writer.close()
    return Check("webhooks", Status.OK, f"{len(enabled)} hooks on ({names}); {host}:{port} accepts connections")


async def check_webhook_queue(ctx: Context) -> Check:
    """The after-hook calls waiting, in hand and dead, from the durable queue the server uses."""
    redis_url = ctx.settings.redis.url
    try:
        if redis_url:
            where = f"Redis streams {stream_key(TOPIC_WEBHOOK)} and {dead_key(TOPIC_WEBHOOK)}"
            client: Any = aioredis.from_url(
                redis_url,
                socket_connect_timeout=ctx.thresholds.connect_timeout_s,
                socket_timeout=ctx.thresholds.connect_timeout_s,
            )
            try:
                stats, dead = await _read(RedisStreamQueue(client))
            finally:
                await client.aclose()
        else:
            where = "tables job and job_dead"
            path = sqlite_file(ctx.settings.database.url)
            if path is not None and not path.is_file():
                return Check("webhooks.queue", Status.OK, f"{where}: no database yet, no after-hook call queued")
            db = await asyncio.wait_for(
                Db.connect(ctx.settings.database.url, pool_size=1), ctx.thresholds.connect_timeout_s + 10
            )
            try:
                stats, dead = await _read_db(JobRepo(db))
            finally:
                await db.close()
    except Exception as exc:
        return Check("webhooks.queue", Status.WARN, f"cannot read the after-hook queue: {exc}", "see `database`")
    saw = f"{where}: {stats.lag} after-hook calls waiting, {stats.pending} in hand, {stats.dead} dead letters"
    if dead:
        newest = dead[0]
        return Check(
            "webhooks.queue",
            Status.WARN,
            saw + f"; newest dead letter: job {newest.id} after {newest.deliveries} deliveries: {newest.reason}",
            "these calls failed every try (webhooks.retry) and were not delivered: fix the receiver; each call is "
            "kept with its body in the dead-letter list (job_dead, or the Redis stream openim:dead:webhook)",
        )
    return Check("webhooks.queue", Status.OK, saw)


async def _read(queue: RedisStreamQueue) -> tuple[QueueStats, list[DeadLetter]]:
    stats = await queue.stats(TOPIC_WEBHOOK, GROUP)
    dead = await queue.dead_letters(TOPIC_WEBHOOK, limit=1) if stats.dead else []
    return stats, dead


async def _read_db(repo: JobRepo) -> tuple[QueueStats, list[DeadLetter]]:
    counts = await repo.counts(TOPIC_WEBHOOK)
    stats = QueueStats(counts.length, counts.length - counts.claimed, counts.claimed, counts.dead)
    rows = await repo.dead_letters(TOPIC_WEBHOOK, limit=1) if counts.dead else []
    return stats, [DeadLetter(r.topic, r.id, r.payload, r.reason, r.buried_at, r.deliveries) for r in rows]
