"""jobs/db_queue.py beyond the JobQueue contract (tests/infra/test_queue.py): enqueues are group-committed, a job
outlives the process that queued or claimed it, and the claims of a local consumer that is gone come back at once."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

from openim.infra.queue import local_consumer_is_gone
from openim.jobs.db_queue import DbQueue
from openim.storage import Storage, open_storage


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_local_consumer_is_gone() -> None:
    """host:pid of this host names a gone process only when that pid does not exist; other hosts are unknown."""
    host = socket.gethostname()
    assert local_consumer_is_gone(f"{host}:{_dead_pid()}")
    assert not local_consumer_is_gone(f"{host}:1")  # init: alive
    assert not local_consumer_is_gone(f"another-host:{_dead_pid()}")
    assert not local_consumer_is_gone("no-pid")


async def test_concurrent_enqueues_share_transactions(storage: Storage) -> None:
    """100 enqueues at once are written by a few transactions, each job once, in order."""
    queue = DbQueue(storage.queue, poll_s=0.05)
    before = storage.db.stats.by_name.get("queue.enqueue_many")
    ids = await asyncio.gather(*(queue.enqueue("t", str(i).encode()) for i in range(100)))
    after = storage.db.stats.by_name["queue.enqueue_many"]
    assert after.count - (before.count if before else 0) <= 5
    assert ids == sorted(ids) and len(set(ids)) == 100
    assert (await queue.stats("t", "g")).length == 100


async def test_jobs_outlive_the_queue_object_and_claims_of_gone_consumers_return(db_url: str) -> None:
    """A job claimed by a consumer whose process is gone is handed out again by a new queue on the same database
    at once (no idle wait); a job never claimed is there too."""
    first = await open_storage(db_url, pool_size=2)
    queue = DbQueue(first.queue, claim_idle_s=3600, poll_s=0.05)
    await queue.enqueue("t", b"held")
    gone = f"{socket.gethostname()}:{_dead_pid()}"
    claiming = queue.consume("t", "g", gone)
    held = await asyncio.wait_for(anext(claiming), 3)
    await claiming.aclose()  # type: ignore[attr-defined]
    await queue.enqueue("t", b"waiting")
    await first.close()

    second = await open_storage(db_url, pool_size=2)
    again = DbQueue(second.queue, claim_idle_s=3600, poll_s=0.05)
    jobs = again.consume("t", "g", "new:1")
    got = [await asyncio.wait_for(anext(jobs), 3) for _ in range(2)]
    assert [(j.payload, j.deliveries) for j in got] == [(b"held", 2), (b"waiting", 1)]
    assert got[0].id == held.id
    for job in got:
        await again.ack(job)
    assert (await again.stats("t", "g")).length == 0
    await second.close()
