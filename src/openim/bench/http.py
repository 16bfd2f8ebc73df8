"""A small HTTP/1.1 keep-alive client for the load generator: POST JSON, read `{errCode, errMsg, data}`.

Why not httpx: at thousands of requests a second its per-request cost (hundreds of µs) would make the load
generator, not the server, the bottleneck. This client writes prebuilt bytes and parses only the status line,
`Content-Length` and the body, which is all OpenIM's REST API needs (HTTP 200, JSON, no chunking).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import orjson

__all__ = ["ApiError", "HttpConn", "split_http_url"]

_MAX_BODY = 64 << 20  # a reply bigger than this is a bug here, not data to read


class ApiError(Exception):
    """A REST call answered errCode ≠ 0 (or not HTTP 200, or not JSON)."""


def split_http_url(url: str) -> tuple[str, int, str]:
    """`http://host:port/prefix` → (host, port, path prefix without the trailing slash)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"not an http:// URL: {url!r}")
    return parts.hostname, parts.port or 80, parts.path.rstrip("/")


class HttpConn:
    """One keep-alive connection; one request at a time (the caller keeps at most one in flight per conn)."""

    def __init__(self, url: str) -> None:
        self.host, self.port, self.prefix = split_http_url(url)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        """The connection, and whether it was opened just now (else it may have been closed while idle)."""
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
            return self._reader, self._writer, True
        return self._reader, self._writer, False

    def request_bytes(self, path: str, body: bytes, token: str = "", operation_id: str = "bench") -> bytes:
        """The complete request, built once so a loop can resend it (`send_raw`)."""
        head = (
            f"POST {self.prefix}{path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\noperationID: {operation_id}\r\n"
            + (f"token: {token}\r\n" if token else "")
            + f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def send_raw(self, request: bytes) -> bytes:
        """Write one prebuilt request, return the response body (HTTP 200 expected).

        A kept-alive connection the server closed while it was idle (uvicorn: after 5 s) is reopened and the
        request sent again, once: nothing of it was read.
        """
        reader, writer, fresh = await self._open()
        writer.write(request)
        try:
            status = await reader.readuntil(b"\r\n")
        except (asyncio.IncompleteReadError, ConnectionResetError):
            if fresh:
                raise
            await self.close()
            reader, writer, _ = await self._open()
            writer.write(request)
            status = await reader.readuntil(b"\r\n")
        if not status.startswith(b"HTTP/1.1 200"):
            raise ApiError(f"HTTP status {status.decode(errors='replace').strip()}")
        length = -1
        close = False
        while True:
            line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.partition(b":")
            low = name.strip().lower()
            if low == b"content-length":
                length = int(value)
            elif low == b"connection" and value.strip().lower() == b"close":
                close = True
        if not 0 <= length <= _MAX_BODY:
            raise ApiError("response without a usable Content-Length")
        body = await reader.readexactly(length)
        if close:
            await self.close()
        return body

    async def post(self, path: str, payload: object, token: str = "", operation_id: str = "bench") -> Any:
        """POST JSON, return `data` of the envelope; `ApiError` when errCode ≠ 0."""
        body = await self.send_raw(self.request_bytes(path, orjson.dumps(payload), token, operation_id))
        try:
            reply = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ApiError(f"{path}: not JSON: {body[:200]!r}") from None
        if not isinstance(reply, dict) or reply.get("errCode") != 0:
            raise ApiError(f"{path}: {reply!r}"[:500])
        return reply.get("data")

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
