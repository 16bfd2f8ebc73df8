"""`RedisRegistry`: the discovery `Registry` (`infra/discovery.py`) on Redis, the default when `redis.url` is set.

Entry `<role>/<instance>` is the string key `openim:discovery:<role>/<instance>` (`registry_key`) holding the
instance's JSON, set with `PX` = the TTL. A refresh sets every key again with a fresh TTL, so entries lost with
a Redis restart come back at the next refresh. The names are also members of the set `openim:discovery-index`
(`INDEX_KEY`), so that `list` reads the entries without walking the keyspace (`SCAN` would step through every
token and presence key): it reads each indexed key with its `PTTL` and removes from the set the names whose key
has expired (a killed process's). At most `MAX_ENTRIES` are read.

The client is the caller's (`openim.infra.redis.connect`, bytes responses) and stays open.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from openim.infra.discovery import Entry, Instance, RegistryUnavailable
from openim.infra.redis.client import mask_url

__all__ = ["INDEX_KEY", "KEY_PREFIX", "MAX_ENTRIES", "RedisRegistry", "registry_key"]

KEY_PREFIX = "openim:discovery:"
INDEX_KEY = "openim:discovery-index"  # outside KEY_PREFIX: `--scan --pattern 'openim:discovery:*'` lists entries
MAX_ENTRIES = 10_000  # a list stops there: far more processes than one deployment runs


def registry_key(name: str) -> str:
    """The Redis key of entry `name` (`<role>/<instance>`)."""
    return KEY_PREFIX + name


class RedisRegistry:
    """The process registry in Redis; `where` names the masked URL for messages."""

    def __init__(self, client: aioredis.Redis, *, ttl_s: int = 30, url: str = "") -> None:
        self._client = client
        self.ttl_s = ttl_s
        self.where = f"Redis {mask_url(url)}" if url else "Redis"
        self._mine: list[Instance] = []

    async def register(self, instances: Sequence[Instance]) -> None:
        await self.unregister()
        self._mine = list(instances)
        await self.refresh()

    async def refresh(self) -> None:
        if not self._mine:
            return
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for instance in self._mine:
                    pipe.set(registry_key(instance.name), instance.to_json(self.ttl_s), px=self.ttl_s * 1000)
                pipe.sadd(INDEX_KEY, *(i.name for i in self._mine))
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise RegistryUnavailable(f"{self.where}: {type(exc).__name__}: {exc}") from exc

    async def unregister(self) -> None:
        if not self._mine:
            return
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.delete(*(registry_key(i.name) for i in self._mine))
                pipe.srem(INDEX_KEY, *(i.name for i in self._mine))
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise RegistryUnavailable(f"{self.where}: {type(exc).__name__}: {exc}") from exc

    async def list(self, *, ttl: bool = True) -> list[Entry]:
        try:
            members: Any = await self._client.srandmember(INDEX_KEY, MAX_ENTRIES)  # distinct, at most that many
            names = sorted(_text(n) for n in members or [])
            if not names:
                return []
            async with self._client.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.get(registry_key(name))
                    pipe.pttl(registry_key(name))
                replies: list[Any] = await pipe.execute()
            gone = [name for index, name in enumerate(names) if replies[2 * index + 1] == -2]
            if gone:  # expired entries (processes killed or cut off): forget them
                await self._client.srem(INDEX_KEY, *gone)
        except (RedisError, OSError) as exc:
            raise RegistryUnavailable(f"{self.where}: {type(exc).__name__}: {exc}") from exc
        entries = []
        for index, name in enumerate(names):
            raw, pttl = replies[2 * index], replies[2 * index + 1]
            found = Instance.from_json(raw, self.ttl_s) if isinstance(raw, bytes) else None
            if found is None or pttl == -2:  # gone meanwhile, or not ours
                continue
            instance, ttl_s = found
            entries.append(Entry(registry_key(name), instance, pttl / 1000 if pttl >= 0 else None, ttl_s))
        return entries

    async def close(self) -> None:
        self._mine = []


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
