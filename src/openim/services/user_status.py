"""Online status over REST: get_users_status, subscribe_users_status, get_subscribe_users_status and
get_users_online_token_detail, agreeing with the gateway's WS 2005 flow in every process.

Status comes from `infra.presence` (every gateway's connections, Redis when configured), as the 2005 reply reads
it: status 1 with the online platformIDs, else 0 with none. Subscriptions are per gateway connection, as in
OpenIM; presence holds what each live connection watches, so this service reads and changes them from any process:
a REST subscribe changes the set of each live connection of the user in presence and publishes `SubscribeChange` on
the bus, so the gateways holding those connections (any process, through Redis) push them 2005 when a watched
user's platforms change — as if each connection had sent that 2005. get_subscribe_users_status answers the union
over the user's live connections. OpenIM's two subscription routes are stubs that answer null; here subscribe
answers the subscribed users' statuses, as 2005 does. A user with no live connection has nothing to subscribe:
subscribe changes nothing and get answers null.

get_users_online_token_detail lists, per online platform, the token of each live connection (as OpenIM asks every
gateway for its connections' tokens), from presence.

Who: get_users_status any signed-in user (status is public in OpenIM and over 2005; the SDK shows it for any
user), but `userID` when given must be the caller; the subscription routes the user itself or an admin (OpenIM:
anyone); get_users_online_token_detail admin only (OpenIM answers non-admins null).
"""

from __future__ import annotations

from dataclasses import dataclass

from openim.infra.bus import TOPIC_SUBSCRIBE, Bus, SubscribeChange
from openim.infra.presence import Presence
from openim.protocol.errors import ArgsError
from openim.services.auth import Caller

__all__ = ["MAX_STATUS_USERS", "PlatformTokens", "UserStatus", "UserStatusMixin"]

MAX_STATUS_USERS = 1000  # user IDs per status request (bounded work per call)


@dataclass(frozen=True, slots=True)
class UserStatus:
    user_id: str
    platform_ids: list[int]

    @property
    def online(self) -> bool:
        return bool(self.platform_ids)


@dataclass(frozen=True, slots=True)
class PlatformTokens:
    platform_id: int
    tokens: list[str]


class UserStatusMixin:
    """The online-status part of UserService."""

    presence: Presence
    bus: Bus | None

    async def users_status(self, caller: Caller, user_id: str, user_ids: list[str]) -> list[UserStatus]:
        """Each user's online platforms, in request order (OpenIM's GetUserStatus)."""
        _check_ids(user_ids)
        if user_id:
            caller.require_self_or_admin(user_id)
        return await self._statuses(user_ids)

    async def subscribe_status(
        self, caller: Caller, user_id: str, user_ids: list[str], genre: int
    ) -> list[UserStatus] | None:
        """genre 1 watches `user_ids` from the user's connections (answering their statuses), 2 stops watching."""
        if not user_id:
            raise ArgsError("UserID is empty")
        if genre not in (1, 2):
            raise ArgsError("invalid subscription type parameter")
        _check_ids(user_ids)
        caller.require_self_or_admin(user_id)
        add, remove = (user_ids, []) if genre == 1 else ([], user_ids)
        conns = (await self.presence.connections([user_id]))[user_id]
        for _platform, conn_id in conns:
            await self.presence.subscribe(user_id, conn_id, add, remove)
        if conns and self.bus is not None:
            self.bus.publish(TOPIC_SUBSCRIBE, SubscribeChange(user_id, tuple(add), tuple(remove)))
        return await self._statuses(user_ids) if genre == 1 else None

    async def subscribed_status(self, caller: Caller, user_id: str) -> list[UserStatus]:
        """The statuses of the users the user's connections watch."""
        if not user_id:
            raise ArgsError("UserID is empty")
        caller.require_self_or_admin(user_id)
        watched = await self.presence.subscribed(user_id)
        return await self._statuses(watched) if watched else []

    async def online_token_detail(self, caller: Caller, user_ids: list[str]) -> list[tuple[str, list[PlatformTokens]]]:
        """For each online user (request order; offline ones left out): per online platform (ascending), the token
        of each of its live connections, as OpenIM lists each gateway connection's token."""
        caller.require_admin()
        _check_ids(user_ids)
        found = await self.presence.tokens(user_ids)
        result: list[tuple[str, list[PlatformTokens]]] = []
        for user_id in dict.fromkeys(user_ids):
            by_platform: dict[int, list[str]] = {}
            for platform_id, token in found.get(user_id, []):
                by_platform.setdefault(platform_id, []).append(token)
            if by_platform:
                result.append((user_id, [PlatformTokens(p, t) for p, t in sorted(by_platform.items())]))
        return result

    async def _statuses(self, user_ids: list[str]) -> list[UserStatus]:
        online = await self.presence.online_platforms(user_ids)
        return [UserStatus(uid, online.get(uid, [])) for uid in user_ids]


def _check_ids(user_ids: list[str]) -> None:
    if not user_ids:
        raise ArgsError("UserIDs is empty")
    if len(user_ids) > MAX_STATUS_USERS:
        raise ArgsError(f"at most {MAX_STATUS_USERS} userIDs")
