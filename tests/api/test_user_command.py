"""/user/process_user_command_*: a user's typed lists (favourites), 1305-1307 to the user's devices, access rules."""

from __future__ import annotations

import json

from tests.api.conftest import Api

from openim.infra.bus import Push
from openim.protocol.pb import sdkws_pb2

ADD, DELETE, UPDATE, GET, GET_ALL = (
    f"/user/process_user_command_{name}" for name in ("add", "delete", "update", "get", "get_all")
)


async def _tokens(api: Api) -> tuple[str, str, str]:
    await api.register("alice", "bob")
    return await api.user_token("alice"), await api.user_token("bob"), await api.admin_token()


async def test_add_get_update_delete_with_openim_fields(api: Api, pushes: list[Push]) -> None:
    """A command reads back with OpenIM's fields (createTime in seconds, `CommandResp`); each change notifies."""
    alice, _, _ = await _tokens(api)
    body = {"userID": "alice", "type": 1, "uuid": "u1", "value": "v1", "ex": "x1"}
    await api.ok(ADD, body, token=alice)
    await api.ok(ADD, {"userID": "alice", "type": 2, "uuid": "u2", "value": "v2"}, token=alice)
    now_s = api.runtime.clock.now_ms() // 1000
    data = await api.ok(GET, {"userID": "alice", "type": 1}, token=alice)
    assert data == {"CommandResp": [{"type": 1, "createTime": now_s, "uuid": "u1", "value": "v1", "ex": "x1"}]}
    everything = await api.ok(GET_ALL, {"userID": "alice"}, token=alice)
    assert [c["uuid"] for c in everything["CommandResp"]] == ["u1", "u2"]

    await api.ok(UPDATE, {"userID": "alice", "type": 1, "uuid": "u1", "ex": "x2"}, token=alice)
    (cmd,) = (await api.ok(GET, {"userID": "alice", "type": 1}, token=alice))["CommandResp"]
    assert (cmd["value"], cmd["ex"]) == ("v1", "x2")  # value untouched: not given

    await api.ok(DELETE, {"userID": "alice", "type": 1, "uuid": "u1"}, token=alice)
    assert (await api.ok(GET, {"userID": "alice", "type": 1}, token=alice)) == {"CommandResp": []}

    await api.runtime.bus.drain()
    tips = [(p.msg.contentType, p.user_ids) for p in pushes if 1305 <= p.msg.contentType <= 1307]
    assert tips == [(1305, ("alice",)), (1305, ("alice",)), (1307, ("alice",)), (1306, ("alice",))]
    detail = json.loads(json.loads(pushes[-1].msg.content)["detail"])
    assert detail == {"fromUserID": "alice", "toUserID": "alice"}
    assert pushes[-1].msg.seq == 0  # online only, as OpenIM's user notifications
    sdkws_pb2.UserCommandDeleteTips(**detail)  # the fields are the tips message's


async def test_adding_the_same_uuid_replaces_it(api: Api) -> None:
    """(type, uuid) is a key here: a second add replaces value and ex instead of storing a copy (OpenIM does)."""
    alice, _, _ = await _tokens(api)
    for value in ("a", "b"):
        await api.ok(ADD, {"userID": "alice", "type": 1, "uuid": "u", "value": value}, token=alice)
    data = await api.ok(GET_ALL, {"userID": "alice"}, token=alice)
    assert [(c["uuid"], c["value"], c["ex"]) for c in data["CommandResp"]] == [("u", "b", "")]


async def test_bad_args_are_1001_and_missing_is_1004(api: Api) -> None:
    """OpenIM's Check(): userID, type and uuid required (1001); an unknown command to change or delete is 1004."""
    alice, _, _ = await _tokens(api)
    bad = [
        (ADD, {"userID": "", "type": 1, "uuid": "u"}),
        (ADD, {"userID": "alice", "type": 0, "uuid": "u"}),
        (ADD, {"userID": "alice", "type": 1, "uuid": ""}),
        (ADD, {"userID": "alice", "type": 1, "uuid": "u" * 65}),
        (ADD, {"userID": "alice", "type": 1, "uuid": "u", "value": "v" * 65_537}),
        (ADD, {"userID": "alice", "type": "1", "uuid": "u"}),
        (DELETE, {"userID": "alice", "type": 1, "uuid": ""}),
        (UPDATE, {"userID": "alice", "type": 0, "uuid": "u"}),
        (GET, {"userID": "alice", "type": 0}),
        (GET_ALL, {"userID": ""}),
    ]
    for path, body in bad:
        assert (await api.post(path, body, token=alice))["errCode"] == 1001, (path, body)
    for path in (DELETE, UPDATE):
        body = {"userID": "alice", "type": 1, "uuid": "nope", "value": "v"}
        assert (await api.post(path, body, token=alice))["errCode"] == 1004, path
    assert (await api.ok(GET_ALL, {"userID": "alice"}, token=alice)) == {"CommandResp": []}


async def test_only_the_user_or_an_admin(api: Api) -> None:
    """Another user gets 1002 on each route and changes nothing; an admin may act for the user."""
    alice, bob, admin = await _tokens(api)
    await api.ok(ADD, {"userID": "alice", "type": 1, "uuid": "u", "value": "mine"}, token=alice)
    for path, body in [
        (ADD, {"userID": "alice", "type": 1, "uuid": "x"}),
        (DELETE, {"userID": "alice", "type": 1, "uuid": "u"}),
        (UPDATE, {"userID": "alice", "type": 1, "uuid": "u", "value": "bob"}),
        (GET, {"userID": "alice", "type": 1}),
        (GET_ALL, {"userID": "alice"}),
    ]:
        assert (await api.post(path, body, token=bob))["errCode"] == 1002, path
    data = await api.ok(GET_ALL, {"userID": "alice"}, token=admin)
    assert [(c["uuid"], c["value"]) for c in data["CommandResp"]] == [("u", "mine")]
