"""`RedisSendStatus`: the `SendStatusStore` contract (`infra/send_status.py`) in Redis, shared by every process.

Key layout (openim-py's own: OpenIM's `SEND_MSG_FAILED_FLAG:<operationID>` holds a bare status, with no owner to
scope a lookup by):

* `OPENIM_SEND_STATUS:<operationID>`: hash, field `<owner userID>` → status as a decimal string, plus the field
  `LATEST_FIELD` → the owner of the latest send with this operationID (what an admin's lookup answers). The
  key's TTL is reset by every send (`SEND_STATUS_TTL_S`).

One MULTI per send (HSET and PEXPIRE), one HMGET per lookup.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from openim.infra.send_status import SEND_STATUS_TTL_S

__all__ = ["LATEST_FIELD", "SEND_STATUS_KEY_PREFIX", "RedisSendStatus", "send_status_key"]

SEND_STATUS_KEY_PREFIX = "OPENIM_SEND_STATUS:"
LATEST_FIELD = "\x00latest"  # never a userID: user IDs are printable


def send_status_key(operation_id: str) -> str:
    return SEND_STATUS_KEY_PREFIX + operation_id


class RedisSendStatus:
    """`SendStatusStore` in Redis; `client` comes from `openim.infra.redis.connect` (responses as bytes)."""

    def __init__(self, client: aioredis.Redis, *, ttl_s: float = SEND_STATUS_TTL_S) -> None:
        self._redis = client
        self._ttl_ms = max(1, round(ttl_s * 1000))

    async def set(self, operation_id: str, owner: str, status: int) -> None:
        if not operation_id:
            return
        key = send_status_key(operation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={owner: str(status), LATEST_FIELD: owner})
            pipe.pexpire(key, self._ttl_ms)
            await pipe.execute()

    async def get(self, operation_id: str, owner: str, *, any_owner: bool = False) -> int:
        if not operation_id:
            return 0
        key = send_status_key(operation_id)
        mine, latest = await self._redis.hmget(key, [owner, LATEST_FIELD])
        if mine is not None:
            return int(mine)
        if not any_owner or latest is None:
            return 0
        theirs = await self._redis.hget(key, latest)
        return int(theirs) if theirs is not None else 0
