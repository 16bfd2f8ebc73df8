"""Worker: the consume loop of one topic — bounded concurrency, retry with backoff, dead letters, graceful stop.

`Worker(queue, topic, handler, group=…, consumer=…)` pulls jobs with `queue.consume` and runs `handler(job)`
for up to `concurrency` jobs at a time. A handler that raises is retried in place after `backoff_s`, doubling
each time (capped at `max_backoff_s`), up to `max_attempts` attempts in all; then the job is a *dead letter*:
logged with its payload's size, counted in `dead_letters` (and in `openim_queue_jobs_total{result="dead"}`),
appended unchanged to the topic `<topic>.dead` (`infra/queue.py`, shown by `openim doctor`), and acknowledged so
that it does not come back forever (one whose dead letter cannot be written stays pending and is handled again).
A job is acknowledged only after its handler succeeded (or gave up), so a worker killed mid-job leaves it pending
and another consumer reclaims it (at-least-once).

With `free_slot_before_ack` a job's slot is free once its handler is settled, while its acknowledgement is
still being written: for `DbQueue`, whose acknowledgements wait `ACK_GATHER_S` to be deleted together, so that
`concurrency` bounds the handlers and not the deletes in waiting. More jobs are then done and not yet acknowledged
at a kill -9 (each handled again: at-least-once): those acknowledged in the last moments.

With `retry_ack` an acknowledgement that fails is tried again (every `ACK_RETRY_MAX_S` at most) until the queue
takes it, instead of leaving the job to be handled again: for a handler whose second run is visible (the outbox
relay, `jobs/outbox.py`, would add the job to the stream twice).

After a job the depth gauge `openim_queue_depth` is refreshed, at most every `DEPTH_EVERY_S`.

`run()` works until `stop()`: it takes no new job, lets the jobs in hand finish (up to `drain_timeout_s`,
then cancels them — they stay pending and are reclaimed later) and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable

from openim import metrics
from openim.infra.queue import Job, JobQueue, dead_letter_topic

__all__ = ["Handler", "Worker", "default_consumer_name"]

logger = logging.getLogger("openim.jobs")

Handler = Callable[[Job], Awaitable[None]]
# With `retry_ack`, the longest pause between attempts to acknowledge: short, so that the job's own worker
# acknowledges it soon after the queue answers again, before its claim goes idle and another worker takes it.
ACK_RETRY_MAX_S = 0.5
DEPTH_EVERY_S = 1.0  # how often the queue depth gauge (openim_queue_depth) is refreshed after a job


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
        free_slot_before_ack: bool = False,
        retry_ack: bool = False,
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
        self.free_slot_before_ack = free_slot_before_ack
        self.retry_ack = retry_ack
        self.done = 0
        self.dead_letters = 0
        self._slots = asyncio.Semaphore(concurrency)
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._depth_read_at = float("-inf")

    def stop(self) -> None:
        """Ask `run` to take no new job and return once the jobs in hand are finished."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume until `stop()`; see the module docstring."""
        jobs = self.queue.consume(self.topic, self.group, self.consumer)
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                if self._slots.locked():  # else the slot is taken at once, with no task and no wait
                    slot = asyncio.ensure_future(self._slots.acquire())
                    await asyncio.wait({slot, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    if not slot.done():
                        slot.cancel()
                        break
                else:
                    await self._slots.acquire()
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
        if not self.free_slot_before_ack:
            self._slots.release()

    async def _handle(self, job: Job) -> None:
        if not self.free_slot_before_ack:
            if await self._settle(job):
                await self._acknowledge(job)
            return
        try:
            settled = await self._settle(job)
        finally:
            self._slots.release()
        if settled:
            await self._acknowledge(job)

    async def _settle(self, job: Job) -> bool:
        """Run the handler with its retries; True when the job is to be acknowledged (done or a dead letter)."""
        delay = self.backoff_s
        for attempt in range(1, self.max_attempts + 1):
            try:
                await self.handler(job)
            except Exception:
                if attempt == self.max_attempts:
                    self.dead_letters += 1
                    metrics.child(metrics.QUEUE_JOBS, self.topic, "dead").inc()
                    logger.exception(
                        "%s job %s failed %d times: dead letter (%d bytes), kept in %s",
                        self.topic,
                        job.id,
                        attempt,
                        len(job.payload),
                        dead_letter_topic(self.topic),
                    )
                    try:
                        await self.queue.enqueue(dead_letter_topic(self.topic), job.payload)
                    except Exception:
                        logger.exception("%s job %s: dead letter not kept; the job stays pending", self.topic, job.id)
                        return False
                    return True
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
                return True
        return False  # not reached: the last attempt either succeeds or is a dead letter

    async def _acknowledge(self, job: Job) -> None:
        pause = 0.05
        while True:
            try:
                await self.queue.ack(job)
                break
            except Exception:
                if not self.retry_ack:
                    logger.exception("%s job %s not acknowledged: it will be handled again", self.topic, job.id)
                    return
                logger.warning("%s job %s not acknowledged yet; again in %.2fs", self.topic, job.id, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, ACK_RETRY_MAX_S)
        now = time.monotonic()
        if now - self._depth_read_at < DEPTH_EVERY_S:
            return  # the depth gauge is read at most once a second: on the database queue it is a COUNT
        self._depth_read_at = now
        try:
            stats = await self.queue.stats(self.topic, self.group)
        except Exception:
            return
        metrics.child(metrics.QUEUE_DEPTH, self.topic).set(stats.depth)
