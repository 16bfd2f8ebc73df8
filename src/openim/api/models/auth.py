"""Bodies of the /auth route group (protocol auth/auth.proto)."""

from __future__ import annotations

from openim.api.models.base import Req, Resp


class GetAdminTokenReq(Req):
    secret: str = ""
    userID: str = ""


class GetUserTokenReq(Req):
    platformID: int = 0
    userID: str = ""


class TokenResp(Resp):
    token: str
    expireTimeSeconds: int


class ParseTokenReq(Req):
    token: str = ""


class ParseTokenResp(Resp):
    userID: str
    platformID: int
    expireTimeSeconds: int


class ForceLogoutReq(Req):
    platformID: int = 0
    userID: str = ""
