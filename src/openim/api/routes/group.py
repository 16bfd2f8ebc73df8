"""/group/*, read side: joined groups, group info, members, group requests and their incremental sync (§3.3)."""

from __future__ import annotations

from fastapi import APIRouter

from openim.api.deps import CallerDep, GroupDep
from openim.api.envelope import ExactEnvelopeResponse
from openim.api.models.base import page_of
from openim.api.models.group import (
    BatchGetIncrementalGroupMemberReq,
    BatchGetIncrementalGroupMemberResp,
    GetFullGroupMemberUserIDsReq,
    GetFullGroupMemberUserIDsResp,
    GetFullJoinGroupIDsReq,
    GetFullJoinGroupIDsResp,
    GetGroupApplicationListReq,
    GetGroupApplicationListResp,
    GetGroupApplicationUnhandledCountReq,
    GetGroupApplicationUnhandledCountResp,
    GetGroupMemberListReq,
    GetGroupMemberListResp,
    GetGroupMembersInfoReq,
    GetGroupMembersInfoResp,
    GetGroupMemberUserIDsReq,
    GetGroupMemberUserIDsResp,
    GetGroupsInfoReq,
    GetGroupsInfoResp,
    GetIncrementalGroupMemberReq,
    GetIncrementalGroupMemberResp,
    GetIncrementalJoinGroupReq,
    GetIncrementalJoinGroupResp,
    GetJoinedGroupListReq,
    GetJoinedGroupListResp,
    GetSpecifiedUserGroupRequestInfoReq,
    GetSpecifiedUserGroupRequestInfoResp,
    GetUserReqApplicationListReq,
    GetUserReqApplicationListResp,
    group_infos,
    group_requests,
    member_infos,
)

# Models here choose null or [] per field as OpenIM does, so the envelope prints them as they are.
router = APIRouter(prefix="/group", tags=["group"], default_response_class=ExactEnvelopeResponse)


@router.post("/get_incremental_join_groups")
async def get_incremental_join_groups(
    body: GetIncrementalJoinGroupReq, caller: CallerDep, group: GroupDep
) -> GetIncrementalJoinGroupResp:
    delta = await group.get_incremental_join_groups(caller, body.userID, body.versionID, body.version)
    return GetIncrementalJoinGroupResp.of(delta)


@router.post("/get_full_join_group_ids")
async def get_full_join_group_ids(
    body: GetFullJoinGroupIDsReq, caller: CallerDep, group: GroupDep
) -> GetFullJoinGroupIDsResp:
    return GetFullJoinGroupIDsResp.of(await group.get_full_join_group_ids(caller, body.userID, body.idHash))


@router.post("/get_joined_group_list")
async def get_joined_group_list(
    body: GetJoinedGroupListReq, caller: CallerDep, group: GroupDep
) -> GetJoinedGroupListResp:
    page = page_of(body.pagination)
    total, groups = await group.get_joined_group_list(caller, body.fromUserID, page)
    return GetJoinedGroupListResp(total=total, groups=group_infos(groups or None))


@router.post("/get_groups_info")
async def get_groups_info(body: GetGroupsInfoReq, caller: CallerDep, group: GroupDep) -> GetGroupsInfoResp:
    return GetGroupsInfoResp(groupInfos=group_infos(await group.get_groups_info(caller, body.groupIDs)))


@router.post("/get_incremental_group_members")
async def get_incremental_group_members(
    body: GetIncrementalGroupMemberReq, caller: CallerDep, group: GroupDep
) -> GetIncrementalGroupMemberResp:
    answer = await group.get_incremental_group_members(caller, body.groupID, body.versionID, body.version)
    return GetIncrementalGroupMemberResp.of(answer)


@router.post("/get_incremental_group_members_batch")
async def get_incremental_group_members_batch(
    body: BatchGetIncrementalGroupMemberReq, caller: CallerDep, group: GroupDep
) -> BatchGetIncrementalGroupMemberResp:
    reqs = [r.sync_req() for r in body.reqList or []]
    answers = await group.get_incremental_group_members_batch(caller, body.userID, reqs)
    return BatchGetIncrementalGroupMemberResp(
        respList={group_id: GetIncrementalGroupMemberResp.of(a) for group_id, a in answers.items()}
    )


@router.post("/get_group_member_list")
async def get_group_member_list(
    body: GetGroupMemberListReq, caller: CallerDep, group: GroupDep
) -> GetGroupMemberListResp:
    page = page_of(body.pagination)
    total, members = await group.get_group_member_list(
        caller, body.groupID, page, keyword=body.keyword, filter=body.filter
    )
    return GetGroupMemberListResp(total=total, members=member_infos(members or None))


@router.post("/get_full_group_member_user_ids")
async def get_full_group_member_user_ids(
    body: GetFullGroupMemberUserIDsReq, caller: CallerDep, group: GroupDep
) -> GetFullGroupMemberUserIDsResp:
    full = await group.get_full_group_member_user_ids(caller, body.groupID, body.idHash)
    return GetFullGroupMemberUserIDsResp.of(full)


@router.post("/get_group_member_user_id")
async def get_group_member_user_id(
    body: GetGroupMemberUserIDsReq, caller: CallerDep, group: GroupDep
) -> GetGroupMemberUserIDsResp:
    return GetGroupMemberUserIDsResp(userIDs=await group.get_group_member_user_ids(caller, body.groupID))


@router.post("/get_group_members_info")
async def get_group_members_info(
    body: GetGroupMembersInfoReq, caller: CallerDep, group: GroupDep
) -> GetGroupMembersInfoResp:
    # OpenIM makes this list, so no members found is `[]`.
    return GetGroupMembersInfoResp(
        members=member_infos(await group.get_group_members_info(caller, body.groupID, body.userIDs))
    )


@router.post("/get_specified_user_group_request_info")
async def get_specified_user_group_request_info(
    body: GetSpecifiedUserGroupRequestInfoReq, caller: CallerDep, group: GroupDep
) -> GetSpecifiedUserGroupRequestInfoResp:
    requests = await group.get_specified_user_group_request_info(caller, body.groupID, body.userID)
    return GetSpecifiedUserGroupRequestInfoResp(total=len(requests), groupRequests=group_requests(requests))


@router.post("/get_recv_group_applicationList")
async def get_recv_group_application_list(
    body: GetGroupApplicationListReq, caller: CallerDep, group: GroupDep
) -> GetGroupApplicationListResp:
    page = page_of(body.pagination)
    total, requests = await group.get_group_application_list(
        caller, body.fromUserID, body.groupIDs or [], body.handleResults or [], page
    )
    return GetGroupApplicationListResp(total=total, groupRequests=group_requests(requests))


@router.post("/get_user_req_group_applicationList")
async def get_user_req_group_application_list(
    body: GetUserReqApplicationListReq, caller: CallerDep, group: GroupDep
) -> GetUserReqApplicationListResp:
    page = page_of(body.pagination)
    total, requests = await group.get_user_req_application_list(
        caller, body.userID, body.groupIDs or [], body.handleResults or [], page
    )
    return GetUserReqApplicationListResp(total=total, groupRequests=group_requests(requests))


@router.post("/get_group_application_unhandled_count")
async def get_group_application_unhandled_count(
    body: GetGroupApplicationUnhandledCountReq, caller: CallerDep, group: GroupDep
) -> GetGroupApplicationUnhandledCountResp:
    count = await group.get_group_application_unhandled_count(caller, body.userID, body.time)
    return GetGroupApplicationUnhandledCountResp(count=count)
