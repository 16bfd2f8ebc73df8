"""JPushPusher (`push.enable: jpush`): JPush's REST API v3 `POST /v3/push`, HTTP Basic auth appKey:masterSecret.

The request is OpenIM's (`internal/push/offlinepush/jpush/`): platform "all", audience by `alias` = userID (the app
registers its userID as the JPush alias), a `notification` with the alert for Android (title, intent URL
`push.jpush.pushIntent`, extras) and iOS (alert title/body, sound, badge "+1" when the message counts the badge,
mutable-content, extras), a custom `message` (msg_content, title, extras `ClientMsgID` and `ex`), and
`options.apns_production` from `push.iosPush.production`. JPush takes at most 1000 aliases per push: larger
notices are sent in chunks. Success is 200 with `sendno`; error 1011 ("cannot find user by this audience": none of
the aliases has a device) is nothing to retry; 401/403 (bad credentials) and other errors raise `PushError`.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from openim.infra.pushers import Notice, PushError
from openim.infra.pushers.http import MAX_BODY, json_body, post

__all__ = ["JPUSH_MAX_ALIASES", "JPushPusher", "jpush_body"]

JPUSH_MAX_ALIASES = 1000
NO_DEVICE = 1011  # JPush: "cannot find user by this audience"


def jpush_body(notice: Notice, aliases: list[str], *, intent: str, production: bool) -> dict[str, Any]:
    """The /v3/push request for `aliases`."""
    extras = {"ex": notice.ex}
    if notice.client_msg_id:
        extras["ClientMsgID"] = notice.client_msg_id
    ios: dict[str, Any] = {
        "alert": {"title": notice.title, "body": notice.content},
        "extras": extras,
        "mutable-content": True,
    }
    if notice.ios_push_sound:
        ios["sound"] = notice.ios_push_sound
    if notice.ios_badge_count:
        ios["badge"] = "+1"
    android: dict[str, Any] = {"alert": notice.content, "title": notice.title, "extras": extras}
    if intent:
        android["intent"] = {"url": intent}
    return {
        "platform": "all",
        "audience": {"alias": aliases},
        "notification": {"alert": notice.content, "android": android, "ios": ios},
        "message": {"msg_content": notice.content, "title": notice.title, "extras": dict(extras)},
        "options": {"apns_production": production},
    }


class JPushPusher:
    """JPush REST v3; see the module docstring."""

    def __init__(
        self,
        app_key: str,
        master_secret: str,
        *,
        push_url: str = "https://api.jpush.cn/v3/push",
        intent: str = "",
        production: bool = False,
        timeout_s: float = 10.0,
    ) -> None:
        self.push_url = push_url
        self.intent = intent
        self.production = production
        credentials = base64.b64encode(f"{app_key}:{master_secret}".encode()).decode()
        self._auth = f"Basic {credentials}"
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def push(self, notice: Notice) -> None:
        """One request per 1000 users."""
        users = list(notice.user_ids)
        for start in range(0, len(users), JPUSH_MAX_ALIASES):
            body = jpush_body(
                notice, users[start : start + JPUSH_MAX_ALIASES], intent=self.intent, production=self.production
            )
            response = await post(
                self._client, self.push_url, what="JPush", json=body, headers={"Authorization": self._auth}
            )
            answer = json_body(response)
            if response.status_code == 200 and "sendno" in answer:
                continue
            error = answer.get("error")
            if isinstance(error, dict) and error.get("code") == NO_DEVICE:
                continue
            raise PushError(f"JPush: {response.status_code} {response.text[:MAX_BODY]}")

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
