"""ThirdService: /third — offline-push tokens, app badges, client log records, and where Grafana is.

Push tokens and badges are what the offline-push work reads later (`fcm_token`, `app_badge`); a token is kept per
(user, platform) with the lifetime the client gives, and removed when that device logs out over the WebSocket
(2003). Client logs are records of files the SDK uploaded to object storage. Rules, stricter than OpenIM where
OpenIM checks nothing (its internal/rpc/third/third.go; docs/protocol/rest.md §4): a user registers tokens and
badges only for itself (admins for anyone); any user uploads its own logs; a user deletes only its own logs, an
admin any; only admins search them.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from openim.infra.clock import Clock
from openim.protocol.constants import PLATFORM_NAMES
from openim.protocol.errors import ArgsError, RecordNotFoundError, ServerInternalError
from openim.services.auth import Caller
from openim.services.paging import Page
from openim.storage import Storage
from openim.storage.rows import ClientLog

__all__ = ["MAX_LOG_FILES", "MAX_LOG_IDS", "LogInfo", "ThirdService"]

MAX_LOG_FILES = 20  # file URLs one upload may record (the SDK sends one zip)
MAX_LOG_IDS = 1000  # log IDs one delete may name (OpenIM's ParamMaxLength)
MAX_TEXT = 2048  # longest token, file name, URL, framework, version or ex accepted
MAX_TOKEN_TTL_S = 10 * 365 * 86400  # a token lifetime beyond ten years is a client bug, not a wish
# OpenIM's default range when a search names neither end: from 2019-01-01 (UTC) to now.
SEARCH_EPOCH_MS = 1_546_300_800_000
_LOG_ID_ATTEMPTS = 20


@dataclass(frozen=True, slots=True)
class LogInfo:
    """A log record as /third/logs/search shows it: the row and its uploader's nickname ("" if unknown)."""

    log: ClientLog
    nickname: str


def _bounded(value: str, what: str) -> str:
    if len(value) > MAX_TEXT:
        raise ArgsError(f"{what} is longer than {MAX_TEXT} characters")
    return value


def _new_log_id() -> str:
    """OpenIM's log ID: ten decimal digits, the first not 0."""
    return str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(9))


class ThirdService:
    """/third's rules over `storage.third`; the Grafana URL is the operator's `prometheus.grafanaURL`."""

    def __init__(self, storage: Storage, clock: Clock, *, grafana_url: str = "") -> None:
        self.storage = storage
        self.clock = clock
        self.grafana_url = grafana_url

    # ---- push tokens ------------------------------------------------------------------------------------------

    async def update_fcm_token(
        self, caller: Caller, account: str, platform_id: int, fcm_token: str, *, expire_time_s: int
    ) -> None:
        """Keep `fcm_token` for (account, platform) for `expire_time_s` seconds (0 = until replaced or logout)."""
        if platform_id not in PLATFORM_NAMES:
            raise ArgsError("platformID is invalidate")  # sic: OpenIM's text
        if not fcm_token:
            raise ArgsError("FcmToken is empty")
        if not account:
            raise ArgsError("account is empty")
        _bounded(fcm_token, "fcmToken")
        if not 0 <= expire_time_s <= MAX_TOKEN_TTL_S:
            raise ArgsError(f"expireTime must be 0 (no expiry) to {MAX_TOKEN_TTL_S} seconds")
        caller.require_self_or_admin(account)
        expire_time = self.clock.now_ms() + expire_time_s * 1000 if expire_time_s else 0
        await self.storage.third.set_fcm_token(account, platform_id, fcm_token, expire_time=expire_time)

    async def fcm_token(self, user_id: str, platform_id: int) -> str | None:
        """The live push token of a user's device, for offline push; None when absent or expired."""
        return await self.storage.third.get_fcm_token(user_id, platform_id, now=self.clock.now_ms())

    async def push_tokens(self, user_id: str, platform_ids: Sequence[int]) -> dict[int, str]:
        """The live push tokens of a user on `platform_ids` (offline push: `infra/pushers` DeviceStore)."""
        return await self.storage.third.get_fcm_tokens(user_id, platform_ids, now=self.clock.now_ms())

    async def drop_push_token(self, user_id: str, platform_id: int, token: str) -> None:
        """The push vendor called `token` invalid: forget it, unless the device registered a newer one since."""
        await self.storage.third.delete_fcm_token_if(user_id, platform_id, token)

    async def logout(self, caller: Caller) -> None:
        """WS 2003: the device logs out, so offline pushes to it stop — its (user, platform) token is removed.

        OpenIM deletes whatever (userID, platformID) the request names; the connection's own identity is used
        here, so a client cannot remove someone else's token.
        """
        await self.storage.third.delete_fcm_token(caller.user_id, caller.platform_id)

    # ---- app badge --------------------------------------------------------------------------------------------

    async def set_app_badge(self, caller: Caller, user_id: str, app_unread_count: int) -> None:
        """Record the unread total the app shows on its icon; offline pushes carry it as the iOS badge."""
        if not user_id:
            raise ArgsError("UserID is empty")
        if app_unread_count < 0:
            raise ArgsError("appUnreadCount must not be negative")
        caller.require_self_or_admin(user_id)
        await self.storage.third.set_badge(user_id, app_unread_count)

    async def app_badge(self, user_id: str) -> int:
        """The badge last set for `user_id`, plus one per badge-counting push since (0 when never set)."""
        return await self.storage.third.get_badge(user_id)

    async def incr_badge(self, user_id: str) -> int:
        """A push that counts the badge (offlinePushInfo.iOSBadgeCount) adds one to it; the new value."""
        return await self.storage.third.incr_badge(user_id)

    # ---- client logs ------------------------------------------------------------------------------------------

    async def upload_logs(
        self,
        caller: Caller,
        platform_id: int,
        files: Sequence[tuple[str, str]],
        *,
        app_framework: str = "",
        version: str = "",
        ex: str = "",
    ) -> None:
        """Record one log per (filename, URL), owned by the caller; platform stored by name, as OpenIM does."""
        if len(files) > MAX_LOG_FILES:
            raise ArgsError(f"fileURLs has more than {MAX_LOG_FILES} entries")
        for filename, url in files:
            _bounded(filename, "fileURLs.filename")
            _bounded(url, "fileURLs.URL")
        _bounded(app_framework, "appFramework")
        _bounded(version, "version")
        _bounded(ex, "ex")
        if not files:
            return
        ids = await self._free_log_ids(len(files))
        now, platform = self.clock.now_ms(), PLATFORM_NAMES.get(platform_id, "")
        rows = [
            ClientLog(log_id, platform, caller.user_id, now, url, filename, "", app_framework, version, ex)
            for log_id, (filename, url) in zip(ids, files, strict=True)
        ]
        await self.storage.third.add_logs(rows)

    async def _free_log_ids(self, n: int) -> list[str]:
        ids: list[str] = []
        for _ in range(_LOG_ID_ATTEMPTS):
            wanted = list(dict.fromkeys(_new_log_id() for _ in range(n - len(ids))))
            taken = await self.storage.third.existing_log_ids(wanted)
            ids += [i for i in wanted if i not in taken and i not in ids]
            if len(ids) == n:
                return ids
        raise ServerInternalError("Log id gen error")

    async def delete_logs(self, caller: Caller, log_ids: Sequence[str]) -> None:
        """Delete the named logs: an admin any, a user only its own; one unknown (or not its own) → 1004, none go."""
        if not log_ids:
            raise ArgsError("logIDs is empty")
        if len(log_ids) > MAX_LOG_IDS:
            raise ArgsError(f"logIDs has more than {MAX_LOG_IDS} IDs")
        owner = None if caller.is_admin else caller.user_id
        found = {r.log_id for r in await self.storage.third.get_logs(log_ids, user_id=owner)}
        missing = [i for i in dict.fromkeys(log_ids) if i not in found]
        if missing:
            # The same answer for "no such log" and "someone else's log": IDs of others are not confirmed.
            raise RecordNotFoundError(f"logIDs not found: {missing}")
        await self.storage.third.delete_logs(log_ids, user_id=owner)

    async def search_logs(
        self, caller: Caller, keyword: str, start: int, end: int, page: Page
    ) -> tuple[int, list[LogInfo]]:
        """Admin only: (total, a page) of logs created in [start, end] whose userID contains `keyword`, newest
        first; start = end = 0 means from 2019-01-01 to now, as in OpenIM."""
        caller.require_admin()
        if start > end:
            raise ArgsError("startTime>endTime")
        if start == 0 and end == 0:
            start, end = SEARCH_EPOCH_MS, self.clock.now_ms()
        _bounded(keyword, "keyword")
        total, logs = await self.storage.third.search_logs(
            keyword, start=start, end=end, offset=page.offset, limit=page.limit
        )
        users = {u.user_id: u for u in await self.storage.user.get_users([r.user_id for r in logs])}
        return total, [LogInfo(r, users[r.user_id].nickname if r.user_id in users else "") for r in logs]
