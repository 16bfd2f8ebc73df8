"""Token state: which JWTs of a user are live, per platform, with a key-level TTL; and the admin-token grace keys.

Modelled on OpenIM's Redis layout (server `pkg/common/storage/cache/redis/token.go`, `cachekey/token.go`), so that
the Redis implementation (`infra/redis/tokens.py`) is one Redis command per method and can share keys with an
OpenIM deployment:

* one hash per (user, platform): key `UID_PID_TOKEN_STATUS:<userID>:<PlatformName>`, field = the full token,
  value = its state (`TokenState`: 0 normal, 2 kicked); the TTL belongs to the whole hash, not to a field;
* one string per grace-period admin token: key `UID_PID_TOKEN_STATUS::TEMPORARY:<userID>:<PlatformName>:<token>`
  (OpenIM's double colon kept), value `""`.

This module knows nothing of JWTs, policies or who may call what: that is `services/auth.py`. `MemoryTokenStore`
keeps the state in this process and expires it by the injected clock (tests). Without `redis.url` the runtime
uses the database implementation, `storage/token.py` `TokenRepo`, so token states survive a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from openim.infra.clock import Clock
from openim.protocol.constants import PLATFORM_NAMES

__all__ = [
    "TOKEN_KEY_PREFIX",
    "MemoryTokenStore",
    "TokenStore",
    "temporary_token_key",
    "token_key",
]

TOKEN_KEY_PREFIX = "UID_PID_TOKEN_STATUS:"


def token_key(user_id: str, platform_name: str) -> str:
    """OpenIM's hash key of one user's tokens on one platform."""
    return f"{TOKEN_KEY_PREFIX}{user_id}:{platform_name}"


def temporary_token_key(user_id: str, platform_name: str, token: str) -> str:
    """OpenIM's key marking a replaced admin token as still usable during its grace period."""
    return f"{TOKEN_KEY_PREFIX}:TEMPORARY:{user_id}:{platform_name}:{token}"


class TokenStore(Protocol):
    """Token states per (user, platform name), each a hash with one TTL; plus short-lived "temporary" marks.

    What callers may rely on:

    * every method is atomic for the one key it touches (one Redis command: HGETALL, HSET+EXPIRE in a
      MULTI, HDEL, SET EX, EXISTS); `get_user_tokens` reads several keys and is *not* a snapshot;
    * nothing is atomic across calls: a read-modify-write (read the states, decide, write) can interleave
      with another one for the same user; callers that care serialise per user themselves;
    * an expired hash or mark reads as absent; a hash whose last field is deleted disappears with its TTL;
    * returned dicts are copies the caller may change.
    """

    async def get_platform_tokens(self, user_id: str, platform_name: str) -> dict[str, int]:
        """All token → state pairs of one platform; `{}` if none (HGETALL)."""
        ...

    async def get_user_tokens(self, user_id: str) -> dict[str, dict[str, int]]:
        """Platform name → (token → state) for every platform of `PLATFORM_NAMES`; empty platforms are left out."""
        ...

    async def set_tokens(self, user_id: str, platform_name: str, states: dict[str, int], ttl_s: int) -> None:
        """Write these token states (other fields stay) and reset the whole hash's TTL to `ttl_s` > 0 seconds.

        HSET semantics: existing fields are overwritten, others untouched. An empty `states` changes nothing.
        """
        ...

    async def delete_tokens(self, user_id: str, platform_name: str, tokens: list[str]) -> None:
        """Remove these tokens from the platform's hash (HDEL); unknown tokens are ignored; the TTL is kept."""
        ...

    async def add_temporary(self, user_id: str, platform_name: str, token: str, ttl_s: int) -> None:
        """Mark `token` as usable for `ttl_s` > 0 more seconds though it left the hash (SET key "" EX ttl_s)."""
        ...

    async def has_temporary(self, user_id: str, platform_name: str, token: str) -> bool:
        """Whether the temporary mark of `token` exists and has not expired (EXISTS)."""
        ...


@dataclass
class _Hash:
    fields: dict[str, int]
    expires_at_ms: int


class MemoryTokenStore:
    """`TokenStore` in this process's memory, for one-node deployments and tests; expiry follows `clock`.

    Expired entries are dropped when read and by a sweep every `_SWEEP_EVERY` writes, so memory stays bounded
    by the live tokens. No method awaits, so each call is atomic with respect to other coroutines.
    """

    _SWEEP_EVERY = 1024

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._hashes: dict[tuple[str, str], _Hash] = {}
        self._temporary: dict[tuple[str, str, str], int] = {}
        self._writes = 0

    async def get_platform_tokens(self, user_id: str, platform_name: str) -> dict[str, int]:
        entry = self._live_hash(user_id, platform_name)
        return dict(entry.fields) if entry else {}

    async def get_user_tokens(self, user_id: str) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        for name in PLATFORM_NAMES.values():
            entry = self._live_hash(user_id, name)
            if entry:
                found[name] = dict(entry.fields)
        return found

    async def set_tokens(self, user_id: str, platform_name: str, states: dict[str, int], ttl_s: int) -> None:
        _check_ttl(ttl_s)
        if not states:
            return
        expires_at = self._clock.now_ms() + ttl_s * 1000
        entry = self._live_hash(user_id, platform_name)
        if entry is None:
            self._hashes[(user_id, platform_name)] = _Hash(dict(states), expires_at)
        else:
            entry.fields.update(states)
            entry.expires_at_ms = expires_at
        self._wrote()

    async def delete_tokens(self, user_id: str, platform_name: str, tokens: list[str]) -> None:
        entry = self._live_hash(user_id, platform_name)
        if entry is None:
            return
        for token in tokens:
            entry.fields.pop(token, None)
        if not entry.fields:
            del self._hashes[(user_id, platform_name)]

    async def add_temporary(self, user_id: str, platform_name: str, token: str, ttl_s: int) -> None:
        _check_ttl(ttl_s)
        self._temporary[(user_id, platform_name, token)] = self._clock.now_ms() + ttl_s * 1000
        self._wrote()

    async def has_temporary(self, user_id: str, platform_name: str, token: str) -> bool:
        key = (user_id, platform_name, token)
        expires_at = self._temporary.get(key)
        if expires_at is None:
            return False
        if self._clock.now_ms() >= expires_at:
            del self._temporary[key]
            return False
        return True

    def purge_expired(self) -> int:
        """Drop every expired hash and temporary mark now; return how many were dropped."""
        now = self._clock.now_ms()
        dead_hashes = [key for key, entry in self._hashes.items() if now >= entry.expires_at_ms]
        dead_marks = [key for key, expires_at in self._temporary.items() if now >= expires_at]
        for hash_key in dead_hashes:
            del self._hashes[hash_key]
        for mark_key in dead_marks:
            del self._temporary[mark_key]
        return len(dead_hashes) + len(dead_marks)

    def _live_hash(self, user_id: str, platform_name: str) -> _Hash | None:
        key = (user_id, platform_name)
        entry = self._hashes.get(key)
        if entry is not None and self._clock.now_ms() >= entry.expires_at_ms:
            del self._hashes[key]
            return None
        return entry

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes % self._SWEEP_EVERY == 0:
            self.purge_expired()


def _check_ttl(ttl_s: int) -> None:
    # Redis would delete the key for a TTL <= 0; that is never what a caller of these methods means.
    if ttl_s <= 0:
        raise ValueError(f"ttl_s must be positive, got {ttl_s}")
