"""Notification accounts (OpenIM's add/update/search_notification_account): users with appMangerLevel >= 3.

They are ordinary rows of `user` with a manager level OpenIM reserves to system senders (3 notification, 4 robot).
What OpenIM does with them, and openim-py too: they get no user token (auth: 1001 "app account can`t get token");
an admin sends as them through /msg/send_msg, and their messages skip the blacklist and friendship checks (level
>= 2, services/msg/send.py); only they (and imAdmins) may send OANotification (1400, sessionType 4); /user/get_users
never lists them. All three routes are admin only (1002), as in OpenIM.

Differences on purpose: update_notification_account changes only notification accounts (OpenIM changes any user's
nickname and face with it, skipping the 1303 and profile notifications update_user_info sends); a given userID is
checked as at registration (no ':', at most 64 characters); search pages in the database, not in memory.
"""

from __future__ import annotations

import secrets

from openim.infra.clock import Clock
from openim.protocol.constants import AppManagerLevel
from openim.protocol.errors import ArgsError, ServerInternalError
from openim.services.auth import Caller
from openim.services.paging import Page
from openim.storage import Storage
from openim.storage.rows import User

__all__ = ["MAX_USER_ID_LEN", "NotificationAccountMixin", "check_user_id"]

MAX_USER_ID_LEN = 64
_GEN_TRIES = 20  # OpenIM's
_INT32_MAX = 2**31 - 1


class NotificationAccountMixin:
    """The notification-account part of UserService."""

    storage: Storage
    clock: Clock

    async def add_notification_account(
        self, caller: Caller, user_id: str, nickname: str, face_url: str, level: int
    ) -> User:
        """Create a notification account; an empty userID gets a fresh 10-digit one. 1001 if the userID is used."""
        if not nickname:
            raise ArgsError("nickName is empty")
        caller.require_admin()
        if not AppManagerLevel.APP_NOTIFICATION_ADMIN <= level <= _INT32_MAX:
            raise ArgsError("app level not supported")
        if user_id:
            check_user_id(user_id)
            if await self.storage.user.get_user(user_id) is not None:
                raise ArgsError("userID is used")
        else:
            for _ in range(_GEN_TRIES):
                candidate = _gen_user_id()
                if await self.storage.user.get_user(candidate) is None:
                    user_id = candidate
                    break
            else:
                raise ServerInternalError("gen user id failed")
        account = User(
            user_id=user_id,
            nickname=nickname,
            face_url=face_url,
            ex="",
            app_manager_level=level,
            global_recv_msg_opt=0,
            create_time=self.clock.now_ms(),
        )
        await self.storage.user.create_users([account])  # a race on the same userID: 1102 RegisteredAlready
        return account

    async def update_notification_account(self, caller: Caller, user_id: str, nickname: str, face_url: str) -> None:
        """Change a notification account's nickname and/or face ("" = unchanged); 1001 for any other userID."""
        if not user_id:
            raise ArgsError("userID is empty")
        if not nickname and not face_url:
            raise ArgsError("faceURL and nickName is empty at the same")
        caller.require_admin()
        account = await self.storage.user.get_user(user_id)
        if account is None or account.app_manager_level < AppManagerLevel.APP_NOTIFICATION_ADMIN:
            raise ArgsError(f"{user_id} is not a notification account")
        await self.storage.user.update_user(user_id, nickname=nickname or None, face_url=face_url or None)

    async def search_notification_accounts(
        self, caller: Caller, keyword: str, level: int | None, page: Page
    ) -> tuple[int, list[User]]:
        """OpenIM's search: `keyword` as an exact userID, else as an exact nickname; none = every account.

        Only accounts of level >= 3 (exactly `level` when given); imAdmins are level 2, so never listed.
        """
        caller.require_admin()
        accounts = self.storage.user.page_accounts
        min_level = int(AppManagerLevel.APP_NOTIFICATION_ADMIN)
        if not keyword:
            return await accounts(page.offset, page.limit, min_level=min_level, level=level)
        total, found = await accounts(page.offset, page.limit, min_level=min_level, level=level, user_id=keyword)
        if total:
            return total, found
        return await accounts(page.offset, page.limit, min_level=min_level, level=level, nickname=keyword)


def _gen_user_id() -> str:
    """Ten decimal digits, the first not 0 (OpenIM's genUserID)."""
    return str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(9))


def check_user_id(user_id: str) -> None:
    """A userID as registration accepts it: given, no ':', at most MAX_USER_ID_LEN characters."""
    if not user_id:
        raise ArgsError("userID is empty")
    if ":" in user_id:
        raise ArgsError("userID contains ':' is invalid userID")
    if len(user_id) > MAX_USER_ID_LEN:
        raise ArgsError(f"userID longer than {MAX_USER_ID_LEN} characters")
