"""Online status and send status across real processes sharing PostgreSQL and Redis: `openim start` (every role,
gateway 1) and `openim start msggateway` (gateway 2).

A 2005 subscription made on one gateway hears status changes caused on the other; REST on the api process
(no connection of the watcher there) reads and changes subscriptions held by gateway 2's connections; the REST
status routes agree with the 2005 pushes; get_users_online_token_detail lists the tokens of connections on both
gateways; check_msg_is_send_success on the api process answers a 1003 sent through gateway 2, to its sender only.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import empty_db_url
from tests.gateway.conftest import Sdk
from tests.gateway.test_dispatch import sub, tips
from tests.gateway.test_push import new_text
from tests.process import OPENIM, START_TIMEOUT, clean_env
from tests.test_split_roles import HANDSHAKE_OK, Proc, Split, _connect, _split

from openim.protocol.constants import ReqIdentifier

ANDROID, WEB = 2, 5

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
async def two_gateways(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> AsyncIterator[Split]:
    """Every role with gateway 1, and gateway 2 alone, on the emptied PostgreSQL test database and Redis."""
    database_url = await empty_db_url(request, "postgres", tmp_path)
    split = _split(tmp_path, OPENIM_DATABASE_URL=database_url, OPENIM_REDIS_URL=redis_url)
    gw1, gw2 = split.gateways
    try:
        everything = {"OPENIM_API_PORTS": str(split.api), "OPENIM_ADMIN_PORT": str(split.admin)}
        start_together(
            split,
            [
                ((), split.api, {**everything, "OPENIM_MSGGATEWAY_PORTS": str(gw1)}),
                (("msggateway",), gw2, {"OPENIM_MSGGATEWAY_PORTS": str(gw2)}),
            ],
        )
        yield split
    finally:
        split.stop()


def start_together(split: Split, procs: list[tuple[tuple[str, ...], int, dict[str, str]]]) -> None:
    """Start several `openim start` processes at once (as `Split.start`, without waiting for each in turn)."""
    started = []
    for roles, port, env in procs:
        output = split.cwd / f"{'-'.join(roles) or 'all'}-{port}.out"
        with output.open("w") as out:
            proc = subprocess.Popen(
                [*OPENIM, "start", *roles], cwd=split.cwd, env=clean_env(**split.env, **env), stdout=out, stderr=out
            )
        split.procs.append(Proc(roles, proc, output, port))
        started.append((split.procs[-1], "/health" if roles == ("msggateway",) else "/healthz"))
    deadline = time.monotonic() + START_TIMEOUT
    for proc, path in started:
        while True:
            if proc.proc.poll() is not None:
                raise RuntimeError(f"openim start {' '.join(proc.roles)} exited: {proc.output.read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{proc.port}{path}", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"openim start {' '.join(proc.roles)} did not answer: {proc.output.read_text()}")
            time.sleep(0.1)


async def _login(split: Split, admin: str, port: int, user_id: str, platform_id: int) -> tuple[Sdk, str]:
    token = split.user_token(admin, user_id, platform_id)
    first, client = await _connect(port, user_id, token, platform_id, "js")
    assert first == HANDSHAKE_OK and client is not None
    return client, token


async def _status_push(client: Sdk) -> dict[str, list[int]]:
    """The next 2005 push (message pushes, 2001, are skipped)."""
    frame = await client.push()
    while frame.req_identifier == ReqIdentifier.PUSH_MSG:
        frame = await client.push()
    assert frame.req_identifier == ReqIdentifier.SUB_USER_ONLINE_STATUS and frame.msg_incr == ""
    return tips(frame.data)


def _check(split: Split, token: str, operation_id: str) -> Any:
    """check_msg_is_send_success on the api process under `operation_id`."""
    headers = {"operationID": operation_id, "token": token}
    resp = httpx.post(f"http://127.0.0.1:{split.api}/msg/check_msg_is_send_success", json={}, headers=headers)
    envelope = resp.json()
    assert envelope["errCode"] == 0, envelope
    return envelope["data"]


async def _until(split: Split, path: str, body: dict[str, Any], token: str, want: Any) -> None:
    """Poll a REST route until its data is `want` (presence writes land within milliseconds), at most 5 s."""
    data: Any = None
    async with asyncio.timeout(5):
        while data != want:
            result = split.post(path, body, token)
            assert result["errCode"] == 0, result
            data = result.get("data")
            if data != want:
                await asyncio.sleep(0.05)


async def test_status_and_subscriptions_cross_gateway_processes(two_gateways: Split) -> None:
    """2005 pushes, REST subscriptions, REST status reads and token details agree across two gateway processes."""
    split = two_gateways
    gw1, gw2 = split.gateways
    admin = split.admin_token()
    users = [{"userID": u, "nickname": u} for u in ("alice", "bob", "carol")]
    assert split.post("/user/user_register", {"users": users}, admin)["errCode"] == 0
    alice_rest = split.user_token(admin, "alice", 3)

    # alice watches bob from gateway 2; bob comes online on gateway 1 and alice hears it.
    alice, alice_token = await _login(split, admin, gw2, "alice", WEB)
    reply = await alice.request(ReqIdentifier.SUB_USER_ONLINE_STATUS, sub(["bob"]))
    assert tips(reply.data) == {"bob": []}
    bob, bob_token = await _login(split, admin, gw1, "bob", ANDROID)
    assert await _status_push(alice) == {"bob": [ANDROID]}

    # The api process (no connection of alice) reads what her connection on gateway 2 watches, with statuses that
    # agree with the 2005 push and with get_users_status.
    bob_online = {"userID": "bob", "status": 1, "platformIDs": [ANDROID]}
    await _until(
        split, "/user/get_subscribe_users_status", {"userID": "alice"}, alice_rest, {"statusList": [bob_online]}
    )
    body = {"userID": "alice", "userIDs": ["bob"]}
    assert split.post("/user/get_users_status", body, alice_rest)["data"] == {"statusList": [bob_online]}

    # A REST subscribe on the api process makes alice's connection on gateway 2 watch carol on gateway 1.
    body = {"userID": "alice", "userIDs": ["carol"], "genre": 1}
    data = split.post("/user/subscribe_users_status", body, alice_rest)["data"]
    assert data == {"statusList": [{"userID": "carol", "status": 0, "platformIDs": None}]}
    await asyncio.sleep(0.2)  # the SubscribeChange crosses Redis to gateway 2
    carol, _ = await _login(split, admin, gw1, "carol", WEB)
    assert await _status_push(alice) == {"carol": [WEB]}

    # Token details list each live connection's token, whichever gateway holds it.
    details = split.post("/user/get_users_online_token_detail", {"userIDs": ["alice", "bob", "nobody"]}, admin)
    assert details["data"] == [
        {
            "userID": "alice",
            "status": 1,
            "singlePlatformToken": [{"platformID": WEB, "total": 1, "token": [alice_token]}],
        },
        {
            "userID": "bob",
            "status": 1,
            "singlePlatformToken": [{"platformID": ANDROID, "total": 1, "token": [bob_token]}],
        },
    ]

    # A send through gateway 2 is checked on the api process: by its sender, not by anyone else.
    send = await alice.request(ReqIdentifier.SEND_MSG, new_text("alice", "bob", "hi").SerializeToString())
    assert send.err_code == 0, send
    op = send.operation_id
    assert _check(split, alice_rest, op) == {"status": 2}
    assert _check(split, split.user_token(admin, "bob", 3), op) == {"status": 0}

    # bob leaves gateway 1: alice hears it on gateway 2 and REST agrees.
    await bob.close()
    assert await _status_push(alice) == {"bob": []}
    bob_offline = {"userID": "bob", "status": 0, "platformIDs": None}
    carol_online = {"userID": "carol", "status": 1, "platformIDs": [WEB]}
    want = {"statusList": [bob_offline, carol_online]}
    await _until(split, "/user/get_subscribe_users_status", {"userID": "alice"}, alice_rest, want)

    # alice's connection ends: her subscriptions end with it.
    await alice.close()
    await _until(split, "/user/get_subscribe_users_status", {"userID": "alice"}, alice_rest, {"statusList": None})
    await carol.close()
