"""Bodies of /user/process_user_command_* (protocol user/user.proto).

`value` and `ex` are openim.protobuf.StringValue wrappers, which OpenIM's Go code marshals as a bare JSON string:
absent or null = not given, "" = the empty string.
"""

from __future__ import annotations

from openim.api.models.base import Int32, Req, Resp
from openim.storage.rows import UserCommand

__all__ = [
    "CommandInfoResp",
    "ProcessUserCommandAddReq",
    "ProcessUserCommandDeleteReq",
    "ProcessUserCommandGetAllReq",
    "ProcessUserCommandGetReq",
    "ProcessUserCommandGetResp",
    "ProcessUserCommandUpdateReq",
]


class ProcessUserCommandAddReq(Req):
    userID: str = ""
    type: Int32 = 0
    uuid: str = ""
    value: str | None = None
    ex: str | None = None


class ProcessUserCommandDeleteReq(Req):
    userID: str = ""
    type: Int32 = 0
    uuid: str = ""


ProcessUserCommandUpdateReq = ProcessUserCommandAddReq


class ProcessUserCommandGetReq(Req):
    userID: str = ""
    type: Int32 = 0


class ProcessUserCommandGetAllReq(Req):
    userID: str = ""


class CommandInfoResp(Resp):
    type: int
    createTime: int
    uuid: str
    value: str
    ex: str

    @classmethod
    def of(cls, command: UserCommand) -> CommandInfoResp:
        return cls(
            type=command.type, createTime=command.create_time, uuid=command.uuid, value=command.value, ex=command.ex
        )


class ProcessUserCommandGetResp(Resp):
    CommandResp: list[CommandInfoResp]  # sic: OpenIM's capitalised JSON name; [] when none (Go's make(..., 0))
