"""/user online-status routes over REST: get_users_status, subscribe_users_status, get_subscribe_users_status and
get_users_online_token_detail, read from the same presence the gateway writes (the WS side: tests/gateway)."""

from __future__ import annotations

from tests.api.conftest import Api

from openim.infra.bus import TOPIC_SUBSCRIBE, SubscribeChange

ANDROID, WEB = 2, 5


async def _online(api: Api, user_id: str, *platforms: int, token: str = "") -> None:
    """Connections registered in presence as a gateway registers them."""
    for i, platform in enumerate(platforms):
        await api.runtime.presence.set_online(user_id, platform, f"conn-{user_id}-{i}", token)


async def test_get_users_status_with_openim_fields(api: Api) -> None:
    """statusList in request order: status 1 with the platformIDs, or 0 with none."""
    await api.register("alice", "bob")
    alice = await api.user_token("alice")
    await _online(api, "bob", WEB, ANDROID)
    data = await api.ok("/user/get_users_status", {"userID": "alice", "userIDs": ["bob", "carol"]}, token=alice)
    assert data == {
        "statusList": [
            {"userID": "bob", "status": 1, "platformIDs": [ANDROID, WEB]},
            {"userID": "carol", "status": 0, "platformIDs": None},
        ]
    }


async def test_subscribe_answers_statuses_and_get_subscribed_without_a_gateway(api: Api) -> None:
    """subscribe genre 1 answers the statuses (as 2005); a user with no live connection has nothing to watch."""
    await api.register("alice", "bob")
    alice = await api.user_token("alice")
    await _online(api, "bob", WEB)
    body = {"userID": "alice", "userIDs": ["bob"], "genre": 1}
    data = await api.ok("/user/subscribe_users_status", body, token=alice)
    assert data == {"statusList": [{"userID": "bob", "status": 1, "platformIDs": [WEB]}]}
    subscribed = await api.ok("/user/get_subscribe_users_status", {"userID": "alice"}, token=alice)
    assert subscribed == {"statusList": None}


async def test_subscribe_changes_every_live_connection_and_tells_the_gateways(api: Api) -> None:
    """A REST subscribe writes the watched set of each of the user's connections into presence (any process reads
    it) and publishes SubscribeChange, which the gateways holding the connections apply."""
    await api.register("alice", "bob", "carol")
    alice = await api.user_token("alice")
    await _online(api, "alice", WEB, ANDROID)
    await _online(api, "carol", ANDROID)
    seen: list[object] = []
    sub = api.runtime.bus.subscribe(TOPIC_SUBSCRIBE, seen.append)
    try:
        body = {"userID": "alice", "userIDs": ["bob", "carol"], "genre": 1}
        await api.ok("/user/subscribe_users_status", body, token=alice)
        assert await api.runtime.presence.subscribed("alice") == ["bob", "carol"]
        subscribed = await api.ok("/user/get_subscribe_users_status", {"userID": "alice"}, token=alice)
        assert subscribed == {
            "statusList": [
                {"userID": "bob", "status": 0, "platformIDs": None},
                {"userID": "carol", "status": 1, "platformIDs": [ANDROID]},
            ]
        }
        await api.ok("/user/subscribe_users_status", {**body, "userIDs": ["bob"], "genre": 2}, token=alice)
        assert await api.runtime.presence.subscribed("alice") == ["carol"]
        await api.runtime.bus.drain()  # type: ignore[attr-defined]
        assert seen == [
            SubscribeChange("alice", ("bob", "carol"), ()),
            SubscribeChange("alice", (), ("bob",)),
        ]
    finally:
        await sub.close()


async def test_online_token_detail_lists_online_users_tokens(api: Api) -> None:
    """Only online users, per online platform the token of each live connection; null when nobody asked about is
    online. A token issued but not connected is not listed."""
    await api.register("alice", "bob")
    admin = await api.admin_token()
    token = await api.user_token("bob", WEB)
    await api.user_token("bob", ANDROID)  # issued, never connected
    await _online(api, "bob", WEB, token=token)
    data = await api.ok("/user/get_users_online_token_detail", {"userIDs": ["alice", "bob"]}, token=admin)
    assert data == [
        {"userID": "bob", "status": 1, "singlePlatformToken": [{"platformID": WEB, "total": 1, "token": [token]}]}
    ]
    assert await api.ok("/user/get_users_online_token_detail", {"userIDs": ["alice"]}, token=admin) is None


async def test_bad_args_are_1001(api: Api) -> None:
    """Empty or oversized userIDs, empty userID, a genre other than 1 or 2."""
    await api.register("alice")
    alice, admin = await api.user_token("alice"), await api.admin_token()
    bad = [
        ("/user/get_users_status", {"userID": "alice", "userIDs": []}, alice),
        ("/user/get_users_status", {"userIDs": [f"u{i}" for i in range(1001)]}, alice),
        ("/user/subscribe_users_status", {"userID": "", "userIDs": ["bob"], "genre": 1}, alice),
        ("/user/subscribe_users_status", {"userID": "alice", "userIDs": ["bob"], "genre": 3}, alice),
        ("/user/subscribe_users_status", {"userID": "alice", "userIDs": [], "genre": 1}, alice),
        ("/user/get_subscribe_users_status", {"userID": ""}, alice),
        ("/user/get_users_online_token_detail", {"userIDs": []}, admin),
    ]
    for path, body, token in bad:
        assert (await api.post(path, body, token=token))["errCode"] == 1001, (path, body)


async def test_permissions_are_1002(api: Api) -> None:
    """Subscriptions of another user and token details (admin only) are 1002; status in another's name too."""
    await api.register("alice", "bob")
    bob = await api.user_token("bob")
    await _online(api, "alice", WEB)
    denied = [
        ("/user/get_users_status", {"userID": "alice", "userIDs": ["alice"]}),
        ("/user/subscribe_users_status", {"userID": "alice", "userIDs": ["bob"], "genre": 1}),
        ("/user/get_subscribe_users_status", {"userID": "alice"}),
        ("/user/get_users_online_token_detail", {"userIDs": ["alice"]}),
    ]
    for path, body in denied:
        assert (await api.post(path, body, token=bob))["errCode"] == 1002, path
