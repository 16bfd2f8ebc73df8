"""`RedisTokenStore`: the `TokenStore` contract on OpenIM's own Redis keys, one command (or MULTI) per method.

Key layout (identical to OpenIM's, `infra/tokens.py` `token_key`/`temporary_token_key`), so tokens an OpenIM
deployment issued keep working when openim-py takes over its Redis, and the other way round:

* `UID_PID_TOKEN_STATUS:<userID>:<PlatformName>`: hash, field = the token, value = its state as a decimal
  string (`"0"` normal, `"2"` kicked); the key's TTL is reset by every `set_tokens`;
* `UID_PID_TOKEN_STATUS::TEMPORARY:<userID>:<PlatformName>:<token>`: string `""` with a TTL (admin grace).

Expiry is Redis's own (EXPIRE / SET EX), so every process sees the same state at the same moment.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis.asyncio as aioredis

from openim.infra.tokens import temporary_token_key, token_key
from openim.protocol.constants import PLATFORM_NAMES

__all__ = ["RedisTokenStore"]


class RedisTokenStore:
    """`TokenStore` in Redis; `client` comes from `openim.infra.redis.connect` (responses as bytes)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client

    async def get_platform_tokens(self, user_id: str, platform_name: str) -> dict[str, int]:
        return _states(await self._redis.hgetall(token_key(user_id, platform_name)))

    async def get_user_tokens(self, user_id: str) -> dict[str, dict[str, int]]:
        names = list(PLATFORM_NAMES.values())
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(token_key(user_id, name))
            hashes: list[Mapping[bytes | str, bytes | str]] = await pipe.execute()
        return {name: _states(raw) for name, raw in zip(names, hashes, strict=True) if raw}

    async def set_tokens(self, user_id: str, platform_name: str, states: dict[str, int], ttl_s: int) -> None:
        _check_ttl(ttl_s)
        if not states:
            return
        key = token_key(user_id, platform_name)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={token: str(state) for token, state in states.items()})
            pipe.expire(key, ttl_s)
            await pipe.execute()

    async def delete_tokens(self, user_id: str, platform_name: str, tokens: list[str]) -> None:
        if tokens:
            await self._redis.hdel(token_key(user_id, platform_name), *tokens)

    async def add_temporary(self, user_id: str, platform_name: str, token: str, ttl_s: int) -> None:
        _check_ttl(ttl_s)
        await self._redis.set(temporary_token_key(user_id, platform_name, token), b"", ex=ttl_s)

    async def has_temporary(self, user_id: str, platform_name: str, token: str) -> bool:
        found: int = await self._redis.exists(temporary_token_key(user_id, platform_name, token))
        return found > 0


def _states(raw: Mapping[bytes | str, bytes | str]) -> dict[str, int]:
    # bytes from `connect`'s client; str too, should a caller hand in a client that decodes
    return {token.decode() if isinstance(token, bytes) else token: int(state) for token, state in raw.items()}


def _check_ttl(ttl_s: int) -> None:
    # Redis would delete the key for a TTL <= 0 (and refuse SET EX 0); never what a caller means.
    if ttl_s <= 0:
        raise ValueError(f"ttl_s must be positive, got {ttl_s}")
