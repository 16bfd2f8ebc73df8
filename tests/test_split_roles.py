"""Roles split over real processes: `openim start api`, `openim start admin` and two `openim start msggateway`
sharing PostgreSQL (a database of their own, `<test database>_split`) and the test Redis database: tokens, pushes,
kicks and presence cross processes.

Without `redis.url` the same split starts but cannot work, and says so: each process that runs only some roles
warns on stderr and in its log. Token states are in the shared database then, so the gateway accepts a token the
api process issued; pushes and kicks stay in each process.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from tests.databases import create_database, side_database_url
from tests.gateway.conftest import PingCountingConnection, Sdk
from tests.gateway.test_push import new_text
from tests.process import OPENIM, START_TIMEOUT, clean_env, free_port
from websockets.asyncio.client import connect

from openim.gateway.frames import FrameCodec
from openim.ops.doctor import Status, run_checks
from openim.protocol.constants import ReqIdentifier
from openim.protocol.pb import sdkws_pb2

ANDROID, WEB = 2, 5
HANDSHAKE_OK = '{"errCode":0,"errMsg":"","errDlt":""}'


@dataclass
class Proc:
    """One `openim start <roles>` child process."""

    roles: tuple[str, ...]
    proc: subprocess.Popen[bytes]
    output: Path
    port: int  # the port that answers its health check

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Split:
    """The processes of one split deployment and the ports a client uses."""

    cwd: Path
    env: dict[str, str]
    procs: list[Proc]
    api: int
    admin: int
    gateways: tuple[int, int]

    def start(self, *roles: str, port: int, **env: str) -> Proc:
        """Start `openim start <roles>` with this deployment's settings (plus `env`); wait until it answers."""
        output = self.cwd / f"{'-'.join(roles)}-{port}.out"
        environ = clean_env(**self.env, **env)
        with output.open("w") as out:
            proc = subprocess.Popen([*OPENIM, "start", *roles], cwd=self.cwd, env=environ, stdout=out, stderr=out)
        started = Proc(roles, proc, output, port)
        self.procs.append(started)
        path = "/health" if roles == ("msggateway",) else "/healthz"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"openim start {' '.join(roles)} exited: {output.read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=0.5).status_code == 200:
                    return started
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(
            f"openim start {' '.join(roles)} did not answer within {START_TIMEOUT:.0f} s: {output.read_text()}"
        )

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()

    def post(self, path: str, body: object, token: str = "") -> dict[str, Any]:
        headers = {"operationID": f"split-{time.monotonic_ns()}", **({"token": token} if token else {})}
        resp = httpx.post(f"http://127.0.0.1:{self.api}{path}", json=body, headers=headers, timeout=10)
        result: dict[str, Any] = resp.json()
        return result

    def status(self, port: int, path: str) -> int:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code

    def admin_token(self) -> str:
        return str(self.post("/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"})["data"]["token"])

    def user_token(self, admin: str, user_id: str, platform_id: int) -> str:
        result = self.post("/auth/get_user_token", {"userID": user_id, "platformID": platform_id}, admin)
        assert result["errCode"] == 0, result
        return str(result["data"]["token"])


def _split(tmp_path: Path, **env: str) -> Split:
    return Split(
        cwd=tmp_path,
        env={"OPENIM_LOG_STORAGELOCATION": str(tmp_path / "logs"), **env},
        procs=[],
        api=free_port(),
        admin=free_port(),
        gateways=(free_port(), free_port()),
    )


async def _fresh_database(postgres_url: str) -> str:
    """(Re)create our database `<test database>_split` on the test server; its URL."""
    url = side_database_url(postgres_url, "split")
    await create_database(url, fresh=True)
    return url


@pytest.fixture
async def deployment(tmp_path: Path, redis_url: str, _postgres: Any) -> AsyncIterator[Split]:
    """api, admin and two gateways as four processes on our PostgreSQL database and the (flushed) test Redis
    database, stopped after."""
    database_url = await _fresh_database(_postgres.url)
    split = _split(tmp_path, OPENIM_DATABASE_URL=database_url, OPENIM_REDIS_URL=redis_url)
    try:
        split.start("api", port=split.api, OPENIM_API_PORTS=str(split.api))  # first: it migrates the database
        for port in split.gateways:
            split.start("msggateway", port=port, OPENIM_MSGGATEWAY_PORTS=str(port))
        split.start("admin", port=split.admin, OPENIM_ADMIN_PORT=str(split.admin))
        yield split
    finally:
        split.stop()


async def _connect(
    port: int, user_id: str, token: str, platform_id: int, sdk: Literal["wasm", "js"]
) -> tuple[str, Sdk | None]:
    """Log in as the Web SDKs do (isMsgResp=true): the handshake text frame, and the client when it was accepted."""
    params = {
        "sendID": user_id,
        "token": token,
        "platformID": str(platform_id),
        "operationID": f"conn-{user_id}-{platform_id}",
        "isBackground": "false",
        "isMsgResp": "true",
        **({"compression": "gzip"} if sdk == "wasm" else {"sdkType": "js"}),
    }
    query = "&".join(f"{k}={v}" for k, v in params.items())
    ws = await connect(
        f"ws://127.0.0.1:{port}/?{query}",
        compression=None,
        ping_interval=None,
        max_size=None,
        create_connection=PingCountingConnection,
    )
    assert isinstance(ws, PingCountingConnection)
    first = await asyncio.wait_for(ws.recv(), 5)
    assert isinstance(first, str)
    if first != HANDSHAKE_OK:
        await ws.close()
        return first, None
    codec = FrameCodec("json" if sdk == "js" else "gob", gzip=sdk == "wasm")
    return first, Sdk(ws, user_id, codec).start()


def _pushed(frame: Any, conversation_id: str) -> list[str]:
    """The text contents a 2001 frame carries for one conversation."""
    assert frame.req_identifier == ReqIdentifier.PUSH_MSG
    push = sdkws_pb2.PushMessages.FromString(frame.data)
    return [json.loads(m.content)["content"] for m in push.msgs[conversation_id].Msgs]


async def _online(split: Split, admin: str, user_id: str, platforms: list[int]) -> None:
    """Wait until the api process reports `user_id` online on exactly `platforms` (presence in Redis)."""
    async with asyncio.timeout(5):
        while True:
            data = split.post("/user/get_users_online_status", {"userIDs": [user_id]}, admin)["data"]
            seen = sorted(d["platformID"] for d in (data[0]["detailPlatformStatus"] or [])) if data else []
            if seen == platforms:
                return
            await asyncio.sleep(0.05)


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.postgres
async def test_split_processes_share_tokens_pushes_kicks_and_presence(deployment: Split) -> None:
    """Tokens from the api process open gateways; 1003 and /msg/send_msg push across processes; force_logout kicks."""
    split = deployment
    gw1, gw2 = split.gateways
    admin = split.admin_token()
    users = [{"userID": u, "nickname": u} for u in ("alice", "bob")]
    assert split.post("/user/user_register", {"users": users}, admin)["errCode"] == 0

    # A token issued by the api process is accepted by both gateway processes.
    first, alice = await _connect(gw1, "alice", split.user_token(admin, "alice", WEB), WEB, "wasm")
    assert first == HANDSHAKE_OK and alice is not None
    bob_web_token = split.user_token(admin, "bob", WEB)
    first, bob_web = await _connect(gw2, "bob", bob_web_token, WEB, "js")
    assert first == HANDSHAKE_OK and bob_web is not None
    first, bob_android = await _connect(gw1, "bob", split.user_token(admin, "bob", ANDROID), ANDROID, "wasm")
    assert first == HANDSHAKE_OK and bob_android is not None
    await _online(split, admin, "bob", [ANDROID, WEB])  # each gateway registered its connection in Redis

    # alice's 1003 on gateway 1 reaches bob on gateway 2 (and on gateway 1), in order; time the cross-process hop.
    latencies = []
    for i in range(50):
        started = time.perf_counter()
        reply = await alice.request(ReqIdentifier.SEND_MSG, new_text("alice", "bob", f"ws-{i}").SerializeToString())
        assert reply.err_code == 0, reply
        assert _pushed(await bob_web.push(), "si_alice_bob") == [f"ws-{i}"]
        latencies.append(time.perf_counter() - started)
        assert _pushed(await bob_android.push(), "si_alice_bob") == [f"ws-{i}"]
        assert _pushed(await alice.push(), "si_alice_bob") == [f"ws-{i}"]  # the sender's own copy
    print(
        f"\n1003 on gateway 1 → 2001 on gateway 2: median {statistics.median(latencies) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms over {len(latencies)} sends"
    )

    # A REST send on the api process is pushed by both gateway processes.
    body = {"sendID": "alice", "recvID": "bob", "contentType": 101, "sessionType": 1, "content": {"content": "rest"}}
    result = split.post("/msg/send_msg", body, admin)
    assert result["errCode"] == 0, result
    for client in (bob_web, bob_android, alice):
        assert _pushed(await client.push(), "si_alice_bob") == ["rest"]

    # /auth/force_logout on the api process closes bob's Web connection on gateway 2 with 2002.
    assert split.post("/auth/force_logout", {"userID": "bob", "platformID": WEB}, admin)["errCode"] == 0
    kick = await bob_web.push()
    assert kick.req_identifier == ReqIdentifier.KICK_ONLINE_MSG
    await bob_web.closed()
    await _online(split, admin, "bob", [ANDROID])
    first, _ = await _connect(gw1, "bob", bob_web_token, WEB, "js")  # the kicked token is refused everywhere
    assert json.loads(first)["errCode"] != 0
    await bob_android.request(ReqIdentifier.SET_BACKGROUND_STATUS)  # the other platform is untouched

    # The admin process answers, and the doctor finds the split roles fine now that they share Redis.
    assert split.status(split.admin, "/readyz") == 200
    env = clean_env(
        **split.env,
        OPENIM_API_PORTS=str(split.api),
        OPENIM_MSGGATEWAY_PORTS=f"{gw1},{gw2}",
        OPENIM_ADMIN_PORT=str(split.admin),
    )
    roles = next(c for c in await run_checks(None, env) if c.name == "roles")
    assert roles.status is Status.OK, roles
    assert "sharing state through Redis" in roles.saw
    for client in (alice, bob_android):
        await client.close()


async def _login_once(port: int, user_id: str, token: str, platform_id: int) -> int:
    """The errCode of one WebSocket login; an accepted connection is closed again."""
    first, client = await _connect(port, user_id, token, platform_id, "js")
    if client is not None:
        await client.close()
    code: int = json.loads(first)["errCode"]
    return code


@pytest.mark.slow
def test_split_processes_without_redis_warn_and_share_tokens_through_the_database(tmp_path: Path) -> None:
    """Without redis.url split processes start and warn on stderr and in their logs; the database shares tokens."""
    split = _split(tmp_path, OPENIM_DATABASE_URL=f"sqlite:///{tmp_path / 'openim.db'}")
    try:
        api = split.start("api", port=split.api, OPENIM_API_PORTS=str(split.api))
        gateway = split.start("msggateway", port=split.gateways[0], OPENIM_MSGGATEWAY_PORTS=str(split.gateways[0]))
        admin = split.admin_token()
        assert (
            split.post("/user/user_register", {"users": [{"userID": "alice", "nickname": "a"}]}, admin)["errCode"] == 0
        )
        token = split.user_token(admin, "alice", WEB)
        code = asyncio.run(_login_once(split.gateways[0], "alice", token, WEB))
    finally:
        split.stop()
    assert code == 0
    for proc, role in ((api, "api"), (gateway, "msggateway")):
        warning = f"openim: warning: this process runs only {role} and redis.url is not set"
        assert warning in proc.output.read_text()
        assert "redis.url is not set" in (tmp_path / "logs" / f"{role}.log").read_text()
