"""MsgWriter: group commit for the message write path.

Concurrent `append` calls are queued (bounded: a full queue makes callers wait, which is the back-pressure)
and one writer task drains the queue into `MsgRepo.append_batch` transactions of up to `max_batch` messages:
while one transaction runs, the next batch gathers, so a durable commit is paid once per batch, not per message.

After a transaction commits, `on_commit(appended)` is called synchronously with the batch in commit order
(so per conversation in seq order), and only then are the callers resumed; the msg service publishes pushes
there, so pushes leave in seq order and never before the message is durable. If the transaction fails,
nothing of the batch was written and every caller of that batch gets the exception. An exception raised by
`on_commit` is logged and does not fail the callers: their messages are stored.

A `CommitHook` writes more in each batch's transaction (`in_transaction(conn, appended)`, last, so it commits
with the messages or not at all) and hears `committed()` once that transaction committed, before `on_commit`
(`failed()` when it did not). The runtime's, with the database job queue, writes the batch's offline-push jobs
there (`jobs/queue.py`): they are as durable as the messages, at the cost of a multi-row insert in a transaction
paid anyway.

A failed transaction may have committed after all: on PostgreSQL the connection can break after COMMIT was
sent and before its answer came back ("connection was closed in the middle of operation"). Its callers get the
error (the outcome is unknown to them, as to OpenIM's clients: the SDK resends with the same clientMsgID and
gets the stored message back), and the batch's messages are kept *in doubt* (up to `IN_DOUBT_MAX`): a task looks
them up by (sendID, clientMsgID) once the database answers again, and those stored with this very attempt's
serverMsgID go through `on_commit` then, as committed messages — so their recipients get the push and the
offline push nobody would have sent otherwise (a resend is a duplicate: it is pushed to its sender only).
Their conversation-creation hooks are not fired (which rows the transaction created is not known).

Metrics: each batch's size (`openim_msg_commit_batch_size`) and transaction time (`openim_msg_commit_seconds`),
failed batches (`openim_msg_commit_failures_total`), messages of failed batches found stored
(`openim_msg_commit_in_doubt_stored_total`). The writer task runs in an empty `contextvars.Context`: it
serves every caller, so its log lines carry no request's operationID and go to the process-wide log file.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from openim.metrics import MSG_COMMIT_BATCH_SIZE, MSG_COMMIT_FAILURES, MSG_COMMIT_IN_DOUBT, MSG_COMMIT_SECONDS
from openim.storage.msg import Appended, MsgRepo, NewMsg

__all__ = ["IN_DOUBT_MAX", "Appended", "CommitHook", "MsgWriter", "NewMsg", "WriterClosed"]

logger = logging.getLogger("openim.storage")

_Item = tuple[NewMsg, "asyncio.Future[Appended]"]
IN_DOUBT_MAX = 10_000  # messages of failed batches waiting to be looked up; past it they are logged, not checked
# The lookup of messages in doubt: first soon after the failure, then backing off while the database is away.
RESOLVE_FIRST_S = 0.2
RESOLVE_MAX_S = 2.0


class WriterClosed(RuntimeError):
    """The writer was closed; the message was not stored."""


class CommitHook(Protocol):
    """More to write in each batch's transaction; see the module docstring."""

    async def in_transaction(self, conn: AsyncConnection, appended: list[Appended]) -> None:
        """Write what goes with `appended` on `conn` (may run again for the same batch: the last run commits)."""
        ...

    def committed(self) -> None:
        """The transaction of the last `in_transaction` committed."""
        ...

    def failed(self) -> None:
        """The batch's transaction failed: nothing `in_transaction` wrote was kept."""
        ...


class MsgWriter:
    """Group-commits `append` calls into `repo.append_batch` transactions; one writer task per instance."""

    def __init__(
        self,
        repo: MsgRepo,
        *,
        on_commit: Callable[[list[Appended]], None],
        max_batch: int = 500,
        max_queue: int = 10_000,
        hook: CommitHook | None = None,
    ) -> None:
        if max_batch < 1 or max_queue < 1:
            raise ValueError("max_batch and max_queue must be positive")
        self._repo = repo
        self._on_commit = on_commit
        self._hook = hook
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=max_queue)
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._in_doubt: deque[NewMsg] = deque()
        self._resolver: asyncio.Task[None] | None = None

    async def append(self, new: NewMsg) -> Appended:
        """Store `new`; resolves after the transaction holding it committed and `on_commit` ran.

        Raises the transaction's exception if it failed (nothing of it stored, unless the commit's answer was lost:
        see the module docstring), WriterClosed if the writer is closed.
        """
        if self._closed:
            raise WriterClosed("the message writer is closed")
        self._ensure_task()
        future: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        await self._queue.put((new, future))
        return await future

    async def enqueue_many(self, news: Sequence[NewMsg]) -> list[asyncio.Future[Appended]]:
        """Queue `news` back to back and return one future per message (resolved as `append` resolves).

        Nothing is awaited between the messages unless the queue is full, so with the queue not full other
        appends cannot come between them and up to `max_batch` of them share one transaction (a batch send pays
        one commit per `max_batch` recipients, not one per recipient). Raises WriterClosed when closed.
        """
        if self._closed:
            raise WriterClosed("the message writer is closed")
        self._ensure_task()
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Appended]] = []
        for new in news:
            future: asyncio.Future[Appended] = loop.create_future()
            if self._queue.full():
                await self._queue.put((new, future))  # back-pressure, as in append
            else:
                self._queue.put_nowait((new, future))
            futures.append(future)
        return futures

    @property
    def queued(self) -> int:
        """Messages waiting for a transaction (for metrics)."""
        return self._queue.qsize()

    async def close(self) -> None:
        """Stop accepting messages, store the ones already queued, then stop the writer task."""
        self._closed = True
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._resolver is not None:
            self._resolver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._resolver
            self._resolver = None
        if self._in_doubt:
            logger.warning("writer closed with %d messages of failed batches not looked up", len(self._in_doubt))

    def _ensure_task(self) -> None:
        if self._task is None or self._task.done():
            loop = asyncio.get_running_loop()
            self._task = contextvars.Context().run(loop.create_task, self._run(), name="openim-msg-writer")

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except asyncio.QueueEmpty:
                    break
            try:
                await self._commit(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _append_batch(self, news: list[NewMsg]) -> list[Appended]:
        if self._hook is None:
            return await self._repo.append_batch(news)
        return await self._repo.append_batch(news, in_transaction=self._hook.in_transaction)

    async def _commit(self, batch: list[_Item]) -> None:
        news = [new for new, _ in batch]
        started_at = time.perf_counter()
        try:
            try:
                appended = await self._append_batch(news)
            except IntegrityError:
                # Lost a race with another process storing the same (sendID, clientMsgID): the transaction
                # rolled back whole; the retry finds the stored message and returns it as a duplicate.
                appended = await self._append_batch(news)
        except Exception as exc:  # every caller of the batch gets the failure; nothing written, or in doubt
            if self._hook is not None:
                self._hook.failed()
            MSG_COMMIT_FAILURES.inc()
            logger.warning("message batch of %d failed: %s", len(batch), exc)
            _fail(batch, exc)
            self._doubt(news)
            return
        except BaseException:  # cancelled mid-transaction: the outcome is unknown to us, not to the caller
            if self._hook is not None:
                self._hook.failed()
            _fail(batch, WriterClosed("the message writer stopped during the transaction"))
            raise
        MSG_COMMIT_SECONDS.observe(time.perf_counter() - started_at)
        MSG_COMMIT_BATCH_SIZE.observe(len(batch))
        try:
            if self._hook is not None:
                self._hook.committed()
            self._on_commit(appended)
        except Exception:
            logger.exception("on_commit failed for a committed batch of %d messages", len(appended))
        for (_, future), result in zip(batch, appended, strict=True):
            if not future.done():
                future.set_result(result)

    # ---- batches that failed but may have committed ------------------------------------------------------

    def _doubt(self, news: list[NewMsg]) -> None:
        room = IN_DOUBT_MAX - len(self._in_doubt)
        if room < len(news):
            logger.warning("%d messages of a failed batch not looked up: %d in doubt already", len(news), IN_DOUBT_MAX)
        self._in_doubt.extend(news[: max(room, 0)])
        if self._in_doubt and (self._resolver is None or self._resolver.done()):
            loop = asyncio.get_running_loop()
            self._resolver = contextvars.Context().run(loop.create_task, self._resolve(), name="openim-msg-in-doubt")

    async def _resolve(self) -> None:
        """Look the messages in doubt up until the database answers; push those that were stored."""
        delay = RESOLVE_FIRST_S
        while self._in_doubt:
            await asyncio.sleep(delay)
            news = list(self._in_doubt)
            try:
                stored = await self._repo.find_sent([(n.msg.sendID, n.msg.clientMsgID) for n in news])
            except Exception as exc:  # still away: again later
                delay = min(delay * 2, RESOLVE_MAX_S)
                logger.debug("messages in doubt not looked up yet: %s", exc)
                continue
            delay = RESOLVE_FIRST_S
            for _ in news:  # only this task takes from the left; the failures of meanwhile stay for the next round
                self._in_doubt.popleft()
            committed = [
                replace(found, duplicate=False, tag=new.tag)
                for new in news
                if (found := stored.get((new.msg.sendID, new.msg.clientMsgID))) is not None
                and new.msg.serverMsgID
                and found.msg.serverMsgID == new.msg.serverMsgID  # this attempt's, not an earlier send's
            ]
            if not committed:
                continue
            committed.sort(key=lambda a: (a.conversation_id, a.seq))
            MSG_COMMIT_IN_DOUBT.inc(len(committed))
            logger.warning("%d messages of failed batches were stored after all: pushed now", len(committed))
            try:
                self._on_commit(committed)
            except Exception:
                logger.exception("on_commit failed for %d messages found stored", len(committed))


def _fail(batch: list[_Item], exc: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)
