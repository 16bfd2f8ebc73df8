"""What the HTTP providers share: a POST that turns network errors, 429 and 5xx answers into `PushError`.

A vendor's 4xx is not raised here: each provider reads its own error bodies (an invalid token is no reason to
retry, an expired credential is renewed). Bodies are read up to `MAX_BODY` bytes for messages and logs.
"""

from __future__ import annotations

from typing import Any

import httpx

from openim.infra.pushers import PushError

__all__ = ["MAX_BODY", "json_body", "post"]

MAX_BODY = 300  # characters of an answer quoted in an error


async def post(client: httpx.AsyncClient, url: str, *, what: str, **kwargs: Any) -> httpx.Response:
    """POST; PushError when `url` cannot be reached, or answers 429 or 5xx (the push is worth retrying)."""
    try:
        response = await client.post(url, **kwargs)
    except httpx.HTTPError as exc:
        raise PushError(f"{what}: {url} unreachable: {type(exc).__name__}: {exc}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise PushError(f"{what}: {url} answered {response.status_code}: {response.text[:MAX_BODY]}")
    return response


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, {} when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
