"""A webhook receiver for tests: a real HTTP server on a free 127.0.0.1 port that records every call and answers
as the test says.

It runs in a thread (stdlib `ThreadingHTTPServer`), so it serves in-process servers (same event loop as the test)
and `openim start` child processes alike. Use it as a context manager or through the `webhook_receiver` fixture
(tests/conftest.py)::

    with WebhookReceiver() as receiver:
        settings = {"OPENIM_WEBHOOKS_URL": receiver.url, "OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_ENABLE": "true"}
        receiver.answer("callbackBeforeSendSingleMsgCommand", refuse(5001, "no swearing"))
        ...
        [call] = receiver.calls_of("callbackBeforeSendSingleMsgCommand")
        assert call.body["recvID"] == "bob"
        await receiver.wait_for("callbackAfterSendSingleMsgCommand")      # after hooks arrive later

`answer(command, reply)` sets what a command gets: a JSON-able object, a `Reply` (status, raw body, delay), or a
callable of the `Call` returning either. `stop()` closes the port (calls then fail: connection refused) and
`start()` opens it again on the same port, for retry tests. Calls are kept in arrival order.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.process import free_port

__all__ = ["OK", "Call", "Reply", "WebhookReceiver", "refuse"]

OK: dict[str, Any] = {"actionCode": 0, "errCode": 0, "errMsg": "", "errDlt": "", "nextCode": 0}


def refuse(err_code: int, err_msg: str = "", err_dlt: str = "") -> dict[str, Any]:
    """The answer that blocks a before-hook's operation (actionCode 0, nextCode 1) with this error."""
    return {"actionCode": 0, "errCode": err_code, "errMsg": err_msg, "errDlt": err_dlt, "nextCode": 1}


@dataclass(frozen=True)
class Call:
    """One request the receiver got."""

    command: str  # the last path segment
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: Any  # the decoded JSON (None when it was not JSON)
    raw: bytes


@dataclass
class Reply:
    """A full answer: HTTP status, body (bytes sent as is, anything else as JSON), and a delay before it."""

    body: Any = field(default_factory=lambda: dict(OK))
    status: int = 200
    delay_s: float = 0.0


Answer = dict[str, Any] | Reply | Callable[[Call], "dict[str, Any] | Reply"]


class WebhookReceiver:
    """See the module docstring."""

    def __init__(self, port: int | None = None, *, base_path: str = "/callbackExample") -> None:
        self.port = port or free_port()
        self.base_path = base_path
        self.calls: list[Call] = []
        self._answers: dict[str, Answer] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The `webhooks.url` to configure."""
        return f"http://127.0.0.1:{self.port}{self.base_path}"

    def answer(self, command: str, reply: Answer) -> None:
        """What `command` gets from now on (default: OK, allow and change nothing)."""
        with self._lock:
            self._answers[command] = reply

    def calls_of(self, command: str) -> list[Call]:
        """The calls of `command` so far, oldest first."""
        with self._lock:
            return [c for c in self.calls if c.command == command]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self._answers.clear()

    async def wait_for(self, command: str, count: int = 1, timeout_s: float = 10.0) -> list[Call]:
        """Wait (asynchronously) until `command` was called at least `count` times; its calls."""
        deadline = time.monotonic() + timeout_s
        while True:
            calls = self.calls_of(command)
            if len(calls) >= count:
                return calls
            if time.monotonic() > deadline:
                raise AssertionError(f"{command}: {len(calls)} calls after {timeout_s} s, expected {count}")
            await asyncio.sleep(0.02)

    def wait_for_sync(self, command: str, count: int = 1, timeout_s: float = 10.0) -> list[Call]:
        """`wait_for` for synchronous tests (real processes)."""
        deadline = time.monotonic() + timeout_s
        while True:
            calls = self.calls_of(command)
            if len(calls) >= count:
                return calls
            if time.monotonic() > deadline:
                raise AssertionError(f"{command}: {len(calls)} calls after {timeout_s} s, expected {count}")
            time.sleep(0.05)

    # ---- serving --------------------------------------------------------------------------------------------

    def start(self) -> WebhookReceiver:
        """Listen (again) on `port`."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real app server

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                receiver._serve(self, raw)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the port: calls fail with connection refused until `start()`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        parts = urlsplit(handler.path)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        call = Call(
            command=parts.path.rsplit("/", 1)[-1],
            path=parts.path,
            query={k: v[-1] for k, v in parse_qs(parts.query).items()},
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
            raw=raw,
        )
        with self._lock:
            self.calls.append(call)
            answer = self._answers.get(call.command, OK)
        reply = answer(call) if callable(answer) else answer
        if not isinstance(reply, Reply):
            reply = Reply(reply)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:
            pass  # the caller gave up (timeout tests)
