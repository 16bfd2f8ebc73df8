"""GetuiPusher (`push.enable: getui`): Getui's REST API v2 under `push.getui.pushUrl` (https://restapi.getui.com/v2/<appId>).

Auth (OpenIM's `internal/push/offlinepush/getui/`): `POST <base>/auth` with `sign` = hex SHA-256 of
appKey + timestamp (ms) + masterSecret, `timestamp` and `appkey`; the answer's `data.token` goes in the `token`
header of every push and is kept until its `expire_time` (at most 23 hours, as OpenIM keeps it). Getui's code
10001 (token expired) gets a new token and one more try.

Pushing by alias (the app binds its userID as the Getui alias): one user is `POST <base>/push/single/alias` with a
`request_id` (here derived from the message and user, so a retried job is recognised by Getui as the same
request); several users create a task with `POST <base>/push/list/message` (the notification, `settings.ttl`
5 minutes, strategy default 1) and send it to up to 999 aliases per `POST <base>/push/list/alias` (`taskid`,
`is_async`). The notification is OpenIM's: `push_message.notification` (title, body, click_type startapp,
channel ID and name from the config, badge_add_num 1, category CATEGORY_MESSAGE) and `push_channel` for iOS (type
notify, sound default, auto_badge +1, aps alert) and Android vendor channels (ups notification, intent when
`push.getui.intent` is set). Any other non-zero `code` raises `PushError`.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from typing import Any

import httpx

from openim.infra.pushers import Notice, PushError
from openim.infra.pushers.http import MAX_BODY, json_body, post

__all__ = ["GETUI_MAX_ALIASES", "GetuiPusher", "getui_sign"]

GETUI_MAX_ALIASES = 999
TOKEN_EXPIRED = 10001
TOKEN_MAX_S = 23 * 3600
TASK_TTL_MS = 5 * 60 * 1000


def getui_sign(app_key: str, timestamp_ms: int, master_secret: str) -> str:
    """Getui's auth signature: hex SHA-256 of appKey + timestamp + masterSecret."""
    return hashlib.sha256(f"{app_key}{timestamp_ms}{master_secret}".encode()).hexdigest()


class _TokenExpired(Exception):
    pass


class GetuiPusher:
    """Getui REST v2; see the module docstring. `now` (seconds) signs requests and times the token."""

    def __init__(
        self,
        app_key: str,
        master_secret: str,
        *,
        push_url: str,
        channel_id: str = "",
        channel_name: str = "",
        intent: str = "",
        timeout_s: float = 10.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.app_key = app_key
        self.master_secret = master_secret
        self.base = push_url.rstrip("/")
        self.channel_id = channel_id
        self.channel_name = channel_name
        self.intent = intent
        self._now = now
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self._token: tuple[str, float] | None = None
        self._lock = asyncio.Lock()

    async def token(self, *, renew: bool = False) -> str:
        """The cached auth token, or a new one."""
        async with self._lock:
            now = self._now()
            if self._token is not None and not renew and self._token[1] > now:
                return self._token[0]
            timestamp = int(now * 1000)
            body = {
                "sign": getui_sign(self.app_key, timestamp, self.master_secret),
                "timestamp": str(timestamp),
                "appkey": self.app_key,
            }
            data = await self._call("/auth", body, token="")
            token, expire = data.get("token"), data.get("expire_time")
            if not isinstance(token, str) or not token:
                raise PushError(f"Getui auth: no token in {data}")
            try:
                expires = min(float(str(expire)) / 1000, now + TOKEN_MAX_S)
            except ValueError:
                expires = now + TOKEN_MAX_S
            self._token = (token, expires)
            return token

    async def _call(self, path: str, body: dict[str, Any], *, token: str) -> dict[str, Any]:
        """POST to <base><path>; the answer's `data`. _TokenExpired on code 10001, PushError on other codes."""
        headers = {"token": token} if token else {}
        response = await post(self._client, self.base + path, what="Getui", json=body, headers=headers)
        answer = json_body(response)
        code = answer.get("code")
        if code == TOKEN_EXPIRED:
            raise _TokenExpired
        if response.status_code != 200 or code != 0:
            raise PushError(f"Getui {path}: {response.status_code} {response.text[:MAX_BODY]}")
        data = answer.get("data")
        return data if isinstance(data, dict) else {}

    def message(self, notice: Notice) -> dict[str, Any]:
        """`push_message` and `push_channel` of OpenIM's Getui request."""
        notification = {
            "title": notice.title,
            "body": notice.content,
            "click_type": "startapp",
            "channel_id": self.channel_id,
            "channel_name": self.channel_name,
            "badge_add_num": "1",
            "category": "CATEGORY_MESSAGE",
        }
        android: dict[str, Any] = {"title": notice.title, "body": notice.content, "click_type": "startapp"}
        if self.intent:
            android |= {"click_type": "intent", "intent": self.intent}
        return {
            "push_message": {"notification": notification},
            "push_channel": {
                "ios": {
                    "type": "notify",
                    "auto_badge": "+1",
                    "aps": {"sound": "default", "alert": {"title": notice.title, "body": notice.content}},
                },
                "android": {"ups": {"notification": android}},
            },
        }

    async def push(self, notice: Notice) -> None:
        """Single push for one user, a task sent in chunks for several; one token renewal on 10001."""
        for attempt in (1, 2):
            try:
                token = await self.token(renew=attempt == 2)
                if len(notice.user_ids) == 1:
                    await self._single(token, notice)
                elif notice.user_ids:
                    await self._batch(token, notice)
                return
            except _TokenExpired:
                continue
        raise PushError("Getui: token expired again right after a renewal")

    async def _single(self, token: str, notice: Notice) -> None:
        user_id = notice.user_ids[0]
        request_id = hashlib.md5(f"{notice.client_msg_id}:{user_id}".encode()).hexdigest()  # 32 chars
        body = {"request_id": request_id, "audience": {"alias": [user_id]}, **self.message(notice)}
        await self._call("/push/single/alias", body, token=token)

    async def _batch(self, token: str, notice: Notice) -> None:
        task = {**self.message(notice), "settings": {"ttl": TASK_TTL_MS, "strategy": {"default": 1}}}
        data = await self._call("/push/list/message", task, token=token)
        task_id = next((v for k, v in data.items() if k.lower() == "taskid"), None)
        if not isinstance(task_id, str) or not task_id:
            raise PushError(f"Getui /push/list/message: no taskid in {data}")
        users = list(notice.user_ids)
        for start in range(0, len(users), GETUI_MAX_ALIASES):
            body = {
                "audience": {"alias": users[start : start + GETUI_MAX_ALIASES]},
                "taskid": task_id,
                "is_async": True,
            }
            await self._call("/push/list/alias", body, token=token)

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
