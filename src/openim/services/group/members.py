"""Group service, the members: invite, kick, quit, member info and roles, member mutes (docs/protocol/rest.md §4).

Roles as OpenIM: owner 100, admin 60, member 20. The owner may change anyone but its own role; an admin
itself and ordinary members; a member only itself; nobody may raise its own role (#2728) and nobody makes
an owner here (1002) — ownership moves only by transfer_group, so even an imAdmin cannot change the owner's
role (1001; OpenIM would let it leave a group without owner). Mutes: nobody mutes the owner, only the owner
mutes an admin, owner and admins mute members. Differences from OpenIM: inviting a member again is 1001
(OpenIM fails with 500); every change to a dismissed group is 1204; the members that leave also get the push
of 1504/1508; an invitation is one transaction and one 1509 (OpenIM writes and notifies per 50 members).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from openim.protocol.constants import ContentType, GroupRole, GroupStatus
from openim.protocol.errors import (
    ArgsError,
    DismissedAlreadyError,
    NoPermissionError,
    RecordNotFoundError,
    UserIDNotFoundError,
)
from openim.services.auth import Caller
from openim.services.group.core import MANAGERS, GroupCore
from openim.services.group.hooks import MEMBER_INFO_ANSWER, parse_fields
from openim.services.group.manage import JOIN_BY_INVITATION, MAX_IDS, check_ids, require
from openim.storage.group import GroupSummary, MemberChange
from openim.storage.rows import GroupMember, GroupRequest

__all__ = ["MemberInfoChange", "MembersMixin"]

ALL_NEED_VERIFICATION = 1  # needVerification: invitations by ordinary members become requests
_ROLES = (GroupRole.ADMIN, GroupRole.ORDINARY)


@dataclass(frozen=True, slots=True)
class MemberInfoChange:
    """set_group_member_info: one member's fields to change; None = unchanged."""

    group_id: str
    user_id: str
    nickname: str | None = None
    face_url: str | None = None
    role_level: int | None = None
    ex: str | None = None

    def values(self) -> dict[str, Any]:
        fields = {"nickname": self.nickname, "face_url": self.face_url, "role_level": self.role_level, "ex": self.ex}
        return {k: v for k, v in fields.items() if v is not None}


def _member_info_body(change: MemberInfoChange) -> dict[str, Any]:
    """Callback(Before|After)SetGroupMemberInfoReq: the member and the fields set (null = unchanged)."""
    return {
        "callbackCommand": "",
        "groupID": change.group_id,
        "userID": change.user_id,
        "nickName": change.nickname,
        "faceURL": change.face_url,
        "roleLevel": change.role_level,
        "ex": change.ex,
    }


def _member_info_answer(answer: Mapping[str, Any]) -> dict[str, Any]:
    return parse_fields(answer, MEMBER_INFO_ANSWER)


class MembersMixin(GroupCore):
    """The routes that change who is in a group and as what."""

    async def invite_user_to_group(
        self,
        caller: Caller,
        group_id: str,
        invited_user_ids: list[str] | None,
        *,
        reason: str = "",
        send_message: bool | None = None,
        operation_id: str = "",
    ) -> None:
        """Add users as members invited by the caller; MEMBER. With needVerification 1 an ordinary member's
        invitations become pending requests (1503 to the managers) instead. 1004 for an unknown user."""
        require(group_id, "groupID")
        invited = check_ids(invited_user_ids, "invitedUserIDs")
        group = await self._live_group(group_id)
        op = await self._require_member(caller, group_id)
        users = {u.user_id: u for u in await self.storage.user.get_users(invited)}
        if len(users) != len(invited):
            raise RecordNotFoundError("user not found")
        already = await self.storage.group.get_members(group_id, invited)
        if already:
            raise ArgsError(f"already in group: {','.join(m.user_id for m in already)}")
        if self.hooks.before_invite_user_to_group.enable:
            op_id = self._op(operation_id)
            body = {
                "callbackCommand": "",
                "operationID": op_id,
                "groupID": group_id,
                "reason": reason,
                "invitedUserIDs": invited,
            }
            # refusedMembersAccount of the answer is read by neither OpenIM nor openim-py: refuse or allow all.
            await self.hooks.before_invite_user_to_group.call(body, operation_id=op_id)
        now = self.now()
        if (
            group.need_verification == ALL_NEED_VERIFICATION
            and op is not None
            and op.role_level not in MANAGERS
            and not caller.is_admin
        ):
            requests = [
                GroupRequest(group_id, u, 0, reason, "", now, "", 0, JOIN_BY_INVITATION, caller.user_id, "")
                for u in invited
            ]
            await self.storage.group.put_requests(requests)
            summary = await self._summary(group_id)
            managers = await self.storage.group.manager_ids(group_id)
            for request in requests:
                await self.notes.join_application(
                    caller,
                    summary,
                    request,
                    users.get(request.user_id),
                    [*managers, caller.user_id],
                    operation_id=operation_id,
                )
            return
        members = [
            GroupMember(
                group_id,
                u,
                "",
                "",
                int(GroupRole.ORDINARY),
                now,
                JOIN_BY_INVITATION,
                caller.user_id,
                caller.user_id,
                0,
                "",
            )
            for u in invited
        ]
        members = await self._before_members_join(group, members, operation_id=operation_id)
        state = await self.storage.group.add_members(
            group_id, members, now=now, hide_history=not self.enable_history_for_new_members
        )
        summary = await self._summary(group_id)
        await self.notes.members_joined(
            caller,
            summary,
            await self._populate(members),
            state,
            inviter_user_id=caller.user_id,
            send_message=send_message,
            operation_id=operation_id,
            now=now,
        )

    async def kick_group_member(
        self,
        caller: Caller,
        group_id: str,
        kicked_user_ids: list[str] | None,
        *,
        reason: str = "",
        send_message: bool | None = None,
        operation_id: str = "",
    ) -> None:
        """Remove members: the owner anyone but itself, an admin only ordinary members; 1001 for the caller or
        the owner in the list, 1101 for a user who is not a member. Their conversation stops at the current seq.
        `reason` goes to afterKickGroupMember only, as in OpenIM."""
        require(group_id, "groupID")
        group = await self._group(group_id)
        kicked = check_ids(kicked_user_ids, "kickedUserIDs")
        if caller.user_id in kicked:
            raise ArgsError("opUserID in KickedUserIDs")
        if group.status == GroupStatus.DISMISSED:
            raise DismissedAlreadyError(f"group {group_id} is dismissed")
        members = await self._members(group_id, [*kicked, caller.user_id])
        if any(members[u].role_level == GroupRole.OWNER for u in kicked if u in members):
            raise ArgsError("ownerUID can not Kick")
        op = members.get(caller.user_id)
        for user_id in kicked:
            target = members.get(user_id)
            if target is None:
                raise UserIDNotFoundError(f"{user_id} is not a member of group {group_id}")
            if caller.is_admin:
                continue
            if op is None:
                raise NoPermissionError("opUserID no in group")
            if op.role_level == GroupRole.ADMIN and target.role_level in MANAGERS:
                raise NoPermissionError("group admins cannot remove the group owner and other admins")
            if op.role_level not in MANAGERS:
                raise NoPermissionError("opUserID no permission")
        now = self.now()
        state = await self.storage.group.remove_members(group_id, kicked, now=now)
        if state is None:
            return
        summary = await self._summary(group_id)
        await self.notes.members_left(
            caller,
            summary,
            [members[u] for u in kicked],
            state,
            kicked=True,
            send_message=send_message,
            operation_id=operation_id,
            now=now,
        )
        if self.hooks.after_kick_group_member.enable:
            body = {"callbackCommand": "", "groupID": group_id, "kickedUserIDs": kicked, "reason": reason}
            await self.hooks.after_kick_group_member.fire(body, operation_id=self._op(operation_id))

    async def quit_group(self, caller: Caller, group_id: str, user_id: str = "", *, operation_id: str = "") -> None:
        """The user (the caller when "") leaves; SELF(userID). 1004 when not a member, 1002 for the owner."""
        require(group_id, "groupID")
        user_id = user_id or caller.user_id
        caller.require_self_or_admin(user_id)
        member = await self.storage.group.get_member(group_id, user_id)
        if member is None:
            raise RecordNotFoundError(f"{user_id} is not a member of group {group_id}")
        if member.role_level == GroupRole.OWNER:
            raise NoPermissionError("group owner can't quit")
        await self._live_group(group_id)
        (member,) = await self._populate([member])
        now = self.now()
        state = await self.storage.group.remove_members(group_id, [user_id], now=now)
        if state is None:
            return
        summary = await self._summary(group_id)
        await self.notes.members_left(
            caller, summary, [member], state, kicked=False, operation_id=operation_id, now=now
        )
        if self.hooks.after_quit_group.enable:
            body = {"callbackCommand": "", "groupID": group_id, "userID": user_id}
            await self.hooks.after_quit_group.fire(body, operation_id=self._op(operation_id))

    async def set_group_member_info(
        self, caller: Caller, changes: Sequence[MemberInfoChange] | None, *, operation_id: str = ""
    ) -> None:
        """Change members' nickname, face, ex and role (60 or 20) as the role rules allow; one transaction.
        Notifies 1517/1518 per role set and 1516 per nickname/face/ex set."""
        if not changes:
            raise ArgsError("members empty")
        if len(changes) > MAX_IDS:
            raise ArgsError(f"too many members, need to be less than {MAX_IDS}")
        by_group: dict[str, list[MemberInfoChange]] = {}
        for change in changes:
            require(change.group_id, "groupID")
            require(change.user_id, "userID")
            if change.role_level == GroupRole.OWNER:
                raise NoPermissionError("cannot set ungroup owner")
            if change.role_level is not None and change.role_level not in _ROLES:
                raise ArgsError("invalid role level")
            by_group.setdefault(change.group_id, []).append(change)
        for group_id, items in by_group.items():
            await self._check_member_changes(caller, group_id, items)
        if self.hooks.before_set_group_member_info.enable:
            changes = [await self._before_set_member_info(c, operation_id=operation_id) for c in changes]
        await self._set_member_info(caller, changes, operation_id=operation_id)
        if self.hooks.after_set_group_member_info.enable:
            op_id = self._op(operation_id)
            for change in changes:
                await self.hooks.after_set_group_member_info.fire(_member_info_body(change), operation_id=op_id)

    async def _before_set_member_info(self, change: MemberInfoChange, *, operation_id: str) -> MemberInfoChange:
        """beforeSetGroupMemberInfo for one member: may refuse (nothing is written, for any member), or replace
        its nickName, faceURL, roleLevel and ex. A new roleLevel must be 60 or 20 and not the owner's (1001)."""
        body = _member_info_body(change)
        answer = await self.hooks.before_set_group_member_info.ask(
            body, _member_info_answer, operation_id=self._op(operation_id)
        )
        if not answer:
            return change
        role = answer.get("roleLevel", change.role_level)
        if role is not None and role != change.role_level:
            target = await self.storage.group.get_member(change.group_id, change.user_id)
            if role not in _ROLES or target is None or target.role_level == GroupRole.OWNER:
                raise ArgsError(f"webhook beforeSetGroupMemberInfo: roleLevel {role} for {change.user_id}")
        return replace(
            change,
            nickname=answer.get("nickName", change.nickname),
            face_url=answer.get("faceURL", change.face_url),
            role_level=role,
            ex=answer.get("ex", change.ex),
        )

    async def _set_member_info(self, caller: Caller, changes: Sequence[MemberInfoChange], *, operation_id: str) -> None:
        """Write the checked changes in one transaction and notify."""
        wanted = [c for c in changes if c.values()]
        if not wanted:
            return
        now = self.now()
        states = await self.storage.group.update_members(
            [MemberChange(c.group_id, c.user_id, c.values()) for c in wanted], now=now
        )
        summaries: dict[str, GroupSummary] = {}
        for change, state in zip(wanted, states, strict=True):
            summary = summaries.get(change.group_id) or await self._summary(change.group_id)
            summaries[change.group_id] = summary
            (changed,) = (await self._members(change.group_id, [change.user_id])).values()
            if change.role_level is not None:
                content_type = (
                    ContentType.GROUP_MEMBER_SET_TO_ADMIN_NOTIFICATION
                    if change.role_level == GroupRole.ADMIN
                    else ContentType.GROUP_MEMBER_SET_TO_ORDINARY_USER_NOTIFICATION
                )
                await self.notes.member_changed(
                    caller,
                    summary,
                    changed,
                    state,
                    content_type,
                    sort_version=state.version,
                    operation_id=operation_id,
                    now=now,
                )
            if change.nickname is not None or change.face_url is not None or change.ex is not None:
                sort_version = state.version if change.role_level is not None else 0
                await self.notes.member_changed(
                    caller,
                    summary,
                    changed,
                    state,
                    ContentType.GROUP_MEMBER_INFO_SET_NOTIFICATION,
                    sort_version=sort_version,
                    operation_id=operation_id,
                    now=now,
                )

    async def member_profile_changed(self, caller: Caller, user_id: str, *, operation_id: str = "") -> None:
        """The user's own nickname or face changed: in each group whose member row shows that profile (no group
        nickname or face of its own), log the member as updated and send 1516 — the group part of
        update_user_info (OpenIM's rpc/user UpdateUserInfo)."""
        now = self.now()
        states = await self.storage.group.touch_member_profile(user_id, now=now)
        for group_id, state in states.items():
            summary = await self._summary(group_id)
            changed = (await self._members(group_id, [user_id])).get(user_id)
            if changed is None:  # left the group between the two reads
                continue
            await self.notes.member_changed(
                caller,
                summary,
                changed,
                state,
                ContentType.GROUP_MEMBER_INFO_SET_NOTIFICATION,
                operation_id=operation_id,
                now=now,
            )

    async def _check_member_changes(self, caller: Caller, group_id: str, items: list[MemberInfoChange]) -> None:
        """The role rules of set_group_member_info for the changes to one group (see the module docstring)."""
        targets = [c.user_id for c in items]
        if len(set(targets)) != len(targets):
            raise ArgsError(f"repeat group {group_id} user")
        await self._live_group(group_id)
        members = {m.user_id: m for m in await self.storage.group.get_members(group_id, [*targets, caller.user_id])}
        op = members.get(caller.user_id)
        if op is None and not caller.is_admin:
            raise NoPermissionError("user not in group")
        if any(t not in members for t in targets):
            raise ArgsError("user not in group")
        for change in items:
            target = members[change.user_id]
            is_self = target.user_id == caller.user_id
            if op is not None and not caller.is_admin:
                if op.role_level == GroupRole.ADMIN and (
                    target.role_level == GroupRole.OWNER or (target.role_level == GroupRole.ADMIN and not is_self)
                ):
                    raise NoPermissionError("admin can not change group owner or other group admin")
                if op.role_level not in MANAGERS and not is_self:
                    raise NoPermissionError("ordinary users can not change other role level")
                if is_self and change.role_level is not None and change.role_level > target.role_level:
                    raise NoPermissionError("can not improve role level by self")
            if change.role_level is not None and target.role_level == GroupRole.OWNER:
                raise ArgsError("the group owner's role changes only by transfer_group")

    async def mute_group_member(
        self, caller: Caller, group_id: str, user_id: str, muted_seconds: int, *, operation_id: str = ""
    ) -> None:
        """Mute a member for `muted_seconds` (sending is 1402 until then); see the module docstring for who may."""
        if muted_seconds <= 0:
            raise ArgsError("mutedSeconds is empty")
        await self._set_mute(caller, group_id, user_id, muted_seconds, operation_id=operation_id)

    async def cancel_mute_group_member(
        self, caller: Caller, group_id: str, user_id: str, *, operation_id: str = ""
    ) -> None:
        """Lift a member's mute; the same rules as muting."""
        await self._set_mute(caller, group_id, user_id, 0, operation_id=operation_id)

    async def _set_mute(self, caller: Caller, group_id: str, user_id: str, seconds: int, *, operation_id: str) -> None:
        require(group_id, "groupID")
        require(user_id, "userID")
        await self._live_group(group_id)
        target = await self.storage.group.get_member(group_id, user_id)
        if target is None:
            raise RecordNotFoundError(f"{user_id} is not a member of group {group_id}")
        if not caller.is_admin:
            op = await self.storage.group.get_member(group_id, caller.user_id)
            if op is None:
                raise NoPermissionError("op user not in group")
            if target.role_level == GroupRole.OWNER:
                raise NoPermissionError("can not mute or unmute the group owner")
            if target.role_level == GroupRole.ADMIN and op.role_level != GroupRole.OWNER:
                raise NoPermissionError("only the group owner mutes or unmutes an admin")
            if op.role_level not in MANAGERS:
                raise NoPermissionError("only the group owner and admins mute or unmute members")
        now = self.now()
        end = now + seconds * 1000 if seconds else 0
        (state,) = await self.storage.group.update_members(
            [MemberChange(group_id, user_id, {"mute_end_time": end})], now=now
        )
        summary = await self._summary(group_id)
        (changed,) = (await self._members(group_id, [user_id])).values()
        if seconds:
            await self.notes.member_changed(
                caller,
                summary,
                changed,
                state,
                ContentType.GROUP_MEMBER_MUTED_NOTIFICATION,
                muted_seconds=seconds,
                operation_id=operation_id,
                now=now,
            )
        else:
            await self.notes.member_changed(
                caller,
                summary,
                changed,
                state,
                ContentType.GROUP_MEMBER_CANCEL_MUTED_NOTIFICATION,
                operation_id=operation_id,
                now=now,
            )
