"""Opening the Redis client a process shares: bytes in and out, a health check, and a clear error when unreachable.

Every Redis implementation in this package takes the client `connect` returns. Responses are not decoded
(`decode_responses=False`): each implementation decodes what it reads, and binary payloads (the bus) pass
untouched. The URL is redis-py's (`redis://[:password@]host:port/db`, `rediss://`, `unix://`).
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from openim.settings import mask_url  # one masking rule for every URL we print

__all__ = ["CONNECT_TIMEOUT_S", "HEALTH_CHECK_INTERVAL_S", "connect", "mask_url"]

CONNECT_TIMEOUT_S = 5.0
# A pooled connection idle this long is PINGed before reuse, so a Redis restart costs no failed command.
HEALTH_CHECK_INTERVAL_S = 30


async def connect(url: str) -> aioredis.Redis:
    """A client for `url` that has answered PING; raises ConnectionError naming the masked URL if it has not.

    The caller owns the client and closes it with `await client.aclose()`.
    """
    try:
        client = aioredis.Redis.from_url(
            url,
            decode_responses=False,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            health_check_interval=HEALTH_CHECK_INTERVAL_S,
        )
    except ValueError as exc:  # redis-py's message for a bad scheme or port does not contain the password
        raise ValueError(f"invalid Redis URL {mask_url(url)}: {exc}") from exc
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        raise ConnectionError(f"cannot reach Redis at {mask_url(url)}: {type(exc).__name__}: {exc}") from exc
    return client
