"""Bodies of the /user online-status routes: get_users_status, (get_)subscribe(_users_status),
get_users_online_token_detail (protocol user/user.proto, msggateway.proto)."""

from __future__ import annotations

from openim.api.models.base import Int32, Req, Resp
from openim.services.user_status import UserStatus

__all__ = [
    "GetSubscribeUsersStatusReq",
    "GetUserStatusReq",
    "OnlineStatus",
    "SingleDetail",
    "SinglePlatformToken",
    "StatusListResp",
    "SubscribeOrCancelUsersStatusReq",
]


class GetUserStatusReq(Req):
    userID: str = ""
    userIDs: list[str] | None = None


class SubscribeOrCancelUsersStatusReq(Req):
    userID: str = ""
    userIDs: list[str] | None = None
    genre: Int32 = 0  # 1 subscribe, 2 cancel


class GetSubscribeUsersStatusReq(Req):
    userID: str = ""


class OnlineStatus(Resp):
    userID: str
    status: int
    platformIDs: list[int] | None

    @classmethod
    def of(cls, status: UserStatus) -> OnlineStatus:
        return cls(userID=status.user_id, status=int(status.online), platformIDs=status.platform_ids or None)


class StatusListResp(Resp):
    statusList: list[OnlineStatus] | None

    @classmethod
    def of(cls, statuses: list[UserStatus] | None) -> StatusListResp:
        return cls(statusList=[OnlineStatus.of(s) for s in statuses] if statuses else None)


class SinglePlatformToken(Resp):
    platformID: int
    total: int
    token: list[str] | None


class SingleDetail(Resp):
    userID: str
    status: int
    singlePlatformToken: list[SinglePlatformToken] | None
