"""The group notifications 1501-1520 (docs/protocol/messages.md §6): tips built as OpenIM's
`internal/rpc/group/notification.go` builds them, sent through `NotificationSender`.

Group-wide tips go from the operator to the groupID (sessionType 3, conversation `n_<groupID>`, online only;
the types with isSendMsg also store a copy in `sg_<groupID>`), to every member at send time; 1504 and 1508
also reach the members who just left. 1503, 1505 and 1506 go to single users. Tips that follow a version-log
write carry its groupMemberVersion/ID, taken from the write itself. `opUser` is the operator's membership, an
imAdmin appears as an admin (roleLevel 60, appMangerLevel 2), anyone else with its profile.

Where OpenIM leaves a field empty by accident it is filled here: `operationTime` of 1504/1507/1508/1509/1514/
1515, the whole `memberList` of 1501 (OpenIM stops at the operator), the applicant of an invitation request
(OpenIM puts the inviter there). Nothing is sent when the service was built without a NotificationSender.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from google.protobuf.message import Message

from openim.protocol.constants import AppManagerLevel, ContentType, GroupRole
from openim.protocol.ids import group_conversation_id
from openim.protocol.pb import sdkws_pb2 as pb
from openim.services.auth import Caller
from openim.services.notification import NotificationSender
from openim.services.wire import group_info_pb, member_pb, public_user_pb
from openim.storage import Storage
from openim.storage.group import GroupSummary
from openim.storage.rows import GroupMember, GroupRequest, User
from openim.storage.version import VersionState

__all__ = ["GroupNotifier"]

C = ContentType
_APPLICANT, _ADMIN = 0, 1  # receiverAs of 1505/1506


def request_pb(request: GroupRequest, user: User | None) -> pb.GroupRequest:
    """sdkws.GroupRequest as the request tips carry it (no groupInfo: the tips have `group`)."""
    return pb.GroupRequest(
        userInfo=public_user_pb(request.user_id, user),
        handleResult=request.handle_result,
        reqMsg=request.req_msg,
        handleMsg=request.handled_msg,
        reqTime=request.req_time,
        handleUserID=request.handle_user_id,
        handleTime=request.handled_time,
        ex=request.ex,
        joinSource=request.join_source,
        inviterUserID=request.inviter_user_id,
    )


class GroupNotifier:
    """Builds and sends the group tips; one per GroupService."""

    def __init__(self, storage: Storage, sender: NotificationSender | None) -> None:
        self.storage = storage
        self.sender = sender

    # ---- group-wide tips --------------------------------------------------------------------------------

    async def created(
        self,
        caller: Caller,
        summary: GroupSummary,
        members: Sequence[GroupMember],
        state: VersionState,
        *,
        send_message: bool | None,
        operation_id: str,
    ) -> None:
        """1501 GroupCreated, and 1519 when the group starts with an announcement."""
        owner = next((m for m in members if m.role_level == GroupRole.OWNER), None)
        tips = pb.GroupCreatedTips(
            group=group_info_pb(summary),
            memberList=[member_pb(m) for m in members],
            operationTime=summary.group.create_time,
            groupOwnerUser=None if owner is None else member_pb(owner),
        )
        await self._to_group(caller, summary, C.GROUP_CREATED_NOTIFICATION, tips, state, send_message, operation_id)
        if summary.group.notification:
            await self.info_changed(
                caller,
                summary,
                state,
                C.GROUP_INFO_SET_ANNOUNCEMENT_NOTIFICATION,
                send_message=True,
                operation_id=operation_id,
            )

    async def info_changed(
        self,
        caller: Caller,
        summary: GroupSummary,
        state: VersionState,
        content_type: int,
        *,
        send_message: bool | None = None,
        operation_id: str,
    ) -> None:
        """1502 GroupInfoSet, 1519 GroupInfoSetAnnouncement or 1520 GroupInfoSetName."""
        tips: Message
        if content_type == C.GROUP_INFO_SET_NOTIFICATION:
            tips = pb.GroupInfoSetTips(group=group_info_pb(summary))
        elif content_type == C.GROUP_INFO_SET_ANNOUNCEMENT_NOTIFICATION:
            tips = pb.GroupInfoSetAnnouncementTips(group=group_info_pb(summary))
        else:
            tips = pb.GroupInfoSetNameTips(group=group_info_pb(summary))
        await self._to_group(caller, summary, content_type, tips, state, send_message, operation_id)

    async def status_changed(
        self,
        caller: Caller,
        summary: GroupSummary,
        state: VersionState,
        content_type: int,
        *,
        operation_id: str,
        now: int,
    ) -> None:
        """1514 GroupMuted or 1515 GroupCancelMuted."""
        cls = pb.GroupMutedTips if content_type == C.GROUP_MUTED_NOTIFICATION else pb.GroupCancelMutedTips
        tips = cls(group=group_info_pb(summary), operationTime=now)
        await self._to_group(caller, summary, content_type, tips, state, None, operation_id)

    async def dismissed(
        self, caller: Caller, summary: GroupSummary, *, send_message: bool | None, operation_id: str, now: int
    ) -> None:
        """1511 GroupDismissed (no version: the members are deleted right after)."""
        tips = pb.GroupDismissedTips(group=group_info_pb(summary), operationTime=now)
        await self._to_group(caller, summary, C.GROUP_DISMISSED_NOTIFICATION, tips, None, send_message, operation_id)

    async def members_joined(
        self,
        caller: Caller,
        summary: GroupSummary,
        joined: Sequence[GroupMember],
        state: VersionState,
        *,
        inviter_user_id: str,
        send_message: bool | None = None,
        operation_id: str,
        now: int,
    ) -> None:
        """1509 MemberInvited when someone brought them in (`inviter_user_id`), else 1510 MemberEnter."""
        group = group_info_pb(summary)
        if not inviter_user_id:
            enter = pb.MemberEnterTips(group=group, entrantUser=member_pb(joined[0]), operationTime=now)
            await self._to_group(caller, summary, C.MEMBER_ENTER_NOTIFICATION, enter, state, None, operation_id)
            return
        op_user = await self.op_user(caller, summary.group.group_id)
        inviter = (
            op_user
            if inviter_user_id == caller.user_id
            else await self._user_as_member(inviter_user_id, summary.group.group_id)
        )
        tips = pb.MemberInvitedTips(
            group=group, invitedUserList=[member_pb(m) for m in joined], operationTime=now, inviterUser=inviter
        )
        await self._to_group(caller, summary, C.MEMBER_INVITED_NOTIFICATION, tips, state, send_message, operation_id)

    async def members_left(
        self,
        caller: Caller,
        summary: GroupSummary,
        left: Sequence[GroupMember],
        state: VersionState,
        *,
        kicked: bool,
        send_message: bool | None = None,
        operation_id: str,
        now: int,
    ) -> None:
        """1508 MemberKicked or 1504 MemberQuit, also pushed to the members who left."""
        tips: Message
        if kicked:
            tips = pb.MemberKickedTips(
                group=group_info_pb(summary), kickedUserList=[member_pb(m) for m in left], operationTime=now
            )
            content_type = C.MEMBER_KICKED_NOTIFICATION
        else:
            tips = pb.MemberQuitTips(group=group_info_pb(summary), quitUser=member_pb(left[0]), operationTime=now)
            content_type = C.MEMBER_QUIT_NOTIFICATION
        also_to = [m.user_id for m in left]
        await self._to_group(caller, summary, content_type, tips, state, send_message, operation_id, also_to)

    async def owner_transferred(
        self,
        caller: Caller,
        summary: GroupSummary,
        new_owner: GroupMember,
        old_owner: GroupMember,
        state: VersionState,
        *,
        operation_id: str,
        now: int,
    ) -> None:
        """1507 GroupOwnerTransferred."""
        tips = pb.GroupOwnerTransferredTips(
            group=group_info_pb(summary),
            newGroupOwner=member_pb(new_owner),
            oldGroupOwner=old_owner.user_id,
            operationTime=now,
            oldGroupOwnerInfo=member_pb(old_owner),
        )
        content_type = C.GROUP_OWNER_TRANSFERRED_NOTIFICATION
        await self._to_group(caller, summary, content_type, tips, state, None, operation_id)

    async def member_changed(
        self,
        caller: Caller,
        summary: GroupSummary,
        changed: GroupMember,
        state: VersionState,
        content_type: int,
        *,
        muted_seconds: int = 0,
        sort_version: int = 0,
        operation_id: str,
        now: int,
    ) -> None:
        """1512/1513 (un)muted member, 1516 member info set, 1517/1518 set to admin / ordinary member."""
        group, who = group_info_pb(summary), member_pb(changed)
        tips: Message
        if content_type == C.GROUP_MEMBER_MUTED_NOTIFICATION:
            tips = pb.GroupMemberMutedTips(group=group, operationTime=now, mutedUser=who, mutedSeconds=muted_seconds)
        elif content_type == C.GROUP_MEMBER_CANCEL_MUTED_NOTIFICATION:
            tips = pb.GroupMemberCancelMutedTips(group=group, operationTime=now, mutedUser=who)
        else:
            tips = pb.GroupMemberInfoSetTips(
                group=group, operationTime=now, changedUser=who, groupSortVersion=sort_version
            )
        await self._to_group(caller, summary, content_type, tips, state, None, operation_id)

    # ---- tips to single users ---------------------------------------------------------------------------

    async def join_application(
        self,
        caller: Caller,
        summary: GroupSummary,
        request: GroupRequest,
        applicant: User | None,
        recipients: Sequence[str],
        *,
        operation_id: str,
    ) -> None:
        """1503 JoinGroupApplication to each recipient (owner, admins, the applicant or inviter, the caller)."""
        tips = pb.JoinGroupApplicationTips(
            group=group_info_pb(summary),
            applicant=public_user_pb(request.user_id, applicant),
            reqMsg=request.req_msg,
            uuid=str(uuid.uuid4()),
            request=request_pb(request, applicant),
        )
        for user_id in dict.fromkeys(recipients):
            await self._to_user(caller, user_id, C.JOIN_GROUP_APPLICATION_NOTIFICATION, tips, operation_id)

    async def application_answered(
        self,
        caller: Caller,
        summary: GroupSummary,
        request: GroupRequest,
        applicant: User | None,
        managers: Sequence[str],
        *,
        accepted: bool,
        operation_id: str,
    ) -> None:
        """1505 GroupApplicationAccepted or 1506 Rejected to the owner, the admins and the applicant."""
        cls = pb.GroupApplicationAcceptedTips if accepted else pb.GroupApplicationRejectedTips
        content_type = (
            C.GROUP_APPLICATION_ACCEPTED_NOTIFICATION if accepted else C.GROUP_APPLICATION_REJECTED_NOTIFICATION
        )
        op_user = await self.op_user(caller, summary.group.group_id)
        for user_id in dict.fromkeys([*managers, request.user_id]):
            tips = cls(
                group=group_info_pb(summary),
                opUser=op_user,
                handleMsg=request.handled_msg,
                receiverAs=_APPLICANT if user_id == request.user_id else _ADMIN,
                uuid=str(uuid.uuid4()),
                request=request_pb(request, applicant),
            )
            await self._to_user(caller, user_id, content_type, tips, operation_id)

    async def conversations_changed(self, owners: Sequence[str], group_id: str, *, operation_id: str) -> None:
        """1300 ConversationChange to each owner whose `sg_` row changed (an announcement set groupAtType)."""
        if self.sender is None:
            return
        cid = group_conversation_id(group_id)
        for owner in owners:
            tips = pb.ConversationUpdateTips(userID=owner, conversationIDList=[cid])
            await self.sender.notify(owner, owner, C.CONVERSATION_CHANGE_NOTIFICATION, tips, operation_id=operation_id)

    # ---- helpers ------------------------------------------------------------------------------------------

    async def op_user(self, caller: Caller, group_id: str) -> pb.GroupMemberFullInfo:
        """The operator as tips show it (OpenIM's fillOpUser)."""
        if caller.is_admin:
            user = await self.storage.user.get_user(caller.user_id)
            return pb.GroupMemberFullInfo(
                groupID=group_id,
                userID=caller.user_id,
                roleLevel=int(GroupRole.ADMIN),
                appMangerLevel=int(AppManagerLevel.APP_ADMIN),
                nickname="" if user is None else user.nickname,
                faceURL="" if user is None else user.face_url,
            )
        return await self._user_as_member(caller.user_id, group_id)

    async def _user_as_member(self, user_id: str, group_id: str) -> pb.GroupMemberFullInfo:
        member = await self.storage.group.get_member(group_id, user_id)
        user = await self.storage.user.get_user(user_id)
        nickname, face = ("", "") if user is None else (user.nickname, user.face_url)
        if member is None:
            return pb.GroupMemberFullInfo(
                groupID=group_id, userID=user_id, nickname=nickname, faceURL=face, operatorUserID=user_id
            )
        info = member_pb(member)
        info.nickname = info.nickname or nickname
        info.faceURL = info.faceURL or face
        return info

    async def _to_group(
        self,
        caller: Caller,
        summary: GroupSummary,
        content_type: int,
        tips: Message,
        state: VersionState | None,
        send_message: bool | None,
        operation_id: str,
        also_to: Sequence[str] = (),
    ) -> None:
        if self.sender is None:
            return
        op_user = await self.op_user(caller, summary.group.group_id)
        fields = tips.DESCRIPTOR.fields_by_name
        typed: Any = tips  # every group tips message has some of these fields
        if "opUser" in fields:
            typed.opUser.CopyFrom(op_user)
        if state is not None and "groupMemberVersion" in fields:
            typed.groupMemberVersion = state.version
            typed.groupMemberVersionID = state.version_id
        await self.sender.notify(
            caller.user_id,
            summary.group.group_id,
            content_type,
            tips,
            operation_id=operation_id,
            send_message=send_message,
            sender_nickname=op_user.nickname,
            sender_face_url=op_user.faceURL,
            also_to=also_to,
        )

    async def _to_user(self, caller: Caller, user_id: str, content_type: int, tips: Message, operation_id: str) -> None:
        if self.sender is None:
            return
        await self.sender.notify(caller.user_id, user_id, content_type, tips, operation_id=operation_id)
