"""/config/* and /restart bodies, spelt as OpenIM's `pkg/apistruct/config_manager.go`."""

from __future__ import annotations

from openim.api.models.base import Req, Resp

__all__ = [
    "GetConfigListResp",
    "GetConfigReq",
    "GetEnableConfigManagerResp",
    "RestartResp",
    "SetConfigReq",
    "SetEnableConfigManagerReq",
]


class GetConfigReq(Req):
    configName: str = ""


class GetConfigListResp(Resp):
    environment: str
    version: str
    configNames: list[str]


class SetConfigReq(Req):
    configName: str = ""
    data: str = ""  # the section as a JSON string, as get_config answers it


class SetEnableConfigManagerReq(Req):
    enable: bool = False


class GetEnableConfigManagerResp(Resp):
    enable: bool


class RestartResp(Resp):
    """openim-py's: what this process applied and what waits for a restart (OpenIM answers no data)."""

    reloaded: list[str] | None
    restartRequired: list[str] | None
