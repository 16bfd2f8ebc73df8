"""Doctor checks of offline push: the provider's configuration, and the dead letters of the push queue.

`push_problems(settings)` lists what the provider `push.enable` names is missing (a key left empty, a credentials
file that cannot be read or lacks fields, a URL that is not http(s), Getui's `$appId` placeholder); `openim start`
refuses to run msgtransfer with any (runtime.py), and `check_push` reports them. Nothing is sent to a vendor: the
check reads the configuration and the key file only. `check_dead_letters` counts the jobs the msgtransfer worker
gave up on (`offline_push.dead`, in Redis or in the database).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from pydantic import SecretStr

from openim.infra.pushers.fcm import service_account_of
from openim.infra.queue import dead_letter_topic
from openim.infra.redis.queue import RedisStreamQueue, stream_key
from openim.ops.doctor import Check, Context, Status
from openim.ops.doctor.database import sqlite_file
from openim.services.msg.offline_push import TOPIC_OFFLINE_PUSH
from openim.settings import Settings
from openim.storage import open_storage

__all__ = ["check_dead_letters", "check_push", "push_problems"]

QUEUE_GROUP = "msgtransfer"


def _url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


# The keys under push.<provider> each provider needs: "set" (not empty) or "url" (an http(s) URL), with what an
# empty one should hold. FCM's credentials are a file (or an authURL), checked on their own below.
_NEEDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "webhook": (("url", "url", "set the app server's URL that receives offline pushes"),),
    "jpush": (("appKey", "set", ""), ("masterSecret", "set", ""), ("pushURL", "url", "")),
    "getui": (("appKey", "set", ""), ("masterSecret", "set", ""), ("pushUrl", "url", "")),
    "fcm": (("endpoint", "url", ""),),
}


def _key_problems(provider: str, section: Any) -> list[str]:
    problems = []
    for key, kind, hint in _NEEDS.get(provider, ()):
        value = getattr(section, key)
        value = value.get_secret_value() if isinstance(value, SecretStr) else value
        name = f"push.{provider}.{key}"
        if not value:
            problems.append(f"{name} is empty" + (f": {hint}" if hint else ""))
        elif kind == "url" and "$appId" in value:
            problems.append(f"{name} still holds $appId: put your Getui app ID in its place")
        elif kind == "url" and not _url(value):
            problems.append(f"{name} {value!r} is not an http(s) URL")
    return problems


def _fcm_credentials(fcm: Any) -> list[str]:
    if fcm.filePath:
        try:
            service_account_of(json.loads(Path(fcm.filePath).read_text()))
        except OSError as exc:
            return [f"push.fcm.filePath {fcm.filePath} cannot be read: {exc.strerror or exc}"]
        except ValueError as exc:
            return [f"push.fcm.filePath {fcm.filePath}: {exc}"]
        return []
    if not fcm.authURL:
        return ["push.fcm.filePath and push.fcm.authURL are both empty: name the service-account key file"]
    if not _url(fcm.authURL):
        return [f"push.fcm.authURL {fcm.authURL!r} is not an http(s) URL"]
    return []


def push_problems(settings: Settings) -> list[str]:
    """What keeps the configured provider from working, one sentence each naming the key; [] when nothing."""
    push = settings.push
    if push.enable not in _NEEDS:
        return []
    problems = _fcm_credentials(push.fcm) if push.enable == "fcm" else []
    return problems + _key_problems(push.enable, getattr(push, push.enable))


def check_push(ctx: Context) -> Check:
    """The configured provider has what it needs (keys, readable credentials); `log` says nothing is sent."""
    push = ctx.settings.push
    if push.enable == "log":
        return Check(
            "push",
            Status.OK,
            "push.enable is log: offline pushes are written to the msgtransfer log, no phone is notified",
            "to notify phones set push.enable to fcm, getui, jpush or webhook (docs/push.md)",
        )
    problems = push_problems(ctx.settings)
    if problems:
        return Check("push", Status.FAIL, f"push.enable is {push.enable}: " + "; ".join(problems), "docs/push.md")
    where = {
        "webhook": push.webhook.url,
        "fcm": push.fcm.filePath or push.fcm.authURL,
        "jpush": push.jpush.pushURL,
        "getui": push.getui.pushUrl,
    }[push.enable]
    return Check("push", Status.OK, f"push.enable is {push.enable} ({where}): every key it needs is set")


async def _dead_letters(settings: Settings, timeout_s: float) -> tuple[str, int]:
    topic = dead_letter_topic(TOPIC_OFFLINE_PUSH)
    if settings.redis.url:
        client: Any = aioredis.from_url(settings.redis.url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
        try:
            stats = await RedisStreamQueue(client).stats(topic, QUEUE_GROUP)
        finally:
            await client.aclose()
        return f"the Redis stream {stream_key(topic)}", stats.length
    sqlite = sqlite_file(settings.database.url)
    if sqlite is not None and not sqlite.is_file():  # never create it (see the check `database`)
        return "the database (not created yet)", 0
    storage = await open_storage(settings.database.url, pool_size=1, migrate=False)
    try:
        length, _ = await storage.queue.stats(topic)
    finally:
        await storage.close()
    return f"the database (queue_job rows of topic {topic})", length


async def check_dead_letters(ctx: Context) -> Check:
    """Offline pushes the msgtransfer role gave up on after its retries (the provider kept failing)."""
    try:
        where, count = await _dead_letters(ctx.settings, ctx.thresholds.connect_timeout_s)
    except Exception as exc:
        return Check("push.dead_letters", Status.WARN, f"cannot count them: {exc}", "see the checks above")
    if count:
        return Check(
            "push.dead_letters",
            Status.WARN,
            f"{count} offline pushes failed every retry and are kept in {where}",
            "the msgtransfer log says why (grep 'dead letter'); fix the provider (the check `push`), then look at "
            "the kept payloads or delete them",
        )
    return Check("push.dead_letters", Status.OK, f"none in {where}")
