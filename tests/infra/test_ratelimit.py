"""Rate limits (infra/ratelimit.py): a burst then one request per interval, per key; the Redis limiter shares one
bucket between processes (two clients here) and forgets full buckets; the in-memory table stays bounded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from openim.infra.ratelimit import Bucket, MemoryRateLimiter, RateLimiter, RedisRateLimiter, Rule
from openim.infra.redis import connect

SLOW = Rule("test_slow", rate=1, burst=3)  # a refill takes a second: none happens during a test step
FAST = Rule("test_fast", rate=20, burst=1)  # one request, then the next after 50 ms


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limiters(request: pytest.FixtureRequest) -> AsyncIterator[tuple[RateLimiter, RateLimiter]]:
    """Two limiters as two processes would hold them: one table in memory (one process), or two Redis clients."""
    if request.param == "memory":
        memory = MemoryRateLimiter()
        yield memory, memory
        return
    url = request.getfixturevalue("redis_url")
    first, second = await connect(url), await connect(url)
    yield RedisRateLimiter(first), RedisRateLimiter(second)
    await first.aclose()
    await second.aclose()


async def test_a_burst_then_refusals_per_key(limiters: tuple[RateLimiter, RateLimiter]) -> None:
    limiter, _ = limiters
    assert [await limiter.allow(SLOW, "1.2.3.4") for _ in range(5)] == [True, True, True, False, False]
    assert await limiter.allow(SLOW, "5.6.7.8")  # another key has its own bucket


async def test_the_bucket_refills_at_the_rate(limiters: tuple[RateLimiter, RateLimiter]) -> None:
    limiter, _ = limiters
    assert await limiter.allow(FAST, "u")
    assert not await limiter.allow(FAST, "u")
    await asyncio.sleep(0.12)
    assert await limiter.allow(FAST, "u")


async def test_processes_on_one_redis_share_the_bucket(limiters: tuple[RateLimiter, RateLimiter]) -> None:
    first, second = limiters
    assert await first.allow(SLOW, "alice")
    assert await second.allow(SLOW, "alice")
    assert await first.allow(SLOW, "alice")
    assert not await second.allow(SLOW, "alice")  # the third request spent the burst, wherever it came from


@pytest.mark.redis
async def test_a_full_bucket_leaves_no_redis_key(redis_url: str) -> None:
    client = await connect(redis_url)
    try:
        limiter = RedisRateLimiter(client, prefix="t:")
        assert await limiter.allow(FAST, "k")
        assert await client.exists("t:test_fast:k")
        await asyncio.sleep(0.12)
        assert not await client.exists("t:test_fast:k")
    finally:
        await client.aclose()


async def test_the_memory_table_forgets_full_buckets() -> None:
    now = [0.0]
    limiter = MemoryRateLimiter(now=lambda: now[0])
    for i in range(5000):
        await limiter.allow(FAST, f"ip{i}")
        now[0] += 0.01  # each bucket is full again 50 ms after its request
    assert len(limiter._tats) < 2048


def test_a_connection_bucket() -> None:
    bucket = Bucket(Rule("test_frames", rate=10, burst=2))
    assert [bucket.allow(0.0), bucket.allow(0.0), bucket.allow(0.0)] == [True, True, False]
    assert bucket.allow(0.1)  # one interval later
