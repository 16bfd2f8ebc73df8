"""Worker: the consume loop of one topic — bounded concurrency, retry with backoff, dead letters, graceful stop.

`Worker(queue, topic, handler, group=…, consumer=…)` pulls jobs with `queue.consume` and runs `handler(job)`
for up to `concurrency` jobs at a time. A handler that raises is retried in place after `backoff_s`, doubling
each time (capped at `max_backoff_s`), up to `max_attempts` attempts in all; then the job is a *dead letter*:
buried in the queue's dead-letter list with the last error (`JobQueue.bury`), logged,
counted in `dead_letters` (and in `openim_queue_jobs_total{result="dead"}`, `openim_queue_dead_letters`), so
that it does not come back forever and is not lost either. A job is acknowledged only after its handler
succeeded (or was buried), so a worker killed mid-job — even between retries — leaves it pending and another
consumer reclaims it (at-least-once).

`run()` works until `stop()`: it takes no new job, lets the jobs in hand finish (up to `drain_timeout_s`,
then cancels them — they stay pending and are reclaimed later) and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable

from openim import metrics
from openim.infra.queue import Job, JobQueue

__all__ = ["Handler", "Worker", "default_consumer_name"]

logger = logging.getLogger("openim.jobs")

Handler = Callable[[Job], Awaitable[None]]


def default_consumer_name() -> str:
    """host:pid, unique per process of a deployment (the consumer name in the group)."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """One topic's consume loop; see the module docstring."""

    def __init__(
        self,
        queue: JobQueue,
        topic: str,
        handler: Handler,
        *,
        group: str = "msgtransfer",
        consumer: str | None = None,
        concurrency: int = 16,
        max_attempts: int = 5,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        drain_timeout_s: float = 10.0,
    ) -> None:
        self.queue = queue
        self.topic = topic
        self.handler = handler
        self.group = group
        self.consumer = consumer or default_consumer_name()
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.drain_timeout_s = drain_timeout_s
        self.done = 0
        self.dead_letters = 0
        self._slots = asyncio.Semaphore(concurrency)
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def stop(self) -> None:
        """Ask `run` to take no new job and return once the jobs in hand are finished."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume until `stop()`; see the module docstring."""
        jobs = self.queue.consume(self.topic, self.group, self.consumer)
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                slot = asyncio.ensure_future(self._slots.acquire())
                await asyncio.wait({slot, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not slot.done():
                    slot.cancel()
                    break
                if self._stopping.is_set():
                    self._slots.release()
                    break
                fetch = asyncio.ensure_future(anext(jobs))
                await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not fetch.done():
                    fetch.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                        await fetch
                    self._slots.release()
                    break
                job = fetch.result()
                task = asyncio.ensure_future(self._handle(job))
                self._tasks.add(task)
                task.add_done_callback(self._finished)
        finally:
            stopping.cancel()
            with contextlib.suppress(Exception):
                await jobs.aclose()  # type: ignore[attr-defined]
            if self._tasks:
                _, late = await asyncio.wait(set(self._tasks), timeout=self.drain_timeout_s)
                for task in late:
                    task.cancel()
                if late:
                    logger.warning("%d %s jobs unfinished at stop: pending, reclaimed later", len(late), self.topic)
                    await asyncio.wait(late)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def _handle(self, job: Job) -> None:
        delay = self.backoff_s
        buried = False
        for attempt in range(1, self.max_attempts + 1):
            try:
                await self.handler(job)
            except Exception as exc:
                if attempt == self.max_attempts:
                    logger.exception(
                        "%s job %s failed %d times: dead letter (%d bytes)",
                        self.topic,
                        job.id,
                        attempt,
                        len(job.payload),
                    )
                    try:
                        await self.queue.bury(job, f"failed {attempt} times; last: {exc!r}"[:2000])
                    except Exception:
                        logger.exception("%s job %s not buried: it stays pending, handled again", self.topic, job.id)
                        return
                    buried = True
                    self.dead_letters += 1
                    metrics.child(metrics.QUEUE_JOBS, self.topic, "dead").inc()
                    break
                metrics.child(metrics.QUEUE_JOBS, self.topic, "retried").inc()
                logger.warning(
                    "%s job %s failed (attempt %d), retrying in %.1fs",
                    self.topic,
                    job.id,
                    attempt,
                    delay,
                    exc_info=True,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)
            else:
                self.done += 1
                metrics.child(metrics.QUEUE_JOBS, self.topic, "done").inc()
                break
        if not buried:
            try:
                await self.queue.ack(job)
            except Exception:
                logger.exception("%s job %s not acknowledged: it will be handled again", self.topic, job.id)
                return
        try:
            stats = await self.queue.stats(self.topic, self.group)
        except Exception:
            return
        metrics.child(metrics.QUEUE_DEPTH, self.topic).set(stats.depth)
        metrics.child(metrics.QUEUE_DEAD_LETTERS, self.topic).set(stats.dead)
