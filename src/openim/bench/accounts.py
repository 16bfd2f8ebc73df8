"""The load generator's own users and groups, made through the admin REST API as an app server would.

get_admin_token (with the shared secret) → user_register in batches → get_user_token per user; groups by
create_group (then invite_user_to_group for members past OpenIM's 1,000-ID limit of one request). Every run
uses fresh IDs (`run_prefix`), so runs against the same server never meet each other's users.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from openim.bench.http import HttpConn

__all__ = ["Accounts", "User", "run_prefix"]

_BATCH = 1000  # OpenIM's constant.ParamMaxLength: the most IDs one request may carry
_TOKEN_CONNS = 8  # get_user_token calls in flight during setup


def run_prefix() -> str:
    """A short prefix unique to this run: `b` + 8 hex digits + `_`."""
    return f"b{os.urandom(4).hex()}_"


@dataclass(frozen=True, slots=True)
class User:
    user_id: str
    token: str


class Accounts:
    """Setup calls against one REST API (`api` URL) as the app administrator."""

    def __init__(self, api: str, secret: str, admin_user: str = "imAdmin") -> None:
        self.api = api
        self.secret = secret
        self.admin_user = admin_user
        self.admin_token = ""
        self._http = HttpConn(api)

    async def login(self) -> None:
        data = await self._http.post("/auth/get_admin_token", {"secret": self.secret, "userID": self.admin_user})
        self.admin_token = str(data["token"])

    async def register(self, user_ids: list[str], platform_id: int) -> list[User]:
        """Register `user_ids` and get each a token for `platform_id`."""
        if not self.admin_token:
            await self.login()
        for start in range(0, len(user_ids), _BATCH):
            users = [{"userID": u, "nickname": u} for u in user_ids[start : start + _BATCH]]
            await self._http.post("/user/user_register", {"users": users}, self.admin_token)
        tokens: dict[str, str] = {}
        pending = iter(user_ids)

        async def worker() -> None:
            conn = HttpConn(self.api)
            try:
                for user_id in pending:
                    body = {"userID": user_id, "platformID": platform_id}
                    data = await conn.post("/auth/get_user_token", body, self.admin_token)
                    tokens[user_id] = str(data["token"])
            finally:
                await conn.close()

        await asyncio.gather(*(worker() for _ in range(min(_TOKEN_CONNS, len(user_ids)))))
        return [User(u, tokens[u]) for u in user_ids]

    async def create_group(self, group_id: str, owner: str, members: list[str]) -> None:
        """A work group (groupType 2) owned by `owner` with `members` (any number, invited in batches)."""
        first, rest = members[: _BATCH - 1], members[_BATCH - 1 :]
        body = {
            "ownerUserID": owner,
            "memberUserIDs": first,
            "adminUserIDs": [],
            "groupInfo": {"groupID": group_id, "groupName": group_id, "groupType": 2},
        }
        await self._http.post("/group/create_group", body, self.admin_token)
        for start in range(0, len(rest), _BATCH):
            invite = {"groupID": group_id, "invitedUserIDs": rest[start : start + _BATCH], "reason": "bench"}
            await self._http.post("/group/invite_user_to_group", invite, self.admin_token)

    async def close(self) -> None:
        await self._http.close()
