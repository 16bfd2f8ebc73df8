"""Offline push providers: `Pusher` is what the msgtransfer role hands a decided offline push (`Notice`) to.

One provider runs per deployment, chosen by `push.enable` (runtime.py builds it): `log` (the default: one log
line per push, nothing leaves the process), `webhook` (a JSON POST to the app server, `webhook.py`), and OpenIM's
three vendors — `fcm` (Firebase Cloud Messaging HTTP v1, `fcm.py`), `jpush` (JPush REST v3, `jpush.py`) and
`getui` (Getui REST v2, `getui.py`). Who gets a push and what it says is decided before a provider is called
(`jobs/offline_push.py`); a provider only delivers. A provider raises `PushError` when the push should be tried
again (network error, the vendor's 5xx or 429, an expired credential that could not be renewed); the worker
retries the job with backoff and keeps it as a dead letter in the end. Device tokens and badges come from
`DeviceStore` (the /third data: `fcm_update_token`, `set_app_badge`); a token the vendor calls invalid is removed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from openim.protocol.pb.sdkws_pb2 import MsgData

__all__ = ["DeviceStore", "LogPusher", "Notice", "PushError", "Pusher", "ios_badge"]

logger = logging.getLogger("openim.infra.pushers")


@dataclass(frozen=True, slots=True)
class Notice:
    """One offline push: who gets it, what the notification shows, and the message it is about.

    `title` and `content` are OpenIM's (offlinePushInfo.title / desc, or a placeholder by content type);
    `ex`, `ios_push_sound` and `ios_badge_count` are offlinePushInfo's fields; `client_msg_id` identifies the
    message to the app (OpenIM's `Signal.ClientMsgID`).
    """

    user_ids: tuple[str, ...]
    title: str
    content: str
    ex: str
    ios_push_sound: str
    ios_badge_count: bool
    client_msg_id: str
    conversation_id: str
    msg: MsgData
    operation_id: str = ""


class PushError(Exception):
    """The provider did not take the push; the job is tried again later."""


class Pusher(Protocol):
    async def push(self, notice: Notice) -> None:
        """Deliver `notice` to the devices of its users; PushError when it should be retried."""
        ...

    async def close(self) -> None:
        """Release connections (at shutdown)."""
        ...


class DeviceStore(Protocol):
    """The device data offline push reads: push tokens per platform and the app badge (services/third.py)."""

    async def push_tokens(self, user_id: str, platform_ids: Sequence[int]) -> dict[int, str]:
        """The live push token of `user_id` on each of `platform_ids` that has one."""
        ...

    async def drop_push_token(self, user_id: str, platform_id: int, token: str) -> None:
        """Forget the token of (user, platform) if it is still `token` (the vendor called it invalid)."""
        ...

    async def incr_badge(self, user_id: str) -> int:
        """Add one to the user's badge and return it (OpenIM's IncrUserBadgeUnreadCountSum)."""
        ...

    async def app_badge(self, user_id: str) -> int:
        """The badge last set for `user_id`, plus the pushes counted since (0 when never set)."""
        ...


async def ios_badge(store: DeviceStore, user_id: str, *, count: bool) -> int:
    """The iOS badge a push carries, as OpenIM's FCM client computes it.

    With `iOSBadgeCount` the stored unread sum (what the app last reported by /third/set_app_badge, plus one per
    counted push since) goes up by one and is shown; without it the stored sum is shown as it is, or 1 when 0.
    """
    if count:
        return await store.incr_badge(user_id)
    return await store.app_badge(user_id) or 1


class LogPusher:
    """Logs each offline push instead of sending it (`push.enable: log`, the default).

    One INFO line per push on the logger `openim.infra.pushers`, naming the users, conversation, seq and title.
    """

    async def push(self, notice: Notice) -> None:
        """Log what would be pushed."""
        logger.info(
            "offline push (log only) to %s: conversation %s seq %d from %s, title %r",
            ",".join(notice.user_ids),
            notice.conversation_id,
            notice.msg.seq,
            notice.msg.sendID,
            notice.title,
            extra={
                "userIDs": list(notice.user_ids),
                "conversationID": notice.conversation_id,
                "operationID": notice.operation_id,
            },
        )

    async def close(self) -> None:
        """Nothing to release."""
