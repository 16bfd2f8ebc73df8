"""Bodies of the /friend route group (protocol relation/relation.proto; sdkws FriendInfo, BlackInfo, FriendRequest).

Responses have every field of OpenIM's message, always present; a list OpenIM leaves nil is `None` (JSON
`null`). Times: FriendInfo.createTime is in **seconds**, BlackInfo.createTime is in seconds in get_black_list
and in ms in get_specified_blacks (as OpenIM does), FriendRequest times are in ms.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from openim.api.models.base import Int64, Pagination, Req, Resp
from openim.api.models.user import UserInfo
from openim.services.friend import BlackEntry, FriendEntry, RequestEntry, SpecifiedInfo
from openim.services.incremental import Delta, FullIDs
from openim.storage.rows import User

UInt64 = Annotated[int, Field(ge=0, le=2**64 - 1)]  # Go uint64: a negative or larger number is 1001
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]


def _parse_bool(value: object) -> object:
    """openim.protobuf.BoolValue reads the raw JSON with strconv.ParseBool: true/false, and 1/0 too."""
    if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    return value


GoBool = Annotated[bool, BeforeValidator(_parse_bool)]


class PublicUserInfo(Resp):
    userID: str
    nickname: str
    faceURL: str
    ex: str

    @classmethod
    def of(cls, user_id: str, user: User | None) -> PublicUserInfo:
        """The public profile of `user_id`; empty fields when the user is not registered."""
        if user is None:
            return cls(userID=user_id, nickname="", faceURL="", ex="")
        return cls(userID=user.user_id, nickname=user.nickname, faceURL=user.face_url, ex=user.ex)


class FriendInfo(Resp):
    ownerUserID: str
    remark: str
    createTime: int
    friendUser: UserInfo | None
    addSource: int
    operatorUserID: str
    ex: str
    isPinned: bool

    @classmethod
    def of(cls, entry: FriendEntry) -> FriendInfo:
        """OpenIM's FriendsDB2Pb: createTime in seconds; friendUser carries userID, nickname, faceURL and ex only."""
        f, user = entry.friend, entry.user
        return cls(
            ownerUserID=f.owner_user_id,
            remark=f.remark,
            createTime=f.create_time // 1000,
            friendUser=UserInfo(
                userID=f.friend_user_id,
                nickname=user.nickname if user else "",
                faceURL=user.face_url if user else "",
                ex=user.ex if user else "",
                createTime=0,
                appMangerLevel=0,
                globalRecvMsgOpt=0,
            ),
            addSource=f.add_source,
            operatorUserID=f.operator_user_id,
            ex=f.ex,
            isPinned=f.is_pinned,
        )


class BlackInfo(Resp):
    ownerUserID: str
    createTime: int
    blackUserInfo: PublicUserInfo | None
    addSource: int
    operatorUserID: str
    ex: str

    @classmethod
    def of(cls, entry: BlackEntry, *, time_in_ms: bool = False) -> BlackInfo:
        b = entry.black
        return cls(
            ownerUserID=b.owner_user_id,
            createTime=b.create_time if time_in_ms else b.create_time // 1000,
            blackUserInfo=PublicUserInfo.of(b.block_user_id, entry.user),
            addSource=b.add_source,
            operatorUserID=b.operator_user_id,
            ex=b.ex,
        )


class FriendRequest(Resp):
    fromUserID: str
    fromNickname: str
    fromFaceURL: str
    toUserID: str
    toNickname: str
    toFaceURL: str
    handleResult: int
    reqMsg: str
    createTime: int
    handlerUserID: str
    handleMsg: str
    handleTime: int
    ex: str

    @classmethod
    def of(cls, entry: RequestEntry) -> FriendRequest:
        r, sender, receiver = entry.request, entry.from_user, entry.to_user
        return cls(
            fromUserID=r.from_user_id,
            fromNickname=sender.nickname if sender else "",
            fromFaceURL=sender.face_url if sender else "",
            toUserID=r.to_user_id,
            toNickname=receiver.nickname if receiver else "",
            toFaceURL=receiver.face_url if receiver else "",
            handleResult=r.handle_result,
            reqMsg=r.req_msg,
            createTime=r.create_time,
            handlerUserID=r.handler_user_id,
            handleMsg=r.handle_msg,
            handleTime=r.handle_time,
            ex=r.ex,
        )


def friend_infos(entries: list[FriendEntry] | None) -> list[FriendInfo] | None:
    return None if entries is None else [FriendInfo.of(e) for e in entries]


def friend_requests(entries: list[RequestEntry] | None) -> list[FriendRequest] | None:
    return None if entries is None else [FriendRequest.of(e) for e in entries]


# --- requests and responses, in the order of relation.proto ------------------------------------------------


class GetPaginationFriendsReq(Req):
    pagination: Pagination | None = None
    userID: str = ""


class GetPaginationFriendsResp(Resp):
    friendsInfo: list[FriendInfo] | None
    total: int


class GetPaginationFriendsApplyToReq(Req):
    userID: str = ""
    pagination: Pagination | None = None
    handleResults: list[int] | None = None


class GetPaginationFriendsApplyToResp(Resp):
    FriendRequests: list[FriendRequest] | None  # capital F: OpenIM's proto spells it so (docs/protocol/go-json.md §1)
    total: int


class GetDesignatedFriendsApplyReq(Req):
    fromUserID: str = ""
    toUserID: str = ""


class GetDesignatedFriendsApplyResp(Resp):
    friendRequests: list[FriendRequest] | None


class GetSelfUnhandledApplyCountReq(Req):
    userID: str = ""
    time: Int64 = 0


class GetSelfUnhandledApplyCountResp(Resp):
    count: int


class GetDesignatedFriendsReq(Req):
    ownerUserID: str = ""
    friendUserIDs: list[str] | None = None


class GetDesignatedFriendsResp(Resp):
    friendsInfo: list[FriendInfo] | None


class GetPaginationBlacksReq(Req):
    userID: str = ""
    pagination: Pagination | None = None


class GetPaginationBlacksResp(Resp):
    blacks: list[BlackInfo] | None
    total: int


class IsFriendReq(Req):
    userID1: str = ""
    userID2: str = ""


class IsFriendResp(Resp):
    inUser1Friends: bool
    inUser2Friends: bool


class GetPaginationFriendsApplyFromReq(Req):
    userID: str = ""
    pagination: Pagination | None = None
    handleResults: list[int] | None = None


class GetPaginationFriendsApplyFromResp(Resp):
    friendRequests: list[FriendRequest] | None
    total: int


class GetFriendIDsReq(Req):
    userID: str = ""


class GetFriendIDsResp(Resp):
    friendIDs: list[str] | None


class GetIncrementalFriendsReq(Req):
    userID: str = ""
    versionID: str = ""
    version: UInt64 = 0


class GetIncrementalFriendsResp(Resp):
    version: int
    versionID: str
    full: bool
    delete: list[str] | None
    insert: list[FriendInfo] | None
    update: list[FriendInfo] | None
    sortVersion: int

    @classmethod
    def of(cls, delta: Delta[FriendEntry]) -> GetIncrementalFriendsResp:
        return cls(
            version=delta.version,
            versionID=delta.version_id,
            full=delta.full,
            delete=delta.deleted,
            insert=friend_infos(delta.inserted),
            update=friend_infos(delta.updated),
            sortVersion=delta.sort_version,
        )


class GetIncrementalBlacksReq(Req):
    userID: str = ""
    versionID: str = ""
    version: UInt64 = 0


class GetIncrementalBlacksResp(Resp):
    version: int
    versionID: str
    full: bool
    delete: list[str] | None
    insert: list[BlackInfo] | None
    update: list[BlackInfo] | None

    @classmethod
    def of(cls, delta: Delta[BlackEntry]) -> GetIncrementalBlacksResp:
        def infos(entries: list[BlackEntry] | None) -> list[BlackInfo] | None:
            return None if entries is None else [BlackInfo.of(e) for e in entries]

        return cls(
            version=delta.version,
            versionID=delta.version_id,
            full=delta.full,
            delete=delta.deleted,
            insert=infos(delta.inserted),
            update=infos(delta.updated),
        )


class GetSpecifiedBlacksReq(Req):
    ownerUserID: str = ""
    userIDList: list[str] | None = None


class GetSpecifiedBlacksResp(Resp):
    blacks: list[BlackInfo] | None
    total: int


class GetFullFriendUserIDsReq(Req):
    idHash: UInt64 = 0
    userID: str = ""


class GetFullFriendUserIDsResp(Resp):
    version: int
    versionID: str
    equal: bool
    userIDs: list[str] | None

    @classmethod
    def of(cls, full: FullIDs) -> GetFullFriendUserIDsResp:
        return cls(version=full.version, versionID=full.version_id, equal=full.equal, userIDs=full.ids)


# --- writes --------------------------------------------------------------------------------------------------


class ApplyToAddFriendReq(Req):
    fromUserID: str = ""
    toUserID: str = ""
    reqMsg: str = ""
    ex: str = ""


class RespondFriendApplyReq(Req):
    fromUserID: str = ""  # the applicant
    toUserID: str = ""  # the one answering
    handleResult: Int32 = 0
    handleMsg: str = ""


class DeleteFriendReq(Req):
    ownerUserID: str = ""
    friendUserID: str = ""


class SetFriendRemarkReq(Req):
    ownerUserID: str = ""
    friendUserID: str = ""
    remark: str = ""


class UpdateFriendsReq(Req):
    """Wrapper fields (openim.protobuf.*Value) are bare JSON values; absent or null = unchanged."""

    ownerUserID: str = ""
    friendUserIDs: list[str] | None = None
    isPinned: GoBool | None = None
    remark: str | None = None
    ex: str | None = None


class ImportFriendReq(Req):
    ownerUserID: str = ""
    friendUserIDs: list[str] | None = None


class AddBlackReq(Req):
    ownerUserID: str = ""
    blackUserID: str = ""
    ex: str = ""


class RemoveBlackReq(Req):
    ownerUserID: str = ""
    blackUserID: str = ""


class GetSpecifiedFriendsInfoReq(Req):
    ownerUserID: str = ""
    userIDList: list[str] | None = None


class GetSpecifiedFriendsInfoInfo(Resp):
    userInfo: UserInfo | None
    friendInfo: FriendInfo | None
    blackInfo: BlackInfo | None

    @classmethod
    def of(cls, info: SpecifiedInfo) -> GetSpecifiedFriendsInfoInfo:
        """As OpenIM builds it: times in ms, friendInfo.friendUser and blackInfo.blackUserInfo null."""
        f, b = info.friend, info.black
        return cls(
            userInfo=UserInfo.of(info.user),
            friendInfo=None
            if f is None
            else FriendInfo(
                ownerUserID=f.owner_user_id,
                remark=f.remark,
                createTime=f.create_time,
                friendUser=None,
                addSource=f.add_source,
                operatorUserID=f.operator_user_id,
                ex=f.ex,
                isPinned=f.is_pinned,
            ),
            blackInfo=None
            if b is None
            else BlackInfo(
                ownerUserID=b.owner_user_id,
                createTime=b.create_time,
                blackUserInfo=None,
                addSource=b.add_source,
                operatorUserID=b.operator_user_id,
                ex=b.ex,
            ),
        )


class GetSpecifiedFriendsInfoResp(Resp):
    infos: list[GetSpecifiedFriendsInfoInfo]  # OpenIM makes this list: `[]`, never null
