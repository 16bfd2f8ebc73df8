"""/friend/*, read side: friends, friend requests, blacklists and their incremental sync (spec §3.2)."""

from __future__ import annotations

from fastapi import APIRouter

from openim.api.deps import CallerDep, FriendDep
from openim.api.envelope import ExactEnvelopeResponse
from openim.api.models.base import page_of
from openim.api.models.friend import (
    BlackInfo,
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
    IsFriendReq,
    IsFriendResp,
    friend_infos,
    friend_requests,
)

# Models here choose null or [] per field as OpenIM does, so the envelope prints them as they are.
router = APIRouter(prefix="/friend", tags=["friend"], default_response_class=ExactEnvelopeResponse)


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
