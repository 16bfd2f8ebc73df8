"""GroupCore: what every part of the group service shares — collaborators, the access checks, member profiles.

Access vocabulary of docs/protocol/rest.md §4: MEMBER (a member of the group, or an imAdmin), G-ADMIN (its owner or
an admin, or an imAdmin), OWNER (its owner, or an imAdmin). A group that does not exist is 1004
(RecordNotFound, as OpenIM's lookups answer); a dismissed one is 1204 for every change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from openim import context
from openim.infra.clock import Clock
from openim.protocol.constants import GroupRole, GroupStatus
from openim.protocol.errors import DismissedAlreadyError, NoPermissionError, RecordNotFoundError
from openim.services.auth import Caller
from openim.services.group.hooks import apply_join_changes, join_answer, join_body
from openim.services.group.notify import GroupNotifier
from openim.services.notification import NotificationSender
from openim.storage import Storage
from openim.storage.group import GroupSummary
from openim.storage.rows import Group, GroupMember, GroupRequest, User
from openim.webhooks import Webhooks

__all__ = ["MANAGERS", "GroupCore", "GroupRequestEntry"]

MANAGERS = (GroupRole.OWNER, GroupRole.ADMIN)


@dataclass(frozen=True, slots=True)
class GroupRequestEntry:
    """A group request with the applicant's profile and the group (None when either no longer exists)."""

    request: GroupRequest
    user: User | None
    group: GroupSummary | None


class GroupCore:
    """State and checks shared by the parts of GroupService.

    Built as `GroupService(storage, notifications, clock, *, enable_history_for_new_members=True, hooks=...)`:
    without `notifications` nothing is notified (read-only uses and tests of the read side); without `hooks`
    every group webhook is off.
    """

    def __init__(
        self,
        storage: Storage,
        notifications: NotificationSender | None = None,
        clock: Clock | None = None,
        *,
        enable_history_for_new_members: bool = True,
        hooks: Webhooks | None = None,
    ) -> None:
        self.storage = storage
        self.hooks = hooks or Webhooks.off()
        self.clock = clock
        self.notes = GroupNotifier(storage, notifications)
        self.enable_history_for_new_members = enable_history_for_new_members

    def now(self) -> int:
        """Now in ms from the injected clock."""
        if self.clock is None:
            raise RuntimeError("GroupService was built without a clock: it cannot write")
        return self.clock.now_ms()

    # ---- webhooks -----------------------------------------------------------------------------------------

    @staticmethod
    def _op(operation_id: str) -> str:
        """The operationID a hook's body and header carry: the request's, else the running task's."""
        return operation_id or context.operation_id.get()

    async def _before_members_join(
        self, group: Group, members: list[GroupMember], *, operation_id: str
    ) -> list[GroupMember]:
        """beforeMemberJoinGroup, when on: may refuse the whole join, or set each joining member's nickname,
        faceURL, roleLevel, muteEndTime and ex (OpenIM's webhookBeforeMembersJoinGroup). Called before any row
        is written, by create, invite, a direct join and an agreed request."""
        if not self.hooks.before_member_join_group.enable:
            return members
        body = join_body(group.group_id, group.ex, members)
        changes = await self.hooks.before_member_join_group.ask(body, join_answer, operation_id=self._op(operation_id))
        return apply_join_changes(members, changes or {})

    # ---- groups -------------------------------------------------------------------------------------------

    async def _group(self, group_id: str) -> Group:
        """The group, dismissed or not; 1004 when it does not exist."""
        found = await self.storage.group.get_group(group_id)
        if found is None:
            raise RecordNotFoundError(f"group {group_id} not found")
        return found

    async def _live_group(self, group_id: str) -> Group:
        """The group; 1004 when it does not exist, 1204 when it is dismissed."""
        found = await self._group(group_id)
        if found.status == GroupStatus.DISMISSED:
            raise DismissedAlreadyError(f"group {group_id} is dismissed")
        return found

    async def _summary(self, group_id: str) -> GroupSummary:
        """The group with its owner and member count, as tips carry it (read after the change)."""
        found = await self.storage.group.get_groups([group_id])
        if not found:
            raise RecordNotFoundError(f"group {group_id} not found")
        return found[0]

    # ---- access -------------------------------------------------------------------------------------------

    async def _require_member(self, caller: Caller, group_id: str) -> GroupMember | None:
        """MEMBER: the caller's membership (None for an imAdmin outside the group); else 1002."""
        member = await self.storage.group.get_member(group_id, caller.user_id)
        if member is None and not caller.is_admin:
            raise NoPermissionError(f"user {caller.user_id} is not a member of group {group_id}")
        return member

    async def _require_manager(self, caller: Caller, group_id: str) -> GroupMember | None:
        """G-ADMIN: the caller's membership as owner or admin (None for an imAdmin outside it); else 1002."""
        member = await self.storage.group.get_member(group_id, caller.user_id)
        if caller.is_admin:
            return member
        if member is None or member.role_level not in MANAGERS:
            raise NoPermissionError(f"user {caller.user_id} is not owner or admin of group {group_id}")
        return member

    # ---- profiles -----------------------------------------------------------------------------------------

    async def _populate(self, members: list[GroupMember]) -> list[GroupMember]:
        """Members whose group nickname or face is empty get the user's own (OpenIM's PopulateGroupMember)."""
        missing = [m.user_id for m in members if not m.nickname or not m.face_url]
        if not missing:
            return members
        users = {u.user_id: u for u in await self.storage.user.get_users(missing)}
        filled = []
        for m in members:
            u = users.get(m.user_id)
            if u is not None:
                m = replace(m, nickname=m.nickname or u.nickname, face_url=m.face_url or u.face_url)
            filled.append(m)
        return filled

    async def _members(self, group_id: str, user_ids: list[str]) -> dict[str, GroupMember]:
        """userID → populated membership, for the members among `user_ids`."""
        found = await self._populate(await self.storage.group.get_members(group_id, user_ids))
        return {m.user_id: m for m in found}

    async def _request_entries(self, requests: list[GroupRequest]) -> list[GroupRequestEntry]:
        if not requests:
            return []
        users = {u.user_id: u for u in await self.storage.user.get_users([r.user_id for r in requests])}
        groups = {s.group.group_id: s for s in await self.storage.group.get_groups([r.group_id for r in requests])}
        return [GroupRequestEntry(r, users.get(r.user_id), groups.get(r.group_id)) for r in requests]
