"""One configured hook, as the code that fires it sees it: `BeforeHook` (synchronous) and `AfterHook` (queued).

The caller checks `hook.enable` — a plain attribute set once at start — before it builds anything, so a disabled
hook costs one attribute read on the hot path: no body, no task, no allocation::

    if self.hooks.before_add_friend.enable:
        answer = await self.hooks.before_add_friend.call({"fromUserID": ..., "toUserID": ...})
    if self.hooks.after_add_friend.enable:
        await self.hooks.after_add_friend.fire({"fromUserID": ..., "toUserID": ...})

`call` adds `callbackCommand`, posts, and applies OpenIM's blocking rule: an answer with actionCode 0 and
nextCode 1 raises `WebhookRefusal` carrying the answer's errCode/errMsg/errDlt. Otherwise it returns the answer,
from which the caller takes the fields the hook may modify (`answer.get("nickName")` is None when absent or
null, as OpenIM's pointer fields); `ask(body, parse)` returns `parse(answer)` instead, the type-checked fields
(`bodies.py` has the parsers of the message, user and friend hooks). When the call fails (`transport.py`),
`failedContinue` decides: true returns None (go on unmodified, logged and counted), false raises the failure's
NetworkError (90004) or DataError (90007).
OpenIM parses failedContinue and never reads it (any failure aborts); openim-py does what the key says.

`fire` appends the call to the durable job queue (`delivery.py`); the msgtransfer role posts it with retries.
A queue that refuses the job is logged and counted (`openim_webhook_calls_total{result="lost"}`), never raised:
the operation it follows has already succeeded.

Message hooks also filter by content type (`accepts`): notifications (1000–5000) and typing (113) never fire a
message hook (OpenIM's `defaultDeniedTypes`), then `allowedTypes` (if any) must hold the type and `deniedTypes`
must not; the after-send hooks also have `attends(id)` for `attentionIds`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from openim import context
from openim.metrics import WEBHOOK_CALLS, WEBHOOK_SECONDS, child
from openim.protocol.errors import DataError, WebhookRefusal
from openim.webhooks.transport import CallFailed, Transport, refusal

__all__ = ["AfterHook", "BeforeHook", "Enqueue", "TypeFilter"]

logger = logging.getLogger("openim.webhooks")

T = TypeVar("T")

NOTIFICATION_BEGIN, NOTIFICATION_END, TYPING = 1000, 5000, 113

# Queue a call: (hook name, command, body, operationID, query).
Enqueue = Callable[[str, str, Mapping[str, Any], str, Mapping[str, str] | None], Awaitable[None]]


class TypeFilter:
    """Content types a message hook fires for: allowedTypes / deniedTypes, each types (101) or ranges ("200-500")."""

    __slots__ = ("_allowed", "_denied")

    def __init__(self, allowed: Iterable[int | str] = (), denied: Iterable[int | str] = ()) -> None:
        self._allowed = _ranges(allowed)
        self._denied = _ranges(denied)

    def accepts(self, content_type: int) -> bool:
        """False for notifications, typing, a type outside allowedTypes (when given) or inside deniedTypes."""
        if NOTIFICATION_BEGIN <= content_type <= NOTIFICATION_END or content_type == TYPING:
            return False
        if self._allowed and not _within(content_type, self._allowed):
            return False
        return not _within(content_type, self._denied)


def _ranges(items: Iterable[int | str]) -> tuple[tuple[int, int], ...]:
    out = []
    for item in items:
        if isinstance(item, int):
            out.append((item, item))
        else:
            low, _, high = item.partition("-")
            out.append((int(low), int(high or low)))
    return tuple(out)


def _within(value: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= value <= high for low, high in ranges)


class _Hook:
    __slots__ = ("attention_ids", "command", "enable", "name", "timeout_s", "types")

    def __init__(
        self,
        name: str,
        command: str,
        *,
        enable: bool,
        timeout_s: float,
        types: TypeFilter | None = None,
        attention_ids: Iterable[str] = (),
    ) -> None:
        self.name = name
        self.command = command
        self.enable = enable
        self.timeout_s = timeout_s
        self.types = types or TypeFilter()
        self.attention_ids = frozenset(attention_ids)

    def accepts(self, content_type: int) -> bool:
        """Whether a message of this content type fires the hook (see TypeFilter)."""
        return self.types.accepts(content_type)

    def attends(self, target_id: str) -> bool:
        """attentionIds: empty, or holding the recvID / groupID of the message."""
        return not self.attention_ids or target_id in self.attention_ids

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {'on' if self.enable else 'off'}>"


class BeforeHook(_Hook):
    """A synchronous hook; see the module docstring."""

    __slots__ = ("_transport", "failed_continue")

    def __init__(
        self, name: str, command: str, transport: Transport, *, failed_continue: bool = True, **kw: Any
    ) -> None:
        super().__init__(name, command, **kw)
        self._transport = transport
        self.failed_continue = failed_continue

    async def call(self, body: dict[str, Any], *, operation_id: str | None = None) -> dict[str, Any] | None:
        """Post `body` (callbackCommand added); the answer, None when failed and failedContinue; raises a refusal."""
        return await self.ask(body, _whole, operation_id=operation_id)

    async def ask(
        self, body: dict[str, Any], parse: Callable[[dict[str, Any]], T], *, operation_id: str | None = None
    ) -> T | None:
        """`call`, returning `parse(answer)`: a parse that raises DataError (a field of the wrong type) makes the
        call a failed one, as a response struct Go cannot decode does in OpenIM."""
        op = context.operation_id.get() if operation_id is None else operation_id
        body["callbackCommand"] = self.command
        timer = child(WEBHOOK_SECONDS, self.name).time()
        try:
            with timer:
                answer = await self._transport.post(self.command, body, timeout_s=self.timeout_s, operation_id=op)
            try:
                parsed = parse(answer)
            except DataError as exc:
                raise CallFailed(exc) from None
        except CallFailed as exc:
            if self.failed_continue:
                child(WEBHOOK_CALLS, self.name, "continued").inc()
                logger.warning(
                    "webhook %s failed, going on (failedContinue): %s", self.name, exc, extra={"operationID": op}
                )
                return None
            child(WEBHOOK_CALLS, self.name, "failed").inc()
            logger.warning("webhook %s failed, the operation fails: %s", self.name, exc, extra={"operationID": op})
            raise exc.error from None
        if refusal(answer):
            child(WEBHOOK_CALLS, self.name, "refused").inc()
            raise WebhookRefusal(int(answer.get("errCode", 0)), answer.get("errMsg", ""), answer.get("errDlt", ""))
        child(WEBHOOK_CALLS, self.name, "ok").inc()
        return parsed


def _whole(answer: dict[str, Any]) -> dict[str, Any]:
    return answer


class AfterHook(_Hook):
    """A queued hook; see the module docstring."""

    __slots__ = ("_enqueue",)

    def __init__(self, name: str, command: str, enqueue: Enqueue, **kw: Any) -> None:
        super().__init__(name, command, **kw)
        self._enqueue = enqueue

    async def fire(
        self, body: dict[str, Any], *, operation_id: str | None = None, query: Mapping[str, str] | None = None
    ) -> None:
        """Queue the call of `body` (callbackCommand added); never raises (see the module docstring)."""
        op = context.operation_id.get() if operation_id is None else operation_id
        body["callbackCommand"] = self.command
        try:
            await self._enqueue(self.name, self.command, body, op, query)
        except Exception:
            child(WEBHOOK_CALLS, self.name, "lost").inc()
            logger.exception("webhook %s not queued: this call is lost", self.name, extra={"operationID": op})
            return
        child(WEBHOOK_CALLS, self.name, "queued").inc()
