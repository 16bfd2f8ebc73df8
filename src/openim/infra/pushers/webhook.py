"""WebhookPusher (`push.enable: webhook`): each offline push is a JSON POST to the app server's `push.webhook.url`.

For deployments whose app server already talks to its vendors (APNs directly, Huawei, Xiaomi, …) or that want to
see pushes in their own logs. The body uses the field names of OpenIM's push callbacks (`CallbackBeforePushReq`
of OpenIM's `pkg/callbackstruct/push.go`: the offlinePushInfo fields flattened, `userIDList`, `clientMsgID`,
`sendID`, `groupID`, `contentType`, `sessionType`, `atUserIDList`, `content`) with `callbackCommand`
"callbackOfflinePushCommand" (OpenIM's name for it), and adds what a sender needs to notify a phone: the title
and body as OpenIM computes them (`pushTitle`, `pushContent`), `conversationID`, `seq`, `serverMsgID`,
`sendTime`, `senderNickname`, `senderFaceURL`, and each user's iOS badge (`badges`, computed as for FCM).

A 2xx answer is success; anything else, or no answer within `timeout_s`, is a `PushError` and the job is retried.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from openim.infra.pushers import DeviceStore, Notice, PushError, ios_badge
from openim.infra.pushers.http import MAX_BODY, post
from openim.protocol.constants import PLATFORM_NAMES

__all__ = ["OFFLINE_PUSH_COMMAND", "WebhookPusher", "webhook_body"]

OFFLINE_PUSH_COMMAND = "callbackOfflinePushCommand"
_NOTIFICATION_BEGIN, _NOTIFICATION_END = 1000, 5000


def _content_text(notice: Notice) -> str:
    """The message content as OpenIM's push callbacks give it: a notification's `detail`, else the raw text."""
    raw = notice.msg.content.decode("utf-8", "replace")
    if _NOTIFICATION_BEGIN <= notice.msg.contentType <= _NOTIFICATION_END:
        try:
            detail = json.loads(raw).get("detail", "")
        except (ValueError, AttributeError):
            return ""
        return detail if isinstance(detail, str) else ""
    return raw


def webhook_body(notice: Notice, badges: dict[str, int]) -> dict[str, Any]:
    """The JSON body posted for `notice`."""
    msg, info = notice.msg, notice.msg.offlinePushInfo
    return {
        "callbackCommand": OFFLINE_PUSH_COMMAND,
        "operationID": notice.operation_id,
        "platformID": msg.senderPlatformID,
        "platform": PLATFORM_NAMES.get(msg.senderPlatformID, ""),
        "userIDList": list(notice.user_ids),
        "title": info.title,
        "desc": info.desc,
        "ex": info.ex,
        "iOSPushSound": info.iOSPushSound,
        "iOSBadgeCount": info.iOSBadgeCount,
        "signalInfo": info.signalInfo,
        "clientMsgID": msg.clientMsgID,
        "sendID": msg.sendID,
        "groupID": msg.groupID,
        "contentType": msg.contentType,
        "sessionType": msg.sessionType,
        "atUserIDList": list(msg.atUserIDList),
        "content": _content_text(notice),
        "pushTitle": notice.title,
        "pushContent": notice.content,
        "conversationID": notice.conversation_id,
        "seq": msg.seq,
        "serverMsgID": msg.serverMsgID,
        "sendTime": msg.sendTime,
        "senderNickname": msg.senderNickname,
        "senderFaceURL": msg.senderFaceURL,
        "badges": badges,
    }


class WebhookPusher:
    """POSTs each notice to `url`; see the module docstring."""

    def __init__(self, url: str, store: DeviceStore, *, timeout_s: float = 5.0) -> None:
        self.url = url
        self.store = store
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def push(self, notice: Notice) -> None:
        """One POST for the whole notice; PushError on anything but 2xx."""
        badges = {u: await ios_badge(self.store, u, count=notice.ios_badge_count) for u in notice.user_ids}
        headers = {"operationID": notice.operation_id} if notice.operation_id else {}
        response = await post(
            self._client, self.url, what="push webhook", json=webhook_body(notice, badges), headers=headers
        )
        if not 200 <= response.status_code < 300:
            raise PushError(f"push webhook: {self.url} answered {response.status_code}: {response.text[:MAX_BODY]}")

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
