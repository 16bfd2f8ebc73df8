"""User service: registration, profiles, the global receive option, listing and client config; user commands,
notification accounts and online status come from its mixins (`user_command`, `notification_account`,
`user_status`).

Who may call what follows OpenIM (`internal/rpc/user/*.go`), except where OpenIM lets any token holder list or
change other users' data (OpenIM issue #3314; docs/protocol/rest.md §4): listing all users and setting another user's
receive option need admin or the user itself here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from openim.infra.bus import Bus
from openim.infra.clock import Clock
from openim.infra.presence import Presence
from openim.infra.tokens import TokenStore
from openim.protocol.constants import ContentType
from openim.protocol.errors import ArgsError, RecordNotFoundError
from openim.protocol.pb import sdkws_pb2
from openim.services.auth import Caller
from openim.services.notification import NotificationSender
from openim.services.notification_account import MAX_USER_ID_LEN, NotificationAccountMixin, check_user_id
from openim.services.paging import Page
from openim.services.user_command import UserCommandMixin
from openim.services.user_status import UserStatusMixin
from openim.storage import Storage
from openim.storage.rows import ClientConfigEntry, User
from openim.webhooks import Webhooks
from openim.webhooks.bodies import user_info_body, users_answer, wrapped_strings_answer

__all__ = ["MAX_USER_ID_LEN", "ProfileListener", "UserDraft", "UserService"]

# Called when a user's nickname or face changed: (caller, userID, operationID=...). The friend and group
# services register theirs in runtime.py (1209 to friends, 1516 in groups showing the profile); they sit beside
# this service, so it does not call them by name.
ProfileListener = Callable[..., Awaitable[None]]

RECV_MSG_OPTS = (0, 1, 2)  # receive, don't receive, receive without offline push


@dataclass(frozen=True, slots=True)
class UserDraft:
    """A user as the register call describes it, before the server stamps its creation time."""

    user_id: str
    nickname: str
    face_url: str = ""
    ex: str = ""
    app_manager_level: int = 0
    global_recv_msg_opt: int = 0


@dataclass(frozen=True, slots=True)
class AccountStatus:
    user_id: str
    registered: bool


@dataclass(frozen=True, slots=True)
class OnlineStatus:
    """A user's live connections across the deployment, as (platform_id, conn_id, background); none = offline."""

    user_id: str
    connections: list[tuple[int, str, bool]]


class UserService(UserCommandMixin, NotificationAccountMixin, UserStatusMixin):
    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        presence: Presence,
        notifications: NotificationSender | None = None,
        profile_listeners: Sequence[ProfileListener] = (),
        *,
        bus: Bus | None = None,
        tokens: TokenStore | None = None,
        hooks: Webhooks | None = None,
    ) -> None:
        self.storage = storage
        self.hooks = hooks or Webhooks.off()
        self.clock = clock
        self.presence = presence
        self.notifications = notifications
        self.profile_listeners = list(profile_listeners)
        self.bus = bus  # REST subscriptions reach the gateways' connections through it (user_status.py)

    async def register(self, caller: Caller, users: list[UserDraft], *, operation_id: str = "") -> None:
        """Admin only. beforeUserRegister may refuse or replace the list (checked again: OpenIM does not);
        afterUserRegister hears of the users created."""
        caller.require_admin()
        _check_drafts(users)
        if self.hooks.before_user_register.enable:
            body: dict[str, Any] = {"callbackCommand": "", "users": [user_info_body(_user_info(d)) for d in users]}
            replaced = await self.hooks.before_user_register.ask(body, users_answer, operation_id=operation_id)
            if replaced:
                users = [
                    UserDraft(u.userID, u.nickname, u.faceURL, u.ex, u.appMangerLevel, u.globalRecvMsgOpt)
                    for u in replaced
                ]
                _check_drafts(users)
        now = self.clock.now_ms()
        await self.storage.user.create_users(
            [
                User(
                    user_id=d.user_id,
                    nickname=d.nickname,
                    face_url=d.face_url,
                    ex=d.ex,
                    app_manager_level=d.app_manager_level,
                    global_recv_msg_opt=d.global_recv_msg_opt,
                    create_time=now,
                )
                for d in users
            ]
        )
        if self.hooks.after_user_register.enable:
            body = {"callbackCommand": "", "users": [user_info_body(_user_info(d)) for d in users]}
            await self.hooks.after_user_register.fire(body, operation_id=operation_id)

    async def update_info(
        self,
        caller: Caller,
        user_id: str,
        *,
        nickname: str | None = None,
        face_url: str | None = None,
        ex: str | None = None,
        global_recv_msg_opt: int | None = None,
        operation_id: str = "",
        webhook: Literal["plain", "ex"] | None = None,
    ) -> User:
        """Change the given fields (None = unchanged); the user itself or an admin. Notifies as OpenIM does.

        `webhook` names the route's hooks: "plain" (update_user_info: beforeUpdateUserInfo, whose empty answers
        leave a field as it is) or "ex" (update_user_info_ex: beforeUpdateUserInfoEx, where "" sets a field);
        their answer's nickName, faceURL and ex replace the request's.
        """
        if not user_id:
            raise ArgsError("userID is empty")
        caller.require_self_or_admin(user_id)
        if global_recv_msg_opt is not None:
            _check_recv_opt(global_recv_msg_opt)
        before_hook = self.hooks.before_update_user_info_ex if webhook == "ex" else self.hooks.before_update_user_info
        if webhook is not None and before_hook.enable:
            body = _profile_body(user_id, nickname, face_url, ex, plain=webhook == "plain")
            changes = await before_hook.ask(body, _PROFILE_ANSWER, operation_id=operation_id) or {}
            nickname = changes.get("nickName", nickname)
            face_url = changes.get("faceURL", face_url)
            ex = changes.get("ex", ex)
            if webhook == "plain":  # update_user_info leaves empty fields as they are
                nickname, face_url, ex = nickname or None, face_url or None, ex or None
        before = await self.storage.user.get_user(user_id)
        updated = await self.storage.user.update_user(
            user_id, nickname=nickname, face_url=face_url, ex=ex, global_recv_msg_opt=global_recv_msg_opt
        )
        if before is None or updated is None:
            raise RecordNotFoundError(f"user {user_id} not found")
        await self._announce(caller, before, updated, operation_id=operation_id)
        after_hook = self.hooks.after_update_user_info_ex if webhook == "ex" else self.hooks.after_update_user_info
        if webhook is not None and after_hook.enable:
            body = _profile_body(user_id, nickname, face_url, ex, plain=webhook == "plain")
            await after_hook.fire(body, operation_id=operation_id)
        return updated

    async def _announce(self, caller: Caller, before: User, after: User, *, operation_id: str) -> None:
        """1303 to the user's own devices always (as OpenIM); friends and groups hear of a new nickname or face."""
        if self.notifications is not None:
            tips = sdkws_pb2.UserInfoUpdatedTips(userID=after.user_id)
            await self.notifications.notify(
                caller.user_id,
                after.user_id,
                ContentType.USER_INFO_UPDATED_NOTIFICATION,
                tips,
                operation_id=operation_id,
            )
        if (before.nickname, before.face_url) != (after.nickname, after.face_url):
            for listener in self.profile_listeners:
                await listener(caller, after.user_id, operation_id=operation_id)

    async def set_global_recv_msg_opt(self, caller: Caller, user_id: str, opt: int) -> None:
        await self.update_info(caller, user_id, global_recv_msg_opt=opt)

    async def get_users_info(self, caller: Caller, user_ids: list[str]) -> list[User]:
        """Public profiles of the given users, unknown ones omitted; any signed-in user may ask (the SDK does)."""
        del caller  # any valid token
        if not user_ids:
            raise ArgsError("userIDs is empty")
        return list((await self.storage.facts.users(user_ids)).values())  # in memory once read (storage/facts.py)

    async def get_all_user_ids(self, caller: Caller, page: Page) -> tuple[int, list[str]]:
        caller.require_admin()
        return await self.storage.user.page_user_ids(page.offset, page.limit)

    async def get_users(
        self, caller: Caller, page: Page, *, user_id: str = "", nickname: str = ""
    ) -> tuple[int, list[User]]:
        """Ordinary users (manager level 0 or 1), optionally matching a userID or nickname fragment; admin only."""
        caller.require_admin()
        keyword = user_id or nickname
        return await self.storage.user.page_users(page.offset, page.limit, keyword=keyword)

    async def account_check(self, caller: Caller, user_ids: list[str]) -> list[AccountStatus]:
        caller.require_admin()
        if not user_ids:
            raise ArgsError("checkUserIDs is empty")
        if len(set(user_ids)) != len(user_ids):
            raise ArgsError("userID repeated")
        existing = await self.storage.user.existing_ids(user_ids)
        return [AccountStatus(uid, uid in existing) for uid in user_ids]

    async def online_status(self, caller: Caller, user_ids: list[str]) -> list[OnlineStatus]:
        """Where each user is connected, in request order; admin only (it reveals every user's devices)."""
        caller.require_admin()
        if not user_ids:
            raise ArgsError("userIDs is empty")
        found = await self.presence.states(user_ids)
        return [OnlineStatus(uid, found.get(uid, [])) for uid in user_ids]

    async def get_client_config(self, caller: Caller, user_id: str) -> dict[str, str]:
        """The global client config overlaid with the user's; "" asks for the global one only."""
        if user_id:
            caller.require_self_or_admin(user_id)
            if await self.storage.user.get_user(user_id) is None:
                raise RecordNotFoundError(f"user {user_id} not found")
        return await self.storage.config.get_configs(user_id)

    async def set_client_config(self, caller: Caller, user_id: str, configs: dict[str, str]) -> None:
        caller.require_admin()
        if not configs:
            raise ArgsError("configs is empty")
        await self._require_user_or_global(user_id)
        await self.storage.config.set_configs(user_id, configs)

    async def del_client_config(self, caller: Caller, user_id: str, keys: list[str]) -> None:
        caller.require_admin()
        if not keys:
            raise ArgsError("keys is empty")
        await self.storage.config.delete_configs(user_id, keys)

    async def page_client_config(
        self, caller: Caller, user_id: str, key: str, page: Page
    ) -> tuple[int, list[ClientConfigEntry]]:
        caller.require_admin()
        return await self.storage.config.page_configs(user_id, key, page.offset, page.limit)

    async def _require_user_or_global(self, user_id: str) -> None:
        if user_id and await self.storage.user.get_user(user_id) is None:
            raise RecordNotFoundError(f"user {user_id} not found")


def _check_recv_opt(opt: int) -> None:
    if opt not in RECV_MSG_OPTS:
        raise ArgsError(f"globalRecvMsgOpt must be 0, 1 or 2, not {opt}")


_PROFILE_ANSWER = wrapped_strings_answer("nickName", "faceURL", "ex")


def _check_drafts(users: Sequence[UserDraft]) -> None:
    if not users:
        raise ArgsError("users is empty")
    ids = [u.user_id for u in users]
    if len(set(ids)) != len(ids):
        raise ArgsError("userID repeated")
    for draft in users:
        check_user_id(draft.user_id)
        if not draft.nickname:
            raise ArgsError(f"nickname is empty (userID {draft.user_id})")
        _check_recv_opt(draft.global_recv_msg_opt)


def _user_info(draft: UserDraft) -> sdkws_pb2.UserInfo:
    return sdkws_pb2.UserInfo(
        userID=draft.user_id,
        nickname=draft.nickname,
        faceURL=draft.face_url,
        ex=draft.ex,
        appMangerLevel=draft.app_manager_level,
        globalRecvMsgOpt=draft.global_recv_msg_opt,
    )


def _profile_body(
    user_id: str, nickname: str | None, face_url: str | None, ex: str | None, *, plain: bool
) -> dict[str, Any]:
    """The body of the (before|after)UpdateUserInfo(Ex) hooks: plain sends strings ("" = unchanged), Ex sends the
    wrapper fields as a string or null. OpenIM leaves `ex` out of these bodies (null or ""); openim-py sends it."""
    if plain:
        return {"callbackCommand": "", "userID": user_id, "nickName": nickname or "", "faceURL": face_url or "",
                "ex": ex or ""}  # fmt: skip
    return {"callbackCommand": "", "userID": user_id, "nickName": nickname, "faceURL": face_url, "ex": ex}
