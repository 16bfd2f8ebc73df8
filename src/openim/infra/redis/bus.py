"""`RedisBus`: the `Bus` contract (`infra/bus.py`) over Redis pub/sub, so every process of a deployment sees
the pushes, kicks and fact invalidations any of them publishes.

Channels: topic `t` is the Redis channel `openim:bus:<t>` (`channel(t)`). A process subscribes to a channel
only while it has a local subscriber of that topic, so an api-only process receives no pushes.

Publishing never waits: `publish` encodes the event and queues it; one publisher task per bus sends the queue
in order (a pipeline per batch on one connection), so the events of one publisher reach every subscriber in
the order they were published. Before sending, the publisher waits (up to a second) until this bus's own
subscriptions are confirmed by Redis, so `subscribe(t, h); publish(t, e)` in one process delivers `e` to `h`
as `MemoryBus` does. A batch Redis refuses (restart, network) is kept and retried with backoff; beyond
`max_pending` queued events the oldest are dropped, with a warning — pushes are at-most-once, clients pull
the gaps by seq.

Subscribing: one listener task per bus owns one pub/sub connection and hands each message, decoded once, to
the local subscriptions of its topic; each subscription has its own queue (`max_pending`, oldest dropped)
and delivery task, so handlers run one event at a time in arrival order and a slow handler delays no other
subscriber. When the connection breaks the listener logs it, reconnects with backoff and subscribes again;
events published meanwhile are lost to this process (at-most-once). A subscription that passed `on_gap` hears
`on_gap(False)` when the connection breaks and `on_gap(True)` when Redis confirms its channel (at first, and after
each reconnection). `flush()` waits until the events queued so far were sent (PUBLISH answered: Redis has
handed them to every subscribed connection) or dropped.

Wire format (compact, versioned by its first byte; `encode`/`decode`): only the bus's events travel —
`Push` (kind `P`): `!BHHI` kind, len(conversation_id), len(operation_id), number of user IDs; one `!H` length
per user ID; the UTF-8 conversation ID, operation ID and user IDs; then the `MsgData` protobuf bytes to the end.
`Kick` (kind `K`): `!BiHI` kind, platform ID, len(user_id), number of tokens; one `!H` length per token; the
user ID and tokens. The rare control events — `StatusChange`, `SubscribeChange`, `ConfigReload` and the fact
cache's `Invalidate` — are kind `J`:
one JSON object naming the event (`"e"`) and its fields. Anything else is refused at `publish` with TypeError (a
programming error, not a subscriber's fault).

`close()` stops taking events, sends what is queued (up to `drain_timeout` seconds), then ends the
subscriptions and the listener. The client is the caller's (`openim.infra.redis.connect`) and stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import struct
from collections import deque
from collections.abc import Iterable
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from openim.infra.bus import (
    ConfigReload,
    Delivery,
    GapHandler,
    Handler,
    Invalidate,
    Kick,
    Push,
    StatusChange,
    SubscribeChange,
    Subscription,
)
from openim.protocol.pb.sdkws_pb2 import MsgData

__all__ = ["CHANNEL_PREFIX", "RedisBus", "channel", "decode", "encode"]

log = logging.getLogger("openim.infra")

CHANNEL_PREFIX = "openim:bus:"
_PUSH = ord("P")
_KICK = ord("K")
_JSON = ord("J")
_CONTROL: dict[str, type[StatusChange | SubscribeChange | ConfigReload | Invalidate]] = {
    "status": StatusChange,
    "subscribe": SubscribeChange,
    "config": ConfigReload,
    "facts": Invalidate,
}
_CONTROL_NAMES = {kind: name for name, kind in _CONTROL.items()}
_PUSH_HEAD = struct.Struct("!BHHI")
_KICK_HEAD = struct.Struct("!BiHI")
_BATCH = 512  # events per pipeline
_CONFIRM_WAIT_S = 1.0  # how long a publish waits for this bus's own subscriptions to be confirmed
_BACKOFF_START_S = 0.05
_BACKOFF_CAP_S = 2.0


def channel(topic: str) -> str:
    """The Redis channel of a bus topic."""
    return CHANNEL_PREFIX + topic


def encode(event: object) -> bytes:
    """The wire bytes of a bus event; TypeError for anything else, ValueError for a field too long."""
    try:
        if isinstance(event, Push):
            conv, op = event.conversation_id.encode(), event.operation_id.encode()
            users = [u.encode() for u in event.user_ids]
            return b"".join(
                (
                    _PUSH_HEAD.pack(_PUSH, len(conv), len(op), len(users)),
                    struct.pack(f"!{len(users)}H", *map(len, users)),
                    conv,
                    op,
                    *users,
                    event.msg.SerializeToString(),
                )
            )
        if isinstance(event, Kick):
            user = event.user_id.encode()
            tokens = [t.encode() for t in event.tokens]
            return b"".join(
                (
                    _KICK_HEAD.pack(_KICK, event.platform_id, len(user), len(tokens)),
                    struct.pack(f"!{len(tokens)}H", *map(len, tokens)),
                    user,
                    *tokens,
                )
            )
    except struct.error as exc:
        raise ValueError(f"cannot encode {type(event).__name__} for the bus: {exc}") from None
    if isinstance(event, StatusChange | SubscribeChange | ConfigReload | Invalidate):
        fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
        return bytes((_JSON,)) + orjson.dumps({"e": _CONTROL_NAMES[type(event)], **fields})
    raise TypeError(f"the Redis bus carries Push, Kick and control events only, not {type(event).__name__}")


def _strings(data: bytes, offset: int, lengths: Iterable[int]) -> tuple[list[str], int]:
    found = []
    for n in lengths:
        found.append(data[offset : offset + n].decode())
        offset += n
    return found, offset


def decode(data: bytes) -> Push | Kick | StatusChange | SubscribeChange | ConfigReload | Invalidate:
    """The event `encode` wrote; ValueError when the bytes are not one."""
    try:
        kind = data[0]
        if kind == _PUSH:
            _, conv_len, op_len, n = _PUSH_HEAD.unpack_from(data)
            offset = _PUSH_HEAD.size
            lengths = struct.unpack_from(f"!{n}H", data, offset)
            (conv, op), offset = _strings(data, offset + 2 * n, (conv_len, op_len))
            users, offset = _strings(data, offset, lengths)
            msg = MsgData()
            msg.ParseFromString(data[offset:])
            return Push(conv, msg, tuple(users), op)
        if kind == _KICK:
            _, platform_id, user_len, n = _KICK_HEAD.unpack_from(data)
            offset = _KICK_HEAD.size
            lengths = struct.unpack_from(f"!{n}H", data, offset)
            (user,), offset = _strings(data, offset + 2 * n, (user_len,))
            tokens, offset = _strings(data, offset, lengths)
            if offset != len(data):
                raise ValueError(f"{len(data) - offset} trailing bytes")
            return Kick(user, platform_id, tuple(tokens))
        if kind == _JSON:
            fields = orjson.loads(data[1:])
            if not isinstance(fields, dict):
                raise ValueError("a control event is a JSON object")
            cls = _CONTROL[fields.pop("e")]
            values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
            return cls(**values)
    except (IndexError, KeyError, TypeError, struct.error, UnicodeDecodeError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"malformed bus event: {exc}") from None
    except Exception as exc:  # protobuf's DecodeError
        raise ValueError(f"malformed bus event: {type(exc).__name__}: {exc}") from None
    raise ValueError(f"unknown bus event kind {kind!r}")


class RedisBus:
    """The Bus over Redis pub/sub: one publisher task and one listener task per bus (module docstring)."""

    def __init__(self, client: aioredis.Redis, *, max_pending: int = 100_000, drain_timeout: float = 5.0) -> None:
        self._redis = client
        self._max_pending = max_pending
        self.drain_timeout = drain_timeout
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._outbox_ready = asyncio.Event()
        self._publisher: asyncio.Task[None] | None = None
        self._dropped = 0
        self._queued_total = 0  # events ever queued by publish
        self._done_total = 0  # of those, sent or dropped
        self._progress = asyncio.Event()  # set whenever _done_total grows
        self._subs: dict[str, list[Delivery]] = {}
        self._wanted: set[str] = set()  # channels this bus must be subscribed to
        self._confirmed: set[str] = set()  # channels Redis confirmed on the current pub/sub connection
        self._confirm_changed = asyncio.Event()
        self._wanted_changed = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._pubsub: PubSub | None = None  # set while the listener reads a subscribed connection
        self._control: set[asyncio.Task[None]] = set()
        self._closing = False

    # ---- publishing ---------------------------------------------------------------------------------------

    def publish(self, topic: str, event: object) -> None:
        """Queue `event` for every subscriber of `topic` in every process; returns at once (module docstring)."""
        payload = encode(event)
        if self._closing:
            log.warning("bus closed: %s on %r not published", type(event).__name__, topic)
            return
        self._outbox.append((channel(topic), payload))
        self._queued_total += 1
        if len(self._outbox) > self._max_pending:
            self._drop_oldest()
        self._outbox_ready.set()
        if self._publisher is None:
            self._publisher = asyncio.get_running_loop().create_task(self._publish_loop(), name="openim-bus-publish")

    def _drop_oldest(self) -> None:
        while len(self._outbox) > self._max_pending:
            self._outbox.popleft()
            self._dropped += 1
            self._done(1)
            if self._dropped == 1 or self._dropped % 1000 == 0:
                log.warning("bus cannot publish fast enough: %d events dropped", self._dropped)

    async def _publish_loop(self) -> None:
        backoff = _BACKOFF_START_S
        failing = False
        while True:
            if not self._outbox:
                if self._closing:
                    return
                self._outbox_ready.clear()
                await self._outbox_ready.wait()
                continue
            await self._own_subscriptions_confirmed()
            batch = [self._outbox.popleft() for _ in range(min(_BATCH, len(self._outbox)))]
            try:
                if len(batch) == 1:
                    await self._redis.publish(*batch[0])
                else:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for name, payload in batch:
                            pipe.publish(name, payload)
                        await pipe.execute()
            except (RedisError, OSError) as exc:
                self._outbox.extendleft(reversed(batch))
                self._drop_oldest()
                if not failing:
                    log.warning("bus cannot publish to Redis (%s: %s); retrying", type(exc).__name__, exc)
                failing = True
                if self._closing and backoff >= _BACKOFF_CAP_S:
                    log.warning("bus closing: %d queued events not published", len(self._outbox))
                    self._outbox.clear()
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_CAP_S)
                continue
            self._done(len(batch))
            if failing:
                log.info("bus publishes to Redis again")
                failing = False
                backoff = _BACKOFF_START_S

    def _done(self, n: int) -> None:
        self._done_total += n
        self._progress.set()

    async def flush(self) -> None:
        """Wait until every event queued so far was sent (or dropped); bound it with asyncio.timeout."""
        target = self._queued_total
        while self._done_total < target:
            self._progress.clear()
            await self._progress.wait()

    async def _own_subscriptions_confirmed(self) -> None:
        """Wait (bounded) until Redis confirmed every channel this bus subscribed to, keeping in-process order."""
        if self._wanted <= self._confirmed:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_CONFIRM_WAIT_S):
                while not self._wanted <= self._confirmed:
                    self._confirm_changed.clear()
                    await self._confirm_changed.wait()

    # ---- subscribing --------------------------------------------------------------------------------------

    def subscribe(self, topic: str, handler: Handler, *, on_gap: GapHandler | None = None) -> Subscription:
        """Subscribe `handler` in this process; needs a running event loop (its delivery task starts now).

        `on_gap(True)` comes once Redis confirmed the channel: until then events may pass this process by."""
        loop = asyncio.get_running_loop()
        sub = Delivery(self, topic, handler, self._max_pending, on_gap)
        sub.task = loop.create_task(sub.run(), name=f"openim-bus-{topic}")
        self._subs.setdefault(topic, []).append(sub)
        name = channel(topic)
        if name not in self._wanted:
            self._wanted.add(name)
            self._wanted_changed.set()
            if self._pubsub is not None:
                self._send_control(self._pubsub.subscribe(name))
        elif name in self._confirmed:  # a channel live already: so is this subscription
            loop.call_soon(functools.partial(sub.gap, live=True))
        if self._listener is None:
            self._listener = loop.create_task(self._listen(), name="openim-bus-listen")
        return sub

    def _remove(self, sub: Delivery) -> None:
        subs = self._subs.get(sub.topic, [])
        if sub in subs:
            subs.remove(sub)
        if subs:
            return
        self._subs.pop(sub.topic, None)
        name = channel(sub.topic)
        self._wanted.discard(name)
        if self._pubsub is not None and not self._closing:
            self._send_control(self._pubsub.unsubscribe(name))

    def _send_control(self, command: object) -> None:
        """Send a (UN)SUBSCRIBE on the listener's connection; its reply arrives through the listener."""

        async def send() -> None:
            try:
                await command  # type: ignore[misc]
            except (RedisError, OSError) as exc:  # the listener sees the broken connection and resubscribes
                log.debug("bus subscription change failed: %s", exc)

        task = asyncio.get_running_loop().create_task(send())
        self._control.add(task)
        task.add_done_callback(self._control.discard)

    async def _listen(self) -> None:
        backoff = _BACKOFF_START_S
        failing = False
        while True:
            while not self._wanted:
                self._wanted_changed.clear()
                await self._wanted_changed.wait()
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(*self._wanted)
                self._pubsub = pubsub
                missing = self._wanted - set(_text(c) for c in pubsub.channels)
                if missing:  # subscribed to while the first SUBSCRIBE was on its way
                    await pubsub.subscribe(*missing)
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is None:
                        continue
                    if failing:
                        log.info("bus listens to Redis again: %s", ", ".join(sorted(self._wanted)))
                        failing = False
                        backoff = _BACKOFF_START_S
                    self._on_message(message)
            except (RedisError, OSError) as exc:
                if not failing:
                    log.warning("bus lost its Redis subscription (%s: %s); reconnecting", type(exc).__name__, exc)
                failing = True
            finally:
                self._pubsub = None
                self._confirmed.clear()
                self._confirm_changed.set()
                for subs in list(self._subs.values()):
                    for sub in list(subs):
                        sub.gap(live=False)
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _BACKOFF_CAP_S)

    def _on_message(self, message: dict[str, object]) -> None:
        kind = message.get("type")
        name = _text(message.get("channel"))
        if kind == b"message" or kind == "message":
            subs = self._subs.get(name.removeprefix(CHANNEL_PREFIX))
            if not subs:
                return
            data = message.get("data")
            try:
                event = decode(data if isinstance(data, bytes) else b"")
            except ValueError as exc:
                log.warning("bus: dropped an undecodable event on %s: %s", name, exc)
                return
            for sub in list(subs):
                sub.offer(event)
        elif kind in (b"subscribe", "subscribe"):
            self._confirmed.add(name)
            self._confirm_changed.set()
            for sub in list(self._subs.get(name.removeprefix(CHANNEL_PREFIX), ())):
                sub.gap(live=True)
        elif kind in (b"unsubscribe", "unsubscribe"):
            self._confirmed.discard(name)

    # ---- lifecycle ----------------------------------------------------------------------------------------

    async def close(self) -> None:
        """Send what is queued (up to `drain_timeout` s), then end every subscription and the listener."""
        self._closing = True
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            self._outbox_ready.set()
            try:
                await asyncio.wait_for(asyncio.shield(publisher), self.drain_timeout)
            except TimeoutError:
                log.warning("bus closing: %d queued events not published", len(self._outbox))
                publisher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await publisher
        for subs in list(self._subs.values()):
            for sub in list(subs):
                await sub.close()
        listener, self._listener = self._listener, None
        for task in [*self._control, *([listener] if listener else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
