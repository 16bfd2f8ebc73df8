"""Rate limits (GCRA: a token bucket kept as one timestamp per key), in memory or shared through Redis.

Off unless `ratelimiter.enable` (OpenIM's key; OpenIM's own limiter is off by default too). Each rule is a
sustained rate per second and a burst: a key may spend `burst` requests at once, then one per `1/rate` seconds.
The limiter answers "allowed?" and counts refusals in `openim_rate_limited_total{rule}`; the caller answers the
client (REST: HTTP 429 with OpenIM's envelope, errCode 429; gateway: the request's reply with errCode 429).

With Redis every process draws from the same bucket (one script call, Redis's own clock, so process clocks do not
matter); without it each process keeps its own. A bucket that is full again is forgotten (Redis: its key expires;
memory: swept), so the table is bounded by the keys active within a burst's span.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from openim.metrics import RATE_LIMITED
from openim.settings import RateLimits, RateRule

__all__ = ["Bucket", "MemoryRateLimiter", "RateLimiter", "Rates", "RedisRateLimiter", "Rule"]


_EPSILON = 1e-9  # float sums of intervals: a request exactly one interval later must not miss by a rounding


@dataclass(frozen=True, slots=True)
class Rule:
    name: str  # the metric label and key prefix: "ip_requests", "ip_connects", "user_sends"
    rate: float  # sustained requests per second
    burst: int  # requests allowed at once

    @property
    def interval(self) -> float:
        return 1.0 / self.rate


class RateLimiter(Protocol):
    async def allow(self, rule: Rule, key: str) -> bool:
        """Spend one request of `key`'s bucket under `rule`; False (and counted) when it is empty."""
        ...


@dataclass(frozen=True, slots=True)
class Rates:
    """The limiter and the rules of `ratelimiter` in config.yaml (built only when it is enabled)."""

    limiter: RateLimiter
    ip_requests: Rule
    ip_connects: Rule
    user_sends: Rule
    conn_frames: Rule

    @classmethod
    def of(cls, config: RateLimits, limiter: RateLimiter) -> Rates:
        def rule(name: str, section: RateRule) -> Rule:
            return Rule(name, section.rate, section.burst)

        return cls(
            limiter,
            rule("ip_requests", config.ipRequests),
            rule("ip_connects", config.ipConnects),
            rule("user_sends", config.userSends),
            rule("conn_frames", config.connFrames),
        )


class Bucket:
    """One GCRA bucket held by its owner (a connection's frames): no table, no lock, no await."""

    __slots__ = ("_rule", "_tat")

    def __init__(self, rule: Rule) -> None:
        self._rule = rule
        self._tat = 0.0  # theoretical arrival time of the next request: ahead of now by what the burst has spent

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tat = max(self._tat, now) + self._rule.interval
        if tat - now > self._rule.interval * self._rule.burst + _EPSILON:
            RATE_LIMITED.labels(self._rule.name).inc()
            return False
        self._tat = tat
        return True


class MemoryRateLimiter:
    """Buckets of this process, swept of full buckets when the table doubles since the last sweep."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._tats: dict[tuple[str, str], float] = {}
        self._sweep_at = 1024
        self._now = now

    async def allow(self, rule: Rule, key: str) -> bool:
        now = self._now()
        slot = (rule.name, key)
        tat = max(self._tats.get(slot, now), now) + rule.interval
        if tat - now > rule.interval * rule.burst + _EPSILON:
            RATE_LIMITED.labels(rule.name).inc()
            return False
        self._tats[slot] = tat
        if len(self._tats) >= self._sweep_at:
            self._sweep(now)
        return True

    def _sweep(self, now: float) -> None:
        # A bucket whose next arrival time has passed is full again: forgetting it changes no answer.
        self._tats = {slot: tat for slot, tat in self._tats.items() if tat > now}
        self._sweep_at = max(1024, 2 * len(self._tats))


# KEYS[1] the bucket; ARGV[1] interval in µs, ARGV[2] burst. Redis's TIME, so every process shares one clock.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
tat = tat + interval
if tat - now > interval * tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], tat, 'PX', math.ceil((tat - now) / 1000))
return 1
"""


class RedisRateLimiter:
    """Buckets shared by every process on one Redis (keys `<prefix><rule>:<key>`, expiring when full again)."""

    def __init__(self, redis: Redis, prefix: str = "openim:ratelimit:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_GCRA)

    async def allow(self, rule: Rule, key: str) -> bool:
        interval_us = max(1, round(rule.interval * 1_000_000))
        allowed = await self._script(keys=[f"{self._prefix}{rule.name}:{key}"], args=[interval_us, rule.burst])
        if not allowed:
            RATE_LIMITED.labels(rule.name).inc()
            return False
        return True
