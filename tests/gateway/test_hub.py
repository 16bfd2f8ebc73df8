"""Local connections (docs/protocol/gateway.md §4): multi-login policies at connect, token kicks, presence and its
refresh, counts."""

from __future__ import annotations

import asyncio
import socket

import pytest

from openim.gateway.conn import Timing
from openim.gateway.server import GatewayServer
from openim.protocol.constants import ReqIdentifier
from openim.runtime import Runtime

from .conftest import Gateway, Sdk

ANDROID, IOS, WINDOWS, WEB, LINUX = 2, 1, 3, 5, 7


async def kicked(sdk: Sdk) -> None:
    """The connection got the 2002 frame and was then closed."""
    frame = await sdk.push()
    assert frame.req_identifier == ReqIdentifier.KICK_ONLINE_MSG
    await sdk.closed()


async def alive(sdk: Sdk) -> None:
    assert (await sdk.request(ReqIdentifier.SET_BACKGROUND_STATUS)).err_code == 0


async def rest_err_code(gw: Gateway, token: str) -> int:
    resp = await gw.http.post(
        "/user/get_users_info", json={"userIDs": ["alice"]}, headers={"token": token, "operationID": "op-rest"}
    )
    code: int = resp.json()["errCode"]
    return code


async def kicked_over_rest(gw: Gateway, token: str) -> None:
    """Wait until REST answers 1506 for `token`: the hub closes the old connection, then stores its token's kick."""
    async with asyncio.timeout(5):
        while await rest_err_code(gw, token) != 1506:  # noqa: ASYNC110 - polls server state the test cannot await
            await asyncio.sleep(0.01)


async def test_same_platform_new_token_kicks_old_connection(gateway: Gateway) -> None:
    """Policy 1: a second login on the same platform kicks the first (2002 then close); its token then gets 1506."""
    old_token = await gateway.token("alice", WEB)
    old = await gateway.connect("alice", WEB, sdk="js", token=old_token)
    new = await gateway.connect("alice", WEB, sdk="js")
    await kicked(old)
    await alive(new)
    assert await rest_err_code(gateway, old_token) == 1506
    assert gateway.server.hub.count == 1


async def test_same_token_reconnect_does_not_kick(gateway: Gateway) -> None:
    """A reconnect with the same token on the same platform keeps both connections."""
    token = await gateway.token("alice", WEB)
    first = await gateway.connect("alice", WEB, sdk="js", token=token)
    second = await gateway.connect("alice", WEB, sdk="js", token=token)
    await alive(first)
    await alive(second)
    assert gateway.server.hub.count == 2


async def test_other_platform_is_not_kicked(gateway: Gateway) -> None:
    """Policy 1: a login on another platform leaves existing connections alone."""
    web = await gateway.connect("alice", WEB, sdk="js")
    phone = await gateway.connect("alice", ANDROID, sdk="go")
    await alive(web)
    await alive(phone)
    assert gateway.server.hub.platforms("alice") == [ANDROID, WEB]


async def test_kicked_token_is_marked_by_the_gateway(gateway: Gateway) -> None:
    """The gateway itself marks the kicked connection's token kicked (AuthService.kick_tokens)."""
    auth = gateway.runtime.services.auth
    old_token = await gateway.token("alice", ANDROID)
    old = await gateway.connect("alice", ANDROID, token=old_token)
    # A second valid token of the same platform, issued without kicking (as under policy 0 or another node).
    new_token = await gateway.token("alice", ANDROID)
    await gateway.runtime.tokens.set_tokens("alice", "Android", {old_token: 0}, 3600)
    assert (await auth.parse_token(old_token)).user_id == "alice"
    await gateway.connect("alice", ANDROID, token=new_token)
    await kicked(old)
    await kicked_over_rest(gateway, old_token)


@pytest.mark.parametrize("policy", [0])
async def test_policy_0_kicks_nobody(gateway: Gateway) -> None:
    """Policy 0: several tokens of one platform stay connected."""
    first = await gateway.connect("alice", WEB, sdk="js")
    second = await gateway.connect("alice", WEB, sdk="js")
    await alive(first)
    await alive(second)


@pytest.mark.parametrize("policy", [4])
async def test_policy_4_kicks_within_a_class(gateway: Gateway) -> None:
    """Policy 4: an iOS login kicks the Android connection (same Mobile class) but not the Web one."""
    android = await gateway.connect("alice", ANDROID)
    web = await gateway.connect("alice", WEB, sdk="js")
    await gateway.connect("alice", IOS)
    await kicked(android)
    await alive(web)


@pytest.mark.parametrize("policy", [5])
async def test_policy_5_pc_and_one_other(gateway: Gateway) -> None:
    """Policy 5: a non-PC login kicks the other non-PC connections; PC connections stay; a PC login kicks nobody."""
    windows = await gateway.connect("alice", WINDOWS)
    web = await gateway.connect("alice", WEB, sdk="js")
    android = await gateway.connect("alice", ANDROID)
    await kicked(web)
    await gateway.connect("alice", LINUX)
    await alive(windows)
    await alive(android)


async def test_presence_follows_connections(gateway: Gateway) -> None:
    """A connection is online in presence while it lives and offline once it is gone."""
    hub = gateway.server.hub
    web = await gateway.connect("alice", WEB, sdk="js")
    await gateway.connect("alice", ANDROID)
    assert await hub.online_platforms(["alice", "bob"]) == {"alice": [ANDROID, WEB], "bob": []}
    await web.close()
    await gateway.settled(lambda: hub.platforms("alice") == [ANDROID])
    assert (await hub.online_platforms(["alice"]))["alice"] == [ANDROID]


async def test_kicked_connection_goes_offline(gateway: Gateway) -> None:
    """A connection kicked by a new login is offline afterwards; the new one is online."""
    hub = gateway.server.hub
    old = await gateway.connect("alice", WEB, sdk="js")
    (old_conn,) = hub.conns("alice")
    await gateway.connect("alice", WEB, sdk="js")
    await kicked(old)
    # The new connection is marked online after the old token's kick is stored (a database or Redis write).
    await gateway.settled(lambda: not old_conn.online and [c.online for c in hub.conns("alice")] == [True])
    assert (await hub.online_platforms(["alice"]))["alice"] == [WEB]


async def test_presence_refresh_registers_lost_connections_again(gateway: Gateway) -> None:
    """refresh_presence() keeps live connections online and registers again one presence lost (expired in Redis)."""
    hub, presence = gateway.server.hub, gateway.runtime.presence
    await gateway.connect("alice", WEB, sdk="js")
    await gateway.connect("bob", ANDROID)
    assert await hub.refresh_presence() == 0
    (conn,) = hub.conns("alice")
    await presence.set_offline("alice", WEB, conn.conn_id)  # as if its Redis entry had expired
    assert (await hub.online_platforms(["alice"]))["alice"] == []
    assert await hub.refresh_presence() == 1
    assert await hub.online_platforms(["alice", "bob"]) == {"alice": [WEB], "bob": [ANDROID]}


async def test_gateway_refreshes_presence_periodically(runtime: Runtime, timing: Timing) -> None:
    """A serving gateway runs refresh_presence() every presence_refresh_interval seconds, until it stops."""
    server = GatewayServer(
        runtime.settings.msggateway,
        auth=runtime.services.auth,
        msg=runtime.services.msg,
        third=runtime.services.third,
        bus=runtime.bus,
        presence=runtime.presence,
        clock=runtime.clock,
        multi_login_policy=1,
        timing=timing,
    )
    server.presence_refresh_interval = 0.02
    rounds = 0
    refresh = server.hub.refresh_presence

    async def counting(*, concurrency: int = 64) -> int:
        nonlocal rounds
        rounds += 1
        return await refresh(concurrency=concurrency)

    server.hub.refresh_presence = counting  # type: ignore[method-assign]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.setblocking(False)
    task = asyncio.create_task(server.serve(sock))
    await asyncio.wait_for(server.ready.wait(), 5)
    await asyncio.sleep(0.2)
    assert rounds >= 3
    server.close()
    await asyncio.wait_for(task, 5)
    stopped_at = rounds
    await asyncio.sleep(0.1)
    assert rounds == stopped_at
