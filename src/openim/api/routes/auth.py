"""/auth/*: admin and user tokens, token parsing, forced logout (docs/protocol/rest.md §3)."""

from __future__ import annotations

from fastapi import APIRouter

from openim.api.deps import AuthDep, CallerDep
from openim.api.json_body import JsonBodyRoute
from openim.api.models.auth import (
    ForceLogoutReq,
    GetAdminTokenReq,
    GetUserTokenReq,
    ParseTokenReq,
    ParseTokenResp,
    TokenResp,
)

router = APIRouter(prefix="/auth", tags=["auth"], route_class=JsonBodyRoute)


@router.post("/get_admin_token")
async def get_admin_token(body: GetAdminTokenReq, auth: AuthDep) -> TokenResp:
    issued = await auth.get_admin_token(body.secret, body.userID)
    return TokenResp(token=issued.token, expireTimeSeconds=issued.expire_time_seconds)


@router.post("/get_user_token")
async def get_user_token(body: GetUserTokenReq, caller: CallerDep, auth: AuthDep) -> TokenResp:
    issued = await auth.get_user_token(caller, body.userID, body.platformID)
    return TokenResp(token=issued.token, expireTimeSeconds=issued.expire_time_seconds)


@router.post("/parse_token")
async def parse_token(body: ParseTokenReq, auth: AuthDep) -> ParseTokenResp:
    claims = await auth.parse_token(body.token)
    return ParseTokenResp(userID=claims.user_id, platformID=claims.platform_id, expireTimeSeconds=claims.expire_at_s)


@router.post("/force_logout")
async def force_logout(body: ForceLogoutReq, caller: CallerDep, auth: AuthDep) -> None:
    await auth.force_logout(caller, body.userID, body.platformID)
