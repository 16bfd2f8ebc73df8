"""/group/*: every route of OpenIM's group route group (OpenIM's internal/api/router.go; access rules in
docs/protocol/rest.md §4) — reads, writes, the admin search."""

from __future__ import annotations

from fastapi import APIRouter

from openim.api.deps import CallerDep, GroupDep, OperationID
from openim.api.json_body import JsonBodyRoute
from openim.api.models.base import page_of
from openim.api.models.group.read import (
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
    GroupInfo,
    group_infos,
    group_requests,
    member_infos,
)
from openim.api.models.group.write import (
    CancelMuteGroupMemberReq,
    CreateGroupReq,
    CreateGroupResp,
    DismissGroupReq,
    GetGroupAbstractInfoReq,
    GetGroupAbstractInfoResp,
    GetGroupsReq,
    GetGroupsResp,
    GetGroupUsersReqApplicationListReq,
    GetGroupUsersReqApplicationListResp,
    GroupApplicationResponseReq,
    GroupInfoForSet,
    InviteUserToGroupReq,
    JoinGroupReq,
    KickGroupMemberReq,
    MuteGroupMemberReq,
    MuteGroupReq,
    QuitGroupReq,
    SetGroupInfoExReq,
    SetGroupInfoReq,
    SetGroupMemberInfoReq,
    TransferGroupOwnerReq,
)

# Models here choose null or [] per field as OpenIM does, so the envelope prints them as they are.
router = APIRouter(prefix="/group", tags=["group"], route_class=JsonBodyRoute)


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


# --- the write routes and the admin routes -----------------------------------------------------------------


@router.post("/create_group")
async def create_group(body: CreateGroupReq, caller: CallerDep, group: GroupDep, op: OperationID) -> CreateGroupResp:
    info = None if body.groupInfo is None else body.groupInfo.new_group()
    summary = await group.create_group(
        caller,
        info,
        body.ownerUserID,
        body.memberUserIDs or [],
        body.adminUserIDs or [],
        send_message=body.sendMessage,
        operation_id=op,
    )
    return CreateGroupResp(groupInfo=GroupInfo.of(summary))


@router.post("/set_group_info")
async def set_group_info(body: SetGroupInfoReq, caller: CallerDep, group: GroupDep, op: OperationID) -> None:
    info = body.groupInfoForSet or GroupInfoForSet()  # none: groupID is empty (1001)
    await group.set_group_info(caller, info.change(), operation_id=op, webhook="plain")


@router.post("/set_group_info_ex")
async def set_group_info_ex(body: SetGroupInfoExReq, caller: CallerDep, group: GroupDep, op: OperationID) -> None:
    await group.set_group_info(caller, body.change(), operation_id=op, webhook="ex")


@router.post("/join_group")
async def join_group(body: JoinGroupReq, caller: CallerDep, group: GroupDep, op: OperationID) -> None:
    await group.join_group(
        caller,
        body.groupID,
        req_message=body.reqMessage,
        join_source=body.joinSource,
        inviter_user_id=body.inviterUserID,
        ex=body.ex,
        operation_id=op,
    )


@router.post("/quit_group")
async def quit_group(body: QuitGroupReq, caller: CallerDep, group: GroupDep, op: OperationID) -> None:
    await group.quit_group(caller, body.groupID, body.userID, operation_id=op)


@router.post("/group_application_response")
async def group_application_response(
    body: GroupApplicationResponseReq, caller: CallerDep, group: GroupDep, op: OperationID
) -> None:
    await group.group_application_response(
        caller, body.groupID, body.fromUserID, body.handleResult, handled_msg=body.handledMsg, operation_id=op
    )


@router.post("/transfer_group")
async def transfer_group(body: TransferGroupOwnerReq, caller: CallerDep, group: GroupDep, op: OperationID) -> None:
    await group.transfer_group_owner(caller, body.groupID, body.oldOwnerUserID, body.newOwnerUserID, operation_id=op)


@router.post("/get_group_users_req_application_list")
async def get_group_users_req_application_list(
    body: GetGroupUsersReqApplicationListReq, caller: CallerDep, group: GroupDep
) -> GetGroupUsersReqApplicationListResp:
    requests = await group.get_group_users_req_application_list(caller, body.groupID, body.userIDs)
    return GetGroupUsersReqApplicationListResp(total=len(requests), groupRequests=group_requests(requests))


@router.post("/kick_group")
async def kick_group(body: KickGroupMemberReq, caller: CallerDep, group: GroupDep, op: OperationID) -> None:
    await group.kick_group_member(
        caller, body.groupID, body.kickedUserIDs, reason=body.reason, send_message=body.sendMessage, operation_id=op
    )


@router.post("/invite_user_to_group")
async def invite_user_to_group(body: InviteUserToGroupReq, caller: CallerDep, group: GroupDep, op: OperationID) -> None:
    await group.invite_user_to_group(
        caller, body.groupID, body.invitedUserIDs, reason=body.reason, send_message=body.sendMessage, operation_id=op
    )


@router.post("/dismiss_group")
async def dismiss_group(body: DismissGroupReq, caller: CallerDep, group: GroupDep, op: OperationID) -> None:
    await group.dismiss_group(
        caller, body.groupID, delete_member=body.deleteMember, send_message=body.sendMessage, operation_id=op
    )


@router.post("/mute_group_member")
async def mute_group_member(body: MuteGroupMemberReq, caller: CallerDep, group: GroupDep, op: OperationID) -> None:
    await group.mute_group_member(caller, body.groupID, body.userID, body.mutedSeconds, operation_id=op)


@router.post("/cancel_mute_group_member")
async def cancel_mute_group_member(
    body: CancelMuteGroupMemberReq, caller: CallerDep, group: GroupDep, op: OperationID
) -> None:
    await group.cancel_mute_group_member(caller, body.groupID, body.userID, operation_id=op)


@router.post("/mute_group")
async def mute_group(body: MuteGroupReq, caller: CallerDep, group: GroupDep, op: OperationID) -> None:
    await group.mute_group(caller, body.groupID, mute=True, operation_id=op)


@router.post("/cancel_mute_group")
async def cancel_mute_group(body: MuteGroupReq, caller: CallerDep, group: GroupDep, op: OperationID) -> None:
    await group.mute_group(caller, body.groupID, mute=False, operation_id=op)


@router.post("/set_group_member_info")
async def set_group_member_info(
    body: SetGroupMemberInfoReq, caller: CallerDep, group: GroupDep, op: OperationID
) -> None:
    changes = None if body.members is None else [m.change() for m in body.members]
    await group.set_group_member_info(caller, changes, operation_id=op)


@router.post("/get_group_abstract_info")
async def get_group_abstract_info(
    body: GetGroupAbstractInfoReq, caller: CallerDep, group: GroupDep
) -> GetGroupAbstractInfoResp:
    return GetGroupAbstractInfoResp.of(await group.get_group_abstract_info(caller, body.groupIDs))


@router.post("/get_groups")
async def get_groups(body: GetGroupsReq, caller: CallerDep, group: GroupDep) -> GetGroupsResp:
    page = page_of(body.pagination)
    total, groups = await group.get_groups(caller, page, group_name=body.groupName, group_id=body.groupID)
    return GetGroupsResp.of(total, groups)
