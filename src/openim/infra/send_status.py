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

__all__ = [
    "SEND_STATUS_MAX_ENTRIES",
    "SEND_STATUS_MAX_OWNERS",
    "SEND_STATUS_TTL_S",
    "MemorySendStatus",
    "SendStatusStore",
]

SEND_STATUS_TTL_S = 24 * 3600
SEND_STATUS_MAX_ENTRIES = 100_000  # operationIDs one process remembers in memory
SEND_STATUS_MAX_OWNERS = 16  # users remembered per operationID (operationIDs are the clients', they may collide)

# (owner, status, expiry) or (owner → status, latest owner, expiry): see MemorySendStatus.
_Entry = tuple[str, int, float] | tuple[dict[str, int], str, float]


class SendStatusStore(Protocol):
    async def set(self, operation_id: str, owner: str, status: int) -> None:
        """Remember `status` of the send `owner` made with `operation_id` (an empty operationID is not kept)."""
        ...

    async def get(self, operation_id: str, owner: str, *, any_owner: bool = False) -> int:
        """The status of `owner`'s send with `operation_id`; with `any_owner`, the latest by anyone; 0 if none."""
        ...


class MemorySendStatus:
    """The in-process store: operationID → (owner, status, expiry) while one user sent with it, → (owner →
    status, the latest owner, expiry) once several did (at most `max_owners`, the earliest going first).

    Memory is what bounds it: every send of every user adds an entry until `max_entries`, so an entry is kept
    small — the one-owner shape costs about 250 bytes where a dict per entry cost about 480 (a full store of
    100,000 operationIDs: about 25 MiB) — and one operationID reused by many users cannot grow without end.
    """

    def __init__(
        self,
        *,
        ttl_s: float = SEND_STATUS_TTL_S,
        max_entries: int = SEND_STATUS_MAX_ENTRIES,
        max_owners: int = SEND_STATUS_MAX_OWNERS,
    ) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._max_owners = max_owners
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    async def set(self, operation_id: str, owner: str, status: int) -> None:
        if not operation_id:
            return
        found = self._live(operation_id)
        expires = time.monotonic() + self._ttl_s
        entry: _Entry
        if found is None or found[0] == owner:
            entry = (owner, status, expires)
        else:
            owners = dict(found[0]) if isinstance(found[0], dict) else {found[0]: found[1]}
            owners.pop(owner, None)  # re-inserted last: the earliest owner is the one dropped past the bound
            owners[owner] = status
            while len(owners) > self._max_owners:
                del owners[next(iter(owners))]
            entry = (owners, owner, expires)
        self._entries.pop(operation_id, None)
        self._entries[operation_id] = entry
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def get(self, operation_id: str, owner: str, *, any_owner: bool = False) -> int:
        found = self._live(operation_id)
        if found is None:
            return 0
        if isinstance(found[0], str):
            only, status, _ = found
            return status if owner == only or any_owner else 0
        owners, latest, _ = found
        if owner in owners:
            return owners[owner]
        return owners.get(latest, 0) if any_owner else 0

    def _live(self, operation_id: str) -> _Entry | None:
        entry = self._entries.get(operation_id)
        if entry is not None and entry[2] < time.monotonic():
            del self._entries[operation_id]
            return None
        return entry
