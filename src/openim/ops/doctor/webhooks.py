"""Doctor checks of the webhooks (docs/integrations.md): which hooks are on and whether their receiver answers
(`webhooks`), and the queued after-hook calls with their dead letters (`webhooks.queue`).

`webhooks` opens a TCP connection to the host and port of `webhooks.url` — it posts nothing, a receiver's logic
never runs for the doctor. Unreachable is a FAIL when a before hook with `failedContinue: false` is on (every
such operation fails with 90004 until it answers), else a WARN (before hooks go on unchecked, after hooks pile
up and are retried). `webhooks.queue` reads the durable job queue the after hooks share with offline pushes —
the database's table `queue_job` without `redis.url`, the Redis streams with it — and WARNs on dead letters (calls
that failed every try, kept in the topic `webhook.dead`).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis

from openim.infra.queue import dead_letter_topic
from openim.infra.redis.queue import RedisStreamQueue, stream_key
from openim.ops.doctor import Check, Context, Status
from openim.ops.doctor.database import sqlite_file
from openim.storage import open_storage
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
    """The after-hook calls waiting and in hand, and the dead letters, from the job queue the server uses."""
    dead_topic = dead_letter_topic(TOPIC_WEBHOOK)
    try:
        if ctx.settings.redis.url:
            where = f"Redis streams {stream_key(TOPIC_WEBHOOK)} and {stream_key(dead_topic)}"
            client: Any = aioredis.from_url(
                ctx.settings.redis.url,
                socket_connect_timeout=ctx.thresholds.connect_timeout_s,
                socket_timeout=ctx.thresholds.connect_timeout_s,
            )
            try:
                queue = RedisStreamQueue(client)
                stats = await queue.stats(TOPIC_WEBHOOK, GROUP)
                waiting, in_hand = stats.lag, stats.pending
                dead = (await queue.stats(dead_topic, GROUP)).length
            finally:
                await client.aclose()
        else:
            where = f"the database (queue_job rows of topics {TOPIC_WEBHOOK} and {dead_topic})"
            path = sqlite_file(ctx.settings.database.url)
            if path is not None and not path.is_file():
                return Check("webhooks.queue", Status.OK, f"{where}: no database yet, no after-hook call queued")
            storage = await open_storage(ctx.settings.database.url, pool_size=1, migrate=False)
            try:
                kept, in_hand = await storage.queue.stats(TOPIC_WEBHOOK)
                waiting = kept - in_hand
                dead, _ = await storage.queue.stats(dead_topic)
            finally:
                await storage.close()
    except Exception as exc:
        return Check("webhooks.queue", Status.WARN, f"cannot read the after-hook queue: {exc}", "see `database`")
    saw = f"{where}: {waiting} after-hook calls waiting, {in_hand} in hand, {dead} dead letters"
    if dead:
        return Check(
            "webhooks.queue",
            Status.WARN,
            saw,
            "these calls failed every try (webhooks.retry) and were not delivered: fix the receiver; each call is "
            f"kept with its body in the dead-letter topic {dead_topic}",
        )
    return Check("webhooks.queue", Status.OK, saw)
