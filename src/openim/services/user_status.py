"""Online status over REST: get_users_status, subscribe_users_status, get_subscribe_users_status and
get_users_online_token_detail, agreeing with the gateway's WS 2005 flow.

Status comes from `infra.presence` (every gateway's connections, Redis when configured), as the 2005 reply reads
it: status 1 with the online platformIDs, else 0 with none. Subscriptions live where the gateway keeps them: on
the user's live connections of the gateway in *this* process (`Subscriptions`, implemented by `gateway.Hub`), so
a REST subscribe acts as if each of those connections had sent 2005, and its watchers get 2005 pushes when a
watched user's platforms change. Not yet across processes: an API process without a gateway role, or a user
connected to another gateway, has no subscriptions to change or read (subscribe changes nothing, get answers
null). OpenIM's two subscription routes are stubs that answer null; here subscribe answers the subscribed users'
statuses, as 2005 does.

Who: get_users_status any signed-in user (status is public in OpenIM and over 2005; the SDK shows it for any
user), but `userID` when given must be the caller; the subscription routes the user itself or an admin (OpenIM:
anyone); get_users_online_token_detail admin only (OpenIM answers non-admins null).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from openim.infra.presence import Presence
from openim.infra.tokens import TokenStore
from openim.protocol.constants import PLATFORM_NAMES, TokenState
from openim.protocol.errors import ArgsError
from openim.services.auth import Caller

__all__ = ["MAX_STATUS_USERS", "PlatformTokens", "Subscriptions", "UserStatus", "UserStatusMixin"]

MAX_STATUS_USERS = 1000  # user IDs per status request (bounded work per call)


class Subscriptions(Protocol):
    """The 2005 subscriptions of a user's live connections on this process's gateway."""

    def subscribe_user(self, user_id: str, add: Iterable[str], remove: Iterable[str]) -> bool:
        """Change what each live connection of `user_id` watches; False when it has none here."""
        ...

    def subscribed(self, user_id: str) -> list[str]:
        """The users any live connection of `user_id` watches, sorted; [] when none."""
        ...


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
    tokens: TokenStore | None
    subscriptions: Subscriptions | None

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
        if self.subscriptions is not None:
            self.subscriptions.subscribe_user(user_id, add, remove)
        return await self._statuses(user_ids) if genre == 1 else None

    async def subscribed_status(self, caller: Caller, user_id: str) -> list[UserStatus]:
        """The statuses of the users the user's connections watch."""
        if not user_id:
            raise ArgsError("UserID is empty")
        caller.require_self_or_admin(user_id)
        watched = self.subscriptions.subscribed(user_id) if self.subscriptions is not None else []
        return await self._statuses(watched) if watched else []

    async def online_token_detail(self, caller: Caller, user_ids: list[str]) -> list[tuple[str, list[PlatformTokens]]]:
        """For each online user (request order; offline ones left out): per online platform, its valid tokens.

        OpenIM lists the token of each connection (one gateway each); presence knows connections, not their
        tokens, so here a platform lists the tokens in normal state the token store holds for it.
        """
        caller.require_admin()
        _check_ids(user_ids)
        result: list[tuple[str, list[PlatformTokens]]] = []
        for status in await self._statuses(user_ids):
            if not status.online:
                continue
            platforms = []
            for platform_id in status.platform_ids:
                states: dict[str, int] = {}
                name = PLATFORM_NAMES.get(platform_id)
                if self.tokens is not None and name is not None:
                    states = await self.tokens.get_platform_tokens(status.user_id, name)
                tokens = sorted(t for t, s in states.items() if s == TokenState.NORMAL)
                platforms.append(PlatformTokens(platform_id, tokens))
            result.append((status.user_id, platforms))
        return result

    async def _statuses(self, user_ids: list[str]) -> list[UserStatus]:
        online = await self.presence.online_platforms(user_ids)
        return [UserStatus(uid, online.get(uid, [])) for uid in user_ids]


def _check_ids(user_ids: list[str]) -> None:
    if not user_ids:
        raise ArgsError("UserIDs is empty")
    if len(user_ids) > MAX_STATUS_USERS:
        raise ArgsError(f"at most {MAX_STATUS_USERS} userIDs")
