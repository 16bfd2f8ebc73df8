"""/friend/*: applications and responses, friends, remarks, blacklists, import and incremental sync (OpenIM's
internal/api/router.go).

Handlers only: decode, one friend-service call, the answer (the write routes answer no `data`, as OpenIM's
empty responses)."""

from __future__ import annotations

from fastapi import APIRouter

from openim.api.deps import CallerDep, FriendDep, OperationID
from openim.api.json_body import JsonBodyRoute
from openim.api.models.base import page_of
from openim.api.models.friend import (
    AddBlackReq,
    ApplyToAddFriendReq,
    BlackInfo,
    DeleteFriendReq,
    GetDesignatedFriendsApplyReq,
    GetDesignatedFriendsApplyResp,
    GetDesignatedFriendsReq,
    GetDesignatedFriendsResp,
    GetFriendIDsReq,
    GetFriendIDsResp,
    GetFullFriendUserIDsReq,
    GetFullFriendUserIDsResp,
    GetIncrementalBlacksReq,
    GetIncrementalBlacksResp,
    GetIncrementalFriendsReq,
    GetIncrementalFriendsResp,
    GetPaginationBlacksReq,
    GetPaginationBlacksResp,
    GetPaginationFriendsApplyFromReq,
    GetPaginationFriendsApplyFromResp,
    GetPaginationFriendsApplyToReq,
    GetPaginationFriendsApplyToResp,
    GetPaginationFriendsReq,
    GetPaginationFriendsResp,
    GetSelfUnhandledApplyCountReq,
    GetSelfUnhandledApplyCountResp,
    GetSpecifiedBlacksReq,
    GetSpecifiedBlacksResp,
    GetSpecifiedFriendsInfoInfo,
    GetSpecifiedFriendsInfoReq,
    GetSpecifiedFriendsInfoResp,
    ImportFriendReq,
    IsFriendReq,
    IsFriendResp,
    RemoveBlackReq,
    RespondFriendApplyReq,
    SetFriendRemarkReq,
    UpdateFriendsReq,
    friend_infos,
    friend_requests,
)

# Models here choose null or [] per field as OpenIM does, so the envelope prints them as they are.
router = APIRouter(prefix="/friend", tags=["friend"], route_class=JsonBodyRoute)


@router.post("/get_incremental_friends")
async def get_incremental_friends(
    body: GetIncrementalFriendsReq, caller: CallerDep, friend: FriendDep
) -> GetIncrementalFriendsResp:
    delta = await friend.get_incremental_friends(caller, body.userID, body.versionID, body.version)
    return GetIncrementalFriendsResp.of(delta)


@router.post("/get_full_friend_user_ids")
async def get_full_friend_user_ids(
    body: GetFullFriendUserIDsReq, caller: CallerDep, friend: FriendDep
) -> GetFullFriendUserIDsResp:
    return GetFullFriendUserIDsResp.of(await friend.get_full_friend_user_ids(caller, body.userID, body.idHash))


@router.post("/get_friend_list")
async def get_friend_list(
    body: GetPaginationFriendsReq, caller: CallerDep, friend: FriendDep
) -> GetPaginationFriendsResp:
    page = page_of(body.pagination)
    total, friends = await friend.get_friend_list(caller, body.userID, page)
    return GetPaginationFriendsResp(friendsInfo=friend_infos(friends or None), total=total)


@router.post("/get_designated_friends")
async def get_designated_friends(
    body: GetDesignatedFriendsReq, caller: CallerDep, friend: FriendDep
) -> GetDesignatedFriendsResp:
    friends = await friend.get_designated_friends(caller, body.ownerUserID, body.friendUserIDs)
    return GetDesignatedFriendsResp(friendsInfo=friend_infos(friends or None))


@router.post("/get_friend_id")
async def get_friend_id(body: GetFriendIDsReq, caller: CallerDep, friend: FriendDep) -> GetFriendIDsResp:
    return GetFriendIDsResp(friendIDs=await friend.get_friend_ids(caller, body.userID))


@router.post("/is_friend")
async def is_friend(body: IsFriendReq, caller: CallerDep, friend: FriendDep) -> IsFriendResp:
    in1, in2 = await friend.is_friend(caller, body.userID1, body.userID2)
    return IsFriendResp(inUser1Friends=in1, inUser2Friends=in2)


@router.post("/get_friend_apply_list")
async def get_friend_apply_list(
    body: GetPaginationFriendsApplyToReq, caller: CallerDep, friend: FriendDep
) -> GetPaginationFriendsApplyToResp:
    page = page_of(body.pagination)
    total, requests = await friend.get_friend_apply_list(caller, body.userID, body.handleResults or [], page)
    return GetPaginationFriendsApplyToResp(FriendRequests=friend_requests(requests or None), total=total)


@router.post("/get_self_friend_apply_list")
async def get_self_friend_apply_list(
    body: GetPaginationFriendsApplyFromReq, caller: CallerDep, friend: FriendDep
) -> GetPaginationFriendsApplyFromResp:
    page = page_of(body.pagination)
    total, requests = await friend.get_self_friend_apply_list(caller, body.userID, body.handleResults or [], page)
    return GetPaginationFriendsApplyFromResp(friendRequests=friend_requests(requests or None), total=total)


@router.post("/get_designated_friend_apply")
async def get_designated_friend_apply(
    body: GetDesignatedFriendsApplyReq, caller: CallerDep, friend: FriendDep
) -> GetDesignatedFriendsApplyResp:
    requests = await friend.get_designated_friend_apply(caller, body.fromUserID, body.toUserID)
    return GetDesignatedFriendsApplyResp(friendRequests=friend_requests(requests or None))


@router.post("/get_self_unhandled_apply_count")
async def get_self_unhandled_apply_count(
    body: GetSelfUnhandledApplyCountReq, caller: CallerDep, friend: FriendDep
) -> GetSelfUnhandledApplyCountResp:
    return GetSelfUnhandledApplyCountResp(
        count=await friend.get_self_unhandled_apply_count(caller, body.userID, body.time)
    )


@router.post("/get_black_list")
async def get_black_list(body: GetPaginationBlacksReq, caller: CallerDep, friend: FriendDep) -> GetPaginationBlacksResp:
    page = page_of(body.pagination)
    total, blacks = await friend.get_black_list(caller, body.userID, page)
    return GetPaginationBlacksResp(blacks=[BlackInfo.of(b) for b in blacks] or None, total=total)


@router.post("/get_specified_blacks")
async def get_specified_blacks(
    body: GetSpecifiedBlacksReq, caller: CallerDep, friend: FriendDep
) -> GetSpecifiedBlacksResp:
    blacks = await friend.get_specified_blacks(caller, body.ownerUserID, body.userIDList)
    # OpenIM makes this list (so `[]`, not null) and reports createTime in ms here.
    return GetSpecifiedBlacksResp(blacks=[BlackInfo.of(b, time_in_ms=True) for b in blacks], total=len(blacks))


@router.post("/get_incremental_blacks")
async def get_incremental_blacks(
    body: GetIncrementalBlacksReq, caller: CallerDep, friend: FriendDep
) -> GetIncrementalBlacksResp:
    delta = await friend.get_incremental_blacks(caller, body.userID, body.versionID, body.version)
    return GetIncrementalBlacksResp.of(delta)


@router.post("/get_specified_friends_info")
async def get_specified_friends_info(
    body: GetSpecifiedFriendsInfoReq, caller: CallerDep, friend: FriendDep
) -> GetSpecifiedFriendsInfoResp:
    infos = await friend.get_specified_friends_info(caller, body.ownerUserID, body.userIDList)
    return GetSpecifiedFriendsInfoResp(infos=[GetSpecifiedFriendsInfoInfo.of(i) for i in infos])


# --- writes --------------------------------------------------------------------------------------------------


@router.post("/add_friend")
async def add_friend(body: ApplyToAddFriendReq, caller: CallerDep, friend: FriendDep, op: OperationID) -> None:
    await friend.apply(caller, body.fromUserID, body.toUserID, req_msg=body.reqMsg, ex=body.ex, operation_id=op)


@router.post("/add_friend_response")
async def add_friend_response(
    body: RespondFriendApplyReq, caller: CallerDep, friend: FriendDep, op: OperationID
) -> None:
    await friend.respond(
        caller, body.fromUserID, body.toUserID, body.handleResult, handle_msg=body.handleMsg, operation_id=op
    )


@router.post("/delete_friend")
async def delete_friend(body: DeleteFriendReq, caller: CallerDep, friend: FriendDep, op: OperationID) -> None:
    await friend.delete_friend(caller, body.ownerUserID, body.friendUserID, operation_id=op)


@router.post("/set_friend_remark")
async def set_friend_remark(body: SetFriendRemarkReq, caller: CallerDep, friend: FriendDep, op: OperationID) -> None:
    await friend.set_friend_remark(caller, body.ownerUserID, body.friendUserID, body.remark, operation_id=op)


@router.post("/update_friends")
async def update_friends(body: UpdateFriendsReq, caller: CallerDep, friend: FriendDep, op: OperationID) -> None:
    await friend.update_friends(
        caller,
        body.ownerUserID,
        body.friendUserIDs,
        is_pinned=body.isPinned,
        remark=body.remark,
        ex=body.ex,
        operation_id=op,
    )


@router.post("/import_friend")
async def import_friend(body: ImportFriendReq, caller: CallerDep, friend: FriendDep, op: OperationID) -> None:
    await friend.import_friends(caller, body.ownerUserID, body.friendUserIDs, operation_id=op)


@router.post("/add_black")
async def add_black(body: AddBlackReq, caller: CallerDep, friend: FriendDep, op: OperationID) -> None:
    await friend.add_black(caller, body.ownerUserID, body.blackUserID, ex=body.ex, operation_id=op)


@router.post("/remove_black")
async def remove_black(body: RemoveBlackReq, caller: CallerDep, friend: FriendDep, op: OperationID) -> None:
    await friend.remove_black(caller, body.ownerUserID, body.blackUserID, operation_id=op)
