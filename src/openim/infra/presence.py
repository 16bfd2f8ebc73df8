"""Presence: which users have live connections, on which platforms — shared by every gateway of a deployment.

A user is online on a platform while at least one connection (`conn_id`, unique per gateway connection) is
registered for it. Gateways call `set_online` when a connection is accepted and `set_offline` when it ends;
the msg path asks `online_platforms` (offline push, 2005 online-status replies). Calls are idempotent:
registering a connection twice or removing an unknown one changes nothing.

Each registration also carries whether the app is in background (a connection starts in foreground, as in
OpenIM; its 2004 requests change it: `set_background`): an iOS connection in background gets no online push, so offline
push treats it as offline, as OpenIM does; `states` reads it (and `get_users_online_status` shows it).

Each registration also carries the token the connection logged in with (`get_users_online_token_detail` lists
them, as OpenIM lists each gateway connection's token) and the set of users the connection watches for online
status changes (WS 2005 subscriptions, and REST `subscribe_users_status` acting on the user's connections), so
that any process — an API process without a gateway, another gateway — reads them. Both end with the connection
(`set_offline`).

`MemoryPresence` serves one process. The Redis implementation (`infra/redis/presence.py`, scale-out) keeps the
same contract, and registers each connection for `PRESENCE_TTL_S` only: a gateway calls `refresh` for each of its
live connections every `PRESENCE_REFRESH_INTERVAL_S`, so the connections of a node that crashed (and never called
`set_offline`) read as offline at most `PRESENCE_TTL_S` after its last refresh. The interval is a third of the TTL,
so a live connection survives one lost refresh, or a slow one, with a whole interval to spare.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from openim.protocol.constants import ANDROID, IOS

__all__ = ["PRESENCE_REFRESH_INTERVAL_S", "PRESENCE_TTL_S", "MemoryPresence", "Presence"]

PRESENCE_TTL_S = 90  # a registered connection not refreshed for this long reads as offline (Redis)
PRESENCE_REFRESH_INTERVAL_S = 30  # how often a gateway refreshes each live connection


class Presence(Protocol):
    async def set_online(
        self, user_id: str, platform_id: int, conn_id: str, token: str = "", *, background: bool = False
    ) -> None:
        """Register connection `conn_id` of `user_id` on `platform_id`, logged in with `token`, in background or
        not."""
        ...

    async def set_background(self, user_id: str, platform_id: int, conn_id: str, background: bool) -> None:
        """Mark a registered connection as in background or not; nothing for one that is not registered."""
        ...

    async def set_offline(self, user_id: str, platform_id: int, conn_id: str) -> None:
        """Forget connection `conn_id` with its token and subscriptions; the platform goes offline when its last
        connection does."""
        ...

    async def refresh(self, user_id: str, platform_id: int, conn_id: str) -> bool:
        """Keep a registered connection alive for another TTL; whether it was still registered.

        Never registers: after `set_offline` (or, in Redis, after the TTL ran out) this returns False and changes
        nothing, so a refresh racing with the connection's end cannot resurrect it. A gateway that gets False
        for a connection it still holds registers it again with `set_online`.
        """
        ...

    async def online_platforms(self, user_ids: Iterable[str]) -> dict[str, list[int]]:
        """For each requested user, its online platform IDs sorted ascending ([] when offline)."""
        ...

    async def connections(self, user_ids: Iterable[str]) -> dict[str, list[tuple[int, str]]]:
        """For each requested user, its live (platform_id, conn_id) pairs sorted ascending ([] when offline)."""
        ...

    async def states(self, user_ids: Iterable[str]) -> dict[str, list[tuple[int, str, bool]]]:
        """For each requested user, its live (platform_id, conn_id, background) sorted ascending ([] when offline)."""
        ...

    async def pushed_on_mobile(self, user_ids: Iterable[str]) -> set[str]:
        """Those of `user_ids` with a live Android connection, or an iOS one not in background: the users whose
        phone took the online push, so an offline push skips them (jobs/offline_push.py)."""
        ...

    async def tokens(self, user_ids: Iterable[str]) -> dict[str, list[tuple[int, str]]]:
        """For each requested user, the (platform_id, token) of each live connection, sorted ([] when offline).

        A token appears once per connection that logged in with it ("" when the gateway gave none).
        """
        ...

    async def subscribe(self, user_id: str, conn_id: str, add: Iterable[str], remove: Iterable[str]) -> None:
        """Change the set of users connection `conn_id` of `user_id` watches: `remove` first, then `add`."""
        ...

    async def subscribed(self, user_id: str) -> list[str]:
        """The users any live connection of `user_id` watches, sorted, each once ([] when none)."""
        ...


class MemoryPresence:
    """The in-process Presence: user → platform → connection IDs."""

    def __init__(self) -> None:
        self._conns: dict[str, dict[int, set[str]]] = {}
        self._tokens: dict[str, str] = {}  # conn_id → token
        self._watching: dict[str, set[str]] = {}  # conn_id → watched user IDs
        self._background: set[str] = set()  # conn_ids in background
        # Users whose phone takes online pushes (see pushed_on_mobile), kept as connections change: the offline
        # push of a group message asks it for every member, so the answer is one set intersection.
        self._on_mobile: set[str] = set()

    async def set_online(
        self, user_id: str, platform_id: int, conn_id: str, token: str = "", *, background: bool = False
    ) -> None:
        """Register connection `conn_id` of `user_id` on `platform_id`, logged in with `token`."""
        self._conns.setdefault(user_id, {}).setdefault(platform_id, set()).add(conn_id)
        self._tokens[conn_id] = token
        await self.set_background(user_id, platform_id, conn_id, background)

    async def set_background(self, user_id: str, platform_id: int, conn_id: str, background: bool) -> None:
        """Mark a registered connection as in background or not."""
        if background and conn_id in self._conns.get(user_id, {}).get(platform_id, ()):
            self._background.add(conn_id)
        else:
            self._background.discard(conn_id)
        self._recount_mobile(user_id)

    def _recount_mobile(self, user_id: str) -> None:
        platforms = self._conns.get(user_id)
        if platforms and (ANDROID in platforms or any(c not in self._background for c in platforms.get(IOS, ()))):
            self._on_mobile.add(user_id)
        else:
            self._on_mobile.discard(user_id)

    async def set_offline(self, user_id: str, platform_id: int, conn_id: str) -> None:
        """Forget connection `conn_id`; empty platforms and users are dropped."""
        platforms = self._conns.get(user_id)
        if platforms is None:
            return
        conns = platforms.get(platform_id)
        if conns is None:
            return
        conns.discard(conn_id)
        self._tokens.pop(conn_id, None)
        self._watching.pop(conn_id, None)
        self._background.discard(conn_id)
        if not conns:
            del platforms[platform_id]
        if not platforms:
            del self._conns[user_id]
        self._recount_mobile(user_id)

    async def refresh(self, user_id: str, platform_id: int, conn_id: str) -> bool:
        """In memory nothing expires: only report whether the connection is registered."""
        return conn_id in self._conns.get(user_id, {}).get(platform_id, ())

    async def online_platforms(self, user_ids: Iterable[str]) -> dict[str, list[int]]:
        """For each requested user, its online platform IDs sorted ascending ([] when offline)."""
        return {u: sorted(self._conns.get(u, {})) for u in dict.fromkeys(user_ids)}

    async def connections(self, user_ids: Iterable[str]) -> dict[str, list[tuple[int, str]]]:
        """For each requested user, its live (platform_id, conn_id) pairs sorted ascending ([] when offline)."""
        return {
            u: sorted((pid, conn) for pid, conns in self._conns.get(u, {}).items() for conn in conns)
            for u in dict.fromkeys(user_ids)
        }

    async def states(self, user_ids: Iterable[str]) -> dict[str, list[tuple[int, str, bool]]]:
        """For each requested user, its live (platform_id, conn_id, background) sorted ascending ([] when offline)."""
        return {
            u: sorted((pid, c, c in self._background) for pid, conns in self._conns.get(u, {}).items() for c in conns)
            for u in dict.fromkeys(user_ids)
        }

    async def pushed_on_mobile(self, user_ids: Iterable[str]) -> set[str]:
        """Those of `user_ids` with a live Android connection, or an iOS one not in background."""
        return self._on_mobile.intersection(user_ids)

    async def tokens(self, user_ids: Iterable[str]) -> dict[str, list[tuple[int, str]]]:
        """For each requested user, the (platform_id, token) of each live connection, sorted ([] when offline)."""
        return {
            u: sorted((pid, self._tokens.get(c, "")) for pid, conns in self._conns.get(u, {}).items() for c in conns)
            for u in dict.fromkeys(user_ids)
        }

    async def subscribe(self, user_id: str, conn_id: str, add: Iterable[str], remove: Iterable[str]) -> None:
        """Change what connection `conn_id` watches; a connection that is not registered keeps nothing."""
        if not any(conn_id in conns for conns in self._conns.get(user_id, {}).values()):
            return
        watching = self._watching.setdefault(conn_id, set())
        watching.difference_update(remove)
        watching.update(a for a in add if a)
        if not watching:
            del self._watching[conn_id]

    async def subscribed(self, user_id: str) -> list[str]:
        """The users any live connection of `user_id` watches, sorted."""
        conns = [c for cs in self._conns.get(user_id, {}).values() for c in cs]
        return sorted({w for c in conns for w in self._watching.get(c, ())})
