"""Bodies of the /group read routes, and the shapes every group route shares (sdkws GroupInfo,
GroupMemberFullInfo, GroupRequest).

Responses have every field of OpenIM's message, always present; a list OpenIM leaves nil is `None` (JSON
`null`), one it makes empty is `[]` — the services decide which, as OpenIM's Go code does. Times are ms.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from openim.api.models.base import Int64, Pagination, Req, Resp
from openim.api.models.friend import PublicUserInfo
from openim.services.group import GroupRequestEntry, MemberDelta, MemberSyncReq
from openim.services.incremental import Delta, FullIDs
from openim.storage.group import GroupSummary
from openim.storage.rows import GroupMember

UInt64 = Annotated[int, Field(ge=0, le=2**64 - 1)]  # Go uint64: a negative or larger number is 1001


class GroupInfo(Resp):
    groupID: str
    groupName: str
    notification: str
    introduction: str
    faceURL: str
    ownerUserID: str
    createTime: int
    memberCount: int
    ex: str
    status: int
    creatorUserID: str
    groupType: int
    needVerification: int
    lookMemberInfo: int
    applyMemberFriend: int
    notificationUpdateTime: int
    notificationUserID: str

    @classmethod
    def of(cls, summary: GroupSummary) -> GroupInfo:
        g = summary.group
        return cls(
            groupID=g.group_id,
            groupName=g.group_name,
            notification=g.notification,
            introduction=g.introduction,
            faceURL=g.face_url,
            ownerUserID=summary.owner_user_id,
            createTime=g.create_time,
            memberCount=summary.member_count,
            ex=g.ex,
            status=g.status,
            creatorUserID=g.creator_user_id,
            groupType=g.group_type,
            needVerification=g.need_verification,
            lookMemberInfo=g.look_member_info,
            applyMemberFriend=g.apply_member_friend,
            notificationUpdateTime=g.notification_update_time,
            notificationUserID=g.notification_user_id,
        )


class GroupMemberFullInfo(Resp):
    groupID: str
    userID: str
    roleLevel: int
    joinTime: int
    nickname: str
    faceURL: str
    appMangerLevel: int  # sic; OpenIM never fills it in (always 0)
    joinSource: int
    operatorUserID: str
    ex: str
    muteEndTime: int
    inviterUserID: str

    @classmethod
    def of(cls, m: GroupMember) -> GroupMemberFullInfo:
        return cls(
            groupID=m.group_id,
            userID=m.user_id,
            roleLevel=m.role_level,
            joinTime=m.join_time,
            nickname=m.nickname,
            faceURL=m.face_url,
            appMangerLevel=0,
            joinSource=m.join_source,
            operatorUserID=m.operator_user_id,
            ex=m.ex,
            muteEndTime=m.mute_end_time,
            inviterUserID=m.inviter_user_id,
        )


class GroupRequest(Resp):
    userInfo: PublicUserInfo | None
    groupInfo: GroupInfo | None
    handleResult: int
    reqMsg: str
    handleMsg: str
    reqTime: int
    handleUserID: str
    handleTime: int
    ex: str
    joinSource: int
    inviterUserID: str

    @classmethod
    def of(cls, entry: GroupRequestEntry) -> GroupRequest:
        r = entry.request
        return cls(
            userInfo=None if entry.user is None else PublicUserInfo.of(r.user_id, entry.user),
            groupInfo=None if entry.group is None else GroupInfo.of(entry.group),
            handleResult=r.handle_result,
            reqMsg=r.req_msg,
            handleMsg=r.handled_msg,
            reqTime=r.req_time,
            handleUserID=r.handle_user_id,
            handleTime=r.handled_time,
            ex=r.ex,
            joinSource=r.join_source,
            inviterUserID=r.inviter_user_id,
        )


def group_infos(summaries: list[GroupSummary] | None) -> list[GroupInfo] | None:
    return None if summaries is None else [GroupInfo.of(s) for s in summaries]


def member_infos(members: list[GroupMember] | None) -> list[GroupMemberFullInfo] | None:
    return None if members is None else [GroupMemberFullInfo.of(m) for m in members]


def group_requests(entries: list[GroupRequestEntry]) -> list[GroupRequest] | None:
    """OpenIM leaves the list nil when there is nothing to show."""
    return [GroupRequest.of(e) for e in entries] or None


# --- requests and responses, in the order of group.proto ---------------------------------------------------


class GetGroupsInfoReq(Req):
    groupIDs: list[str] | None = None


class GetGroupsInfoResp(Resp):
    groupInfos: list[GroupInfo] | None


class GetGroupApplicationListReq(Req):
    pagination: Pagination | None = None
    fromUserID: str = ""
    groupIDs: list[str] | None = None
    handleResults: list[int] | None = None


class GetGroupApplicationListResp(Resp):
    total: int
    groupRequests: list[GroupRequest] | None


class GetGroupApplicationUnhandledCountReq(Req):
    userID: str = ""
    time: Int64 = 0


class GetGroupApplicationUnhandledCountResp(Resp):
    count: int


class GetUserReqApplicationListReq(Req):
    pagination: Pagination | None = None
    userID: str = ""
    groupIDs: list[str] | None = None
    handleResults: list[int] | None = None


class GetUserReqApplicationListResp(Resp):
    total: int
    groupRequests: list[GroupRequest] | None


class GetSpecifiedUserGroupRequestInfoReq(Req):
    groupID: str = ""
    userID: str = ""


class GetSpecifiedUserGroupRequestInfoResp(Resp):
    total: int
    groupRequests: list[GroupRequest] | None


class GetGroupMemberListReq(Req):
    pagination: Pagination | None = None
    groupID: str = ""
    filter: int = 0
    keyword: str = ""


class GetGroupMemberListResp(Resp):
    total: int
    members: list[GroupMemberFullInfo] | None


class GetGroupMembersInfoReq(Req):
    groupID: str = ""
    userIDs: list[str] | None = None


class GetGroupMembersInfoResp(Resp):
    members: list[GroupMemberFullInfo] | None


class GetJoinedGroupListReq(Req):
    pagination: Pagination | None = None
    fromUserID: str = ""


class GetJoinedGroupListResp(Resp):
    total: int
    groups: list[GroupInfo] | None


class GetGroupMemberUserIDsReq(Req):
    groupID: str = ""


class GetGroupMemberUserIDsResp(Resp):
    userIDs: list[str] | None


class GetIncrementalGroupMemberReq(Req):
    groupID: str = ""
    versionID: str = ""
    version: UInt64 = 0

    def sync_req(self) -> MemberSyncReq:
        return MemberSyncReq(self.groupID, self.versionID, self.version)


class GetIncrementalGroupMemberResp(Resp):
    version: int
    versionID: str
    full: bool
    delete: list[str] | None
    insert: list[GroupMemberFullInfo] | None
    update: list[GroupMemberFullInfo] | None
    group: GroupInfo | None
    sortVersion: int

    @classmethod
    def of(cls, answer: MemberDelta) -> GetIncrementalGroupMemberResp:
        d = answer.delta
        return cls(
            version=d.version,
            versionID=d.version_id,
            full=d.full,
            delete=d.deleted,
            insert=member_infos(d.inserted),
            update=member_infos(d.updated),
            group=None if answer.group is None else GroupInfo.of(answer.group),
            sortVersion=d.sort_version,
        )


class GetIncrementalJoinGroupReq(Req):
    userID: str = ""
    versionID: str = ""
    version: UInt64 = 0


class GetIncrementalJoinGroupResp(Resp):
    version: int
    versionID: str
    full: bool
    delete: list[str] | None
    insert: list[GroupInfo] | None
    update: list[GroupInfo] | None
    sortVersion: int

    @classmethod
    def of(cls, delta: Delta[GroupSummary]) -> GetIncrementalJoinGroupResp:
        return cls(
            version=delta.version,
            versionID=delta.version_id,
            full=delta.full,
            delete=delta.deleted,
            insert=group_infos(delta.inserted),
            update=group_infos(delta.updated),
            sortVersion=0,  # OpenIM never sets it for joined groups
        )


class GetFullGroupMemberUserIDsReq(Req):
    idHash: UInt64 = 0
    groupID: str = ""


class GetFullGroupMemberUserIDsResp(Resp):
    version: int
    versionID: str
    equal: bool
    userIDs: list[str] | None

    @classmethod
    def of(cls, full: FullIDs) -> GetFullGroupMemberUserIDsResp:
        return cls(version=full.version, versionID=full.version_id, equal=full.equal, userIDs=full.ids)


class GetFullJoinGroupIDsReq(Req):
    idHash: UInt64 = 0
    userID: str = ""


class GetFullJoinGroupIDsResp(Resp):
    version: int
    versionID: str
    equal: bool
    groupIDs: list[str] | None

    @classmethod
    def of(cls, full: FullIDs) -> GetFullJoinGroupIDsResp:
        return cls(version=full.version, versionID=full.version_id, equal=full.equal, groupIDs=full.ids)


class BatchGetIncrementalGroupMemberReq(Req):
    userID: str = ""
    reqList: list[GetIncrementalGroupMemberReq] | None = None


class BatchGetIncrementalGroupMemberResp(Resp):
    respList: dict[str, GetIncrementalGroupMemberResp]  # OpenIM makes the map, so `{}` when empty, never null
