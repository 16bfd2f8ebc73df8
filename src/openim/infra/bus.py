"""Bus: publish/subscribe between the parts of one deployment — pushes of committed messages, kicks, online-status
changes and subscriptions (2005), configuration reloads, and the invalidations that keep every process's fact
cache current (storage/facts.py, services/facts_sync.py).

`Bus` is the protocol every implementation keeps: `publish(topic, event)` never blocks and never fails the
publisher; a subscriber's handler gets the events of a topic in the order one publisher published them, one
at a time; a handler that raises is logged and keeps its subscription. Delivery is at-most-once per
subscriber (clients recover missed pushes by pulling), so a subscriber that falls `max_pending` events behind
loses the oldest ones, with a warning, instead of growing without bound. A subscriber that must know when it
may have missed events (the fact cache) passes `on_gap`: it is called with `live=True` when events were dropped
for it, and on a bus that crosses processes with `live=False` when its subscription broke and `live=True` once
it is confirmed again (the first confirmation too). `flush()` waits until what was published has left the process.

`MemoryBus` serves one process (the embedded default). The events are the dataclasses below; the Redis bus
of the scale-out issue serializes exactly these.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from openim.protocol.pb.sdkws_pb2 import MsgData

__all__ = [
    "TOPIC_CONFIG",
    "TOPIC_FACTS",
    "TOPIC_KICK",
    "TOPIC_PUSH",
    "TOPIC_STATUS",
    "TOPIC_SUBSCRIBE",
    "Bus",
    "ConfigReload",
    "Delivery",
    "GapHandler",
    "Handler",
    "Invalidate",
    "Kick",
    "MemoryBus",
    "Push",
    "StatusChange",
    "SubscribeChange",
    "Subscription",
]

logger = logging.getLogger("openim.infra")

TOPIC_PUSH = "push"
TOPIC_KICK = "kick"
TOPIC_STATUS = "status"
TOPIC_SUBSCRIBE = "subscribe"
TOPIC_CONFIG = "config"
TOPIC_FACTS = "facts"

Handler = Callable[[object], Awaitable[None] | None]
GapHandler = Callable[[bool], None]


@dataclass(frozen=True, slots=True)
class Push:
    """A message to deliver as a 2001 push to every connection of `user_ids` (topic "push").

    `msg` is final (stored messages carry their seq; online-only ones seq 0); `conversation_id` is the key
    of the `PushMessages` map (an `n_` ID goes into `notificationMsgs`).
    """

    conversation_id: str
    msg: MsgData
    user_ids: tuple[str, ...]
    operation_id: str = ""


@dataclass(frozen=True, slots=True)
class Kick:
    """Close the connections of `user_id` on `platform_id` that logged in with one of `tokens` (topic "kick")."""

    user_id: str
    platform_id: int
    tokens: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StatusChange:
    """The online platforms of `user_id` changed on the publishing gateway (topic "status").

    Every gateway with connections watching the user reads its platforms from presence and sends them a 2005.
    """

    user_id: str


@dataclass(frozen=True, slots=True)
class SubscribeChange:
    """REST subscribe_users_status: every live connection of `user_id` stops watching `remove`, then watches `add`
    (topic "subscribe"), as if each had sent that 2005; presence already holds the new sets."""

    user_id: str
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConfigReload:
    """Every process re-reads its configuration and applies what may change at run time (topic "config").

    `reason` is what asked for it (set_config, reset_config, set_enable_config_manager, restart), for the logs;
    `origin` the process that asked, which reloaded already and skips its own event.
    """

    reason: str
    operation_id: str = ""
    origin: str = ""


@dataclass(frozen=True, slots=True)
class Invalidate:
    """A process changed facts others may hold in memory (topic "facts"): drop `keys` of `kind` (None: all of it).

    `origin` names the publishing process and `serial` counts its events from 1, so a subscriber that sees a
    serial skip knows it lost one.
    """

    origin: str
    serial: int
    kind: str
    keys: tuple[str, ...] | None


class Subscription(Protocol):
    """A live subscription; `close()` stops deliveries (events already being handled finish)."""

    async def close(self) -> None: ...


class Bus(Protocol):
    def publish(self, topic: str, event: object) -> None:
        """Queue `event` for every subscriber of `topic`; returns at once, never raises for a subscriber."""
        ...

    def subscribe(self, topic: str, handler: Handler, *, on_gap: GapHandler | None = None) -> Subscription:
        """Call `handler(event)` (sync or async) for each event published on `topic` from now on, in order;
        `on_gap(live)` when events may have been missed (module docstring)."""
        ...

    async def flush(self) -> None:
        """Wait until every event published so far has left this process (bound it with asyncio.timeout)."""
        ...


class _DeliveryOwner(Protocol):
    def _remove(self, delivery: Delivery) -> None: ...


@dataclass(eq=False)
class Delivery:
    """One subscriber's events in this process: a bounded queue (oldest dropped when full) drained in order by one
    task, so a slow handler delays only itself. Shared by MemoryBus and the Redis bus's local fan-out."""

    bus: _DeliveryOwner
    topic: str
    handler: Handler
    max_pending: int
    on_gap: GapHandler | None = None
    pending: deque[object] = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: int = 0

    def __post_init__(self) -> None:
        self.idle.set()

    def offer(self, event: object) -> None:
        if len(self.pending) >= self.max_pending:
            self.pending.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.warning("bus subscriber of %r is behind: %d events dropped", self.topic, self.dropped)
            self.gap(live=True)
        self.pending.append(event)
        self.idle.clear()
        self.wakeup.set()

    def gap(self, *, live: bool) -> None:
        """Tell the subscriber it may have missed events (if it asked to know)."""
        if self.on_gap is None:
            return
        try:
            self.on_gap(live)
        except Exception:
            logger.exception("bus gap handler for %r failed", self.topic)

    async def run(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            while self.pending:
                event = self.pending.popleft()
                try:
                    result = self.handler(event)
                    if result is not None:
                        await result
                except Exception:
                    logger.exception("bus handler for %r failed", self.topic)
            self.idle.set()

    async def close(self) -> None:
        self.bus._remove(self)
        self.pending.clear()
        self.idle.set()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None


class MemoryBus:
    """The in-process Bus: one delivery task per subscription, events kept in publish order."""

    def __init__(self, *, max_pending: int = 100_000) -> None:
        self._subscriptions: dict[str, list[Delivery]] = {}
        self._max_pending = max_pending

    def publish(self, topic: str, event: object) -> None:
        """Queue `event` for every current subscriber of `topic` (none: the event is dropped)."""
        for subscription in self._subscriptions.get(topic, ()):
            subscription.offer(event)

    def subscribe(self, topic: str, handler: Handler, *, on_gap: GapHandler | None = None) -> Subscription:
        """Subscribe `handler`; needs a running event loop (its delivery task starts now). In one process a
        subscription is live from the start: `on_gap(True)` is called only when its events are dropped."""
        subscription = Delivery(self, topic, handler, self._max_pending, on_gap)
        subscription.task = asyncio.get_running_loop().create_task(subscription.run(), name=f"openim-bus-{topic}")
        self._subscriptions.setdefault(topic, []).append(subscription)
        return subscription

    async def flush(self) -> None:
        """In one process an event is with its subscribers as soon as `publish` returns: nothing to wait for."""

    async def drain(self) -> None:
        """Wait until every event published so far was handled (tests, orderly shutdown)."""
        for subs in list(self._subscriptions.values()):
            for subscription in list(subs):
                await subscription.idle.wait()

    async def close(self) -> None:
        """Close every subscription."""
        for subs in list(self._subscriptions.values()):
            for subscription in list(subs):
                await subscription.close()

    def _remove(self, subscription: Delivery) -> None:
        subs = self._subscriptions.get(subscription.topic, [])
        if subscription in subs:
            subs.remove(subscription)
