"""ObjectCleanup: the msgtransfer role's scheduled removal of abandoned uploads (services/object `cleanup`).

Every `interval_s` it removes the multipart uploads and browser form uploads that passed their expiry, with the
parts or file they left in the store, in batches until none is left. Completed objects are never touched.
A failing round is logged and retried at the next interval.
"""

from __future__ import annotations

import asyncio
import logging

from openim.infra.clock import Clock
from openim.services.object import ObjectService

__all__ = ["ObjectCleanup"]

log = logging.getLogger("openim.jobs.object_cleanup")

_BATCH = 100
_MAX_BATCHES = 100  # per round: a huge backlog is worked off over several rounds


class ObjectCleanup:
    def __init__(self, objects: ObjectService, clock: Clock, *, interval_s: float = 600.0) -> None:
        self.objects = objects
        self.clock = clock
        self.interval_s = interval_s
        self._stop = asyncio.Event()

    async def run_once(self) -> int:
        """One round: how many expired uploads were removed."""
        removed = 0
        for _ in range(_MAX_BATCHES):
            count = await self.objects.cleanup(limit=_BATCH)
            removed += count
            if count < _BATCH:
                break
        if removed:
            log.info("removed %d expired uploads", removed)
        return removed

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("object clean-up round failed; retrying at the next interval")
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self.interval_s)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stop.set()
