"""PushOrder: the pushes of one conversation leave in the order they were handed over, even when what each waits
for (an online-push hook's answer, services/msg/push_hooks.py) comes back in another order.

`add(conversation_id, decide, push)` starts a task at once: it awaits `decide` (so the hooks of consecutive
messages are asked concurrently: one slow answer does not hold the others' calls back), then waits for the task
of the conversation's previous push to be over, then calls `push(answer)`. `tails` maps each conversation with a
push still in a task to its newest task; an entry leaves with its task when no newer one came, so the map holds
only the conversations whose pushes are in flight (bounded by the send rate times the hook's timeout, at most
15 s). A conversation with no entry is pushed directly by the caller: with the hooks off nothing here runs.

A `decide` or `push` that raises stops that push only (logged); the pushes after it still wait for the ones before it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["PushOrder"]

logger = logging.getLogger("openim.services")

T = TypeVar("T")


class PushOrder:
    """See the module docstring."""

    __slots__ = ("tails",)

    def __init__(self) -> None:
        self.tails: dict[str, asyncio.Future[None]] = {}

    def add(self, conversation_id: str, decide: Awaitable[T], push: Callable[[T], None]) -> asyncio.Future[None]:
        """Push `decide`'s answer once it came and every earlier push of `conversation_id` left; the task."""
        task = asyncio.ensure_future(_step(self.tails.get(conversation_id), decide, push))
        self.tails[conversation_id] = task

        def forget(done: asyncio.Future[None]) -> None:
            if self.tails.get(conversation_id) is done:
                del self.tails[conversation_id]

        task.add_done_callback(forget)
        return task


async def _step(previous: asyncio.Future[None] | None, decide: Awaitable[T], push: Callable[[T], None]) -> None:
    try:
        answer = await decide
    except Exception:
        logger.exception("a push was dropped: deciding it failed")
        decided = False
    else:
        decided = True
    if previous is not None and not previous.done():
        # asyncio.wait neither raises the previous push's error nor cancels it when this task is cancelled.
        await asyncio.wait((previous,))
    if decided:
        try:
            push(answer)
        except Exception:
            logger.exception("a push failed after its decision")
