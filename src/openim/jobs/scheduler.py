"""Scheduler: runs the scheduled jobs (`jobs/crontask.py`) at their cron times, one process of the deployment at a
time, with a log line and metrics per run.

Every msgtransfer process runs a scheduler. At a job's firing time each of them tries to claim the job's row in
`cron_task` for that firing (`CronTaskRepo.claim` with the firing time as `slot`): the first one runs it, the
others count a skip. While a job runs its holder renews the lease every third of `lease_s`; a holder that dies
frees the job when the lease runs out. Firings missed while no process ran are not made up (cron semantics): a
job waits for its next firing, or `openim jobs run NAME` runs it by hand (`run_job` without a slot: it only needs
the lease to be free).

Time: `tick()` reads the injected clock, so a test moves a FakeClock and ticks; `run()` ticks about every
`poll_s` seconds of real time and starts due jobs as tasks, so a long job delays no other one (a job still
running at its next firing skips that firing). A job's schedule is read at every tick, so a new cron expression
applies from its next firing; "" turns a job off.

Each run logs one line to the msgtransfer log — the job, what it removed (`JobResult.summary`) and how long it
took, at info (debug when it removed nothing); a failure logs its traceback and keeps the schedule — and
counts `openim_cron_runs_total{task,result}` (ok, failed, skipped), `openim_cron_removed_total{task}`,
`openim_cron_seconds{task}` and `openim_cron_last_success_timestamp_seconds{task}`. The outcome is also kept in
`cron_task` (`openim jobs list`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from openim.infra.clock import Clock
from openim.infra.cron import CronSchedule
from openim.jobs.crontask import CronJob
from openim.metrics import JOB_LAST_SUCCESS, JOB_REMOVED, JOB_RUNS, JOB_SECONDS, child
from openim.storage.cron_task import CronTaskRepo

__all__ = ["JobOutcome", "Scheduler"]

log = logging.getLogger("openim.jobs.scheduler")


@dataclass(frozen=True, slots=True)
class JobOutcome:
    name: str
    result: str  # ok, failed, skipped
    removed: int = 0
    summary: str = ""  # what it removed (ok), the error (failed), who holds it (skipped)


class Scheduler:
    def __init__(
        self,
        jobs: Iterable[CronJob],
        repo: CronTaskRepo,
        clock: Clock,
        *,
        owner: str | None = None,
        lease_s: float = 600.0,
        poll_s: float = 1.0,
    ) -> None:
        self.jobs = {job.name: job for job in jobs}
        self.repo = repo
        self.clock = clock
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_s = lease_s
        self.poll_s = poll_s
        self._plan: dict[str, tuple[str, CronSchedule, int]] = {}  # name → (expression, schedule, next firing ms)
        self._running: dict[str, asyncio.Task[JobOutcome]] = {}
        self._stop = asyncio.Event()

    # ---- schedule -------------------------------------------------------------------------------------------

    def next_firing(self, name: str) -> int | None:
        """The next firing (ms) planned for a job, None while it is off or not planned yet."""
        planned = self._plan.get(name)
        return planned[2] if planned else None

    async def tick(self, *, wait: bool = True) -> list[JobOutcome]:
        """Plan each job's next firing, and start the jobs whose firing has come; with `wait`, their outcomes."""
        now = self.clock.now_ms()
        started: list[asyncio.Task[JobOutcome]] = []
        for name, job in self.jobs.items():
            expression = job.schedule().strip()
            if not expression:
                self._plan.pop(name, None)
                continue
            planned = self._plan.get(name)
            if planned is None or planned[0] != expression:
                schedule = CronSchedule.parse(expression)
                self._plan[name] = (expression, schedule, schedule.next_after(now))
                continue
            _, schedule, due = planned
            if now < due:
                continue
            self._plan[name] = (expression, schedule, schedule.next_after(now))
            if name in self._running:
                log.warning("%s: still running at its next firing; that firing is skipped", name)
                continue
            task = asyncio.ensure_future(self.run_job(name, slot=due))
            self._running[name] = task
            task.add_done_callback(self._forget)
            started.append(task)
        return list(await asyncio.gather(*started)) if wait else []

    def _forget(self, task: asyncio.Task[JobOutcome]) -> None:
        for name, running in list(self._running.items()):
            if running is task:
                del self._running[name]

    # ---- one run ------------------------------------------------------------------------------------------

    async def run_job(self, name: str, *, slot: int | None = None) -> JobOutcome:
        """Claim the job (for firing `slot`, or by hand without one), run it, record and log the outcome."""
        job = self.jobs[name]
        begun = self.clock.now_ms()
        lease_ms = int(self.lease_s * 1000)
        try:
            claimed = await self.repo.claim(name, self.owner, now=begun, lease_ms=lease_ms, slot=slot)
        except Exception as exc:  # the database is unreachable: this firing is lost, the next one tries again
            log.warning("%s: cannot claim it: %s: %s", name, type(exc).__name__, exc)
            child(JOB_RUNS, name, "failed").inc()
            return JobOutcome(name, "failed", summary=f"{type(exc).__name__}: {exc}")
        if not claimed:
            child(JOB_RUNS, name, "skipped").inc()
            why = "this firing ran elsewhere" if slot is not None else "another process is running it"
            log.debug("%s: skipped, %s", name, why)
            return JobOutcome(name, "skipped", summary=why)
        heartbeat = asyncio.ensure_future(self._renew(name))
        started = time.perf_counter()
        try:
            result = await job.run(begun)
        except Exception as exc:
            seconds = time.perf_counter() - started
            log.exception("%s: failed after %.1f s; the next firing tries again", name, seconds)
            await self._finish(heartbeat, name, removed=0, error=f"{type(exc).__name__}: {exc}")
            child(JOB_RUNS, name, "failed").inc()
            child(JOB_SECONDS, name).observe(seconds)
            return JobOutcome(name, "failed", summary=f"{type(exc).__name__}: {exc}")
        seconds = time.perf_counter() - started
        await self._finish(heartbeat, name, removed=result.removed, error="")
        child(JOB_RUNS, name, "ok").inc()
        child(JOB_REMOVED, name).inc(result.removed)
        child(JOB_SECONDS, name).observe(seconds)
        child(JOB_LAST_SUCCESS, name).set(self.clock.now_ms() / 1000)
        # A run that removed nothing logs at debug: msg_destruct fires every minute and mostly finds nothing.
        log.log(logging.INFO if result.removed else logging.DEBUG, "%s: %s (%.2f s)", name, result.summary, seconds)
        return JobOutcome(name, "ok", result.removed, result.summary)

    async def _renew(self, name: str) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            lease_until = self.clock.now_ms() + int(self.lease_s * 1000)
            if not await self.repo.renew(name, self.owner, lease_until=lease_until):
                log.warning("%s: lost its lease (the run outlived it); another process may run it too", name)
                return

    async def _finish(self, heartbeat: asyncio.Task[None], name: str, *, removed: int, error: str) -> None:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
        await self.repo.finish(name, self.owner, now=self.clock.now_ms(), removed=removed, error=error)

    # ---- the loop -----------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Tick until `stop()`; then wait for the jobs running (they end at their next batch boundary at worst)."""
        log.info("scheduled jobs: %s", ", ".join(f"{j.name} ({j.schedule() or 'off'})" for j in self.jobs.values()))
        while not self._stop.is_set():
            try:
                await self.tick(wait=False)
            except Exception:
                log.exception("scheduler tick failed; ticking again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.poll_s)
        running = list(self._running.values())
        if running:
            _done, pending = await asyncio.wait(running, timeout=10)
            for task in pending:
                task.cancel()

    def stop(self) -> None:
        self._stop.set()
