"""/statistics/*: users registered, groups created, active users and groups over a time range (OpenIM's
internal/rpc/{user,group,msg}/statistics.go).

All admin-only. user/register and group/create are pydantic bodies; user/active and group/active are OpenIM's
protobuf messages through the `api/pb.py` bridge (their answers embed sdkws.UserInfo and sdkws.GroupInfo).
"""

from __future__ import annotations

from openim.api.deps import CallerDep, StatisticsDep
from openim.api.json_body import JsonBodyRoute
from openim.api.models.statistics import CountReq, CountResp
from openim.api.pb import PbRouter
from openim.protocol.pb import msg_pb2 as pb

router = PbRouter(prefix="/statistics", tags=["statistics"], route_class=JsonBodyRoute)


@router.post("/user/register")
async def user_register(body: CountReq, caller: CallerDep, statistics: StatisticsDep) -> CountResp:
    """Users in all, registered before `start`, and registered per UTC day in [start, end)."""
    return CountResp.of(await statistics.user_register_count(caller, body.start, body.end))


@router.post("/group/create")
async def group_create(body: CountReq, caller: CallerDep, statistics: StatisticsDep) -> CountResp:
    """Groups in all, created before `start`, and created per UTC day in [start, end)."""
    return CountResp.of(await statistics.group_create_count(caller, body.start, body.end))


@router.pb("/user/active")
async def user_active(req: pb.GetActiveUserReq, caller: CallerDep, statistics: StatisticsDep) -> pb.GetActiveUserResp:
    """Messages in [start, end) by sender (single chats; groups too with `group`), a page sorted by count."""
    return await statistics.active_users(caller, req)


@router.pb("/group/active")
async def group_active(
    req: pb.GetActiveGroupReq, caller: CallerDep, statistics: StatisticsDep
) -> pb.GetActiveGroupResp:
    """Messages in [start, end) by group, a page sorted by count."""
    return await statistics.active_groups(caller, req)
