"""`RedisRegistry`: the discovery `Registry` (`infra/discovery.py`) on Redis, the default when `redis.url` is set.

Entry `<role>/<instance>` is the string key `openim:discovery:<role>/<instance>` (`registry_key`) holding the
instance's JSON, set with `PX` = the TTL. A refresh sets every key again with a fresh TTL, so entries lost with
a Redis restart come back at the next refresh. `list` walks the keys with `SCAN` (bounded by `MAX_ENTRIES`) and
reads each value with its `PTTL`.

The client is the caller's (`openim.infra.redis.connect`, bytes responses) and stays open.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from openim.infra.discovery import Entry, Instance, RegistryUnavailable
from openim.infra.redis.client import mask_url

__all__ = ["KEY_PREFIX", "MAX_ENTRIES", "RedisRegistry", "registry_key"]

KEY_PREFIX = "openim:discovery:"
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
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise RegistryUnavailable(f"{self.where}: {type(exc).__name__}: {exc}") from exc

    async def unregister(self) -> None:
        if not self._mine:
            return
        try:
            await self._client.delete(*(registry_key(i.name) for i in self._mine))
        except (RedisError, OSError) as exc:
            raise RegistryUnavailable(f"{self.where}: {type(exc).__name__}: {exc}") from exc

    async def list(self) -> list[Entry]:
        try:
            keys: list[bytes] = []
            async for key in self._client.scan_iter(match=KEY_PREFIX + "*", count=500):
                keys.append(key)
                if len(keys) >= MAX_ENTRIES:
                    break
            if not keys:
                return []
            async with self._client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.get(key)
                    pipe.pttl(key)
                replies: list[Any] = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise RegistryUnavailable(f"{self.where}: {type(exc).__name__}: {exc}") from exc
        entries = []
        for index, key in enumerate(keys):
            raw, pttl = replies[2 * index], replies[2 * index + 1]
            found = Instance.from_json(raw, self.ttl_s) if isinstance(raw, bytes) else None
            if found is None or pttl == -2:  # gone meanwhile, or not ours
                continue
            instance, ttl_s = found
            entries.append(Entry(key.decode(), instance, pttl / 1000 if pttl >= 0 else None, ttl_s))
        return sorted(entries, key=lambda e: e.key)

    async def close(self) -> None:
        self._mine = []
