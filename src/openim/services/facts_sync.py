"""FactSync: keeps the storage's fact cache (storage/facts.py) current across the processes of a deployment.

A process that commits a change to a cached fact publishes `infra.bus.Invalidate` on topic "facts" and waits (at
most `FLUSH_WAIT_S`) until the bus has handed it to Redis, so the request that made the change is answered only
after every other process could hear of it; they drop the same entries when it arrives. OpenIM does the same with
its local caches (Redis pub/sub topics `DELETE_CACHE_*`).

What could make a cache serve a fact older than the database, and what is done about it:
- the subscription is not live (not confirmed yet, or its Redis connection broke): the cache is off (every lookup
  reads the database) from the break until Redis confirms the channel again, and emptied at both ends;
- an event was lost anyway (dropped by a publisher or a subscriber that fell behind): each origin numbers its
  events, so a skipped serial, or a drop reported by the bus, empties the cache;
- nothing covers a change made by hand in the database: the entries' TTL bounds that (storage/facts.py).
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from openim.infra.bus import TOPIC_FACTS, Bus, Invalidate, Subscription
from openim.storage.facts import FactCache

__all__ = ["FLUSH_WAIT_S", "FactSync"]

log = logging.getLogger("openim.services")

FLUSH_WAIT_S = 1.0  # how long a write waits for its invalidation to leave the process (Redis down: not forever)


class FactSync:
    """Publishes this process's fact changes and applies the other processes' ones."""

    def __init__(self, facts: FactCache, bus: Bus, *, origin: str | None = None) -> None:
        self._facts = facts
        self._bus = bus
        self.origin = origin or uuid.uuid4().hex
        self._serial = 0
        self._seen: dict[str, int] = {}  # origin → last serial applied
        self._subscription: Subscription | None = None
        self.flushes = 0  # times the whole cache was emptied for a gap (tests, logs)

    def start(self) -> None:
        """Subscribe and take over the cache's change hook; the cache reads through until the bus is live."""
        self._facts.enabled = False
        self._facts.flush()
        self._facts.on_change = self._publish
        self._subscription = self._bus.subscribe(TOPIC_FACTS, self._on_event, on_gap=self._on_gap)

    @property
    def serial(self) -> int:
        """How many changes this process has published."""
        return self._serial

    def seen(self, origin: str) -> int:
        """The last serial of `origin` this process has applied (0: none)."""
        return self._seen.get(origin, 0)

    async def close(self) -> None:
        self._facts.on_change = None
        if self._subscription is not None:
            await self._subscription.close()
            self._subscription = None

    async def _publish(self, kind: str, keys: tuple[str, ...] | None) -> None:
        self._serial += 1
        self._bus.publish(TOPIC_FACTS, Invalidate(self.origin, self._serial, kind, keys))
        try:
            async with asyncio.timeout(FLUSH_WAIT_S):
                await self._bus.flush()
        except TimeoutError:
            log.warning("fact change %s not confirmed by the bus within %.1f s; other processes learn late", kind,
                        FLUSH_WAIT_S)  # fmt: skip

    def _on_event(self, event: object) -> None:
        if not isinstance(event, Invalidate) or event.origin == self.origin:
            return  # our own changes were applied when they were made
        last = self._seen.get(event.origin)
        self._seen[event.origin] = event.serial
        if last is not None and event.serial != last + 1:
            self._gap(f"events {last + 1}..{event.serial - 1} of {event.origin[:8]} were lost")
            return
        self._facts.invalidate(event.kind, event.keys)

    def _on_gap(self, live: bool) -> None:
        self._seen.clear()  # what comes next is compared with nothing: events may have passed meanwhile
        self._gap("the bus subscription is live" if live else "the bus subscription broke")
        self._facts.enabled = live

    def _gap(self, why: str) -> None:
        self.flushes += 1
        self._facts.flush()
        log.info("fact cache emptied: %s", why)
