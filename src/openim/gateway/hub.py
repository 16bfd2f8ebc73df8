"""The connections on this node: user_id → platform_id → [Conn], the multi-login policy, presence, 2005 watchers.

Owns docs/protocol/gateway.md §4 at connect time: policy 1 (default) kicks the user's connections on the same platform
whose token differs from the new one; 4 does the same within the platform's class; 5 kicks non-PC connections when the
new one is not PC; 0 kicks nothing. A kicked connection gets 2002 and is closed, and its token is marked kicked through
`AuthService.kick_tokens`, so reconnecting with it fails with 1506. A reconnect with the same token never kicks.

Presence: every registered connection is online in `infra.presence` (with its token) until it is unregistered.

Online-status subscriptions (2005) are per connection, kept here (who watches whom on this node, to push) and in
presence (what each connection watches, so any process can read it: REST get_subscribe_users_status). When the
platforms of a user change on this node — a connection came on a platform it had none on here, or the last one of
a platform went — the hub publishes `StatusChange(user)` on the bus topic "status"; every gateway (this one
included; Redis carries it to the others) reads the user's platforms from presence and sends a 2005 frame to its
connections watching that user. A user connected on one platform through two gateways makes the watchers get a
2005 with unchanged platforms when one of the two connections ends: a repeat the SDKs apply as a no-op. A REST
subscribe_users_status reaches the connections through the topic "subscribe" (`SubscribeChange`).
No I/O of its own beyond the Conn methods and presence; it never awaits while its maps are inconsistent.

Presence refresh: a Redis presence forgets a connection `PRESENCE_TTL_S` after its last registration or refresh,
so the gateway calls `refresh_presence()` every `PRESENCE_REFRESH_INTERVAL_S` (server.py runs the loop, one per
gateway); a connection presence no longer knows (expired during a Redis outage, or Redis lost its data) is
registered again.

Metrics: `openim_gateway_connections{platform}` and `openim_gateway_online_users` follow the maps, changed where
a connection is added or removed.

Webhooks: afterUserOnline when a connection is registered, afterUserOffline when it is gone (kicked ones too),
afterUserKickOff when the multi-login policy or a kick (logout, force_logout, token invalidation) closes one —
OpenIM's bodies (`internal/msggateway/callback.go`: platformID, platform, userID, seq = now in ms, connID;
isAppBackground on line), with the connection's handshake operationID. OpenIM defines afterUserKickOff and never
calls it; openim-py fires it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import Gauge

from openim.gateway.conn import Conn
from openim.gateway.frames import Resp
from openim.infra.bus import TOPIC_STATUS, Bus, StatusChange, SubscribeChange
from openim.infra.presence import Presence
from openim.metrics import GATEWAY_CONNECTIONS, GATEWAY_ONLINE_USERS, child
from openim.protocol.constants import PLATFORM_CLASS, PLATFORM_NAMES, MultiLoginPolicy, ReqIdentifier
from openim.protocol.pb import sdkws_pb2
from openim.services.auth import AuthService
from openim.webhooks import AfterHook, Webhooks

__all__ = ["Hub"]

log = logging.getLogger("openim.gateway")
_PC = PLATFORM_CLASS[3]  # Windows


def _connections(platform_id: int) -> Gauge:
    return child(GATEWAY_CONNECTIONS, PLATFORM_NAMES.get(platform_id, str(platform_id)))


class Hub:
    """Local connection registry of one gateway."""

    def __init__(
        self,
        *,
        auth: AuthService,
        presence: Presence,
        policy: int,
        bus: Bus | None = None,
        hooks: Webhooks | None = None,
        now_ms: Callable[[], int] | None = None,
    ) -> None:
        self._auth = auth
        self._presence = presence
        self._bus = bus  # None: status changes reach this node's watchers only (tests of one gateway)
        self._policy = MultiLoginPolicy(policy)
        self._users: dict[str, dict[int, list[Conn]]] = {}
        self._watchers: dict[str, set[Conn]] = {}  # watched user → connections subscribed to it
        self.count = 0
        self.hooks = hooks or Webhooks.off()
        self._now_ms = now_ms or (lambda: int(time.time() * 1000))
        self._firing: set[asyncio.Task[None]] = set()

    # ---- lookup -------------------------------------------------------------------------------------------

    def conns(self, user_id: str) -> list[Conn]:
        """Every live connection of a user on this node, in registration order per platform."""
        platforms = self._users.get(user_id)
        if not platforms:
            return []
        return [c for conns in platforms.values() for c in conns]

    def conns_of(self, user_ids: Iterable[str]) -> list[Conn]:
        """Every live connection on this node of each of `user_ids` (a user named twice counts once), as `conns`."""
        users = self._users
        return [
            c
            for user_id in dict.fromkeys(user_ids)
            if (platforms := users.get(user_id))
            for conns in platforms.values()
            for c in conns
        ]

    def platforms(self, user_id: str) -> list[int]:
        """The platforms a user is connected on at this node."""
        return sorted(self._users.get(user_id, {}))

    @property
    def user_count(self) -> int:
        return len(self._users)

    def all_conns(self) -> Iterable[Conn]:
        for platforms in self._users.values():
            for conns in platforms.values():
                yield from conns

    # ---- connect and disconnect ---------------------------------------------------------------------------

    async def register(self, conn: Conn) -> None:
        """Add a connection after applying the multi-login policy; mark it online; tell watchers of its user."""
        kicked = self._to_kick(conn)
        before = self.platforms(conn.user_id)
        for old in kicked:
            self._remove(old)
            old.kick()  # its read loop ends, and unregister() marks it offline
        if conn.user_id not in self._users:
            GATEWAY_ONLINE_USERS.inc()
        self._users.setdefault(conn.user_id, {}).setdefault(conn.platform_id, []).append(conn)
        self.count += 1
        _connections(conn.platform_id).inc()
        if kicked:
            log.info("%r kicks %s (multiLogin policy %d)", conn, kicked, self._policy)
            await self._auth.kick_tokens(sorted({old.token for old in kicked}))
            if self.hooks.after_user_kick_off.enable:
                for old in kicked:
                    await self._fire(self.hooks.after_user_kick_off, old)
        conn.online = True
        await self._presence.set_online(
            conn.user_id, conn.platform_id, conn.conn_id, conn.token, background=conn.background
        )
        if self.hooks.after_user_online.enable:
            await self._fire(self.hooks.after_user_online, conn, isAppBackground=conn.background, connID=conn.conn_id)
        if self.platforms(conn.user_id) != before:
            await self._status_changed(conn.user_id)

    async def set_background(self, conn: Conn, background: bool) -> None:
        """The app of `conn` went to background or came back (2004): shared through presence, where offline push
        reads it (an iOS connection in background gets no online push, so it gets the offline one)."""
        conn.background = background
        if conn.online:
            await self._presence.set_background(conn.user_id, conn.platform_id, conn.conn_id, background)

    async def unregister(self, conn: Conn) -> None:
        """Forget a connection that ended (a kicked one was removed already); mark it offline with its
        subscriptions; tell watchers when its platform has no other connection here."""
        self.subscribe(conn, (), list(conn.subscriptions))
        self._remove(conn)
        if conn.online:
            conn.online = False
            await self._presence.set_offline(conn.user_id, conn.platform_id, conn.conn_id)
            if self.hooks.after_user_offline.enable:
                await self._fire(self.hooks.after_user_offline, conn, connID=conn.conn_id)
            if conn.platform_id not in self._users.get(conn.user_id, {}):
                await self._status_changed(conn.user_id)

    def set_policy(self, policy: int) -> None:
        """Apply a new multi-login policy to connections from now on (config reload)."""
        self._policy = MultiLoginPolicy(policy)

    def _remove(self, conn: Conn) -> bool:
        platforms = self._users.get(conn.user_id)
        conns = platforms.get(conn.platform_id) if platforms else None
        if platforms is None or conns is None or conn not in conns:
            return False
        conns.remove(conn)
        if not conns:
            del platforms[conn.platform_id]
            if not platforms:
                del self._users[conn.user_id]
                GATEWAY_ONLINE_USERS.dec()
        self.count -= 1
        _connections(conn.platform_id).dec()
        return True

    def _to_kick(self, new: Conn) -> list[Conn]:
        """The existing connections the new one replaces under the policy (never those with the same token)."""
        policy = self._policy
        if policy == MultiLoginPolicy.DEFAULT_NOT_KICK:
            return []
        existing = self.conns(new.user_id)
        if policy == MultiLoginPolicy.ALL_LOGIN_BUT_SAME_TERM_KICK:
            same = [c for c in existing if c.platform_id == new.platform_id]
        elif policy == MultiLoginPolicy.ALL_LOGIN_BUT_SAME_CLASS_KICK:
            same = [c for c in existing if PLATFORM_CLASS[c.platform_id] == PLATFORM_CLASS[new.platform_id]]
        else:  # PC_AND_OTHER
            if PLATFORM_CLASS[new.platform_id] == _PC:
                return []
            same = [c for c in existing if PLATFORM_CLASS[c.platform_id] != _PC]
        return [c for c in same if c.token != new.token]

    def kick(self, user_id: str, platform_id: int, tokens: Iterable[str] = ()) -> list[Conn]:
        """Kick the user's connections on a platform, only those logged in with `tokens` if any are given."""
        wanted = set(tokens)
        victims = [c for c in self._users.get(user_id, {}).get(platform_id, []) if not wanted or c.token in wanted]
        for conn in victims:
            self._remove(conn)
            conn.kick()
            if self.hooks.after_user_kick_off.enable:  # called from a bus callback: queue it from a task
                task = asyncio.ensure_future(self._fire(self.hooks.after_user_kick_off, conn))
                self._firing.add(task)
                task.add_done_callback(self._firing.discard)
        return victims

    async def _fire(self, hook: AfterHook, conn: Conn, **extra: Any) -> None:
        """Queue a connection hook: UserStatusCallbackReq, seq (ms) and the hook's own fields."""
        body = {
            "callbackCommand": "",
            "operationID": conn.operation_id,
            "platformID": conn.platform_id,
            "platform": PLATFORM_NAMES.get(conn.platform_id, ""),
            "userID": conn.user_id,
            "seq": self._now_ms(),
            **extra,
        }
        await hook.fire(body, operation_id=conn.operation_id)

    async def refresh_presence(self, *, concurrency: int = 64) -> int:
        """Refresh every live connection in presence; register again those it lost. Returns how many were lost."""
        conns = [c for c in self.all_conns() if c.online]
        lost = 0

        async def refresh(conn: Conn) -> None:
            nonlocal lost
            if await self._presence.refresh(conn.user_id, conn.platform_id, conn.conn_id) or not conn.online:
                return
            lost += 1  # still ours (checked after the await: it may have ended meanwhile)
            await self._presence.set_online(
                conn.user_id, conn.platform_id, conn.conn_id, conn.token, background=conn.background
            )
            if conn.subscriptions:  # expired with the registration
                await self._presence.subscribe(conn.user_id, conn.conn_id, sorted(conn.subscriptions), ())

        for start in range(0, len(conns), concurrency):
            await asyncio.gather(*(refresh(c) for c in conns[start : start + concurrency]))
        if lost:
            log.warning("presence had lost %d of %d live connection(s): registered again", lost, len(conns))
        return lost

    # ---- online-status subscriptions (2005) ---------------------------------------------------------------

    def subscribe(self, conn: Conn, add: Iterable[str], remove: Iterable[str]) -> None:
        """Change the set of users a connection watches (OpenIM Subscription.Sub)."""
        for user_id in remove:
            conn.subscriptions.discard(user_id)
            watchers = self._watchers.get(user_id)
            if watchers is not None:
                watchers.discard(conn)
                if not watchers:
                    del self._watchers[user_id]
        if conn.closing:
            return
        for user_id in add:
            if user_id:
                conn.subscriptions.add(user_id)
                self._watchers.setdefault(user_id, set()).add(conn)

    async def subscribe_conn(self, conn: Conn, add: Iterable[str], remove: Iterable[str]) -> None:
        """WS 2005: change what a connection watches, here and in presence (where REST reads it)."""
        add, remove = list(add), list(remove)
        self.subscribe(conn, add, remove)
        if not conn.closing:
            await self._presence.subscribe(conn.user_id, conn.conn_id, add, remove)

    def on_subscribe_change(self, event: object) -> None:
        """Bus topic "subscribe" (REST subscribe_users_status): each live connection of the user here watches as
        told; presence holds the new sets already (the API process wrote them)."""
        if isinstance(event, SubscribeChange):
            for conn in self.conns(event.user_id):
                self.subscribe(conn, event.add, event.remove)

    async def on_status_change(self, event: object) -> None:
        """Bus topic "status": send the user's platforms, as presence has them now, to its watchers here."""
        if isinstance(event, StatusChange):
            await self._notify_watchers(event.user_id)

    async def online_platforms(self, user_ids: list[str]) -> dict[str, list[int]]:
        """Platforms each user is online on, as presence knows it (all nodes)."""
        return await self._presence.online_platforms(user_ids)

    async def _status_changed(self, user_id: str) -> None:
        if self._bus is not None:
            self._bus.publish(TOPIC_STATUS, StatusChange(user_id))
        else:
            await self._notify_watchers(user_id)

    async def _notify_watchers(self, user_id: str) -> None:
        watchers = self._watchers.get(user_id)
        if not watchers:
            return
        platforms = (await self._presence.online_platforms([user_id])).get(user_id, [])
        tips = sdkws_pb2.SubUserOnlineStatusTips(
            subscribers=[sdkws_pb2.SubUserOnlineStatusElem(userID=user_id, onlinePlatformIDs=platforms)]
        )
        resp = Resp(
            req_identifier=int(ReqIdentifier.SUB_USER_ONLINE_STATUS),
            msg_incr="",
            operation_id="",
            err_code=0,
            err_msg="",
            data=tips.SerializeToString(),
        )
        for conn in list(watchers):
            conn.send(resp)
