"""Bodies of the /third route group (protocol third/third.proto): push token, badge, client logs.

Pydantic like /user and /group, not the protobuf bridge: this project carries no third.proto (the /object
routes of the same OpenIM service are their own module), and these seven messages are small and flat.
"""

from __future__ import annotations

from openim.api.models.base import Int32, Int64, Pagination, Req, Resp
from openim.services.third import LogInfo as LogView


class FcmUpdateTokenReq(Req):
    platformID: Int32 = 0
    fcmToken: str = ""
    account: str = ""
    expireTime: Int64 = 0  # seconds the token stays valid; 0 = until replaced or logout


class SetAppBadgeReq(Req):
    userID: str = ""
    appUnreadCount: Int32 = 0


class FileURL(Req):
    filename: str = ""
    URL: str = ""


class UploadLogsReq(Req):
    platform: Int32 = 0
    fileURLs: list[FileURL] | None = None
    appFramework: str = ""
    version: str = ""
    ex: str = ""


class DeleteLogsReq(Req):
    logIDs: list[str] | None = None


class SearchLogsReq(Req):
    keyword: str = ""
    startTime: Int64 = 0
    endTime: Int64 = 0
    pagination: Pagination | None = None


class LogInfo(Resp):
    userID: str
    platform: str
    url: str
    createTime: int
    nickname: str
    logID: str
    filename: str
    systemType: str
    ex: str
    version: str

    @classmethod
    def of(cls, view: LogView) -> LogInfo:
        r = view.log
        return cls(
            userID=r.user_id,
            platform=r.platform,
            url=r.url,
            createTime=r.create_time,
            nickname=view.nickname,
            logID=r.log_id,
            filename=r.file_name,
            systemType=r.system_type,
            ex=r.ex,
            version=r.version,
        )


class SearchLogsResp(Resp):
    logsInfos: list[LogInfo]  # OpenIM builds it with datautil.Slice: [] when nothing matched, never null
    total: int
