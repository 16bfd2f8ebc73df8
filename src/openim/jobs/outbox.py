"""Outbox: jobs written with the messages in the database, then relayed to the shared queue (Redis Streams).

With `redis.url` the msgtransfer role consumes the offline-push jobs from a Redis stream, and Redis cannot take part
in the database transaction that stores a message. Added to the stream after the commit, a job was lost when the
process died in between (a kill -9 of an api or gateway process in the milliseconds after a commit: the message
stored, its offline push never made). So the jobs of a batch are first rows of `queue_job` under the topic
`<topic>.outbox`, inserted in the batch's own transaction (`DbQueue.with_messages`, as on the embedded default),
and a relay in every process moves them to the stream: a `Worker` over that topic whose handler adds the job to
the shared queue; the row is deleted once the stream holds the job.

The rows of a process's own batches are claimed by its relay at insert and handed to it in memory, so the usual
cost is the insert in the message transaction and a delete gathered over 50 ms (jobs/queue.py). Rows whose
process died wait in the table: a restarted process of the same host releases them at once, any other process's
relay claims them after `redis.jobClaimIdle` seconds, while a live relay renews the claims of the rows it holds
(`keep_claims`): during a Redis outage they wait for it, and are not taken over by another relay. A row whose
delete fails (the database briefly away) is deleted again until it goes, not relayed twice. A relay that added a
job to the stream and died before its row was deleted adds it again: a push may be made twice after a crash,
never lost. While Redis does not answer the relay retries (every `RELAY_MAX_BACKOFF_S` at most) and the jobs wait
in the table.
"""

from __future__ import annotations

from collections.abc import Callable

from openim.infra.queue import Job, JobQueue
from openim.jobs.queue import DbQueue, JobsWithMessages
from openim.jobs.worker import Worker
from openim.storage.msg import Appended

__all__ = ["OUTBOX_SUFFIX", "RELAY_MAX_BACKOFF_S", "Outbox", "outbox_topic"]

OUTBOX_SUFFIX = ".outbox"
RELAY_MAX_BACKOFF_S = 5.0
# A relay never gives a job up (a dead letter would be a push lost): it retries until the shared queue takes it.
_RELAY_ATTEMPTS = 2**31


def outbox_topic(topic: str) -> str:
    """The `queue_job` topic holding the jobs of `topic` not yet relayed."""
    return topic + OUTBOX_SUFFIX


class Outbox:
    """The jobs of `topic` written with the messages into `rows` (a DbQueue), relayed to `target`."""

    def __init__(self, rows: DbQueue, target: JobQueue, topic: str) -> None:
        self.rows = rows
        self.target = target
        self.topic = topic

    def with_messages(self, payloads_of: Callable[[list[Appended]], list[bytes]]) -> JobsWithMessages:
        """The message writer's hook: each batch's jobs written in its transaction, as outbox rows."""
        return self.rows.with_messages(outbox_topic(self.topic), payloads_of)

    def relay(self, *, consumer: str | None = None) -> Worker:
        """The worker moving the rows to the shared queue; run it with `run()`, end it with `stop()`."""
        return Worker(
            self.rows,
            outbox_topic(self.topic),
            self._forward,
            group="relay",
            consumer=consumer,
            max_attempts=_RELAY_ATTEMPTS,
            backoff_s=0.1,
            max_backoff_s=RELAY_MAX_BACKOFF_S,
            free_slot_before_ack=True,
            retry_ack=True,
        )

    async def _forward(self, job: Job) -> None:
        await self.target.enqueue(self.topic, job.payload)
