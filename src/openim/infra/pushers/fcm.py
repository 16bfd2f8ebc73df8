"""FcmPusher (`push.enable: fcm`): Firebase Cloud Messaging over its HTTP v1 API, with a service-account key.

Credentials: the service-account JSON Firebase hands out (`project_id`, `client_email`, `private_key`,
`private_key_id`, `token_uri`), read from `push.fcm.filePath` or fetched once from `push.fcm.authURL`, as OpenIM
does. Access: a JWT signed RS256 with the private key (`iss` = client_email, `scope` = firebase.messaging,
`aud` = token_uri, one hour) is exchanged at `token_uri` for an OAuth2 access token (grant type jwt-bearer); the
token is kept until a minute before it expires, and renewed once when FCM answers 401.

Sending (OpenIM's `internal/push/offlinepush/fcm/push.go`): for each user, the tokens registered by
/third/fcm_update_token on iOS, Android and Web; one `messages:send` per token at
`<push.fcm.endpoint>/v1/projects/<project_id>/messages:send` with `notification{title, body}`, `data{ex}` and
`apns.payload.aps{sound, badge}` (the badge from `ios_badge`). A token FCM calls unknown (`UNREGISTERED`) or
malformed (`INVALID_ARGUMENT` on `message.token`) is removed from the store; any other failure of a token makes
the push raise `PushError` once every token was tried, so the job is retried (tokens that succeeded may then be
notified twice: delivery is at-least-once). The endpoint and `token_uri` are plain URLs, so the tests point them at
a fake FCM on loopback (the real Google endpoints cannot be reached from the test machines).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from openim.infra.pushers import DeviceStore, Notice, PushError, ios_badge
from openim.infra.pushers.http import MAX_BODY, json_body, post
from openim.protocol.constants import ANDROID, IOS, WEB

__all__ = ["FCM_SCOPE", "FCM_TERMINALS", "FcmPusher", "ServiceAccount", "load_service_account"]

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_TERMINALS = (IOS, ANDROID, WEB)  # OpenIM's `Terminal`: the platforms whose tokens get a push
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_REQUIRED = ("project_id", "client_email", "private_key", "token_uri")
_CONCURRENCY = 16  # sends in flight per push


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """The fields of a Google service-account key that FCM needs."""

    project_id: str
    client_email: str
    private_key: str
    private_key_id: str
    token_uri: str


def service_account_of(data: object) -> ServiceAccount:
    """The service account in a parsed key file; ValueError naming what is missing."""
    if not isinstance(data, dict):
        raise ValueError("the FCM credentials are not a JSON object")
    missing = [k for k in _REQUIRED if not isinstance(data.get(k), str) or not data.get(k)]
    if missing:
        raise ValueError(f"the FCM credentials lack {', '.join(missing)}")
    return ServiceAccount(
        data["project_id"], data["client_email"], data["private_key"], str(data.get("private_key_id", "")),
        data["token_uri"],
    )  # fmt: skip


def load_service_account(file_path: str) -> ServiceAccount:
    """Read a service-account key file; OSError or ValueError saying what is wrong."""
    return service_account_of(json.loads(Path(file_path).read_text()))


class FcmPusher:
    """FCM HTTP v1; see the module docstring. `now` (seconds) times the access token."""

    def __init__(
        self,
        store: DeviceStore,
        *,
        account: ServiceAccount | None = None,
        auth_url: str = "",
        endpoint: str = "https://fcm.googleapis.com",
        timeout_s: float = 10.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        if account is None and not auth_url:
            raise ValueError("FCM needs push.fcm.filePath or push.fcm.authURL")
        self.store = store
        self.endpoint = endpoint.rstrip("/")
        self._account = account
        self._auth_url = auth_url
        self._now = now
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self._access: tuple[str, float] | None = None  # (access token, expiry in seconds)
        self._lock = asyncio.Lock()

    async def _service_account(self) -> ServiceAccount:
        if self._account is None:
            try:
                response = await self._client.get(self._auth_url)
                response.raise_for_status()
                self._account = service_account_of(response.json())
            except (httpx.HTTPError, ValueError) as exc:
                raise PushError(f"FCM: credentials from {self._auth_url}: {exc}") from exc
        return self._account

    async def access_token(self) -> str:
        """A valid OAuth2 access token: the cached one, or a new one from the service account."""
        async with self._lock:
            now = self._now()
            if self._access is not None and self._access[1] - 60 > now:
                return self._access[0]
            account = await self._service_account()
            claims: dict[str, str | int] = {"iss": account.client_email, "scope": FCM_SCOPE, "aud": account.token_uri}
            claims |= {"iat": int(now), "exp": int(now) + 3600}
            headers = {"kid": account.private_key_id} if account.private_key_id else None
            try:
                assertion = jwt.encode(claims, account.private_key, algorithm="RS256", headers=headers)
            except (ValueError, TypeError, jwt.PyJWTError) as exc:
                raise PushError(f"FCM: the service account's private_key cannot sign: {exc}") from exc
            response = await post(
                self._client,
                account.token_uri,
                what="FCM OAuth2",
                data={"grant_type": JWT_BEARER, "assertion": assertion},
            )
            body = json_body(response)
            token = body.get("access_token")
            if response.status_code != 200 or not isinstance(token, str):
                raise PushError(f"FCM OAuth2: {response.status_code} {response.text[:MAX_BODY]}")
            self._access = (token, now + float(body.get("expires_in", 3600)))
            return token

    def message(self, notice: Notice, token: str, badge: int) -> dict[str, Any]:
        """The v1 `message` for one device."""
        aps: dict[str, Any] = {"badge": badge}
        if notice.ios_push_sound:
            aps["sound"] = notice.ios_push_sound
        return {
            "token": token,
            "notification": {"title": notice.title, "body": notice.content},
            "data": {"ex": notice.ex},
            "apns": {"payload": {"aps": aps}},
        }

    async def push(self, notice: Notice) -> None:
        """Send to every token of every user; invalid tokens are removed; PushError if any other send failed."""
        project = (await self._service_account()).project_id
        url = f"{self.endpoint}/v1/projects/{project}/messages:send"
        sends: list[tuple[str, int, str, int]] = []
        for user_id in notice.user_ids:
            tokens = await self.store.push_tokens(user_id, FCM_TERMINALS)
            if not tokens:
                continue
            badge = await ios_badge(self.store, user_id, count=notice.ios_badge_count)
            sends += [(user_id, platform_id, token, badge) for platform_id, token in sorted(tokens.items())]
        slots = asyncio.Semaphore(_CONCURRENCY)

        async def send(user_id: str, platform_id: int, token: str, badge: int) -> str | None:
            async with slots:
                return await self._send(url, notice, user_id, platform_id, token, badge)

        failures = [f for f in await asyncio.gather(*(send(*s) for s in sends)) if f]
        if failures:
            raise PushError(f"FCM: {len(failures)} of {len(sends)} sends failed: {'; '.join(failures[:3])}")

    async def _send(
        self, url: str, notice: Notice, user_id: str, platform_id: int, token: str, badge: int
    ) -> str | None:
        """One device; None when done (or the token was invalid and removed), else why it failed."""
        body = {"message": self.message(notice, token, badge)}
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {await self.access_token()}"}
            try:
                response = await post(self._client, url, what="FCM send", json=body, headers=headers)
            except PushError as exc:
                return str(exc)
            if response.status_code == 200:
                return None
            if response.status_code == 401 and attempt == 1:
                self._access = None  # revoked or expired early: mint a new one and try again
                continue
            if _invalid_token(json_body(response)):
                await self.store.drop_push_token(user_id, platform_id, token)
                return None
            return f"{response.status_code} {response.text[:MAX_BODY]}"
        return "401 after a new access token"

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def _invalid_token(body: dict[str, Any]) -> bool:
    """Whether an FCM error says the registration token itself is bad (so it must not be used again)."""
    error = body.get("error")
    if not isinstance(error, dict):
        return False
    details = [d for d in error.get("details") or [] if isinstance(d, dict)]
    codes = {d.get("errorCode") for d in details}
    if "UNREGISTERED" in codes:
        return True
    if error.get("status") == "INVALID_ARGUMENT" or "INVALID_ARGUMENT" in codes:
        fields = {v.get("field") for d in details for v in d.get("fieldViolations") or [] if isinstance(v, dict)}
        return "message.token" in fields
    return False
