"""Bodies of the /group write routes and the admin routes (protocol group/group.proto).

Request fields are spelled as on the wire; wrapper fields (StringValue, Int32Value) are `None` when absent or
null, which the services read as "unchanged". Int32 and UInt32 fields reject out-of-range numbers (1001) as
Go's decoder does.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from openim.api.models.base import Int64, Pagination, Req, Resp
from openim.api.models.group.read import GroupInfo, GroupRequest
from openim.services.group import CMSGroup, GroupAbstract, GroupInfoChange, MemberInfoChange, NewGroup

Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]  # Go int32: out of range is 1001
UInt32 = Annotated[int, Field(ge=0, le=2**32 - 1)]


class GroupInfoIn(Req):
    """sdkws.GroupInfo as create_group receives it; ownerUserID, memberCount and the times are not used."""

    groupID: str = ""
    groupName: str = ""
    notification: str = ""
    introduction: str = ""
    faceURL: str = ""
    ownerUserID: str = ""
    createTime: Int64 = 0
    memberCount: UInt32 = 0
    ex: str = ""
    status: Int32 = 0
    creatorUserID: str = ""
    groupType: Int32 = 0
    needVerification: Int32 = 0
    lookMemberInfo: Int32 = 0
    applyMemberFriend: Int32 = 0
    notificationUpdateTime: Int64 = 0
    notificationUserID: str = ""

    def new_group(self) -> NewGroup:
        return NewGroup(
            group_id=self.groupID,
            group_name=self.groupName,
            notification=self.notification,
            introduction=self.introduction,
            face_url=self.faceURL,
            ex=self.ex,
            status=self.status,
            creator_user_id=self.creatorUserID,
            group_type=self.groupType,
            need_verification=self.needVerification,
            look_member_info=self.lookMemberInfo,
            apply_member_friend=self.applyMemberFriend,
        )


class CreateGroupReq(Req):
    memberUserIDs: list[str] | None = None
    groupInfo: GroupInfoIn | None = None
    adminUserIDs: list[str] | None = None
    ownerUserID: str = ""
    sendMessage: bool | None = None


class CreateGroupResp(Resp):
    groupInfo: GroupInfo


class GroupInfoForSet(Req):
    """Plain strings ("" = unchanged) and wrapper fields (absent or null = unchanged)."""

    groupID: str = ""
    groupName: str = ""
    notification: str = ""
    introduction: str = ""
    faceURL: str = ""
    ex: str | None = None
    needVerification: Int32 | None = None
    lookMemberInfo: Int32 | None = None
    applyMemberFriend: Int32 | None = None

    def change(self) -> GroupInfoChange:
        return GroupInfoChange(
            group_id=self.groupID,
            group_name=self.groupName or None,
            notification=self.notification or None,
            introduction=self.introduction or None,
            face_url=self.faceURL or None,
            ex=self.ex,
            need_verification=self.needVerification,
            look_member_info=self.lookMemberInfo,
            apply_member_friend=self.applyMemberFriend,
        )


class SetGroupInfoReq(Req):
    groupInfoForSet: GroupInfoForSet | None = None


class SetGroupInfoExReq(Req):
    """Every field but groupID is a wrapper: absent or null = unchanged, present (even "") = set."""

    groupID: str = ""
    groupName: str | None = None
    notification: str | None = None
    introduction: str | None = None
    faceURL: str | None = None
    ex: str | None = None
    needVerification: Int32 | None = None
    lookMemberInfo: Int32 | None = None
    applyMemberFriend: Int32 | None = None

    def change(self) -> GroupInfoChange:
        return GroupInfoChange(
            group_id=self.groupID,
            group_name=self.groupName,
            notification=self.notification,
            introduction=self.introduction,
            face_url=self.faceURL,
            ex=self.ex,
            need_verification=self.needVerification,
            look_member_info=self.lookMemberInfo,
            apply_member_friend=self.applyMemberFriend,
        )


class JoinGroupReq(Req):
    groupID: str = ""
    reqMessage: str = ""
    joinSource: Int32 = 0
    inviterUserID: str = ""  # the applicant, as the SDKs send it
    ex: str = ""


class QuitGroupReq(Req):
    groupID: str = ""
    userID: str = ""


class GroupApplicationResponseReq(Req):
    groupID: str = ""
    fromUserID: str = ""
    handledMsg: str = ""
    handleResult: Int32 = 0


class TransferGroupOwnerReq(Req):
    groupID: str = ""
    oldOwnerUserID: str = ""
    newOwnerUserID: str = ""


class KickGroupMemberReq(Req):
    groupID: str = ""
    kickedUserIDs: list[str] | None = None
    reason: str = ""
    sendMessage: bool | None = None


class InviteUserToGroupReq(Req):
    groupID: str = ""
    reason: str = ""
    invitedUserIDs: list[str] | None = None
    sendMessage: bool | None = None


class DismissGroupReq(Req):
    groupID: str = ""
    deleteMember: bool = False
    sendMessage: bool | None = None


class MuteGroupMemberReq(Req):
    groupID: str = ""
    userID: str = ""
    mutedSeconds: UInt32 = 0


class CancelMuteGroupMemberReq(Req):
    groupID: str = ""
    userID: str = ""


class MuteGroupReq(Req):
    groupID: str = ""


class SetGroupMemberInfo(Req):
    groupID: str = ""
    userID: str = ""
    nickname: str | None = None
    faceURL: str | None = None
    roleLevel: Int32 | None = None
    ex: str | None = None

    def change(self) -> MemberInfoChange:
        return MemberInfoChange(self.groupID, self.userID, self.nickname, self.faceURL, self.roleLevel, self.ex)


class SetGroupMemberInfoReq(Req):
    members: list[SetGroupMemberInfo] | None = None


class GetGroupAbstractInfoReq(Req):
    groupIDs: list[str] | None = None


class GroupAbstractInfo(Resp):
    groupID: str
    groupMemberNumber: int
    groupMemberListHash: int


class GetGroupAbstractInfoResp(Resp):
    groupAbstractInfos: list[GroupAbstractInfo] | None

    @classmethod
    def of(cls, answers: list[GroupAbstract]) -> GetGroupAbstractInfoResp:
        return cls(
            groupAbstractInfos=[
                GroupAbstractInfo(
                    groupID=a.group_id, groupMemberNumber=a.member_count, groupMemberListHash=a.member_list_hash
                )
                for a in answers
            ]
        )


class GetGroupsReq(Req):
    pagination: Pagination | None = None
    groupName: str = ""
    groupID: str = ""


class CMSGroupOut(Resp):
    groupInfo: GroupInfo
    groupOwnerUserName: str
    groupOwnerUserID: str


class GetGroupsResp(Resp):
    total: int
    groups: list[CMSGroupOut] | None

    @classmethod
    def of(cls, total: int, groups: list[CMSGroup]) -> GetGroupsResp:
        out = [
            CMSGroupOut(
                groupInfo=GroupInfo.of(g.summary),
                groupOwnerUserName=g.owner_user_name,
                groupOwnerUserID=g.summary.owner_user_id,
            )
            for g in groups
        ]
        return cls(total=total, groups=out or None)


class GetGroupUsersReqApplicationListReq(Req):
    groupID: str = ""
    userIDs: list[str] | None = None


class GetGroupUsersReqApplicationListResp(Resp):
    total: int
    groupRequests: list[GroupRequest] | None
