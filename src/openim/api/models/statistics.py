"""Bodies of /statistics/user/register and /statistics/group/create (protocol user.proto, group.proto).

The two /active routes use OpenIM's protobuf messages (msg.proto) through the bridge: their answers carry
sdkws.UserInfo and sdkws.GroupInfo, which the bridge prints exactly as OpenIM does. These two are flat and
their messages live in protos this project does not carry, so they are pydantic like the rest of /user, /group.
"""

from __future__ import annotations

from openim.api.models.base import Int64, Req, Resp
from openim.storage.statistics import CreatedCounts


class CountReq(Req):
    """userRegisterCountReq and GroupCreateCountReq: a range in Unix ms, both ends > 0."""

    start: Int64 = 0
    end: Int64 = 0


class CountResp(Resp):
    """userRegisterCountResp and GroupCreateCountResp: `count` is keyed by UTC day "YYYY-MM-DD", {} if none."""

    total: int
    before: int
    count: dict[str, int]

    @classmethod
    def of(cls, counts: CreatedCounts) -> CountResp:
        return cls(total=counts.total, before=counts.before, count=counts.per_day)
