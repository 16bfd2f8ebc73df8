"""The group service (services/group): every /group route (docs/protocol/rest.md §4), one part per concern.

`core` (collaborators, access checks, member profiles), `read` (joined groups, info, members, requests,
incremental sync), `manage` (create, info, dismiss, transfer, group mute, abstract info, search), `members`
(invite, kick, quit, member info and roles, member mutes), `requests` (join, application response),
`notify` (the tips 1501-1520) and `hooks` (the group webhooks' bodies and answers). A write checks first, asks its
before webhooks, writes its rows, version-log entries and the members' chat-conversation rows in one transaction
(`storage.group`), and notifies and fires its after webhooks last. Built in runtime.py as
`GroupService(storage, notifications, clock, enable_history_for_new_members=..., hooks=webhooks)`.
"""

from __future__ import annotations

from openim.services.group.core import GroupRequestEntry
from openim.services.group.manage import CMSGroup, GroupAbstract, GroupInfoChange, ManageMixin, NewGroup
from openim.services.group.members import MemberInfoChange, MembersMixin
from openim.services.group.read import BATCH_SYNC_LIMIT, MemberDelta, MemberSyncReq, ReadMixin
from openim.services.group.requests import RequestsMixin

__all__ = [
    "BATCH_SYNC_LIMIT",
    "CMSGroup",
    "GroupAbstract",
    "GroupInfoChange",
    "GroupRequestEntry",
    "GroupService",
    "MemberDelta",
    "MemberInfoChange",
    "MemberSyncReq",
    "NewGroup",
]


class GroupService(ManageMixin, MembersMixin, RequestsMixin, ReadMixin):
    """Every /group route: reads, and writes that log their versions and notify the members."""
