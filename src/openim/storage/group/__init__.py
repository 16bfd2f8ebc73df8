"""GroupRepo: tables `group`, `group_member` and `group_request`, and what a membership change brings along.

Reads (`read.py`): groups with their owner and member count, joined groups, members in OpenIM's order,
group requests. Writes (`write.py`): creating and dismissing groups, joining and leaving, roles, mutes,
requests — each one named transaction that also writes its version-log entries (`group_member` with
element "" for the group itself, each member's `join_group`) and the members' rows of the group's chat
conversation (`chat.py`), so a membership and everything derived from it commit together.
"""

from __future__ import annotations

from openim.storage.group.read import GroupReads, GroupSummary
from openim.storage.group.write import GroupWrites, MemberChange

__all__ = ["GroupRepo", "GroupSummary", "MemberChange"]


class GroupRepo(GroupWrites, GroupReads):
    """Reads and writes of the group tables; every method is one transaction named `group.<method>`."""
