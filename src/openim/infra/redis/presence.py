"""`RedisPresence`: the `Presence` contract shared by every gateway, each connection registered with a TTL.

Key layout (openim-py's own; OpenIM's `ONLINE:<userID>` ZSET holds platforms, not connections, so it cannot
tell when the last of two connections on one platform, held by two gateways, goes away):

* `OPENIM_PRESENCE:<userID>`: hash, field `<platformID>:<connID>`, value = the registration's expiry in Unix
  milliseconds by Redis's clock (decimal string), then `~` when the app is in background, then `:` and the
  connection's token when it has one. The key's
  own TTL is at least the latest field expiry, so a user whose gateways all died leaves nothing behind.
* `OPENIM_PRESENCE_SUB:<userID>:<connID>`: set of the user IDs the connection watches (2005), with the TTL of the
  connection's registration: `refresh` extends it with the registration, `set_offline` deletes it. Reads take
  the union over the connections the hash holds as live, so a set left by a crashed gateway is never read.

Time is Redis's (`TIME`), never a gateway's, so nodes with skewed clocks agree on what has expired. `set_online`
and `refresh` are Lua scripts (atomic); `set_offline` is one HDEL; reads are one pipeline of TIME and one HGETALL
per user, and leave out fields whose expiry has passed. Expired fields are deleted by the user's next
`set_online` (which prunes the hash) or `refresh` of that field, and by the key's TTL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import redis.asyncio as aioredis

from openim.infra.presence import PRESENCE_TTL_S
from openim.protocol.constants import ANDROID, IOS

__all__ = ["PRESENCE_KEY_PREFIX", "SUBSCRIPTION_KEY_PREFIX", "RedisPresence", "presence_key", "subscription_key"]

PRESENCE_KEY_PREFIX = "OPENIM_PRESENCE:"
SUBSCRIPTION_KEY_PREFIX = "OPENIM_PRESENCE_SUB:"

# Redis's time in ms, as the first lines of each script; a field's expiry is the leading digits of its value.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
_TTL = """
local ttl = tonumber(ARGV[2])
"""

# KEYS[1] = user key, ARGV[1] = field: `value` and its expiry `digits` when the registration is live; else the
# script returns 0, a stale field deleted.
_LIVE_VALUE = """
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then
  return 0
end
local digits = string.match(value, '^%d+') or ''
local expiry = tonumber(digits)
if expiry == nil or expiry <= now then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
"""

# Extend the key's TTL to `ttl`, never shorten it (a gateway configured with a longer TTL may have written).
_EXTEND_KEY = """
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
"""

# KEYS[1] = user key, ARGV[1] = field, ARGV[2] = ttl ms, ARGV[3] = ":<token>" or "". Prunes the user's expired
# fields, registers the field.
_SET_ONLINE = (
    _NOW
    + _TTL
    + """
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if (tonumber(string.match(all[i + 1], '^%d+')) or 0) <= now then
    redis.call('HDEL', KEYS[1], all[i])
  end
end
redis.call('HSET', KEYS[1], ARGV[1], (now + ttl) .. ARGV[3])
"""
    + _EXTEND_KEY
)

# KEYS[1] = user key, KEYS[2] = the connection's subscription set, ARGV[1] = field, ARGV[2] = ttl ms.
# 1 and a new expiry (the token kept, the subscriptions extended) if the field is registered and live;
# else 0, the stale field deleted.
_REFRESH = (
    _NOW
    + _TTL
    + _LIVE_VALUE
    + """
redis.call('HSET', KEYS[1], ARGV[1], (now + ttl) .. string.sub(value, #digits + 1))
redis.call('PEXPIRE', KEYS[2], ttl)
"""
    + _EXTEND_KEY
    + """
return 1
"""
)

# KEYS[1] = user key, ARGV[1] = field, ARGV[2] = "~" (background) or "". Rewrites the flag of a live registration,
# keeping its expiry and token; nothing for one that is absent or expired (a stale one is deleted, as by a refresh).
_SET_BACKGROUND = (
    _NOW
    + _LIVE_VALUE
    + """
local rest = string.sub(value, #digits + 1)
if string.sub(rest, 1, 1) == '~' then
  rest = string.sub(rest, 2)
end
redis.call('HSET', KEYS[1], ARGV[1], digits .. ARGV[2] .. rest)
return 1
"""
)


def presence_key(user_id: str) -> str:
    """The hash of one user's registered connections."""
    return f"{PRESENCE_KEY_PREFIX}{user_id}"


def subscription_key(user_id: str, conn_id: str) -> str:
    """The set of users one connection watches."""
    return f"{SUBSCRIPTION_KEY_PREFIX}{user_id}:{conn_id}"


def _field(platform_id: int, conn_id: str) -> str:
    return f"{platform_id}:{conn_id}"


class RedisPresence:
    """`Presence` in Redis; `client` comes from `openim.infra.redis.connect` (responses as bytes).

    `ttl_s` is how long a registration lives without `refresh` (default `PRESENCE_TTL_S`); tests shorten it.
    """

    def __init__(self, client: aioredis.Redis, ttl_s: float = PRESENCE_TTL_S) -> None:
        if ttl_s <= 0:
            raise ValueError(f"ttl_s must be positive, got {ttl_s}")
        self._redis = client
        self._ttl_ms = max(1, round(ttl_s * 1000))
        self._set_online = client.register_script(_SET_ONLINE)
        self._refresh = client.register_script(_REFRESH)
        self._set_background = client.register_script(_SET_BACKGROUND)

    async def set_online(
        self, user_id: str, platform_id: int, conn_id: str, token: str = "", *, background: bool = False
    ) -> None:
        """Register connection `conn_id` of `user_id` on `platform_id` for one TTL (again: a new TTL)."""
        suffix = ("~" if background else "") + (f":{token}" if token else "")
        await self._set_online(keys=[presence_key(user_id)], args=[_field(platform_id, conn_id), self._ttl_ms, suffix])

    async def set_background(self, user_id: str, platform_id: int, conn_id: str, background: bool) -> None:
        """Flag a live registration as in background or not (one script; its expiry and token kept)."""
        await self._set_background(
            keys=[presence_key(user_id)], args=[_field(platform_id, conn_id), "~" if background else ""]
        )

    async def set_offline(self, user_id: str, platform_id: int, conn_id: str) -> None:
        """Forget connection `conn_id` and its subscriptions; the hash, and with it the user, disappears with its
        last field."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(presence_key(user_id), _field(platform_id, conn_id))
            pipe.delete(subscription_key(user_id, conn_id))
            await pipe.execute()

    async def refresh(self, user_id: str, platform_id: int, conn_id: str) -> bool:
        """Give a live registration (and its subscriptions) a new TTL; False (and no registration) if it is gone
        or expired."""
        done = await self._refresh(
            keys=[presence_key(user_id), subscription_key(user_id, conn_id)],
            args=[_field(platform_id, conn_id), self._ttl_ms],
        )
        return bool(done)

    async def online_platforms(self, user_ids: Iterable[str]) -> dict[str, list[int]]:
        """For each requested user, its online platform IDs sorted ascending ([] when offline)."""
        return {
            user: sorted({platform for platform, _conn in conns})
            for user, conns in (await self.connections(user_ids)).items()
        }

    async def connections(self, user_ids: Iterable[str]) -> dict[str, list[tuple[int, str]]]:
        """For each requested user, its live (platform_id, conn_id) pairs sorted ascending ([] when offline)."""
        return {
            user: sorted((platform, conn) for platform, conn, _token, _bg in live)
            for user, live in (await self._live_users(user_ids)).items()
        }

    async def states(self, user_ids: Iterable[str]) -> dict[str, list[tuple[int, str, bool]]]:
        """For each requested user, its live (platform_id, conn_id, background) sorted ascending ([] when offline)."""
        return {
            user: sorted((platform, conn, background) for platform, conn, _token, background in live)
            for user, live in (await self._live_users(user_ids)).items()
        }

    async def pushed_on_mobile(self, user_ids: Iterable[str]) -> set[str]:
        """Those of `user_ids` with a live Android connection, or an iOS one not in background."""
        return {
            user
            for user, live in (await self._live_users(user_ids)).items()
            if any(platform == ANDROID or (platform == IOS and not bg) for platform, _conn, _token, bg in live)
        }

    async def tokens(self, user_ids: Iterable[str]) -> dict[str, list[tuple[int, str]]]:
        """For each requested user, the (platform_id, token) of each live connection, sorted ([] when offline)."""
        return {
            user: sorted((platform, token) for platform, _conn, token, _bg in live)
            for user, live in (await self._live_users(user_ids)).items()
        }

    async def subscribe(self, user_id: str, conn_id: str, add: Iterable[str], remove: Iterable[str]) -> None:
        """Change the connection's watched set (one MULTI); the set lives as long as the registration."""
        added = [a for a in dict.fromkeys(add) if a]
        removed = list(dict.fromkeys(remove))
        if not added and not removed:
            return
        key = subscription_key(user_id, conn_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            if removed:
                pipe.srem(key, *removed)
            if added:
                pipe.sadd(key, *added)
                pipe.pexpire(key, self._ttl_ms)
            await pipe.execute()

    async def subscribed(self, user_id: str) -> list[str]:
        """The union of the watched sets of the user's live connections, sorted."""
        live = (await self._live_users([user_id]))[user_id]
        if not live:
            return []
        members: set[bytes | str] = await self._redis.sunion(
            [subscription_key(user_id, conn) for _platform, conn, _token, _bg in live]
        )
        return sorted(m.decode() if isinstance(m, bytes) else m for m in members)

    async def _live_users(self, user_ids: Iterable[str]) -> dict[str, list[tuple[int, str, str, bool]]]:
        """One pipeline (TIME and an HGETALL per user): each user's live (platform, connection, token, background)."""
        users = list(dict.fromkeys(user_ids))
        if not users:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.time()
            for user in users:
                pipe.hgetall(presence_key(user))
            replies: list[Any] = await pipe.execute()
        seconds, micros = replies[0]
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        return {user: _live(raw, now_ms) for user, raw in zip(users, replies[1:], strict=True)}


def _live(raw: Mapping[bytes, bytes], now_ms: int) -> list[tuple[int, str, str, bool]]:
    """The (platform, connection, token, background) of one user's hash whose expiry is after `now_ms`."""
    found: list[tuple[int, str, str, bool]] = []
    for field, value in raw.items():
        head, _sep, token = value.decode().partition(":")
        background = head.endswith("~")
        if int(head.rstrip("~")) <= now_ms:
            continue
        platform, _sep, conn = field.decode().partition(":")
        found.append((int(platform), conn, token, background))
    return found
