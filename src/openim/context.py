"""Who the running code works for: the role, operationID and userID of the current task, as contextvars.

The transports set them (runtime.py starts each role's server in a context whose `role` is set, so every task a
server spawns inherits it; api/middleware.py and gateway/dispatch.py set `operation_id` and `user_id` per request);
`openim.ops.logging` reads them, so a line logged by a service or a repository during a request carries the
request's operationID and userID and lands in the log file of the role that served it. Like `openim.metrics`
this module is the lowest layer: every layer may import it, it imports nothing from openim.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["operation_id", "role", "user_id"]

role: ContextVar[str] = ContextVar("openim_role", default="")
operation_id: ContextVar[str] = ContextVar("openim_operation_id", default="")
user_id: ContextVar[str] = ContextVar("openim_user_id", default="")
