"""The REST status routes agree with the WS 2005 flow: a REST subscribe acts on the user's live connections
(through presence and the bus), and get_subscribe_users_status reads what 2005 subscribed (from presence)."""

from __future__ import annotations

from typing import Any

from openim.protocol.constants import ReqIdentifier

from .conftest import ADMIN, Gateway
from .test_dispatch import sub, tips

ANDROID, WEB = 2, 5


async def _post(gateway: Gateway, path: str, body: dict[str, Any], user_id: str) -> Any:
    token = (await gateway.runtime.services.auth.get_user_token(ADMIN, user_id, 3)).token
    resp = await gateway.http.post(path, json=body, headers={"operationID": "op", "token": token})
    envelope = resp.json()
    assert envelope["errCode"] == 0, envelope
    return envelope["data"]


async def test_rest_subscribe_makes_the_connections_watch(gateway: Gateway) -> None:
    """After a REST subscribe, the user's WS connection gets 2005 pushes when the watched user comes and goes."""
    alice = await gateway.connect("alice", ANDROID)
    await gateway.token("bob")  # registered
    body = {"userID": "alice", "userIDs": ["bob"], "genre": 1}
    data = await _post(gateway, "/user/subscribe_users_status", body, "alice")
    assert data == {"statusList": [{"userID": "bob", "status": 0, "platformIDs": None}]}
    bob = await gateway.connect("bob", WEB, sdk="js")
    frame = await alice.push()
    assert (frame.req_identifier, tips(frame.data)) == (2005, {"bob": [WEB]})
    data = await _post(gateway, "/user/get_subscribe_users_status", {"userID": "alice"}, "alice")
    assert data == {"statusList": [{"userID": "bob", "status": 1, "platformIDs": [WEB]}]}

    await _post(gateway, "/user/subscribe_users_status", {**body, "genre": 2}, "alice")
    await bob.close()
    await gateway.settled(lambda: not gateway.server.hub.conns("bob"))
    assert alice.pushes.empty()
    assert await _post(gateway, "/user/get_subscribe_users_status", {"userID": "alice"}, "alice") == {
        "statusList": None
    }


async def test_ws_subscriptions_read_over_rest(gateway: Gateway) -> None:
    """What a connection subscribed with 2005 is what get_subscribe_users_status answers, statuses included."""
    await gateway.connect("carol", WEB, sdk="js")
    alice = await gateway.connect("alice", ANDROID)
    await alice.request(ReqIdentifier.SUB_USER_ONLINE_STATUS, sub(["bob", "carol"]))
    data = await _post(gateway, "/user/get_subscribe_users_status", {"userID": "alice"}, "alice")
    assert data == {
        "statusList": [
            {"userID": "bob", "status": 0, "platformIDs": None},
            {"userID": "carol", "status": 1, "platformIDs": [WEB]},
        ]
    }
