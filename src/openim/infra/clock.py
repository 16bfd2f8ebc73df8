"""Clock: the one source of time for services, so tests can move time instead of sleeping."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["Clock", "FakeClock", "SystemClock"]


class Clock(Protocol):
    def now_ms(self) -> int:
        """Unix time in milliseconds."""
        ...

    def now_s(self) -> int:
        """Unix time in whole seconds."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def now_s(self) -> int:
        return time.time_ns() // 1_000_000_000

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeClock:
    """A clock that moves only when told to: `advance(seconds)`; sleeping advances it."""

    def __init__(self, start_ms: int = 1_767_225_600_000) -> None:
        self._ms = start_ms

    def now_ms(self) -> int:
        return self._ms

    def now_s(self) -> int:
        return self._ms // 1000

    def advance(self, seconds: float) -> None:
        self._ms += int(seconds * 1000)

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)
