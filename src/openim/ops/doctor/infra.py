"""Doctor checks of what sits beside the database: Redis (when `redis.url` is set) and the queue.

Redis: the guide's `redis-cli ping` and `redis-cli info memory`, and its eviction advice. OpenIM can run Redis
with `allkeys-lru` because its Redis is partly a cache; openim-py keeps token states (a kicked or logged-out
token is remembered there until it expires) and presence in Redis, and no database holds them again. An
evicted "kicked" state would make a revoked token valid again, an evicted presence key makes an online user
look offline; so any policy but `noeviction` fails once a memory limit is set. Under `noeviction` a full Redis
refuses writes (OOM errors, visible and loud), which is the failure we want. For the same reason Redis must
persist (`redis.persistence`): with neither `appendonly` nor `save` a restart of Redis logs every user out.

The queue (OpenIM's Kafka, here the job queue of the msgtransfer role): with `redis.url`, the Redis stream of the
offline-push topic and its consumer group `msgtransfer` — jobs kept, lag (not yet taken) and pending (taken, not
acknowledged), as the guide's `kafka-consumer-groups.sh --describe`; WARN past `QUEUE_DEPTH_WARN` unfinished jobs
(no worker runs, or they cannot keep up). Without it the queue is the database's table `queue_job`, read the same
way. etcd and the process registry are checked by `ops/doctor/discovery.py`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from openim.infra.presence import PRESENCE_REFRESH_INTERVAL_S
from openim.infra.redis.queue import RedisStreamQueue, stream_key
from openim.ops.doctor import Check, Context, Status
from openim.ops.doctor.database import sqlite_file
from openim.services.msg.offline_push import TOPIC_OFFLINE_PUSH
from openim.storage import open_storage

__all__ = ["check_queue", "check_redis"]

_SAFE_POLICIES = ("noeviction",)
QUEUE_GROUP = "msgtransfer"
QUEUE_DEPTH_WARN = 10_000


async def check_redis(ctx: Context) -> list[Check]:
    """Ping, memory and maxmemory-policy, persistence; records Redis's clock offset for the clock check."""
    url = ctx.settings.redis.url
    if not url:
        return [
            Check(
                "redis",
                Status.OK,
                "not configured: token states are in the database, presence and pub/sub in-process, which is right "
                "while every role runs in one `openim start` process",
            )
        ]
    masked = str(ctx.settings.masked()["redis"]["url"])
    timeout = ctx.thresholds.connect_timeout_s
    client: Any = aioredis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        try:
            start = time.perf_counter()
            await client.ping()
            latency = time.perf_counter() - start
            server = await client.info("server")
            memory = await client.info("memory")
            before = time.time()
            seconds, micros = await client.time()
            after = time.time()
            persistence = await _read_persistence(client)
        except Exception as exc:  # redis raises ConnectionError, TimeoutError, AuthenticationError, ResponseError
            return [
                Check(
                    "redis",
                    Status.FAIL,
                    f"cannot reach {masked}: {type(exc).__name__}: {exc}",
                    "start Redis (`systemctl start redis-server`), check host, port, password and database in "
                    "redis.url (`redis-cli -u URL ping`), and firewalls in between",
                )
            ]
    finally:
        await client.aclose()
    ctx.clocks["redis"] = seconds + micros / 1e6 - (before + after) / 2
    version = server.get("redis_version", "?")
    checks = [Check("redis", Status.OK, f"{masked} answers PONG in {latency * 1000:.1f} ms (Redis {version})")]
    used, limit = int(memory.get("used_memory", 0)), int(memory.get("maxmemory", 0))
    policy = str(memory.get("maxmemory_policy", "?"))
    checks.append(_memory(ctx, used, limit, policy))
    checks.append(_policy(used, limit, policy))
    checks.append(_persistence(persistence))
    return checks


def _mib(value: int) -> str:
    return f"{value / 2**20:.1f} MiB"


def _memory(ctx: Context, used: int, limit: int, policy: str) -> Check:
    if not limit:
        return Check("redis.memory", Status.OK, f"{_mib(used)} used, no maxmemory limit")
    pct = 100.0 * used / limit
    saw = f"{_mib(used)} used of maxmemory {_mib(limit)} ({pct:.0f}%)"
    if pct >= ctx.thresholds.memory_warn_pct:
        what = "writes fail with OOM at the limit" if policy in _SAFE_POLICIES else f"{policy} starts evicting keys"
        return Check(
            "redis.memory",
            Status.WARN,
            saw + f": {what}",
            "raise maxmemory (`redis-cli config set maxmemory 2gb`, and in redis.conf); `redis-cli --bigkeys` "
            "shows what takes the room",
        )
    return Check("redis.memory", Status.OK, saw)


def _policy(used: int, limit: int, policy: str) -> Check:
    why = (
        "openim-py keeps token states and presence in Redis and nowhere else: an evicted 'kicked' state makes a "
        "revoked token valid again, an evicted presence key shows an online user offline"
    )
    remedy = "`redis-cli config set maxmemory-policy noeviction` and `maxmemory-policy noeviction` in redis.conf"
    if policy in _SAFE_POLICIES:
        return Check("redis.policy", Status.OK, f"maxmemory-policy {policy}: nothing is evicted ({why})")
    if not limit:
        return Check(
            "redis.policy",
            Status.WARN,
            f"maxmemory-policy {policy}, harmless while maxmemory is 0, but the guide's allkeys-lru suits a pure cache "
            f"and {why}",
            remedy,
        )
    return Check("redis.policy", Status.FAIL, f"maxmemory-policy {policy} with maxmemory {_mib(limit)}: {why}", remedy)


@dataclass(frozen=True)
class _Persistence:
    """What Redis writes to disk: `appendonly` and `save` from CONFIG GET, or INFO's `aof_enabled` when CONFIG
    is refused (managed Redis services rename or forbid it; `config_error` says why)."""

    appendonly: bool
    save: str | None  # the RDB snapshot rules ("" = none); None when CONFIG GET could not be read
    config_error: str = ""


async def _read_persistence(client: Any) -> _Persistence:
    try:
        appendonly = await client.config_get("appendonly")
        save = await client.config_get("save")
    except ResponseError as exc:  # CONFIG renamed or denied by an ACL
        info = await client.info("persistence")
        return _Persistence(str(info.get("aof_enabled", "0")) == "1", None, str(exc))
    return _Persistence(_text(appendonly.get("appendonly", b"no")) == "yes", _text(save.get("save", b"")).strip())


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# What openim-py keeps in Redis and loses when a Redis that persists nothing restarts (docs/operations.md,
# "Running Redis for openim-py").
_LOST = (
    "every token state, so every user is logged out (their SDKs get 1507 TokenNotExist, stop reconnecting and "
    "fire OnUserTokenInvalid; the app server's admin token answers 1507 too), the presence of every connection "
    f"until the gateways register them again (within {PRESENCE_REFRESH_INTERVAL_S} s), and the unfinished jobs of "
    f"the stream {stream_key(TOPIC_OFFLINE_PUSH)} with its consumer group (those offline pushes are never sent; "
    "the messages themselves are in the database)"
)
_PERSIST = (
    "`redis-cli config set appendonly yes` then `redis-cli config rewrite` (or `appendonly yes` in redis.conf and "
    'restart Redis); docs/operations.md, "Running Redis for openim-py"'
)


def _persistence(found: _Persistence) -> Check:
    if found.appendonly:
        how = "aof_enabled:1 (INFO persistence; CONFIG GET refused)" if found.save is None else "appendonly yes"
        return Check("redis.persistence", Status.OK, f"{how}: token states and queued jobs survive a Redis restart")
    if found.save is None:
        return Check(
            "redis.persistence",
            Status.WARN,
            f"appendonly is off (INFO persistence aof_enabled:0) and the RDB save rules cannot be read "
            f"({found.config_error}): if Redis persists nothing, a restart of it loses {_LOST}",
            "check with your Redis provider that it persists (AOF), or " + _PERSIST,
        )
    if found.save:
        return Check(
            "redis.persistence",
            Status.OK,
            f"RDB snapshots only (save {found.save!r}, appendonly no): a restart of Redis loses what changed since "
            "the last snapshot, so logins and kicks of those minutes; appendonly yes keeps every write",
        )
    return Check(
        "redis.persistence",
        Status.WARN,
        f"Redis persists nothing (appendonly no, save ''): a restart of Redis loses {_LOST}",
        _PERSIST,
    )


async def check_queue(ctx: Context) -> Check:
    """The guide's Kafka consumer-group lag: the offline-push stream's length, lag and pending for msgtransfer."""
    url = ctx.settings.redis.url
    if not url:
        sqlite = sqlite_file(ctx.settings.database.url)
        if sqlite is not None and not sqlite.is_file():  # never create it (see the check `database`)
            return Check("queue", Status.OK, "table queue_job: no database yet, so no job")
        try:
            storage = await open_storage(ctx.settings.database.url, pool_size=1, migrate=False)
            try:
                length, pending = await storage.queue.stats(TOPIC_OFFLINE_PUSH)
            finally:
                await storage.close()
        except Exception as exc:
            return Check("queue", Status.WARN, f"cannot read the table queue_job: {exc}", "see the check `database`")
        saw = f"table queue_job, topic {TOPIC_OFFLINE_PUSH}: {length} jobs, pending {pending} (no redis.url)"
        if length > QUEUE_DEPTH_WARN:
            return Check("queue", Status.WARN, saw, "jobs pile up: is the msgtransfer role running (`openim start`)?")
        return Check("queue", Status.OK, saw)
    key = stream_key(TOPIC_OFFLINE_PUSH)
    timeout = ctx.thresholds.connect_timeout_s
    client: Any = aioredis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        stats = await RedisStreamQueue(client).stats(TOPIC_OFFLINE_PUSH, QUEUE_GROUP)
    except Exception as exc:
        return Check("queue", Status.WARN, f"cannot read the stream {key}: {exc}", "see the check `redis`")
    finally:
        await client.aclose()
    saw = f"stream {key}, group {QUEUE_GROUP}: {stats.length} jobs, lag {stats.lag}, pending {stats.pending}"
    if stats.depth > QUEUE_DEPTH_WARN:
        return Check(
            "queue",
            Status.WARN,
            saw,
            "jobs pile up: is an `openim start msgtransfer` (or openim-msgtransfer.service) running with this "
            "redis.url? `journalctl -u openim-msgtransfer`; run more workers if they cannot keep up",
        )
    return Check("queue", Status.OK, saw)
