"""One client connection after its handshake: the ordered read loop, a bounded write queue, heartbeats, close and kick.

Only moves bytes: frames are decoded and encoded by the connection's `FrameCodec` (frames.py) and requests are handed to
a handler (dispatch.py) one at a time, so replies leave in request order (docs/protocol/gateway.md §2.5). Writing never
waits: a frame goes straight to the socket while it accepts data, else into a queue of at most 256 frames that a writer
task drains with flow control; a slow client never blocks the read loop or a push, and overflowing the queue closes the
connection (OpenIM: "websocket write buffer full"). A binary frame written at once is framed by
`frames.ws_binary_frame` and handed to the transport: websockets' own framing cost more than the rest of a push, and a
push (`Framed`) is framed once for every connection that gets it; websockets keeps the reading side, control frames,
and the writes that must wait for flow control.

Ending a connection as OpenIM does (docs/protocol/gateway.md §3.3): a request that cannot be decoded, an envelope whose
SendID is not the connection's user, an unknown ReqIdentifier, an unexpected text frame, 30 s of waiting without any
inbound frame (control pings and pongs count; time spent handling a request does not) → the TCP connection is closed
without a close frame, after already queued frames are written. Nothing is ever sent that a Go SDK could not decode (no
error frame for these cases). Kick = the 2002 frame, then the same close. The Web platform (5) gets a control ping every
27 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame
from websockets.protocol import State

from openim.gateway.frames import (
    FrameCodec,
    FrameError,
    Req,
    Resp,
    parse_text_heartbeat,
    pong_text,
    ws_binary_frame,
)
from openim.infra.ratelimit import Bucket
from openim.protocol.constants import WEB, ReqIdentifier
from openim.services.auth import Caller

__all__ = [
    "CLOSE_FLUSH_TIMEOUT",
    "PUSH_AFTER_REPLY",
    "WRITE_QUEUE_SIZE",
    "Conn",
    "Framed",
    "GatewayConnection",
    "ProtocolViolation",
    "Timing",
]

WRITE_QUEUE_SIZE = 256  # OpenIM's per-connection send buffer, in frames
PUSH_AFTER_REPLY = 0.0  # the sender's own push follows its 1003 reply on the next loop turn, in a separate write
CLOSE_FLUSH_TIMEOUT = 10.0  # OpenIM's writeWait: how long a closing connection may take to flush
log = logging.getLogger("openim.gateway")


@dataclass(frozen=True, slots=True)
class Timing:
    """Connection timers, in seconds (OpenIM's pongWait 30 s and pingPeriod 27 s by default)."""

    idle_timeout: float = 30.0
    web_ping_interval: float = 27.0


class ProtocolViolation(Exception):
    """A request OpenIM answers by closing the connection (undecodable, wrong SendID, unknown ReqIdentifier)."""


class GatewayConnection(ServerConnection):
    """websockets' server connection that also notes when the last frame of any kind (ping, pong too) arrived."""

    last_frame_at: float = 0.0

    def process_event(self, event: object) -> None:
        if isinstance(event, Frame):
            self.last_frame_at = self.loop.time()
        super().process_event(event)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Framed:
    """An encoded envelope and the same as one binary WebSocket frame, built once for every connection it goes to."""

    payload: bytes
    wire: bytes

    @classmethod
    def of(cls, payload: bytes) -> Framed:
        return cls(payload, ws_binary_frame(payload))


class _Control:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


_PING: Final = _Control("ping")
_CLOSE: Final = _Control("close")

Handler = Callable[["Conn", Req], Awaitable[Resp | None]]


class Conn:
    """A logged-in connection of (user_id, platform_id, token); the Hub indexes it, dispatch and push write to it."""

    def __init__(
        self,
        ws: GatewayConnection,
        *,
        user_id: str,
        platform_id: int,
        token: str,
        operation_id: str,
        caller: Caller,
        codec: FrameCodec,
        timing: Timing,
        connected_at_ms: int = 0,
    ) -> None:
        self.ws = ws
        self.user_id = user_id
        self.platform_id = platform_id
        self.token = token
        self.operation_id = operation_id
        self.caller = caller
        self.codec = codec
        self.push_key = (codec.kind, codec.gzip)  # push.py encodes each push once per key
        self.timing = timing
        self.connected_at_ms = connected_at_ms
        self.conn_id = uuid.uuid4().hex
        # docs/protocol/gateway.md §1.2: the query's isBackground is not applied; only 2004 changes it
        self.background = False
        self.online = False  # set by the Hub while presence has this connection online
        self.subscriptions: set[str] = set()  # user IDs whose online status this connection watches (2005)
        self.frames: Bucket | None = None  # its request budget, once ratelimiter.enable made one
        self.close_reason = ""
        self._queue: deque[bytes | str | Framed | _Control] = deque()
        self._writer: asyncio.Task[None] | None = None  # only while the queue is not empty
        self._closing = False
        self._draining = False  # the server is stopping: close once the request in hand is answered
        self._handling = False  # a request is being handled: the idle deadline is not running
        self._handling_op = ""  # its operationID
        self._held: list[Framed] = []  # pushes of that operation (and any after them), sent after its reply
        self._release: asyncio.TimerHandle | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._ping_timer: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        return f"<Conn {self.user_id}/{self.platform_id} {self.conn_id[:8]}>"

    @property
    def closing(self) -> bool:
        """True once the connection is being closed: nothing more is queued."""
        return self._closing

    # ---- writing ------------------------------------------------------------------------------------------

    def send(self, resp: Resp) -> bool:
        """Queue a reply or push frame in the connection's codec; False if the connection is closing or full."""
        return self._enqueue(self.codec.encode_resp(resp))

    def send_push(self, frame: Framed, operation_id: str) -> bool:
        """Queue an encoded push frame (push.py encodes once per codec); False if closing or full.

        A push caused by the request this connection is handling right now (same operationID: the sender's own
        copy of a 1003) is held until the loop turn after that request's reply, as OpenIM's push comes through
        its queues after the reply. The JS SDK needs the reply handled first (else it counts the message unread
        and lists the conversation twice). While frames are held, later pushes queue behind them, so the order
        of a conversation is kept. (A 20 ms hold made the JS SDK's revoke-after-send retry; the next turn does
        not.)
        """
        if self._held or (self._handling and operation_id == self._handling_op):
            if self._closing:
                return False
            self._held.append(frame)
            return True
        # `_enqueue` and `_write_now` inlined for the common case (nothing queued, the socket takes data): this runs
        # once per member of a group for each message, and the calls cost more than the rest of it but the write.
        if not self._queue and self._writer is None and not self._closing:
            ws = self.ws
            if not ws.paused and ws.protocol.state is State.OPEN:
                ws.transport.write(frame.wire)
                return True
        return self._enqueue(frame)

    def _release_held(self) -> None:
        held, self._held = self._held, []
        for frame in held:
            self._enqueue(frame)

    def _enqueue(self, item: bytes | str | Framed | _Control) -> bool:
        if self._closing:
            return False
        if not self._queue and self._writer is None and self._write_now(item):
            return True
        if len(self._queue) >= WRITE_QUEUE_SIZE:
            log.warning("%r: write queue full (%d frames), closing", self, WRITE_QUEUE_SIZE)
            self.abort("websocket write buffer full")
            return False
        self._queue.append(item)
        self._start_writer()
        return True

    def _write_now(self, item: bytes | str | Framed | _Control) -> bool:
        """Hand a frame to the socket at once when it takes it without waiting; False: the writer task must."""
        ws = self.ws
        if isinstance(item, _Control) or ws.paused or ws.protocol.state is not State.OPEN:
            return False
        if isinstance(item, Framed):
            ws.transport.write(item.wire)
        elif isinstance(item, bytes):
            ws.transport.write(ws_binary_frame(item))
        else:
            ws.protocol.send_text(item.encode())
            ws.send_data()
        return True

    def _start_writer(self) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name=f"gateway-writer-{self.conn_id[:8]}")

    async def _write_loop(self) -> None:
        """Drain the queue with flow control (the socket was full, or a ping is due); ends when it is empty."""
        ws = self.ws
        queue = self._queue
        try:
            while queue:
                item = queue.popleft()
                if item is _CLOSE:
                    self._close_transport()
                elif item is _PING:
                    await ws.ping(b"")
                elif isinstance(item, Framed):
                    await ws.send(item.payload)
                elif isinstance(item, bytes | str):
                    await ws.send(item)
        except ConnectionClosed:
            self._closing = True
            queue.clear()
        finally:
            self._writer = None

    def close(self, reason: str) -> None:
        """Close after the frames already queued are written (TCP close, no WS close frame, as OpenIM)."""
        if self._closing:
            return
        self._closing = True
        self.close_reason = reason
        if self._queue or self._writer is not None:
            self._queue.append(_CLOSE)
            self._start_writer()
        else:
            self._close_transport()

    def _close_transport(self) -> None:
        transport = self.ws.transport
        if not transport.is_closing():
            transport.close()  # flushes what is buffered, then FIN; a peer that reads nothing is reset later
            self.ws.loop.call_later(CLOSE_FLUSH_TIMEOUT, transport.abort)

    def kick(self) -> None:
        """Send the 2002 KickOnlineMsg frame, then close (docs/protocol/gateway.md §3.3)."""
        if self._closing:
            return
        self.send(Resp(req_identifier=int(ReqIdentifier.KICK_ONLINE_MSG)))
        self.close("kicked")

    def drain(self) -> None:
        """The server is stopping: close now if idle, else right after the reply to the request being handled."""
        self._draining = True
        if not self._handling:
            self.close("server stopping")

    def abort(self, reason: str) -> None:
        """Drop the connection now, discarding queued frames."""
        self.close_reason = self.close_reason or reason
        self._closing = True
        self._queue.clear()
        self.ws.transport.abort()

    # ---- reading ------------------------------------------------------------------------------------------

    async def run(self, handler: Handler) -> None:
        """Read and handle frames strictly in order until the connection ends; returns once it is closed."""
        loop = asyncio.get_running_loop()
        ws = self.ws
        ws.last_frame_at = loop.time()
        self._arm_idle(loop)
        if self.platform_id == WEB:
            self._arm_ping(loop)
        try:
            async for message in ws:
                if self._closing:
                    break
                if isinstance(message, str):
                    self._on_text(message)
                    if self._closing:
                        break
                    continue
                try:
                    req = self.codec.decode_req(message)
                    if req.send_id != self.user_id:
                        raise ProtocolViolation(f"envelope sendID {req.send_id!r} != connection user")
                    self._handling, self._handling_op = True, req.operation_id
                    try:
                        resp = await handler(self, req)
                    finally:
                        self._handling = False
                except (FrameError, ProtocolViolation) as exc:
                    log.info("%r: closing: %s", self, exc)
                    self.close(str(exc))
                    break
                except Exception:  # a bug below us: drop this connection only, never send a half reply
                    log.exception("%r: closing after an unexpected error", self)
                    self.close("internal error")
                    break
                if resp is not None:
                    self.send(resp)
                if self._draining:
                    self._release_held()
                    self.close("server stopping")
                    break
                if self._held and self._release is None:
                    self._release = loop.call_later(PUSH_AFTER_REPLY, self._on_release)
                ws.last_frame_at = loop.time()  # as gorilla: the deadline runs while waiting, not while handling
        except ConnectionClosed:
            pass
        finally:
            for timer in (self._idle_timer, self._ping_timer, self._release):
                if timer is not None:
                    timer.cancel()
            if not self._closing:
                self.close("read loop ended")
            writer = self._writer
            if writer is not None:
                with contextlib.suppress(Exception):
                    await writer
            await ws.wait_closed()

    def _on_release(self) -> None:
        self._release = None
        self._release_held()

    def _on_text(self, text: str) -> None:
        """Text frames carry only app heartbeats: ping → text pong echoing the body, pong → nothing, else close."""
        heartbeat = parse_text_heartbeat(text)
        if heartbeat is None:
            log.info("%r: closing: unexpected text frame", self)
            self.close("unexpected text frame")
        elif heartbeat.type == "ping":
            self._enqueue(pong_text(heartbeat))

    def _arm_idle(self, loop: asyncio.AbstractEventLoop) -> None:
        idle = self.timing.idle_timeout

        def check() -> None:
            remaining = self.ws.last_frame_at + idle - loop.time()
            if self._handling:
                remaining = idle
            if remaining > 0:
                self._idle_timer = loop.call_later(remaining, check)
                return
            log.info("%r: no frame for %.0f s, closing", self, idle)
            self.abort("read timeout")

        self._idle_timer = loop.call_later(idle, check)

    def _arm_ping(self, loop: asyncio.AbstractEventLoop) -> None:
        interval = self.timing.web_ping_interval

        def ping() -> None:
            self._enqueue(_PING)
            self._ping_timer = loop.call_later(interval, ping)

        self._ping_timer = loop.call_later(interval, ping)
