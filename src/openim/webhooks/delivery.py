"""After-hook calls on the job queue: the job's payload, and the msgtransfer handler that posts it.

`AfterHook.fire` appends one job to the topic `TOPIC_WEBHOOK` (`encode`); the msgtransfer role runs `Delivery`
on each (`jobs/worker.Worker`, built by runtime.py with the `webhooks.retry` settings). A call that fails
(`transport.CallFailed`: unreachable, timeout, 5xx, not a JSON object) raises, so the worker tries again after a
pause that doubles, and after the last try keeps the job, unchanged, in the dead-letter topic `webhook.dead`
(`jobs/worker.py`). An answer that "refuses" means nothing for an after hook (OpenIM logs it): the call
is delivered.

The job holds the command and the body as they were when the event happened, so a call queued before a restart
is delivered as it was made; the URL and the timeout are those configured when it is delivered.

Payload: UTF-8 JSON `{"v": 1, "hook", "command", "operationID", "query": {…} | null, "body": {…}}`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from openim.infra.queue import Job
from openim.metrics import WEBHOOK_CALLS, WEBHOOK_SECONDS, child
from openim.webhooks.transport import Transport, refusal

__all__ = ["TOPIC_WEBHOOK", "Delivery", "HookCall", "decode", "encode"]

logger = logging.getLogger("openim.webhooks")

TOPIC_WEBHOOK = "webhook"


@dataclass(frozen=True, slots=True)
class HookCall:
    """One queued after-hook call."""

    hook: str
    command: str
    body: Mapping[str, Any]
    operation_id: str = ""
    query: Mapping[str, str] | None = None


def encode(call: HookCall) -> bytes:
    """The queue payload of `call`."""
    return orjson.dumps(
        {
            "v": 1,
            "hook": call.hook,
            "command": call.command,
            "operationID": call.operation_id,
            "query": dict(call.query) if call.query else None,
            "body": call.body,
        }
    )


def decode(payload: bytes) -> HookCall:
    """The call of a queue payload; ValueError for anything else."""
    try:
        data = orjson.loads(payload)
        body, query = data["body"], data.get("query")
        if not isinstance(body, dict) or not (query is None or isinstance(query, dict)):
            raise TypeError("body must be an object, query an object or null")
        return HookCall(
            str(data["hook"]),
            str(data["command"]),
            body,
            str(data.get("operationID", "")),
            {str(k): str(v) for k, v in query.items()} if query else None,
        )
    except Exception as exc:
        raise ValueError(f"not a webhook job: {exc}") from exc


class Delivery:
    """`await delivery(job)`: post one queued call; raises when it failed (the worker retries)."""

    def __init__(self, transport: Transport, timeouts: Mapping[str, float], *, default_timeout_s: float = 5) -> None:
        self.transport = transport
        self.timeouts = dict(timeouts)
        self.default_timeout_s = default_timeout_s

    async def __call__(self, job: Job) -> None:
        try:
            call = decode(job.payload)
        except ValueError as exc:
            # Not retried: no later try can read it either. Logged with its size, counted, and gone.
            child(WEBHOOK_CALLS, "unknown", "malformed").inc()
            logger.error("webhook job %s is malformed (%d bytes): dropped: %s", job.id, len(job.payload), exc)
            return
        timeout_s = self.timeouts.get(call.hook, self.default_timeout_s)
        try:
            with child(WEBHOOK_SECONDS, call.hook).time():
                answer = await self.transport.post(
                    call.command, call.body, timeout_s=timeout_s, operation_id=call.operation_id, query=call.query
                )
        except Exception:
            child(WEBHOOK_CALLS, call.hook, "failed").inc()
            raise
        child(WEBHOOK_CALLS, call.hook, "delivered").inc()
        if refusal(answer):
            logger.info(
                "webhook %s answered errCode %s (%s): an after hook cannot refuse, ignored",
                call.hook,
                answer.get("errCode"),
                answer.get("errMsg"),
                extra={"operationID": call.operation_id},
            )
