"""/msg/batch_send_msg and /msg/send_business_notification: admin-only sends with OpenIM's fields."""

from __future__ import annotations

import json
from typing import Any

from tests.api.chat import content_of, open_chat
from tests.api.conftest import Api
from tests.factories import add_member, make_group

from openim.infra.bus import Push
from openim.services.msg.batch import BATCH_CHUNK

TEXT: dict[str, Any] = {"sendID": "alice", "contentType": 101, "sessionType": 1, "content": {"content": "hello"}}


async def test_batch_sends_each_recipient_its_own_message_in_one_transaction(api: Api) -> None:
    """Each recipient gets its own stored message (own clientMsgID); unknown users are failedUserIDs; one commit."""
    chat = await open_chat(api, "alice", "bob", "carol")
    stats = api.runtime.storage.msg.stats
    before = stats.batches
    data = await chat.ok("/msg/batch_send_msg", {**TEXT, "recvIDs": ["bob", "nobody", "carol"]}, as_="admin")
    assert stats.batches - before == 1  # bob's and carol's messages: one transaction
    assert [r["recvID"] for r in data["results"]] == ["bob", "carol"]
    assert data["failedUserIDs"] == ["nobody"]
    assert len({r["clientMsgID"] for r in data["results"]}) == 2
    for result in data["results"]:
        assert set(result) == {"serverMsgID", "clientMsgID", "sendTime", "recvID"}
        assert result["sendTime"] == api.runtime.clock.now_ms()
    assert await chat.texts("bob", "si_alice_bob") == ["hello"]
    assert await chat.texts("carol", "si_alice_carol") == ["hello"]


async def test_batch_of_more_than_a_chunk_commits_once_per_chunk(api: Api) -> None:
    """BATCH_CHUNK + 1 recipients: two transactions, every recipient served."""
    users = [f"u{i:04d}" for i in range(BATCH_CHUNK + 1)]
    admin = await api.admin_token()
    await api.register("alice", *users)
    stats = api.runtime.storage.msg.stats
    before = stats.batches
    data = await api.ok("/msg/batch_send_msg", {**TEXT, "recvIDs": users}, token=admin)
    assert stats.batches - before == 2
    assert [r["recvID"] for r in data["results"]] == users
    assert data["failedUserIDs"] is None


async def test_batch_send_all_reaches_every_user(api: Api) -> None:
    """isSendAll pages through every registered user (recvIDs must still be present)."""
    chat = await open_chat(api, "alice", "bob", "carol")
    data = await chat.ok("/msg/batch_send_msg", {**TEXT, "isSendAll": True, "recvIDs": []}, as_="admin")
    assert {"alice", "bob", "carol"} <= {r["recvID"] for r in data["results"]}
    assert await chat.texts("bob", "si_alice_bob") == ["hello"]


async def test_batch_bad_args_1001_and_permission_1002(api: Api) -> None:
    """recvIDs absent, a group session, no content or an unknown content type: 1001; a user's token: 1002."""
    chat = await open_chat(api, "alice", "bob")
    for body in [
        TEXT,
        {**TEXT, "recvIDs": None},
        {**TEXT, "sessionType": 3, "groupID": "g", "recvIDs": ["bob"]},
        {**TEXT, "content": None, "recvIDs": ["bob"]},
        {**TEXT, "contentType": 9999, "recvIDs": ["bob"]},
        {**TEXT, "recvIDs": [f"u{i}" for i in range(10_001)]},
    ]:
        assert (await chat.post("/msg/batch_send_msg", body, as_="admin"))["errCode"] == 1001, body
    denied = await chat.post("/msg/batch_send_msg", {**TEXT, "recvIDs": ["bob"]}, as_="alice")
    assert denied["errCode"] == 1002
    assert await chat.texts("bob", "si_alice_bob") == []


async def test_business_notification_to_a_user(api: Api, pushes: list[Push]) -> None:
    """2001 from sendUserID, msgFrom 200, content {"detail": "{\\"key\\":…,\\"data\\":…}"}; online only by default."""
    chat = await open_chat(api, "alice", "bob")
    body = {"key": "k1", "data": '{"x":1}', "sendUserID": "alice", "recvUserID": "bob"}
    data = await chat.ok("/msg/send_business_notification", body, as_="admin")
    assert set(data) == {"serverMsgID", "clientMsgID", "sendTime"}
    await api.runtime.bus.drain()
    (push,) = [p for p in pushes if p.msg.contentType == 2001]
    assert (push.msg.sendID, push.msg.recvID, push.msg.sessionType, push.msg.msgFrom) == ("alice", "bob", 1, 200)
    assert push.msg.content.decode() == json.dumps(
        {"detail": '{"key":"k1","data":"{\\"x\\":1}"}'}, separators=(",", ":")
    )
    assert "bob" in push.user_ids and push.msg.seq == 0
    assert push.msg.serverMsgID == data["serverMsgID"]


async def test_reliable_business_notification_is_stored(api: Api) -> None:
    """reliabilityLevel 2 stores it in the n_ conversation; sendMsg also puts a copy in the chat."""
    chat = await open_chat(api, "alice", "bob")
    body = {"key": "k", "data": "d", "sendUserID": "alice", "recvUserID": "bob", "reliabilityLevel": 2, "sendMsg": True}
    await chat.ok("/msg/send_business_notification", body, as_="admin")
    (stored,) = await chat.pull("bob", "n_alice_bob")
    assert stored["contentType"] == 2001 and json.loads(content_of(stored)["detail"]) == {"key": "k", "data": "d"}
    (copy,) = await chat.pull("bob", "si_alice_bob")
    assert copy["contentType"] == 2001


async def test_business_notification_to_a_group(api: Api, pushes: list[Push]) -> None:
    """recvGroupID sends to the group (sessionType 3): every member gets the push."""
    chat = await open_chat(api, "alice", "bob")
    now = api.runtime.clock.now_ms()
    await make_group(api.runtime.storage, "g1", "alice", now=now)
    await add_member(api.runtime.storage, "g1", "bob", now=now)
    body = {"key": "k", "data": "d", "sendUserID": "alice", "recvGroupID": "g1"}
    await chat.ok("/msg/send_business_notification", body, as_="admin")
    await api.runtime.bus.drain()
    (push,) = [p for p in pushes if p.msg.contentType == 2001]
    assert (push.msg.groupID, push.msg.sessionType) == ("g1", 3)
    assert set(push.user_ids) >= {"alice", "bob"}


async def test_business_notification_bad_args_1001_and_permission_1002(api: Api) -> None:
    """No sendUserID, neither or both receivers, an unknown receiver: 1001/1004; a user's token: 1002."""
    chat = await open_chat(api, "alice", "bob")
    for body in [
        {"key": "k", "recvUserID": "bob"},
        {"key": "k", "sendUserID": "alice"},
        {"key": "k", "sendUserID": "alice", "recvUserID": "bob", "recvGroupID": "g1"},
        {"key": "k", "sendUserID": "alice", "recvUserID": "bob", "reliabilityLevel": "2"},
    ]:
        assert (await chat.post("/msg/send_business_notification", body, as_="admin"))["errCode"] == 1001, body
    unknown = {"key": "k", "sendUserID": "alice", "recvUserID": "nobody"}
    assert (await chat.post("/msg/send_business_notification", unknown, as_="admin"))["errCode"] == 1004
    body = {"key": "k", "sendUserID": "alice", "recvUserID": "bob"}
    assert (await chat.post("/msg/send_business_notification", body, as_="alice"))["errCode"] == 1002
