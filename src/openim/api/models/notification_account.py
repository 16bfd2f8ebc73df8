"""Bodies of /user/{add,update,search}_notification_account (protocol user/user.proto)."""

from __future__ import annotations

from openim.api.models.base import Pagination, Req, Resp
from openim.storage.rows import User

__all__ = [
    "AddNotificationAccountReq",
    "NotificationAccountInfo",
    "SearchNotificationAccountReq",
    "SearchNotificationAccountResp",
    "UpdateNotificationAccountInfoReq",
]


class AddNotificationAccountReq(Req):
    userID: str = ""
    nickName: str = ""
    faceURL: str = ""
    appMangerLevel: int = 0  # sic: OpenIM's spelling


class NotificationAccountInfo(Resp):
    userID: str
    faceURL: str
    nickName: str
    appMangerLevel: int

    @classmethod
    def of(cls, user: User) -> NotificationAccountInfo:
        return cls(
            userID=user.user_id, faceURL=user.face_url, nickName=user.nickname, appMangerLevel=user.app_manager_level
        )


class UpdateNotificationAccountInfoReq(Req):
    userID: str = ""
    faceURL: str = ""
    nickName: str = ""


class SearchNotificationAccountReq(Req):
    keyword: str = ""
    appManagerLevel: int | None = None  # proto3 optional: absent = every level >= 3
    pagination: Pagination | None = None


class SearchNotificationAccountResp(Resp):
    total: int
    notificationAccounts: list[NotificationAccountInfo]  # [] when none (OpenIM's make(..., 0))
