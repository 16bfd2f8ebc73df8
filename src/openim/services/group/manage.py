"""Group service, the group itself: create, info, dismiss, transfer, mute, abstract info, the admins' search
(docs/protocol/rest.md §4).

Rules as OpenIM's `internal/rpc/group/group.go`, with these differences: every change to a dismissed group is
1204 (OpenIM lets mute_group revive one); create_group's memberCount counts the members only (OpenIM adds
the caller even when it does not join), only status 0 or 3 may be given at creation and needVerification
must be 0-2; a blank groupName is 1001 on both info routes; an imAdmin may transfer the ownership only from
the real owner (OpenIM would leave two owners); get_groups is for imAdmins (OpenIM lets any token search
every group). Dismissing ends with the members removed, as OpenIM's push service does on 1511, so every
member's joined-group sync reports the group deleted.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from openim.protocol import gojson
from openim.protocol.constants import ContentType, GroupRole, GroupStatus, GroupType
from openim.protocol.errors import (
    ArgsError,
    DataError,
    DismissedAlreadyError,
    GroupIDNotFoundError,
    NoPermissionError,
    UserIDNotFoundError,
)
from openim.protocol.gojson import to_go
from openim.protocol.pb import sdkws_pb2 as pb
from openim.services.auth import Caller
from openim.services.group.core import GroupCore
from openim.services.group.hooks import CREATE_ANSWER, SET_INFO_ANSWER, create_body, go_rune, parse_fields
from openim.services.paging import Page
from openim.services.wire import group_info_pb, member_pb
from openim.storage.group import GroupSummary
from openim.storage.rows import Group, GroupMember

__all__ = ["MAX_IDS", "CMSGroup", "GroupAbstract", "GroupInfoChange", "ManageMixin", "NewGroup"]

MAX_IDS = 1000  # OpenIM's constant.ParamMaxLength: the longest ID list a request may carry
JOIN_BY_INVITATION = 2
_ID_MAX_LEN = 64
_VERIFICATION = (0, 1, 2)  # applications need approval / all need approval but managers' invites / join directly


@dataclass(frozen=True, slots=True)
class NewGroup:
    """The groupInfo of create_group (ownerUserID and memberCount are not taken from the request)."""

    group_id: str = ""
    group_name: str = ""
    notification: str = ""
    introduction: str = ""
    face_url: str = ""
    ex: str = ""
    status: int = 0
    creator_user_id: str = ""
    group_type: int = int(GroupType.WORKING)
    need_verification: int = 0
    look_member_info: int = 0
    apply_member_friend: int = 0


@dataclass(frozen=True, slots=True)
class GroupInfoChange:
    """set_group_info(_ex): the fields to change; None = unchanged."""

    group_id: str
    group_name: str | None = None
    notification: str | None = None
    introduction: str | None = None
    face_url: str | None = None
    ex: str | None = None
    need_verification: int | None = None
    look_member_info: int | None = None
    apply_member_friend: int | None = None


@dataclass(frozen=True, slots=True)
class GroupAbstract:
    """get_group_abstract_info: member count and OpenIM's hash of the member list."""

    group_id: str
    member_count: int
    member_list_hash: int


@dataclass(frozen=True, slots=True)
class CMSGroup:
    """get_groups: a group with its owner's name."""

    summary: GroupSummary
    owner_user_name: str


def check_ids(ids: list[str] | None, what: str) -> list[str]:
    """OpenIM's checks of an ID list: present and non-empty, at most MAX_IDS, no repeats, no empty ID."""
    if not ids:
        raise ArgsError(f"{what} is empty")
    if len(ids) > MAX_IDS:
        raise ArgsError(f"too many {what}, need to be less than {MAX_IDS}")
    if len(set(ids)) != len(ids):
        raise ArgsError(f"{what} repeated")
    if "" in ids:
        raise ArgsError(f"{what} has an empty ID")
    return ids


def _check_new_group(info: NewGroup) -> None:
    """create_group's checks of the groupInfo (again after beforeCreateGroup changed it)."""
    if info.group_type != GroupType.WORKING:
        raise ArgsError(f"group type only supports {int(GroupType.WORKING)}")
    if info.status not in (GroupStatus.OK, GroupStatus.MUTED):
        raise ArgsError("status is invalid")
    if info.need_verification not in _VERIFICATION:
        raise ArgsError("needVerification is invalid")
    if len(info.group_id) > _ID_MAX_LEN:
        raise ArgsError("groupID is too long")


# beforeCreateGroup's answer keys → NewGroup fields (ownerUserID is not one: see hooks.CREATE_ANSWER).
_NEW_GROUP_FIELDS: Final = {
    "groupID": "group_id",
    "groupName": "group_name",
    "notification": "notification",
    "introduction": "introduction",
    "faceURL": "face_url",
    "ex": "ex",
    "status": "status",
    "creatorUserID": "creator_user_id",
    "groupType": "group_type",
    "needVerification": "need_verification",
    "lookMemberInfo": "look_member_info",
    "applyMemberFriend": "apply_member_friend",
}


def _create_answer(answer: Mapping[str, Any]) -> dict[str, Any]:
    return parse_fields(answer, CREATE_ANSWER)


def _set_info_answer(answer: Mapping[str, Any]) -> dict[str, Any]:
    return parse_fields(answer, SET_INFO_ANSWER)


_INFO_STRINGS: Final = {
    "groupName": "group_name",
    "notification": "notification",
    "introduction": "introduction",
    "faceURL": "face_url",
}
_INFO_WRAPPERS: Final = {
    "ex": "ex",
    "needVerification": "need_verification",
    "lookMemberInfo": "look_member_info",
    "applyMemberFriend": "apply_member_friend",
}


def _info_body(change: GroupInfoChange, operation_id: str, *, plain: bool, before: bool) -> dict[str, Any]:
    """Callback(Before|After)SetGroupInfo(Ex)Req. The plain route's strings are "" when unchanged; its before
    body sends the wrappers as their value or the zero value, its after body as the value or null (OpenIM's
    two structs differ so). The Ex bodies send every wrapper as its value or null."""
    body: dict[str, Any] = {"callbackCommand": "", "operationID": operation_id, "groupID": change.group_id}
    for key, name in _INFO_STRINGS.items():
        value = getattr(change, name)
        body[key] = (value or "") if plain else value
    for key, name in _INFO_WRAPPERS.items():
        value = getattr(change, name)
        if plain and before and value is None:
            value = "" if key == "ex" else 0
        body[key] = value
    return body


def _info_answered(change: GroupInfoChange, answer: Mapping[str, Any], *, plain: bool) -> GroupInfoChange:
    """The change with a beforeSetGroupInfo(Ex) answer's fields. groupID is not taken: OpenIM would move the
    change to another group than the one whose manager asked (and, on the plain route, empty the groupID of
    an answer without one). On the plain route an empty string leaves the field as it is, as in the request;
    on Ex "" sets it. OpenIM's plain route forgets the answer's notification; openim-py applies it."""
    values: dict[str, Any] = {}
    for key, name in _INFO_STRINGS.items():
        if key in answer and (answer[key] or not plain):
            values[name] = answer[key]
    for key, name in _INFO_WRAPPERS.items():
        if key in answer:
            values[name] = answer[key]
    return replace(change, **values) if values else change


def require(value: str, what: str) -> str:
    if not value:
        raise ArgsError(f"{what} is empty")
    return value


def member_list_hash(members: list[GroupMember]) -> int:
    """OpenIM's grouphash: MD5 of the Go JSON of the members by userID (appMangerLevel 0), first 8 bytes."""
    data = [to_go(member_pb(m)) for m in sorted(members, key=lambda m: m.user_id)]
    return int.from_bytes(hashlib.md5(gojson.dumps(data)).digest()[:8], "big")


class ManageMixin(GroupCore):
    """The routes that create and change a group as a whole."""

    async def create_group(
        self,
        caller: Caller,
        info: NewGroup | None,
        owner_user_id: str,
        member_user_ids: list[str],
        admin_user_ids: list[str],
        *,
        send_message: bool | None = None,
        operation_id: str = "",
    ) -> GroupSummary:
        """A working group (type 2) with its owner (100), admins (60) and members (20), invited by the caller;
        SELF(ownerUserID). 1202 for a groupID taken, 1101 for an unknown user. Notifies 1501 (and 1519)."""
        if info is None:
            raise ArgsError("groupInfo is empty")
        _check_new_group(info)
        require(owner_user_id, "ownerUserID")
        if len(member_user_ids) > MAX_IDS:
            raise ArgsError(f"too many memberUserIDs, need to be less than {MAX_IDS}")
        caller.require_self_or_admin(owner_user_id)
        user_ids = [*member_user_ids, *admin_user_ids, owner_user_id]
        if len(set(user_ids)) != len(user_ids) or "" in user_ids:
            raise ArgsError("group member repeated")
        users = await self.storage.user.get_users(user_ids)
        if len(users) != len(user_ids):
            raise UserIDNotFoundError("user not found")
        roles = [(owner_user_id, GroupRole.OWNER)]
        roles += [(u, GroupRole.ADMIN) for u in admin_user_ids] + [(u, GroupRole.ORDINARY) for u in member_user_ids]
        if self.hooks.before_create_group.enable:
            info = await self._before_create_group(info, owner_user_id, roles, operation_id=operation_id)
        now = self.now()
        group_id = info.group_id or await self._new_group_id()
        notified = bool(info.notification)
        row = Group(
            group_id,
            info.group_name,
            info.notification,
            info.introduction,
            info.face_url,
            now,
            info.ex,
            int(info.status),
            info.creator_user_id or caller.user_id,
            int(GroupType.WORKING),
            info.need_verification,
            info.look_member_info,
            info.apply_member_friend,
            now if notified else 0,
            caller.user_id if notified else "",
        )
        members = [
            GroupMember(group_id, u, "", "", int(r), now, JOIN_BY_INVITATION, caller.user_id, caller.user_id, 0, "")
            for u, r in roles
        ]
        members = await self._before_members_join(row, members, operation_id=operation_id)
        state = await self.storage.group.create_group(row, members, now=now)
        summary = await self._summary(group_id)
        await self.notes.created(
            caller, summary, await self._populate(members), state, send_message=send_message, operation_id=operation_id
        )
        if self.hooks.after_create_group.enable:
            body = create_body(group_info_pb(summary), [(m.user_id, m.role_level) for m in members], operation_id=None)
            await self.hooks.after_create_group.fire(body, operation_id=self._op(operation_id))
        return summary

    async def _before_create_group(
        self, info: NewGroup, owner_user_id: str, roles: list[tuple[str, GroupRole]], *, operation_id: str
    ) -> NewGroup:
        """beforeCreateGroup: may refuse, or replace the groupInfo fields it answers (checked again as the
        request was: OpenIM does not check them)."""
        op = self._op(operation_id)
        asked = pb.GroupInfo(
            groupID=info.group_id,
            groupName=info.group_name,
            notification=info.notification,
            introduction=info.introduction,
            faceURL=info.face_url,
            ownerUserID=owner_user_id,
            ex=info.ex,
            status=info.status,
            creatorUserID=info.creator_user_id,
            groupType=info.group_type,
            needVerification=info.need_verification,
            lookMemberInfo=info.look_member_info,
            applyMemberFriend=info.apply_member_friend,
        )
        body = create_body(asked, [(u, int(r)) for u, r in roles], operation_id=op)
        answer = await self.hooks.before_create_group.ask(body, _create_answer, operation_id=op)
        if not answer:
            return info
        info = replace(info, **{_NEW_GROUP_FIELDS[k]: v for k, v in answer.items() if k in _NEW_GROUP_FIELDS})
        _check_new_group(info)
        return info

    async def _new_group_id(self) -> str:
        """A free decimal groupID, as OpenIM makes them (a 32-bit number); 90007 after 10 collisions."""
        for _ in range(10):
            group_id = str(int(secrets.token_hex(4), 16))
            if await self.storage.group.get_group(group_id) is None:
                return group_id
        raise DataError("group id gen error")

    async def set_group_info(
        self,
        caller: Caller,
        change: GroupInfoChange,
        *,
        operation_id: str = "",
        webhook: Literal["plain", "ex"] | None = None,
    ) -> None:
        """Change the present fields; G-ADMIN. An announcement stamps who and when, marks every member's
        conversation (groupAtType 4) and is announced by 1519; a new name by 1520; anything else by 1502.

        `webhook` names the route's hooks: "plain" (set_group_info: beforeSetGroupInfo, whose empty strings
        leave a field as it is) or "ex" (set_group_info_ex: beforeSetGroupInfoEx, where "" sets a field); the
        before hook's answer replaces the fields it sets (groupID excepted), checked as the request's are.
        """
        group_id = require(change.group_id, "groupID")
        await self._live_group(group_id)
        await self._require_manager(caller, group_id)
        plain = webhook == "plain"
        before_hook = self.hooks.before_set_group_info if plain else self.hooks.before_set_group_info_ex
        if webhook is not None and before_hook.enable:
            op = self._op(operation_id)
            answer = await before_hook.ask(
                _info_body(change, op, plain=plain, before=True), _set_info_answer, operation_id=op
            )
            change = _info_answered(change, answer or {}, plain=plain)
        now = self.now()
        values: dict[str, Any] = {}
        if change.group_name is not None:
            if not change.group_name.strip():
                raise ArgsError("group name is empty")
            values["group_name"] = change.group_name
        notification = None if change.notification is None else change.notification.strip()
        if notification is not None:
            values.update(notification=notification, notification_update_time=now, notification_user_id=caller.user_id)
        if change.need_verification is not None and change.need_verification not in _VERIFICATION:
            raise ArgsError("needVerification is invalid")
        others = {
            "introduction": change.introduction,
            "face_url": change.face_url,
            "ex": change.ex,
            "need_verification": change.need_verification,
            "look_member_info": change.look_member_info,
            "apply_member_friend": change.apply_member_friend,
        }
        others = {k: v for k, v in others.items() if v is not None}
        values.update(others)
        if not values:
            return
        state, touched = await self.storage.group.update_group(group_id, values, now=now, announce=bool(notification))
        summary = await self._summary(group_id)
        if touched:
            await self.notes.conversations_changed(touched, group_id, operation_id=operation_id)
        if notification is not None:
            await self.notes.info_changed(
                caller,
                summary,
                state,
                ContentType.GROUP_INFO_SET_ANNOUNCEMENT_NOTIFICATION,
                send_message=bool(notification),
                operation_id=operation_id,
            )
        if change.group_name is not None:
            await self.notes.info_changed(
                caller, summary, state, ContentType.GROUP_INFO_SET_NAME_NOTIFICATION, operation_id=operation_id
            )
        if others:
            await self.notes.info_changed(
                caller, summary, state, ContentType.GROUP_INFO_SET_NOTIFICATION, operation_id=operation_id
            )
        after_hook = self.hooks.after_set_group_info if plain else self.hooks.after_set_group_info_ex
        if webhook is not None and after_hook.enable:
            op = self._op(operation_id)
            await after_hook.fire(_info_body(change, op, plain=plain, before=False), operation_id=op)

    async def dismiss_group(
        self,
        caller: Caller,
        group_id: str,
        *,
        delete_member: bool = False,
        send_message: bool | None = None,
        operation_id: str = "",
    ) -> None:
        """Dismiss (status 2); OWNER. 1511 goes to the members (unless deleteMember), who are then removed."""
        require(group_id, "groupID")
        group = await self._group(group_id)
        if group.status == GroupStatus.DISMISSED and not delete_member:
            raise DismissedAlreadyError(f"group {group_id} is dismissed")
        if not caller.is_admin:
            member = await self.storage.group.get_member(group_id, caller.user_id)
            if member is None or member.role_level != GroupRole.OWNER:
                raise NoPermissionError("not group owner")
        now = self.now()
        if delete_member:
            owner_id = (await self._summary(group_id)).owner_user_id if self.hooks.after_dismiss_group.enable else ""
            removed = await self.storage.group.dismiss_group(group_id, now=now, delete_members=True)
            await self._after_dismiss(group, owner_id, removed, operation_id=operation_id)
            return
        await self.storage.group.dismiss_group(group_id, now=now, delete_members=False)
        summary = await self._summary(group_id)
        await self.notes.dismissed(caller, summary, send_message=send_message, operation_id=operation_id, now=now)
        removed = await self.storage.group.delete_all_members(group_id, now=now)
        await self._after_dismiss(group, summary.owner_user_id, removed, operation_id=operation_id)

    async def _after_dismiss(self, group: Group, owner_id: str, member_ids: list[str], *, operation_id: str) -> None:
        """afterDismissGroup: CallbackDisMissGroupReq with the members the group had. (OpenIM lists the members
        left after dismissing: all of them, or none with deleteMember.)"""
        if self.hooks.after_dismiss_group.enable:
            body = {
                "callbackCommand": "",
                "groupID": group.group_id,
                "ownerID": owner_id,
                "groupType": go_rune(group.group_type),
                "membersID": member_ids or None,
            }
            await self.hooks.after_dismiss_group.fire(body, operation_id=self._op(operation_id))

    async def transfer_group_owner(
        self, caller: Caller, group_id: str, old_owner_user_id: str, new_owner_user_id: str, *, operation_id: str = ""
    ) -> None:
        """The owner hands the group over (the new owner is unmuted, the old one takes its former role); only
        the owner itself or an imAdmin. 1001 for the same or a non-member user."""
        require(group_id, "groupID")
        require(old_owner_user_id, "oldOwnerUserID")
        require(new_owner_user_id, "newOwnerUserID")
        await self._live_group(group_id)
        if old_owner_user_id == new_owner_user_id:
            raise ArgsError("OldOwnerUserID == NewOwnerUserID")
        members = await self._members(group_id, [old_owner_user_id, new_owner_user_id])
        missing = [u for u in (old_owner_user_id, new_owner_user_id) if u not in members]
        if missing:
            raise ArgsError(f"user not in group {','.join(missing)}")
        old, new = members[old_owner_user_id], members[new_owner_user_id]
        if not caller.is_admin and not (caller.user_id == old.user_id and old.role_level == GroupRole.OWNER):
            raise NoPermissionError("no permission transfer group owner")
        if old.role_level != GroupRole.OWNER:
            raise ArgsError(f"{old_owner_user_id} is not the group owner")
        now = self.now()
        state = await self.storage.group.transfer_owner(
            group_id, old.user_id, new.user_id, old_owner_role=new.role_level, now=now
        )
        after = await self._members(group_id, [old.user_id, new.user_id])
        summary = await self._summary(group_id)
        await self.notes.owner_transferred(
            caller, summary, after[new.user_id], after[old.user_id], state, operation_id=operation_id, now=now
        )
        if self.hooks.after_transfer_group_owner.enable:
            body = {
                "callbackCommand": "",
                "groupID": group_id,
                "oldOwnerUserID": old_owner_user_id,
                "newOwnerUserID": new_owner_user_id,
            }
            await self.hooks.after_transfer_group_owner.fire(body, operation_id=self._op(operation_id))

    async def mute_group(self, caller: Caller, group_id: str, *, mute: bool, operation_id: str = "") -> None:
        """Mute the whole group (status 3: ordinary members get 1403) or lift it (status 0); G-ADMIN."""
        require(group_id, "groupID")
        await self._live_group(group_id)
        await self._require_manager(caller, group_id)
        now = self.now()
        status = GroupStatus.MUTED if mute else GroupStatus.OK
        state, _ = await self.storage.group.update_group(group_id, {"status": int(status)}, now=now)
        summary = await self._summary(group_id)
        content_type = ContentType.GROUP_MUTED_NOTIFICATION if mute else ContentType.GROUP_CANCEL_MUTED_NOTIFICATION
        await self.notes.status_changed(caller, summary, state, content_type, operation_id=operation_id, now=now)

    async def get_group_abstract_info(self, caller: Caller, group_ids: list[str] | None) -> list[GroupAbstract]:
        """Member count and member-list hash of each group; MEMBER of each. 1201 for an unknown or empty group."""
        wanted = check_ids(group_ids, "groupIDs")
        for group_id in wanted:
            await self._require_member(caller, group_id)
        found = {s.group.group_id: s for s in await self.storage.group.get_groups(wanted)}
        missing = [g for g in wanted if g not in found]
        if missing:
            raise GroupIDNotFoundError(f"not found group {','.join(missing)}")
        answers = []
        for group_id in wanted:
            members = await self._populate(await self.storage.group.all_members(group_id))
            if not members:
                raise GroupIDNotFoundError(f"group {group_id} not found member")
            answers.append(GroupAbstract(group_id, len(members), member_list_hash(members)))
        return answers

    async def get_groups(
        self, caller: Caller, page: Page, *, group_name: str = "", group_id: str = ""
    ) -> tuple[int, list[CMSGroup]]:
        """The admin console's group search: by groupID exactly, else groups (not dismissed) whose name
        contains `group_name`, newest first. imAdmins only."""
        caller.require_admin()
        if group_id:
            summaries = await self.storage.group.get_groups([group_id])
            total = len(summaries)
        else:
            total, summaries = await self.storage.group.search_groups(group_name, page.offset, page.limit)
        owners = {u.user_id: u for u in await self.storage.user.get_users([s.owner_user_id for s in summaries])}
        found = []
        for s in summaries:
            owner = owners.get(s.owner_user_id)
            found.append(CMSGroup(s, "" if owner is None else owner.nickname))
        return total, found
