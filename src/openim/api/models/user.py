"""Bodies of the /user route group (protocol user/user.proto, sdkws.UserInfo)."""

from __future__ import annotations

from openim.api.models.base import Int64, Pagination, Req, Resp
from openim.storage.rows import ClientConfigEntry, User


class UserInfoIn(Req):
    userID: str = ""
    nickname: str = ""
    faceURL: str = ""
    ex: str = ""
    createTime: Int64 = 0
    appMangerLevel: int = 0
    globalRecvMsgOpt: int = 0


class UserInfo(Resp):
    userID: str
    nickname: str
    faceURL: str
    ex: str
    createTime: int
    appMangerLevel: int
    globalRecvMsgOpt: int

    @classmethod
    def of(cls, user: User) -> UserInfo:
        return cls(
            userID=user.user_id,
            nickname=user.nickname,
            faceURL=user.face_url,
            ex=user.ex,
            createTime=user.create_time,
            appMangerLevel=user.app_manager_level,
            globalRecvMsgOpt=user.global_recv_msg_opt,
        )


class UserRegisterReq(Req):
    users: list[UserInfoIn] | None = None


class UpdateUserInfoReq(Req):
    userInfo: UserInfoIn | None = None


class UserInfoWithEx(Req):
    """Wrapper fields: absent or null = unchanged, present (even "") = set."""

    userID: str = ""
    nickname: str | None = None
    faceURL: str | None = None
    ex: str | None = None
    globalRecvMsgOpt: int | None = None


class UpdateUserInfoExReq(Req):
    userInfo: UserInfoWithEx | None = None


class SetGlobalRecvMessageOptReq(Req):
    userID: str = ""
    globalRecvMsgOpt: int = 0


class GetUsersInfoReq(Req):
    userIDs: list[str] | None = None


class GetUsersInfoResp(Resp):
    usersInfo: list[UserInfo] | None


class GetAllUserIDReq(Req):
    pagination: Pagination | None = None


class GetAllUserIDResp(Resp):
    total: int
    userIDs: list[str] | None


class AccountCheckReq(Req):
    checkUserIDs: list[str] | None = None


class AccountCheckRespSingleUserStatus(Resp):
    userID: str
    accountStatus: int


class AccountCheckResp(Resp):
    results: list[AccountCheckRespSingleUserStatus] | None


class GetPaginationUsersReq(Req):
    pagination: Pagination | None = None
    userID: str = ""
    nickName: str = ""


class GetPaginationUsersResp(Resp):
    total: int
    users: list[UserInfo] | None


class GetUserClientConfigReq(Req):
    userID: str = ""


class GetUserClientConfigResp(Resp):
    configs: dict[str, str] | None


class SetUserClientConfigReq(Req):
    userID: str = ""
    configs: dict[str, str] | None = None


class DelUserClientConfigReq(Req):
    userID: str = ""
    keys: list[str] | None = None


class PageUserClientConfigReq(Req):
    userID: str = ""
    key: str = ""
    pagination: Pagination | None = None


class ClientConfig(Resp):
    key: str
    userID: str
    value: str

    @classmethod
    def of(cls, entry: ClientConfigEntry) -> ClientConfig:
        return cls(key=entry.key, userID=entry.user_id, value=entry.value)


class PageUserClientConfigResp(Resp):
    total: int
    configs: list[ClientConfig] | None


class GetUsersOnlineStatusReq(Req):
    userIDs: list[str] | None = None


class PlatformStatus(Resp):
    platformID: int
    connID: str
    isBackground: bool
    token: str


class OnlineStatusResult(Resp):
    userID: str
    status: int
    detailPlatformStatus: list[PlatformStatus] | None
