"""/user/*: registration, profiles, receive option, listing, client config, online status, user commands and
notification accounts (OpenIM's internal/api/user.go)."""

from __future__ import annotations

from fastapi import APIRouter

from openim.api.deps import CallerDep, OperationID, UserDep
from openim.api.json_body import JsonBodyRoute
from openim.api.models.base import page_of
from openim.api.models.notification_account import (
    AddNotificationAccountReq,
    NotificationAccountInfo,
    SearchNotificationAccountReq,
    SearchNotificationAccountResp,
    UpdateNotificationAccountInfoReq,
)
from openim.api.models.user import (
    AccountCheckReq,
    AccountCheckResp,
    AccountCheckRespSingleUserStatus,
    ClientConfig,
    DelUserClientConfigReq,
    GetAllUserIDReq,
    GetAllUserIDResp,
    GetPaginationUsersReq,
    GetPaginationUsersResp,
    GetUserClientConfigReq,
    GetUserClientConfigResp,
    GetUsersInfoReq,
    GetUsersInfoResp,
    GetUsersOnlineStatusReq,
    OnlineStatusResult,
    PageUserClientConfigReq,
    PageUserClientConfigResp,
    PlatformStatus,
    SetGlobalRecvMessageOptReq,
    SetUserClientConfigReq,
    UpdateUserInfoExReq,
    UpdateUserInfoReq,
    UserInfo,
    UserInfoIn,
    UserInfoWithEx,
    UserRegisterReq,
)
from openim.api.models.user_command import (
    CommandInfoResp,
    ProcessUserCommandAddReq,
    ProcessUserCommandDeleteReq,
    ProcessUserCommandGetAllReq,
    ProcessUserCommandGetReq,
    ProcessUserCommandGetResp,
    ProcessUserCommandUpdateReq,
)
from openim.api.models.user_status import (
    GetSubscribeUsersStatusReq,
    GetUserStatusReq,
    SingleDetail,
    SinglePlatformToken,
    StatusListResp,
    SubscribeOrCancelUsersStatusReq,
)
from openim.services.user import UserDraft

router = APIRouter(prefix="/user", tags=["user"], route_class=JsonBodyRoute)


@router.post("/user_register")
async def user_register(body: UserRegisterReq, caller: CallerDep, user: UserDep, op: OperationID) -> None:
    drafts = [
        UserDraft(u.userID, u.nickname, u.faceURL, u.ex, u.appMangerLevel, u.globalRecvMsgOpt) for u in body.users or []
    ]
    await user.register(caller, drafts, operation_id=op)


@router.post("/update_user_info")
async def update_user_info(body: UpdateUserInfoReq, caller: CallerDep, user: UserDep, op: OperationID) -> None:
    # OpenIM's plain variant: an empty or zero field means "leave it as it is".
    info = body.userInfo or UserInfoIn()
    await user.update_info(
        caller,
        info.userID,
        nickname=info.nickname or None,
        face_url=info.faceURL or None,
        ex=info.ex or None,
        global_recv_msg_opt=info.globalRecvMsgOpt or None,
        operation_id=op,
        webhook="plain",
    )


@router.post("/update_user_info_ex")
async def update_user_info_ex(body: UpdateUserInfoExReq, caller: CallerDep, user: UserDep, op: OperationID) -> None:
    info = body.userInfo or UserInfoWithEx()
    await user.update_info(
        caller,
        info.userID,
        nickname=info.nickname,
        face_url=info.faceURL,
        ex=info.ex,
        global_recv_msg_opt=info.globalRecvMsgOpt,
        operation_id=op,
        webhook="ex",
    )


@router.post("/set_global_msg_recv_opt")
async def set_global_msg_recv_opt(body: SetGlobalRecvMessageOptReq, caller: CallerDep, user: UserDep) -> None:
    await user.set_global_recv_msg_opt(caller, body.userID, body.globalRecvMsgOpt)


@router.post("/get_users_info")
async def get_users_info(body: GetUsersInfoReq, caller: CallerDep, user: UserDep) -> GetUsersInfoResp:
    users = await user.get_users_info(caller, body.userIDs or [])
    return GetUsersInfoResp(usersInfo=[UserInfo.of(u) for u in users])


@router.post("/get_all_users_uid")
async def get_all_users_uid(body: GetAllUserIDReq, caller: CallerDep, user: UserDep) -> GetAllUserIDResp:
    page = page_of(body.pagination)
    total, ids = await user.get_all_user_ids(caller, page)
    return GetAllUserIDResp(total=total, userIDs=ids or None)  # a Mongo find of nothing: null


@router.post("/account_check")
async def account_check(body: AccountCheckReq, caller: CallerDep, user: UserDep) -> AccountCheckResp:
    statuses = await user.account_check(caller, body.checkUserIDs or [])
    return AccountCheckResp(
        results=[AccountCheckRespSingleUserStatus(userID=s.user_id, accountStatus=int(s.registered)) for s in statuses]
    )


@router.post("/get_users")
async def get_users(body: GetPaginationUsersReq, caller: CallerDep, user: UserDep) -> GetPaginationUsersResp:
    page = page_of(body.pagination)
    total, users = await user.get_users(caller, page, user_id=body.userID, nickname=body.nickName)
    return GetPaginationUsersResp(total=total, users=[UserInfo.of(u) for u in users])


@router.post("/get_user_client_config")
async def get_user_client_config(
    body: GetUserClientConfigReq, caller: CallerDep, user: UserDep
) -> GetUserClientConfigResp:
    return GetUserClientConfigResp(configs=await user.get_client_config(caller, body.userID) or None)


@router.post("/set_user_client_config")
async def set_user_client_config(body: SetUserClientConfigReq, caller: CallerDep, user: UserDep) -> None:
    await user.set_client_config(caller, body.userID, body.configs or {})


@router.post("/del_user_client_config")
async def del_user_client_config(body: DelUserClientConfigReq, caller: CallerDep, user: UserDep) -> None:
    await user.del_client_config(caller, body.userID, body.keys or [])


@router.post("/page_user_client_config")
async def page_user_client_config(
    body: PageUserClientConfigReq, caller: CallerDep, user: UserDep
) -> PageUserClientConfigResp:
    page = page_of(body.pagination)
    total, entries = await user.page_client_config(caller, body.userID, body.key, page)
    return PageUserClientConfigResp(total=total, configs=[ClientConfig.of(e) for e in entries])


@router.post("/get_users_online_status")
async def get_users_online_status(
    body: GetUsersOnlineStatusReq, caller: CallerDep, user: UserDep
) -> list[OnlineStatusResult]:
    # OpenIM answers a bare array; tokens are not handed out here (OpenIM prints them).
    statuses = await user.online_status(caller, body.userIDs or [])
    return [
        OnlineStatusResult(
            userID=s.user_id,
            status=1 if s.connections else 0,
            detailPlatformStatus=[
                PlatformStatus(platformID=pid, connID=conn, isBackground=bg, token="")
                for pid, conn, bg in s.connections
            ]
            or None,
        )
        for s in statuses
    ]


# ---- online status (services/user_status.py) ----------------------------------------------------------------


@router.post("/get_users_status")
async def get_users_status(body: GetUserStatusReq, caller: CallerDep, user: UserDep) -> StatusListResp:
    return StatusListResp.of(await user.users_status(caller, body.userID, body.userIDs or []))


@router.post("/subscribe_users_status")
async def subscribe_users_status(
    body: SubscribeOrCancelUsersStatusReq, caller: CallerDep, user: UserDep
) -> StatusListResp:
    return StatusListResp.of(await user.subscribe_status(caller, body.userID, body.userIDs or [], body.genre))


@router.post("/get_subscribe_users_status")
async def get_subscribe_users_status(
    body: GetSubscribeUsersStatusReq, caller: CallerDep, user: UserDep
) -> StatusListResp:
    return StatusListResp.of(await user.subscribed_status(caller, body.userID))


@router.post("/get_users_online_token_detail")
async def get_users_online_token_detail(
    body: GetUsersOnlineStatusReq, caller: CallerDep, user: UserDep
) -> list[SingleDetail] | None:
    # OpenIM answers a bare array of the online users only, null when none is online.
    details = await user.online_token_detail(caller, body.userIDs or [])
    return [
        SingleDetail(
            userID=user_id,
            status=1,
            singlePlatformToken=[
                SinglePlatformToken(platformID=p.platform_id, total=len(p.tokens), token=p.tokens or None)
                for p in platforms
            ]
            or None,
        )
        for user_id, platforms in details
    ] or None


# ---- user commands (services/user_command.py) ---------------------------------------------------------------


@router.post("/process_user_command_add")
async def process_user_command_add(
    body: ProcessUserCommandAddReq, caller: CallerDep, user: UserDep, op: OperationID
) -> None:
    await user.add_command(
        caller, body.userID, body.type, body.uuid, value=body.value or "", ex=body.ex or "", operation_id=op
    )


@router.post("/process_user_command_delete")
async def process_user_command_delete(
    body: ProcessUserCommandDeleteReq, caller: CallerDep, user: UserDep, op: OperationID
) -> None:
    await user.delete_command(caller, body.userID, body.type, body.uuid, operation_id=op)


@router.post("/process_user_command_update")
async def process_user_command_update(
    body: ProcessUserCommandUpdateReq, caller: CallerDep, user: UserDep, op: OperationID
) -> None:
    await user.update_command(caller, body.userID, body.type, body.uuid, value=body.value, ex=body.ex, operation_id=op)


@router.post("/process_user_command_get")
async def process_user_command_get(
    body: ProcessUserCommandGetReq, caller: CallerDep, user: UserDep
) -> ProcessUserCommandGetResp:
    commands = await user.get_commands(caller, body.userID, body.type)
    return ProcessUserCommandGetResp(CommandResp=[CommandInfoResp.of(c) for c in commands])


@router.post("/process_user_command_get_all")
async def process_user_command_get_all(
    body: ProcessUserCommandGetAllReq, caller: CallerDep, user: UserDep
) -> ProcessUserCommandGetResp:
    commands = await user.get_commands(caller, body.userID, None)
    return ProcessUserCommandGetResp(CommandResp=[CommandInfoResp.of(c) for c in commands])


# ---- notification accounts (services/notification_account.py) ------------------------------------------------


@router.post("/add_notification_account")
async def add_notification_account(
    body: AddNotificationAccountReq, caller: CallerDep, user: UserDep
) -> NotificationAccountInfo:
    account = await user.add_notification_account(caller, body.userID, body.nickName, body.faceURL, body.appMangerLevel)
    return NotificationAccountInfo.of(account)


@router.post("/update_notification_account")
async def update_notification_account(body: UpdateNotificationAccountInfoReq, caller: CallerDep, user: UserDep) -> None:
    await user.update_notification_account(caller, body.userID, body.nickName, body.faceURL)


@router.post("/search_notification_account")
async def search_notification_account(
    body: SearchNotificationAccountReq, caller: CallerDep, user: UserDep
) -> SearchNotificationAccountResp:
    page = page_of(body.pagination)
    total, accounts = await user.search_notification_accounts(caller, body.keyword, body.appManagerLevel, page)
    return SearchNotificationAccountResp(
        total=total, notificationAccounts=[NotificationAccountInfo.of(a) for a in accounts]
    )
