"""Transport: one webhook call — POST `{url}/{callbackCommand}` with a JSON body — and what its answer means.

As OpenIM (`pkg/common/webhook/http_client.go`, tools `utils/httputil`): headers `Content-Type: application/json;
charset=utf-8` and `operationID`; the query `?key=…` on the after-send hooks; the per-hook timeout in seconds,
never more than 15 (OpenIM's client gives up at 15 s whatever the hook says). The answer's HTTP status is not
read by OpenIM; its body must be a JSON object (`CommonCallbackResp`: actionCode, errCode, errMsg, errDlt,
nextCode, plus the hook's own fields).

A call *fails* (`CallFailed`) when the receiver cannot be reached or does not answer in time (OpenIM's 90004
NetworkError), when the body is not a JSON object with integer codes (90007 DataError), and — openim-py's
addition, so that a crashed receiver or a proxy's error page is retried — when the status is 5xx. What a failure
does depends on the hook's kind: `hooks.py`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from openim.protocol.errors import DataError, NetworkError, OpenIMError

__all__ = ["MAX_TIMEOUT_S", "CallFailed", "Transport", "refusal"]

logger = logging.getLogger("openim.webhooks")

MAX_TIMEOUT_S = 15.0  # OpenIM's HTTP client timeout, the cap of every hook's own
MAX_ANSWER_BYTES = 1 << 20  # a bigger answer is not a hook's answer: DataError
_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
_CODES = ("actionCode", "errCode", "nextCode")


class CallFailed(Exception):
    """The call did not produce a usable answer; `error` is the OpenIMError a failing before-hook raises."""

    def __init__(self, error: OpenIMError) -> None:
        super().__init__(str(error))
        self.error = error


class Transport:
    """POSTs hook bodies to `url`; one pooled HTTP client (keep-alive) for every hook of the process."""

    def __init__(self, url: str, *, client: httpx.AsyncClient | None = None) -> None:
        self.url = url.rstrip("/")
        self._client = client or httpx.AsyncClient(
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20), trust_env=False
        )

    async def close(self) -> None:
        await self._client.aclose()

    def url_of(self, command: str) -> str:
        """Where `command` is posted: `url + "/" + command`, as OpenIM."""
        return f"{self.url}/{command}"

    async def post(
        self,
        command: str,
        body: Mapping[str, Any],
        *,
        timeout_s: float,
        operation_id: str,
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The decoded answer of one call; CallFailed (see the module docstring) otherwise."""
        url = self.url_of(command)
        started = time.perf_counter()
        try:
            response = await self._client.post(
                url,
                content=orjson.dumps(body),
                headers={**_HEADERS, "operationID": operation_id},
                params=dict(query) if query else None,
                timeout=min(timeout_s, MAX_TIMEOUT_S),
            )
        except httpx.TimeoutException as exc:
            raise CallFailed(NetworkError(f"post url {url}: no answer within {timeout_s:g} s ({exc!r})")) from None
        except httpx.HTTPError as exc:
            raise CallFailed(NetworkError(f"post url {url}: {exc!r}")) from None
        if response.status_code >= 500:
            raise CallFailed(NetworkError(f"post url {url}: HTTP {response.status_code}"))
        answer = _decode(response.content, url)
        logger.debug(
            "webhook %s answered in %.3f s: %s",
            command,
            time.perf_counter() - started,
            response.content[:512],
            extra={"operationID": operation_id},
        )
        return answer


def _decode(content: bytes, url: str) -> dict[str, Any]:
    if len(content) > MAX_ANSWER_BYTES:
        raise CallFailed(DataError(f"post url {url}: answer of {len(content)} bytes is too big"))
    try:
        answer = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise CallFailed(DataError(f"{exc} response format error: {content[:200]!r}")) from None
    if not isinstance(answer, dict):
        raise CallFailed(DataError(f"response format error: not a JSON object: {content[:200]!r}"))
    for key in _CODES:
        value = answer.get(key, 0)
        if value is None:
            answer[key] = 0
        elif isinstance(value, bool) or not isinstance(value, int):
            raise CallFailed(DataError(f"response format error: {key} is {value!r}, not an integer"))
    for key in ("errMsg", "errDlt"):
        if not isinstance(answer.get(key, ""), str):
            raise CallFailed(DataError(f"response format error: {key} is not a string"))
    return answer


def refusal(answer: Mapping[str, Any]) -> bool:
    """OpenIM's blocking rule: the operation stops iff actionCode == 0 and nextCode == 1."""
    return bool(answer.get("actionCode", 0) == 0 and answer.get("nextCode", 0) == 1)
