"""`RedisPresence`: the `Presence` contract shared by every gateway, each connection registered with a TTL.

Key layout (openim-py's own; OpenIM's `ONLINE:<userID>` ZSET holds platforms, not connections, so it cannot
tell when the last of two connections on one platform, held by two gateways, goes away):

* `OPENIM_PRESENCE:<userID>`: hash, field `<platformID>:<connID>`, value = the registration's expiry in Unix
  milliseconds by Redis's clock (decimal string). The key's own TTL is at least the latest field expiry, so a
  user whose gateways all died leaves nothing behind.

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

__all__ = ["PRESENCE_KEY_PREFIX", "RedisPresence", "presence_key"]

PRESENCE_KEY_PREFIX = "OPENIM_PRESENCE:"

# Redis's time in ms, as the first lines of each script.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
"""

# Extend the key's TTL to `ttl`, never shorten it (a gateway configured with a longer TTL may have written).
_EXTEND_KEY = """
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
"""

# KEYS[1] = user key, ARGV[1] = field, ARGV[2] = ttl ms. Prunes the user's expired fields, registers the field.
_SET_ONLINE = (
    _NOW
    + """
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if (tonumber(all[i + 1]) or 0) <= now then
    redis.call('HDEL', KEYS[1], all[i])
  end
end
redis.call('HSET', KEYS[1], ARGV[1], now + ttl)
"""
    + _EXTEND_KEY
)

# Same KEYS and ARGV. 1 and a new expiry if the field is registered and live; else 0, the stale field deleted.
_REFRESH = (
    _NOW
    + """
local expiry = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '')
if expiry == nil then
  return 0
end
if expiry <= now then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], now + ttl)
"""
    + _EXTEND_KEY
    + """
return 1
"""
)


def presence_key(user_id: str) -> str:
    """The hash of one user's registered connections."""
    return f"{PRESENCE_KEY_PREFIX}{user_id}"


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

    async def set_online(self, user_id: str, platform_id: int, conn_id: str) -> None:
        """Register connection `conn_id` of `user_id` on `platform_id` for one TTL (again: a new TTL)."""
        await self._set_online(keys=[presence_key(user_id)], args=[_field(platform_id, conn_id), self._ttl_ms])

    async def set_offline(self, user_id: str, platform_id: int, conn_id: str) -> None:
        """Forget connection `conn_id`; the hash, and with it the user, disappears with its last field."""
        await self._redis.hdel(presence_key(user_id), _field(platform_id, conn_id))

    async def refresh(self, user_id: str, platform_id: int, conn_id: str) -> bool:
        """Give a live registration a new TTL; False (and no registration) if it is gone or expired."""
        done = await self._refresh(keys=[presence_key(user_id)], args=[_field(platform_id, conn_id), self._ttl_ms])
        return bool(done)

    async def online_platforms(self, user_ids: Iterable[str]) -> dict[str, list[int]]:
        """For each requested user, its online platform IDs sorted ascending ([] when offline)."""
        return {
            user: sorted({platform for platform, _conn in conns})
            for user, conns in (await self.connections(user_ids)).items()
        }

    async def connections(self, user_ids: Iterable[str]) -> dict[str, list[tuple[int, str]]]:
        """For each requested user, its live (platform_id, conn_id) pairs sorted ascending ([] when offline)."""
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


def _live(raw: Mapping[bytes, bytes], now_ms: int) -> list[tuple[int, str]]:
    """The (platform, connection) pairs of one user's hash whose expiry is after `now_ms`, sorted."""
    found: list[tuple[int, str]] = []
    for field, expiry in raw.items():
        if int(expiry) <= now_ms:
            continue
        platform, _sep, conn = field.decode().partition(":")
        found.append((int(platform), conn))
    found.sort()
    return found
