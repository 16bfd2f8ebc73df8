"""TokenRepo: the `TokenStore` contract (`infra/tokens.py`) on the tables `token_state` and `token_temporary`.

The embedded default (no `redis.url`) keeps token states here, so a graceful restart or a kill -9 keeps every
login: a token stays valid, a kicked one stays kicked. Each row is one field of OpenIM's Redis hash
`UID_PID_TOKEN_STATUS:<userID>:<PlatformName>`; the hash's TTL is copied onto every row of that user and
platform (`set_tokens` resets them all, as EXPIRE does), and a row whose `expires_at` has passed reads as absent.
Before a write revives a (user, platform), its expired rows are deleted, as Redis would have dropped the key.

Reads are one statement on the primary key (user, platform, token prefix). The check behind every REST call and
WS connect (`AuthService.parse_token` → `get_platform_tokens`) would cost that read every time (on SQLite it
nearly doubled the server CPU of a small REST call), so `get_platform_tokens` keeps what it read for at most
`CACHE_TTL_MS`. Every write of this repo drops the entries it touches once it has committed, and a read that
overlapped any write does not fill the cache, so this process sees its own writes (a kick, a logout, a new login)
at once. The embedded default runs every role in one process, for which that is the whole truth; processes that
share a database without `redis.url` see each other's writes within `CACHE_TTL_MS`. Expired rows are pruned by
`purge_expired`, run after a write at most every `PRUNE_EVERY_MS` (and by the first write after a start), so the
tables hold the live tokens plus at most a minute of expired ones.

Time comes from `now_ms` (the runtime's clock), never from the database, as the memory store does; this module
knows nothing of JWTs or policies (`services/auth.py`). Every method is one named transaction `token.<method>`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import Select, delete, select, update

from openim.protocol.constants import PLATFORM_NAMES
from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.schema import token_state, token_temporary

__all__ = ["CACHE_TTL_MS", "PRUNE_EVERY_MS", "TokenRepo", "platform_tokens"]

PRUNE_EVERY_MS = 60_000
CACHE_TTL_MS = 1_000  # how long another process's write on the same database may go unseen
_CACHE_MAX = 100_000  # entries (user, platform); the cache is emptied when it grows past this
_CACHE_PRUNE_AT = 10_000  # from this size, answers past their validity are dropped, at most once per CACHE_TTL_MS


@dataclass(frozen=True, slots=True)
class _Cached:
    states: dict[str, int]
    until: int  # Unix ms: the earlier of the hash's expiry and the read time + CACHE_TTL_MS


class TokenRepo:
    """`TokenStore` in the database; `now_ms` is the clock expiry is judged by."""

    def __init__(self, db: Db, now_ms: Callable[[], int]) -> None:
        self.db = db
        self._now_ms = now_ms
        self._pruned_at: int | None = None  # None: prune at the first write, clearing what expired while stopped
        self._cache: dict[tuple[str, str], _Cached] = {}
        self._cache_pruned_at = 0  # now_ms of the last drop of stale answers
        self._writes = 0  # bumped after each write commits: a read that overlapped one must not fill the cache

    async def get_platform_tokens(self, user_id: str, platform_name: str) -> dict[str, int]:
        key, now = (user_id, platform_name), self._now_ms()
        cached = self._cache.get(key)
        if cached is not None and now < cached.until:
            return dict(cached.states)
        writes = self._writes
        async with self.db.read("token.get_platform_tokens") as conn:
            rows = (await conn.execute(platform_tokens(user_id, platform_name, now))).all()
        states = {token: state for token, state, _ in rows}
        if writes == self._writes:
            self._bound_cache(now)
            until = min([now + CACHE_TTL_MS, *(expires_at for _, _, expires_at in rows)])
            self._cache[key] = _Cached(dict(states), until)
        return states

    def _bound_cache(self, now: int) -> None:
        """Keep the cache to the users of about the last second: an answer is useless after its CACHE_TTL_MS, so
        stale ones go once the cache is big (a scan at most once a TTL); emptied if it still reaches _CACHE_MAX."""
        if len(self._cache) >= _CACHE_PRUNE_AT and now - self._cache_pruned_at >= CACHE_TTL_MS:
            self._cache = {key: cached for key, cached in self._cache.items() if now < cached.until}
            self._cache_pruned_at = now
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()

    async def get_user_tokens(self, user_id: str) -> dict[str, dict[str, int]]:
        now = self._now_ms()
        async with self.db.read("token.get_user_tokens") as conn:
            result = await conn.execute(
                select(token_state.c.platform, token_state.c.token, token_state.c.state)
                .where(
                    token_state.c.user_id == user_id,
                    token_state.c.platform.in_(list(PLATFORM_NAMES.values())),
                    token_state.c.expires_at > now,
                )
                .order_by(token_state.c.platform, token_state.c.token)
            )
            found: dict[str, dict[str, int]] = {}
            for platform, token, state in result:
                found.setdefault(platform, {})[token] = state
            return found

    async def set_tokens(self, user_id: str, platform_name: str, states: dict[str, int], ttl_s: int) -> None:
        _check_ttl(ttl_s)
        if not states:
            return
        now = self._now_ms()
        expires_at = now + ttl_s * 1000
        mine = (token_state.c.user_id == user_id, token_state.c.platform == platform_name)
        async with self._writing(user_id, platform_name), self.db.write("token.set_tokens") as conn:
            # An expired hash is gone in Redis: its fields must not come back with the new TTL.
            await conn.execute(delete(token_state).where(*mine, token_state.c.expires_at <= now))
            await conn.execute(update(token_state).where(*mine).values(expires_at=expires_at))
            await conn.execute(
                dialect.upsert(conn, token_state, ["user_id", "platform", "token"], ["state", "expires_at"]),
                [
                    {
                        "user_id": user_id,
                        "platform": platform_name,
                        "token": token,
                        "state": state,
                        "expires_at": expires_at,
                    }
                    for token, state in states.items()
                ],
            )
        await self._prune_now_and_then(now)

    async def delete_tokens(self, user_id: str, platform_name: str, tokens: list[str]) -> None:
        if not tokens:
            return
        async with self._writing(user_id, platform_name), self.db.write("token.delete_tokens") as conn:
            await conn.execute(
                delete(token_state).where(
                    token_state.c.user_id == user_id,
                    token_state.c.platform == platform_name,
                    token_state.c.token.in_(list(tokens)),
                )
            )

    async def add_temporary(self, user_id: str, platform_name: str, token: str, ttl_s: int) -> None:
        _check_ttl(ttl_s)
        now = self._now_ms()
        async with self.db.write("token.add_temporary") as conn:
            await conn.execute(
                dialect.upsert(conn, token_temporary, ["user_id", "platform", "token"], ["expires_at"]),
                {"user_id": user_id, "platform": platform_name, "token": token, "expires_at": now + ttl_s * 1000},
            )
        await self._prune_now_and_then(now)

    async def has_temporary(self, user_id: str, platform_name: str, token: str) -> bool:
        now = self._now_ms()
        async with self.db.read("token.has_temporary") as conn:
            found = await conn.execute(
                select(token_temporary.c.expires_at).where(
                    token_temporary.c.user_id == user_id,
                    token_temporary.c.platform == platform_name,
                    token_temporary.c.token == token,
                    token_temporary.c.expires_at > now,
                )
            )
            return found.first() is not None

    async def purge_expired(self) -> int:
        """Delete every expired token row and temporary mark now; return how many rows went."""
        now = self._now_ms()
        async with self.db.write("token.purge_expired") as conn:
            states = await conn.execute(delete(token_state).where(token_state.c.expires_at <= now))
            marks = await conn.execute(delete(token_temporary).where(token_temporary.c.expires_at <= now))
            return int(states.rowcount) + int(marks.rowcount)

    @asynccontextmanager
    async def _writing(self, user_id: str, platform_name: str) -> AsyncIterator[None]:
        """Around a write of (user, platform): once it has committed (or failed), forget what was cached of it."""
        try:
            yield
        finally:
            self._writes += 1
            self._cache.pop((user_id, platform_name), None)

    async def _prune_now_and_then(self, now: int) -> None:
        # Its own transaction after the write, so the write's locks are released first (no lock-order deadlock
        # between two PostgreSQL writers pruning each other's rows); stamped before awaiting, so one prunes.
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY_MS:
            return
        self._pruned_at = now
        await self.purge_expired()


def platform_tokens(user_id: str, platform_name: str, now: int) -> Select[str, int, int]:
    """The hot read: token, state, expiry of one user and platform alive at `now`, on the primary key's prefix."""
    return select(token_state.c.token, token_state.c.state, token_state.c.expires_at).where(
        token_state.c.user_id == user_id,
        token_state.c.platform == platform_name,
        token_state.c.expires_at > now,
    )


def _check_ttl(ttl_s: int) -> None:
    # Redis would delete the key for a TTL <= 0; that is never what a caller of these methods means.
    if ttl_s <= 0:
        raise ValueError(f"ttl_s must be positive, got {ttl_s}")
