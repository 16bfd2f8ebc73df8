"""TokenRepo: the `TokenStore` contract (`infra/tokens.py`) on the tables `token_state` and `token_temporary`.

The embedded default (no `redis.url`) keeps token states here, so a graceful restart or a kill -9 keeps every
login: a token stays valid, a kicked one stays kicked. Each row is one field of OpenIM's Redis hash
`UID_PID_TOKEN_STATUS:<userID>:<PlatformName>`; the hash's TTL is copied onto every row of that user and
platform (`set_tokens` resets them all, as EXPIRE does), and a row whose `expires_at` has passed reads as absent.
Before a write revives a (user, platform), its expired rows are deleted, as Redis would have dropped the key.

Reads are one statement on the primary key (user, platform, token prefix): the check behind every REST call and
WS connect (`AuthService.parse_token` → `get_platform_tokens`) costs one indexed lookup and no cache, so a kick
is seen by the next request of every process on this database. Expired rows are pruned by `purge_expired`, run
after a write at most every `PRUNE_EVERY_MS` (and by the first write after a start), so the tables hold the live
tokens plus at most a minute of expired ones.

Time comes from `now_ms` (the runtime's clock), never from the database, as the memory store does; this module
knows nothing of JWTs or policies (`services/auth.py`). Every method is one named transaction `token.<method>`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Select, delete, select, update

from openim.protocol.constants import PLATFORM_NAMES
from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.schema import token_state, token_temporary

__all__ = ["PRUNE_EVERY_MS", "TokenRepo", "platform_tokens"]

PRUNE_EVERY_MS = 60_000


class TokenRepo:
    """`TokenStore` in the database; `now_ms` is the clock expiry is judged by."""

    def __init__(self, db: Db, now_ms: Callable[[], int]) -> None:
        self.db = db
        self._now_ms = now_ms
        self._pruned_at: int | None = None  # None: prune at the first write, clearing what expired while stopped

    async def get_platform_tokens(self, user_id: str, platform_name: str) -> dict[str, int]:
        now = self._now_ms()
        async with self.db.read("token.get_platform_tokens") as conn:
            return {token: state for token, state in await conn.execute(platform_tokens(user_id, platform_name, now))}

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
        async with self.db.write("token.set_tokens") as conn:
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
        async with self.db.write("token.delete_tokens") as conn:
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

    async def _prune_now_and_then(self, now: int) -> None:
        # Its own transaction after the write, so the write's locks are released first (no lock-order deadlock
        # between two PostgreSQL writers pruning each other's rows); stamped before awaiting, so one prunes.
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY_MS:
            return
        self._pruned_at = now
        await self.purge_expired()


def platform_tokens(user_id: str, platform_name: str, now: int) -> Select[str, int]:
    """The hot read: token → state of one user and platform still alive at `now`, on the primary key's prefix."""
    return select(token_state.c.token, token_state.c.state).where(
        token_state.c.user_id == user_id,
        token_state.c.platform == platform_name,
        token_state.c.expires_at > now,
    )


def _check_ttl(ttl_s: int) -> None:
    # Redis would delete the key for a TTL <= 0; that is never what a caller of these methods means.
    if ttl_s <= 0:
        raise ValueError(f"ttl_s must be positive, got {ttl_s}")
