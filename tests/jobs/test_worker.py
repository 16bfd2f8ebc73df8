"""jobs/worker.py: the consume loop acknowledges done jobs, retries failures with backoff, counts dead letters,
keeps to its concurrency limit, and stops gracefully (jobs in hand finish; unfinished ones stay pending)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from openim.infra.queue import Job, MemoryQueue, dead_letter_topic
from openim.jobs.worker import Worker


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(600):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not met within 3 s")


def _worker(queue: MemoryQueue, handler: Callable[[Job], Awaitable[None]], **kwargs: object) -> Worker:
    return Worker(queue, "t", handler, consumer="w1", backoff_s=0.01, **kwargs)  # type: ignore[arg-type]


async def test_done_jobs_are_acknowledged() -> None:
    """Every job handled without error is acknowledged: the queue's depth drops to zero."""
    queue = MemoryQueue(poll_s=0.05)
    seen: list[bytes] = []

    async def handle(job: Job) -> None:
        seen.append(job.payload)

    worker = _worker(queue, handle)
    running = asyncio.ensure_future(worker.run())
    for i in range(10):
        await queue.enqueue("t", str(i).encode())
    await _until(lambda: worker.done == 10)
    worker.stop()
    await running
    assert sorted(seen) == sorted(str(i).encode() for i in range(10))
    assert (await queue.stats("t", "msgtransfer")).depth == 0


async def test_failure_is_retried_until_it_succeeds() -> None:
    """A handler that fails twice then succeeds runs three times and the job counts as done, not dead."""
    queue = MemoryQueue(poll_s=0.05)
    attempts = 0

    async def flaky(job: Job) -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise RuntimeError("provider down")

    worker = _worker(queue, flaky, max_attempts=5)
    running = asyncio.ensure_future(worker.run())
    await queue.enqueue("t", b"x")
    await _until(lambda: worker.done == 1)
    worker.stop()
    await running
    assert (attempts, worker.dead_letters) == (3, 0)


async def test_job_failing_every_attempt_is_a_dead_letter() -> None:
    """After max_attempts failures the job is counted as a dead letter, kept in `t.dead`, and acknowledged."""
    queue = MemoryQueue(poll_s=0.05)
    attempts = 0

    async def broken(job: Job) -> None:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("always")

    worker = _worker(queue, broken, max_attempts=3)
    running = asyncio.ensure_future(worker.run())
    await queue.enqueue("t", b"x")
    await _until(lambda: worker.dead_letters == 1)
    worker.stop()
    await running
    assert attempts == 3 and worker.done == 0
    assert (await queue.stats("t", "msgtransfer")).depth == 0
    assert (await queue.stats(dead_letter_topic("t"), "msgtransfer")).length == 1
    dead = await anext(queue.consume("t.dead", "reader", "r1"))
    assert dead.payload == b"x"


async def test_concurrency_is_bounded() -> None:
    """No more than `concurrency` handlers run at once."""
    queue = MemoryQueue(poll_s=0.05)
    running_now = peak = 0

    async def slow(job: Job) -> None:
        nonlocal running_now, peak
        running_now += 1
        peak = max(peak, running_now)
        await asyncio.sleep(0.02)
        running_now -= 1

    worker = _worker(queue, slow, concurrency=3)
    task = asyncio.ensure_future(worker.run())
    for i in range(12):
        await queue.enqueue("t", str(i).encode())
    await _until(lambda: worker.done == 12)
    worker.stop()
    await task
    assert peak == 3


async def test_stop_lets_jobs_in_hand_finish_and_takes_no_new_one() -> None:
    """stop() waits for the running job to finish and acknowledge; jobs not yet taken stay in the queue."""
    queue = MemoryQueue(poll_s=0.05)
    started, release = asyncio.Event(), asyncio.Event()

    async def gated(job: Job) -> None:
        started.set()
        await release.wait()

    worker = _worker(queue, gated, concurrency=1)
    task = asyncio.ensure_future(worker.run())
    await queue.enqueue("t", b"first")
    await asyncio.wait_for(started.wait(), 3)
    await queue.enqueue("t", b"second")
    worker.stop()
    await asyncio.sleep(0.05)
    assert not task.done()
    release.set()
    await asyncio.wait_for(task, 3)
    assert worker.done == 1
    stats = await queue.stats("t", "msgtransfer")
    assert (stats.lag, stats.pending) == (1, 0)


async def test_stop_after_drain_timeout_leaves_the_job_pending() -> None:
    """A job still running after drain_timeout_s is cancelled and stays pending, for another consumer to reclaim."""
    queue = MemoryQueue(poll_s=0.05)
    started = asyncio.Event()

    async def stuck(job: Job) -> None:
        started.set()
        await asyncio.sleep(60)

    worker = _worker(queue, stuck, drain_timeout_s=0.05)
    task = asyncio.ensure_future(worker.run())
    await queue.enqueue("t", b"x")
    await asyncio.wait_for(started.wait(), 3)
    worker.stop()
    await asyncio.wait_for(task, 3)
    assert (await queue.stats("t", "msgtransfer")).pending == 1


async def test_stop_with_every_slot_stuck_still_returns() -> None:
    """With all slots held by stuck jobs, stop() still returns after drain_timeout_s."""
    queue = MemoryQueue(poll_s=0.05)

    async def stuck(job: Job) -> None:
        await asyncio.sleep(60)

    worker = _worker(queue, stuck, concurrency=1, drain_timeout_s=0.05)
    task = asyncio.ensure_future(worker.run())
    await queue.enqueue("t", b"x")
    await queue.enqueue("t", b"y")
    await _until(lambda: bool(worker._tasks))
    worker.stop()
    await asyncio.wait_for(task, 3)
    stats = await queue.stats("t", "msgtransfer")
    assert (stats.lag, stats.pending) == (1, 1)
