"""Logins survive a restart of the embedded default (no `redis.url`): after SIGTERM or kill -9 and a new
`openim start` on the same database, every token valid before is still valid over REST and WebSocket (the app
server's admin token too), and every kicked one answers what it answered before (1506 kicked, 1507 gone)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from urllib.parse import urlencode

import pytest
from tests.process import ServerProcess, start_server
from websockets.asyncio.client import connect

WEB, ANDROID = 5, 2
KICKED_CODES = (1506, 1507)  # TokenKickedError; TokenNotExistError once a later login pruned the kicked token


async def _ws_code(server: ServerProcess, user_id: str, token: str, platform_id: int) -> int:
    """The errCode of the gateway's handshake reply (isMsgResp=true, as the Web SDKs log in); 0 = accepted."""
    query = urlencode(
        {
            "sendID": user_id,
            "token": token,
            "platformID": platform_id,
            "operationID": f"restart-{user_id}",
            "isMsgResp": "true",
            "sdkType": "js",
            "isBackground": "false",
        }
    )
    async with connect(f"ws://127.0.0.1:{server.gateway}/?{query}", compression=None, open_timeout=10) as ws:
        first = await asyncio.wait_for(ws.recv(), 10)
    code: int = json.loads(first)["errCode"]
    return code


def _rest_code(server: ServerProcess, user_id: str, token: str) -> int:
    """The errCode of a REST call made with `token` (the user reads their own profile)."""
    code: int = server.post("/user/get_users_info", {"userIDs": [user_id]}, token)["errCode"]
    return code


async def _codes(server: ServerProcess, logins: dict[str, tuple[str, int, str]]) -> dict[str, tuple[int, int]]:
    """(REST errCode, WebSocket errCode) per login; the admin token is a REST credential only (WS: -1)."""
    codes: dict[str, tuple[int, int]] = {}
    for name, (user_id, platform_id, token) in logins.items():
        ws = -1 if user_id == "imAdmin" else await _ws_code(server, user_id, token, platform_id)
        codes[name] = (_rest_code(server, user_id, token), ws)
    return codes


def _user_token(server: ServerProcess, admin: str, user_id: str, platform_id: int) -> str:
    result = server.post("/auth/get_user_token", {"userID": user_id, "platformID": platform_id}, admin)
    assert result["errCode"] == 0, result
    return str(result["data"]["token"])


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["sigterm", "kill9"])
async def test_tokens_survive_a_restart(tmp_path: Path, db_url: str, stop: str) -> None:
    """Valid tokens stay valid and kicked ones stay kicked across SIGTERM or kill -9 and a restart."""
    env = {"OPENIM_DATABASE_URL": db_url}
    server = start_server(tmp_path, **env)
    try:
        admin = server.admin_token()
        users = [{"userID": u, "nickname": u} for u in ("alice", "bob", "carol")]
        assert server.post("/user/user_register", {"users": users}, admin)["errCode"] == 0
        carol_first = _user_token(server, admin, "carol", ANDROID)
        await asyncio.sleep(1.1)  # tokens are signed to the second: one more in the same second is the same token
        logins = {
            "admin": ("imAdmin", 10, admin),
            "alice web": ("alice", WEB, _user_token(server, admin, "alice", WEB)),
            "alice android": ("alice", ANDROID, _user_token(server, admin, "alice", ANDROID)),
            "carol first": ("carol", ANDROID, carol_first),
            # multiLogin policy 1 (the default): a second Android login kicks the first
            "carol second": ("carol", ANDROID, _user_token(server, admin, "carol", ANDROID)),
            "bob web": ("bob", WEB, _user_token(server, admin, "bob", WEB)),
        }
        logout = server.post("/auth/force_logout", {"userID": "bob", "platformID": WEB}, admin)
        assert logout["errCode"] == 0, logout
        before = await _codes(server, logins)
        if stop == "sigterm":
            server.proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(server.proc.wait, 30) == 0
        else:
            os.kill(server.proc.pid, signal.SIGKILL)
            await asyncio.to_thread(server.proc.wait, 30)
    finally:
        server.stop()
    valid = ("admin", "alice web", "alice android", "carol second")
    assert {name: before[name] for name in valid} == {name: (0, -1 if name == "admin" else 0) for name in valid}
    for name in ("carol first", "bob web"):
        assert before[name][0] in KICKED_CODES and before[name][1] in KICKED_CODES, (name, before[name])

    restarted = start_server(tmp_path, **env)  # fresh ports: the old process's may be taken meanwhile
    try:
        assert await _codes(restarted, logins) == before
        # The policy still sees the logins of before the restart: carol's next Android login kicks "carol second".
        assert _user_token(restarted, admin, "carol", ANDROID) != logins["carol second"][2]
        assert _rest_code(restarted, "carol", logins["carol second"][2]) == 1506
    finally:
        restarted.stop()
