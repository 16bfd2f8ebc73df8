"""Send status: what `/msg/check_msg_is_send_success` answers — the outcome of a send, kept under its operationID.

A send records its final status (2 success, 3 failed) under the request's operationID and the caller who sent it
(the owner). A lookup names the operationID and the caller: a user reads only the status of its own send with
that operationID, an admin the latest send made with it by anyone. Entries expire after `SEND_STATUS_TTL_S` (OpenIM
keeps its `SEND_MSG_FAILED_FLAG:<operationID>` 24 h).

`MemorySendStatus` serves one process: bounded (the oldest operationIDs go first) and expiring. The Redis
implementation (`infra/redis/send_status.py`) is shared by every API and gateway process, so a check answered by
another process than the send's finds it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol

__all__ = ["SEND_STATUS_MAX_ENTRIES", "SEND_STATUS_TTL_S", "MemorySendStatus", "SendStatusStore"]

SEND_STATUS_TTL_S = 24 * 3600
SEND_STATUS_MAX_ENTRIES = 100_000  # operationIDs one process remembers in memory


class SendStatusStore(Protocol):
    async def set(self, operation_id: str, owner: str, status: int) -> None:
        """Remember `status` of the send `owner` made with `operation_id` (an empty operationID is not kept)."""
        ...

    async def get(self, operation_id: str, owner: str, *, any_owner: bool = False) -> int:
        """The status of `owner`'s send with `operation_id`; with `any_owner`, the latest by anyone; 0 if none."""
        ...


class MemorySendStatus:
    """The in-process store: operationID → (owner → status, the latest owner, expiry)."""

    def __init__(self, *, ttl_s: float = SEND_STATUS_TTL_S, max_entries: int = SEND_STATUS_MAX_ENTRIES) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[dict[str, int], str, float]] = OrderedDict()

    async def set(self, operation_id: str, owner: str, status: int) -> None:
        if not operation_id:
            return
        found = self._live(operation_id)
        owners = found[0] if found else {}
        owners[owner] = status
        self._entries.pop(operation_id, None)
        self._entries[operation_id] = (owners, owner, time.monotonic() + self._ttl_s)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def get(self, operation_id: str, owner: str, *, any_owner: bool = False) -> int:
        found = self._live(operation_id)
        if found is None:
            return 0
        owners, latest, _ = found
        if owner in owners:
            return owners[owner]
        return owners.get(latest, 0) if any_owner else 0

    def _live(self, operation_id: str) -> tuple[dict[str, int], str, float] | None:
        entry = self._entries.get(operation_id)
        if entry is not None and entry[2] < time.monotonic():
            del self._entries[operation_id]
            return None
        return entry
