"""The REST listener's guard against socket exhaustion: connection caps and read deadlines below the ASGI app.

uvicorn closes idle keep-alive connections, but it waits for ever on a connection that sends half a request head
or half a body, and it accepts connections without limit: 20,000 idle partial POSTs held every file descriptor of
the process, and the gateway in the same process could no longer accept. This protocol class (uvicorn's httptools
protocol, so the HTTP handling is uvicorn's own; llhttp parses in C, where h11's pure-Python parser and writer cost
a third of a small REST call's CPU) adds, through asyncio's Protocol callbacks and llhttp's parser callbacks:

- a cap on open connections per process and per client IP: a connection over either is closed at once, before
  a byte is read, and counted in `openim_http_refused_connections_total{reason}`;
- a head deadline: a request's line and headers must arrive within `headerTimeout` seconds of their first byte
  (or of the connection, for the first request);
- a body deadline: a request's body must arrive within `requestTimeout` seconds of its head.

A connection that misses a deadline is closed (a request in flight sees a disconnect) and counted with reason
`header_timeout` / `body_timeout`. Each refusal or timeout is logged at most once a minute per reason, with
the count since the last line, so an attack cannot flood the log either.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from openim.metrics import HTTP_REFUSED_CONNECTIONS

__all__ = ["ConnectionGuard", "GuardLimits", "guarded_protocol"]

log = logging.getLogger("openim.api.guard")

_LOG_EVERY = 60.0  # seconds between two log lines about the same reason


@dataclass(frozen=True, slots=True)
class GuardLimits:
    max_connections: int
    max_connections_per_ip: int
    header_timeout: float
    request_timeout: float


@dataclass(slots=True)
class ConnectionGuard:
    """The counts one listener's connections share (one guard per process: every API port counts together)."""

    limits: GuardLimits
    open: int = 0
    per_ip: Counter[str] = field(default_factory=Counter)
    _unlogged: Counter[str] = field(default_factory=Counter)
    _logged_at: dict[str, float] = field(default_factory=dict)

    def admit(self, ip: str) -> str | None:
        """Count a new connection from `ip` in; the reason it is refused instead (nothing counted then)."""
        if self.open >= self.limits.max_connections:
            return "max_connections"
        if self.per_ip[ip] >= self.limits.max_connections_per_ip:
            return "max_connections_per_ip"
        self.open += 1
        self.per_ip[ip] += 1
        return None

    def release(self, ip: str) -> None:
        self.open -= 1
        left = self.per_ip[ip] - 1
        if left > 0:
            self.per_ip[ip] = left
        else:
            del self.per_ip[ip]  # the table holds only IPs with connections: bounded by max_connections

    def note(self, reason: str, ip: str) -> None:
        """Count a refusal or timeout in metrics, and log it unless the same reason was logged under a minute ago."""
        HTTP_REFUSED_CONNECTIONS.labels(reason).inc()
        self._unlogged[reason] += 1
        now = time.monotonic()
        if now - self._logged_at.get(reason, -_LOG_EVERY) >= _LOG_EVERY:
            count = self._unlogged.pop(reason)
            self._logged_at[reason] = now
            log.warning(
                "REST connection closed: %s (last from %s; %d such since the previous line; open now %d)",
                reason,
                ip,
                count,
                self.open,
                extra={"reason": reason, "client": ip},
            )


class _GuardedProtocol(HttpToolsProtocol):
    guard: ConnectionGuard  # set on the subclass guarded_protocol() makes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ip = ""
        self._admitted = False
        self._deadline: asyncio.TimerHandle | None = None
        self._deadline_reason = ""
        # What the parser is reading: a request's head (also before its first byte), its body, or nothing (the
        # last request is complete). llhttp's callbacks move it; data_received arms the deadline it calls for.
        self._reading: Literal["head", "body", "done"] = "head"

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._ip = self.client[0] if self.client else ""
        refused = self.guard.admit(self._ip)
        if refused is not None:
            self.guard.note(refused, self._ip)
            transport.abort()  # no answer: an attacker's socket gets nothing to read, and the fd is free at once
            return
        self._admitted = True
        self._arm("header_timeout", self.guard.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._admitted:
            self._admitted = False
            self.guard.release(self._ip)
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading = "head"

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._reading = "body"

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading = "done"

    def data_received(self, data: bytes) -> None:
        if self._reading == "done" and (self.cycle is None or self.cycle.response_complete):
            # The first bytes of the next request: its head must be complete within headerTimeout of them
            # (keep-alive idleness before them is uvicorn's own timeout).
            self._reading = "head"
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._reading == "head":
            if self._deadline_reason != "header_timeout":
                self._arm("header_timeout", self.guard.limits.header_timeout)
        elif self._reading == "body":
            if self._deadline_reason != "body_timeout":
                self._arm("body_timeout", self.guard.limits.request_timeout)
        else:  # the whole request is in; the app's time to answer is not bounded here
            self._disarm()

    def on_response_complete(self) -> None:
        self._disarm()  # uvicorn's keep-alive timer takes over until the next request's first byte
        super().on_response_complete()

    def _arm(self, reason: str, seconds: float) -> None:
        self._disarm()
        self._deadline_reason = reason
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._deadline_reason = ""

    def _expire(self) -> None:
        reason = self._deadline_reason
        self._deadline = None
        self._deadline_reason = ""
        if not self.transport.is_closing():
            self.guard.note(reason, self._ip)
            self.transport.close()


def guarded_protocol(guard: ConnectionGuard) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol class bound to `guard` (pass it as uvicorn.Config(http=...))."""
    return type("GuardedHttpToolsProtocol", (_GuardedProtocol,), {"guard": guard})
