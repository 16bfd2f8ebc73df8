"""/msg routes over HTTP: REST send, seqs, pulls in Go's shape, read positions, revoke, deletes, clears, access."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest
from tests.api.chat import SI_AB, Chat, content_of, open_chat
from tests.api.conftest import Api
from tests.factories import make_group

from openim.api.app import create_app
from openim.infra.clock import FakeClock
from openim.protocol.pb import sdkws_pb2
from openim.runtime import Runtime
from openim.settings import Settings

TEXT = {"sendID": "alice", "recvID": "bob", "contentType": 101, "sessionType": 1, "content": {"content": "hi"}}


# --- /msg/send_msg ------------------------------------------------------------------------------------------


async def test_send_msg_answers_ids_and_time(api: Api) -> None:
    """An admin's send answers exactly serverMsgID, clientMsgID (32 hex each) and sendTime (now, ms)."""
    chat = await open_chat(api, "alice", "bob")
    data = await chat.send("alice", "bob")
    assert set(data) == {"serverMsgID", "clientMsgID", "sendTime"}
    assert re.fullmatch("[0-9a-f]{32}", data["serverMsgID"]) and re.fullmatch("[0-9a-f]{32}", data["clientMsgID"])
    assert data["sendTime"] == api.runtime.clock.now_ms()


async def test_sent_message_pulls_back_in_go_shape(api: Api) -> None:
    """The receiver pulls the message with every MsgData field, `Msgs` capitalised, content base64, nulls."""
    chat = await open_chat(api, "alice", "bob")
    sent = await chat.send("alice", "bob", "hello")
    ranges = [{"conversationID": SI_AB, "begin": 1, "end": 10, "num": 10}]
    data = await chat.ok("/msg/pull_msg_by_seq", {"userID": "bob", "seqRanges": ranges, "order": 0}, as_="bob")
    assert set(data) == {"msgs", "notificationMsgs"}
    assert data["notificationMsgs"] is None
    pulled = data["msgs"][SI_AB]
    assert set(pulled) == {"Msgs", "isEnd", "endSeq"}
    (msg,) = pulled["Msgs"]
    assert set(msg) == {f.name for f in sdkws_pb2.MsgData.DESCRIPTOR.fields}
    assert msg["seq"] == 1 and msg["sendID"] == "alice" and msg["recvID"] == "bob"
    assert msg["serverMsgID"] == sent["serverMsgID"] and msg["clientMsgID"] == sent["clientMsgID"]
    assert msg["sendTime"] == sent["sendTime"]
    assert msg["sessionType"] == 1 and msg["msgFrom"] == 200 and msg["contentType"] == 101 and msg["status"] == 2
    assert base64.b64decode(msg["content"]) == b'{"content":"hello"}'
    assert msg["options"] is None and msg["offlinePushInfo"] is None and msg["atUserIDList"] is None


async def test_send_msg_content_is_the_callers_object(api: Api) -> None:
    """`content` is stored as the JSON of the given object: extra keys kept, keys sorted, HTML escaped as Go does."""
    chat = await open_chat(api, "alice", "bob")
    content = {"content": "<b>&</b>", "zeta": 2.0, "alpha": [1, {"y": True}]}
    await chat.ok("/msg/send_msg", {**TEXT, "content": content}, as_="admin")
    (msg,) = await chat.pull("bob", SI_AB)
    raw = base64.b64decode(msg["content"])
    assert raw == b'{"alpha":[1,{"y":true}],"content":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e","zeta":2}'
    assert content_of(msg) == {"alpha": [1, {"y": True}], "content": "<b>&</b>", "zeta": 2}


async def test_send_msg_fields_reach_the_message(api: Api) -> None:
    """Sender profile, platform, sendTime, ex, offline push info and the AtText user list are kept."""
    chat = await open_chat(api, "alice", "bob", "carol")
    await make_group(api.runtime.storage, "g1", "alice", ["bob"], now=api.runtime.clock.now_ms())
    body = {
        "sendID": "alice",
        "groupID": "g1",
        "senderNickname": "Al",
        "senderFaceURL": "http://f/a.png",
        "senderPlatformID": 1,
        "contentType": 106,
        "sessionType": 3,
        "content": {"text": "@bob hi", "atUserList": ["bob"]},
        "sendTime": 1_700_000_000_123,
        "offlinePushInfo": {"title": "T", "desc": "D", "iOSBadgeCount": True},
        "ex": "x",
    }
    await chat.ok("/msg/send_msg", body, as_="admin")
    (msg,) = await chat.pull("bob", "sg_g1")
    assert msg["groupID"] == "g1" and msg["sessionType"] == 3 and msg["contentType"] == 106
    assert msg["senderNickname"] == "Al" and msg["senderFaceURL"] == "http://f/a.png"
    assert msg["senderPlatformID"] == 1 and msg["sendTime"] == 1_700_000_000_123 and msg["ex"] == "x"
    assert msg["atUserIDList"] == ["bob"]
    assert msg["offlinePushInfo"] == {
        "title": "T",
        "desc": "D",
        "ex": "",
        "iOSPushSound": "",
        "iOSBadgeCount": True,
        "signalInfo": "",
    }
    assert await chat.pull("carol", "sg_g1") == []


async def test_send_msg_online_only_is_not_stored(api: Api) -> None:
    """isOnlineOnly turns history off: the message is answered but never pulled, and no seq is used."""
    chat = await open_chat(api, "alice", "bob")
    await chat.send("alice", "bob", "kept")
    data = await chat.ok("/msg/send_msg", {**TEXT, "isOnlineOnly": True}, as_="admin")
    assert data["serverMsgID"]
    assert await chat.texts("bob", SI_AB) == ["kept"]
    assert (await chat.seqs("bob", SI_AB) or {})["maxSeq"] == 1


async def test_send_msg_is_admin_only(api: Api) -> None:
    """A user token, even the sender's own, gets 1002 and nothing is stored."""
    chat = await open_chat(api, "alice", "bob")
    result = await chat.post("/msg/send_msg", TEXT, as_="alice")
    assert result["errCode"] == 1002 and "data" not in result
    assert await chat.seqs("bob", SI_AB) is None


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"sendID": ""}, "sendID"),
        ({"content": None}, "content"),
        ({"content": "hi"}, "content"),
        ({"contentType": 0}, "contentType"),
        ({"sessionType": 0}, "sessionType"),
        ({"recvID": ""}, "recvID"),
        ({"contentType": 108}, "unsupported content type"),
        ({"content": {"text": "no content key"}}, "content"),
        ({"contentType": 103, "content": {"sourceUrl": "http://s", "duration": 0}}, "duration"),
        ({"contentType": 102, "content": {"sourcePicture": {"type": "png"}}}, "sourcePicture"),
        ({"contentType": 110, "content": {"description": "no data"}}, "data"),
        ({"sendTime": "1"}, "sendTime"),
        ({"isOnlineOnly": 1}, "isOnlineOnly"),
    ],
)
async def test_send_msg_bad_bodies_are_1001(api: Api, change: dict[str, Any], needle: str) -> None:
    """Missing required fields, unsupported content types, invalid content and wrong types are 1001."""
    chat = await open_chat(api, "alice", "bob")
    result = await chat.post("/msg/send_msg", {**TEXT, **change}, as_="admin")
    assert result["errCode"] == 1001, result
    assert needle in result["errDlt"], result
    assert await chat.seqs("bob", SI_AB) is None


async def test_send_msg_malformed_json_is_1001(api: Api) -> None:
    """A body that is not JSON is 1001 too."""
    chat = await open_chat(api, "alice", "bob")
    result = await api.post("/msg/send_msg", raw=b'{"sendID": ', token=chat.admin)
    assert result["errCode"] == 1001


async def test_send_msg_service_rules_apply(api: Api) -> None:
    """The send path's own checks run: an unknown receiver is refused and a group send needs membership."""
    chat = await open_chat(api, "alice", "bob", "carol")
    unknown = await chat.post("/msg/send_msg", {**TEXT, "recvID": "nobody"}, as_="admin")
    assert unknown["errCode"] != 0
    await make_group(api.runtime.storage, "g1", "alice", ["bob"], now=api.runtime.clock.now_ms())
    body = {**TEXT, "sendID": "carol", "recvID": "", "groupID": "g1", "sessionType": 3}
    outsider = await chat.post("/msg/send_msg", body, as_="admin")
    assert outsider["errCode"] == 1203


# --- check_msg_is_send_success, get_server_time ------------------------------------------------------------


async def test_check_msg_is_send_success_by_operation_id(api: Api) -> None:
    """The status is looked up under the request's operationID: 2 after a send, 3 after a failed one, else 0."""
    chat = await open_chat(api, "alice", "bob")
    await chat.send("alice", "bob", op="send-op-1")  # sent by the admin (send_msg is admin only)
    assert await chat.ok("/msg/check_msg_is_send_success", {}, as_="admin", op="send-op-1") == {"status": 2}
    failed = await chat.post("/msg/send_msg", {**TEXT, "recvID": "nobody"}, as_="admin", op="send-op-2")
    assert failed["errCode"] != 0
    assert await chat.ok("/msg/check_msg_is_send_success", {}, as_="admin", op="send-op-2") == {"status": 3}
    assert await chat.ok("/msg/check_msg_is_send_success", {}, as_="admin", op="never-used") == {"status": 0}


async def test_check_msg_is_send_success_is_the_callers_own(api: Api) -> None:
    """A user reads the status of its own sends only: another user's operationID reads 0 (OpenIM: anyone's)."""
    chat = await open_chat(api, "alice", "bob")
    caller = await api.runtime.services.auth.authenticate(chat.tokens["alice"])
    msg = sdkws_pb2.MsgData(
        sendID="alice", recvID="bob", senderPlatformID=5, sessionType=1, contentType=101, content=b'{"content":"x"}'
    )
    msg.clientMsgID = "c-own-1"
    await api.runtime.services.msg.send(caller, msg, operation_id="own-op")  # as over the gateway (1003)
    assert await chat.ok("/msg/check_msg_is_send_success", {}, as_="alice", op="own-op") == {"status": 2}
    assert await chat.ok("/msg/check_msg_is_send_success", {}, as_="bob", op="own-op") == {"status": 0}
    assert await chat.ok("/msg/check_msg_is_send_success", {}, as_="admin", op="own-op") == {"status": 2}


async def test_get_server_time(api: Api) -> None:
    """serverTime is the server clock in milliseconds."""
    chat = await open_chat(api, "alice")
    assert await chat.ok("/msg/get_server_time", {}, as_="alice") == {"serverTime": api.runtime.clock.now_ms()}


# --- seqs and pulls -----------------------------------------------------------------------------------------


async def test_newest_seq(api: Api) -> None:
    """maxSeqs lists the user's conversations with their newest seq; minSeqs is null."""
    chat = await open_chat(api, "alice", "bob", "carol")
    await chat.send("alice", "bob", "1")
    await chat.send("bob", "alice", "2")
    await chat.send("alice", "carol", "3")
    data = await chat.ok("/msg/newest_seq", {"userID": "bob"}, as_="bob")
    assert data == {"maxSeqs": {SI_AB: 2}, "minSeqs": None}


async def test_pull_notification_conversations_answer_in_notification_msgs(api: Api) -> None:
    """A revoke's 2101 tips land in the `n_` conversation, which pulls under notificationMsgs."""
    chat = await open_chat(api, "alice", "bob")
    await chat.send("alice", "bob")
    await chat.ok("/msg/revoke_msg", {"conversationID": SI_AB, "seq": 1, "userID": "alice"}, as_="alice")
    ranges = [{"conversationID": "n_alice_bob", "begin": 1, "end": 10, "num": 10}]
    data = await chat.ok("/msg/pull_msg_by_seq", {"userID": "bob", "seqRanges": ranges}, as_="bob")
    assert data["msgs"] is None
    (tip,) = data["notificationMsgs"]["n_alice_bob"]["Msgs"]
    assert tip["contentType"] == 2101


async def test_get_conversations_has_read_and_max_seq(api: Api) -> None:
    """Per conversation: maxSeq, the user's hasReadSeq and the newest message's time; pinned IDs on request."""
    chat = await open_chat(api, "alice", "bob")
    await chat.send("alice", "bob")
    await chat.send("alice", "bob")
    body = {"userID": "bob", "conversationIDs": [], "returnPinned": True}
    data = await chat.ok("/msg/get_conversations_has_read_and_max_seq", body, as_="bob")
    assert data == {
        "seqs": {SI_AB: {"maxSeq": 2, "hasReadSeq": 0, "maxSeqTime": api.runtime.clock.now_ms()}},
        "pinnedConversationIDs": None,
    }
    alice = await chat.seqs("alice", SI_AB)
    assert alice is not None and alice["hasReadSeq"] == 2  # a sender has read its own messages


async def test_others_cannot_read_a_conversation(api: Api) -> None:
    """Carol cannot pull or list A–B as herself (left out) nor as bob (1002)."""
    chat = await open_chat(api, "alice", "bob", "carol")
    await chat.send("alice", "bob")
    assert await chat.pull("carol", SI_AB) == []
    assert await chat.seqs("carol", SI_AB) is None
    ranges = [{"conversationID": SI_AB, "begin": 1, "end": 10, "num": 10}]
    for path, body in [
        ("/msg/pull_msg_by_seq", {"userID": "bob", "seqRanges": ranges}),
        ("/msg/newest_seq", {"userID": "bob"}),
        ("/msg/get_conversations_has_read_and_max_seq", {"userID": "bob"}),
    ]:
        result = await chat.post(path, body, as_="carol")
        assert result["errCode"] == 1002 and "data" not in result, path


# --- read positions -----------------------------------------------------------------------------------------


async def test_mark_conversation_as_read(api: Api) -> None:
    """The trace's call raises bob's hasReadSeq and answers the bare envelope."""
    chat = await open_chat(api, "alice", "bob")
    await chat.send("alice", "bob")
    body = {"conversationID": SI_AB, "seqs": [1], "hasReadSeq": 1, "userID": "bob"}
    result = await chat.post("/msg/mark_conversation_as_read", body, as_="bob")
    assert result == {"errCode": 0, "errMsg": "", "errDlt": ""}
    assert (await chat.seqs("bob", SI_AB) or {})["hasReadSeq"] == 1
    (msg,) = await chat.pull("alice", SI_AB)
    assert msg["isRead"] is True


async def test_mark_msgs_as_read(api: Api) -> None:
    """Marking seqs read raises hasReadSeq to the newest of them; a seq past maxSeq is 1001."""
    chat = await open_chat(api, "alice", "bob")
    await chat.send("alice", "bob")
    await chat.send("alice", "bob")
    await chat.ok("/msg/mark_msgs_as_read", {"conversationID": SI_AB, "seqs": [2], "userID": "bob"}, as_="bob")
    assert (await chat.seqs("bob", SI_AB) or {})["hasReadSeq"] == 2
    too_far = await chat.post(
        "/msg/mark_msgs_as_read", {"conversationID": SI_AB, "seqs": [3], "userID": "bob"}, as_="bob"
    )
    assert too_far["errCode"] == 1001


async def test_set_conversation_has_read_seq(api: Api) -> None:
    """The read position is set directly, also downwards; beyond maxSeq or below 1 is 1001."""
    chat = await open_chat(api, "alice", "bob")
    for _ in range(3):
        await chat.send("alice", "bob")
    path = "/msg/set_conversation_has_read_seq"
    await chat.ok(path, {"conversationID": SI_AB, "userID": "bob", "hasReadSeq": 3}, as_="bob")
    await chat.ok(path, {"conversationID": SI_AB, "userID": "bob", "hasReadSeq": 2}, as_="bob")
    assert (await chat.seqs("bob", SI_AB) or {})["hasReadSeq"] == 2
    for seq in (4, 0):
        result = await chat.post(path, {"conversationID": SI_AB, "userID": "bob", "hasReadSeq": seq}, as_="bob")
        assert result["errCode"] == 1001, seq


async def test_others_cannot_mark_read(api: Api) -> None:
    """Carol cannot move bob's read position (1002), nor mark A–B read as herself (no row: 1004)."""
    chat = await open_chat(api, "alice", "bob", "carol")
    await chat.send("alice", "bob")
    calls: list[tuple[str, dict[str, Any]]] = [
        ("/msg/mark_msgs_as_read", {"conversationID": SI_AB, "seqs": [1]}),
        ("/msg/mark_conversation_as_read", {"conversationID": SI_AB, "hasReadSeq": 1}),
        ("/msg/set_conversation_has_read_seq", {"conversationID": SI_AB, "hasReadSeq": 1}),
    ]
    for path, body in calls:
        as_bob = await chat.post(path, {**body, "userID": "bob"}, as_="carol")
        assert as_bob["errCode"] == 1002, path
        as_herself = await chat.post(path, {**body, "userID": "carol"}, as_="carol")
        assert as_herself["errCode"] == 1004, path
    assert (await chat.seqs("bob", SI_AB) or {})["hasReadSeq"] == 0
    (msg,) = await chat.pull("alice", SI_AB)
    assert msg["isRead"] is False


# --- revoke -------------------------------------------------------------------------------------------------


async def test_revoke_msg(api: Api) -> None:
    """The sender revokes once: the pull shows a 2101 revoked message; the second revoke is 1404."""
    chat = await open_chat(api, "alice", "bob")
    await chat.send("alice", "bob", "oops")
    body = {"conversationID": SI_AB, "seq": 1, "userID": "alice"}
    assert await chat.post("/msg/revoke_msg", body, as_="alice") == {"errCode": 0, "errMsg": "", "errDlt": ""}
    (msg,) = await chat.pull("bob", SI_AB)
    assert msg["contentType"] == 2101 and "oops" not in str(content_of(msg))
    again = await chat.post("/msg/revoke_msg", body, as_="alice")
    assert again["errCode"] == 1404


async def test_revoke_rules(api: Api) -> None:
    """The receiver may not revoke a single-chat message; carol may not revoke as herself or as alice."""
    chat = await open_chat(api, "alice", "bob", "carol")
    await chat.send("alice", "bob", "mine")
    by_bob = await chat.post("/msg/revoke_msg", {"conversationID": SI_AB, "seq": 1, "userID": "bob"}, as_="bob")
    assert by_bob["errCode"] == 1002
    as_alice = await chat.post("/msg/revoke_msg", {"conversationID": SI_AB, "seq": 1, "userID": "alice"}, as_="carol")
    assert as_alice["errCode"] == 1002
    herself = await chat.post("/msg/revoke_msg", {"conversationID": SI_AB, "seq": 1, "userID": "carol"}, as_="carol")
    assert herself["errCode"] == 1002
    missing = await chat.post("/msg/revoke_msg", {"conversationID": SI_AB, "seq": 9, "userID": "alice"}, as_="alice")
    assert missing["errCode"] == 1004
    assert await chat.texts("bob", SI_AB) == ["mine"]


async def test_revoke_bad_bodies_are_1001(api: Api) -> None:
    """A quoted seq, a seq of 0 and a missing conversationID are 1001."""
    chat = await open_chat(api, "alice", "bob")
    await chat.send("alice", "bob")
    for body in (
        {"conversationID": SI_AB, "seq": "1", "userID": "alice"},
        {"conversationID": SI_AB, "seq": 0, "userID": "alice"},
        {"seq": 1, "userID": "alice"},
    ):
        result = await chat.post("/msg/revoke_msg", body, as_="alice")
        assert result["errCode"] == 1001, body
    assert await chat.texts("bob", SI_AB) == ["hi"]


# --- deletes and clears -------------------------------------------------------------------------------------


async def test_delete_msgs_for_self_and_for_everyone(api: Api) -> None:
    """A delete hides messages from the deleter only; with IsSyncOther from both sides."""
    chat = await open_chat(api, "alice", "bob")
    for text in ("1", "2", "3"):
        await chat.send("alice", "bob", text)
    await chat.ok("/msg/delete_msgs", {"conversationID": SI_AB, "seqs": [1], "userID": "bob"}, as_="bob")
    assert await chat.texts("bob", SI_AB) == ["", "2", "3"]
    assert await chat.texts("alice", SI_AB) == ["1", "2", "3"]
    body = {"conversationID": SI_AB, "seqs": [2], "userID": "bob", "deleteSyncOpt": {"IsSyncOther": True}}
    await chat.ok("/msg/delete_msgs", body, as_="bob")
    assert await chat.texts("alice", SI_AB) == ["1", "", "3"]
    statuses = [m["status"] for m in await chat.pull("bob", SI_AB)]
    assert statuses == [4, 4, 2]


async def test_clear_conversation_msg(api: Api) -> None:
    """Clearing hides the history from the user only and moves its read position to the end."""
    chat = await open_chat(api, "alice", "bob")
    await chat.send("alice", "bob", "old")
    await chat.ok("/msg/clear_conversation_msg", {"conversationIDs": [SI_AB], "userID": "bob"}, as_="bob")
    assert [m for m in await chat.pull("bob", SI_AB) if m["status"] != 4] == []
    assert (await chat.seqs("bob", SI_AB) or {})["hasReadSeq"] == 1
    assert await chat.texts("alice", SI_AB) == ["old"]
    await chat.send("alice", "bob", "new")
    assert [content_of(m)["content"] for m in await chat.pull("bob", SI_AB) if m["status"] != 4] == ["new"]


async def test_user_clear_all_msg(api: Api) -> None:
    """Clearing all hides every conversation's history from the user, and from everyone with IsSyncOther."""
    chat = await open_chat(api, "alice", "bob", "carol")
    await chat.send("alice", "bob", "ab")
    await chat.send("carol", "bob", "cb")
    body = {"userID": "bob", "deleteSyncOpt": {"IsSyncSelf": True, "IsSyncOther": True}}
    await chat.ok("/msg/user_clear_all_msg", body, as_="bob")
    for user, cid in (("bob", SI_AB), ("alice", SI_AB), ("bob", "si_bob_carol"), ("carol", "si_bob_carol")):
        assert [m for m in await chat.pull(user, cid) if m["status"] != 4] == [], (user, cid)


async def test_others_cannot_delete_or_clear(api: Api) -> None:
    """Carol cannot delete or clear bob's messages (1002) and clearing her own non-rows changes nothing."""
    chat = await open_chat(api, "alice", "bob", "carol")
    await chat.send("alice", "bob", "stay")
    sync_other = {"IsSyncSelf": True, "IsSyncOther": True}
    calls: list[tuple[str, dict[str, Any]]] = [
        ("/msg/delete_msgs", {"conversationID": SI_AB, "seqs": [1], "deleteSyncOpt": sync_other}),
        ("/msg/clear_conversation_msg", {"conversationIDs": [SI_AB], "deleteSyncOpt": sync_other}),
        ("/msg/user_clear_all_msg", {"deleteSyncOpt": sync_other}),
    ]
    for path, body in calls:
        result = await chat.post(path, {**body, "userID": "bob"}, as_="carol")
        assert result["errCode"] == 1002, path
    as_herself = await chat.post("/msg/delete_msgs", {**calls[0][1], "userID": "carol"}, as_="carol")
    assert as_herself["errCode"] == 1004
    await chat.ok("/msg/clear_conversation_msg", {**calls[1][1], "userID": "carol"}, as_="carol")
    await chat.ok("/msg/user_clear_all_msg", {**calls[2][1], "userID": "carol"}, as_="carol")
    assert await chat.texts("bob", SI_AB) == ["stay"]
    assert await chat.texts("alice", SI_AB) == ["stay"]


async def test_delete_msg_physical_by_seq_is_admin_only(api: Api) -> None:
    """Users get 1002 from the (misspelt) route; the admin deletes for everyone."""
    chat = await open_chat(api, "alice", "bob")
    await chat.send("alice", "bob", "1")
    await chat.send("alice", "bob", "2")
    body = {"conversationID": SI_AB, "seqs": [1]}
    for user in ("alice", "bob"):
        assert (await chat.post("/msg/delete_msg_phsical_by_seq", body, as_=user))["errCode"] == 1002
    assert await chat.texts("bob", SI_AB) == ["1", "2"]
    await chat.ok("/msg/delete_msg_phsical_by_seq", body, as_="admin")
    assert await chat.texts("alice", SI_AB) == ["", "2"]
    assert await chat.texts("bob", SI_AB) == ["", "2"]


async def test_delete_msg_physical_is_admin_only(api: Api, clock: FakeClock) -> None:
    """Users get 1002; the admin removes, in the listed conversations only, the messages sent before `timestamp`
    (Unix seconds, as OpenIM's now_s − (now_s − timestamp) works out); other conversations keep theirs."""
    chat = await open_chat(api, "alice", "bob", "carol")
    await chat.send("alice", "bob", "old")
    await chat.send("alice", "carol", "old")
    clock.advance(120)
    body = {"conversationIDs": [SI_AB], "timestamp": clock.now_s() - 60}
    assert (await chat.post("/msg/delete_msg_physical", body, as_="alice"))["errCode"] == 1002
    assert await chat.texts("bob", SI_AB) == ["old"]
    await chat.send("alice", "bob", "new")
    await chat.ok("/msg/delete_msg_physical", body, as_="admin")
    assert [content_of(m)["content"] for m in await chat.pull("bob", SI_AB) if m["status"] != 4] == ["new"]
    assert await chat.texts("carol", "si_alice_carol") == ["old"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, "conversationIDs is empty"),
        ({"timestamp": 1_767_225_600}, "conversationIDs is empty"),
        ({"conversationIDs": [], "timestamp": 1_767_225_600}, "conversationIDs is empty"),
        ({"conversationIDs": [SI_AB]}, "Unix time in seconds"),
        ({"conversationIDs": [SI_AB], "timestamp": 0}, "Unix time in seconds"),
        ({"conversationIDs": [SI_AB], "timestamp": -86400}, "Unix time in seconds"),
        ({"conversationIDs": [SI_AB], "timestamp": 1_767_225_700_000}, "not milliseconds"),
        ({"conversationIDs": [SI_AB], "timestamp": 9_300_000_000_000_000}, "not milliseconds"),
        ({"conversationIDs": [SI_AB], "timestamp": 2**63 - 1}, "not milliseconds"),
        ({"conversationIDs": [SI_AB], "timestamp": 2**63}, "timestamp"),
        ({"conversationIDs": [SI_AB], "timestamp": -(2**63)}, "Unix time in seconds"),
        ({"conversationIDs": [f"si_{i}" for i in range(1001)], "timestamp": 1_767_225_600}, "at most 1000"),
    ],
)
async def test_delete_msg_physical_without_a_cut_off_deletes_nothing(
    api: Api, clock: FakeClock, body: dict[str, Any], says: str
) -> None:
    """No conversationIDs, or a timestamp missing, zero, negative, in milliseconds or overflowing: 1001 with an
    errDlt that says what is expected, and every message stays."""
    chat = await open_chat(api, "alice", "bob")
    await chat.send("alice", "bob", "keep")
    clock.advance(3600)
    await chat.send("bob", "alice", "me too")
    answer = await chat.post("/msg/delete_msg_physical", body, as_="admin")
    assert answer["errCode"] == 1001 and says in answer["errDlt"], answer
    assert await chat.texts("bob", SI_AB) == ["keep", "me too"]
    assert (await api.runtime.storage.msg.seq_states([SI_AB]))[SI_AB].min_seq <= 1


# --- group conversations ------------------------------------------------------------------------------------


async def test_group_outsider_is_kept_out(api: Api) -> None:
    """A non-member cannot pull, mark read, revoke or delete in a group; members read and the owner revokes."""
    chat = await open_chat(api, "alice", "bob", "carol")
    await make_group(api.runtime.storage, "g1", "alice", ["bob"], now=api.runtime.clock.now_ms())
    await chat.send("bob", group_id="g1", text="to the group")
    assert await chat.texts("alice", "sg_g1") == ["to the group"]
    assert await chat.pull("carol", "sg_g1") == []
    read = {"conversationID": "sg_g1", "hasReadSeq": 1, "userID": "carol"}
    assert (await chat.post("/msg/mark_conversation_as_read", read, as_="carol"))["errCode"] == 1004
    revoke = {"conversationID": "sg_g1", "seq": 1, "userID": "carol"}
    assert (await chat.post("/msg/revoke_msg", revoke, as_="carol"))["errCode"] == 1002
    delete = {"conversationID": "sg_g1", "seqs": [1], "userID": "carol", "deleteSyncOpt": {"IsSyncOther": True}}
    assert (await chat.post("/msg/delete_msgs", delete, as_="carol"))["errCode"] == 1004
    assert await chat.texts("bob", "sg_g1") == ["to the group"]
    await chat.ok("/msg/revoke_msg", {"conversationID": "sg_g1", "seq": 1, "userID": "alice"}, as_="alice")
    (msg,) = await chat.pull("bob", "sg_g1")
    assert msg["contentType"] == 2101


@pytest.mark.redis
async def test_send_status_is_shared_through_redis(db_url: str, redis_url: str, clock: FakeClock) -> None:
    """With redis.url, a check answered by another API process finds the send (OpenIM keeps it in Redis too)."""
    settings = Settings.model_validate({"database": {"url": db_url}, "redis": {"url": redis_url}})
    first, second = await Runtime.build(settings, clock=clock), await Runtime.build(settings, clock=clock)
    try:
        apis = []
        for rt in (first, second):
            http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(rt.services)), base_url="http://t")
            apis.append(Api(http, rt))
        chat = await open_chat(apis[0], "alice", "bob")
        await chat.send("alice", "bob", op="shared-op")
        other = Chat(apis[1], chat.admin, chat.tokens)
        assert await other.ok("/msg/check_msg_is_send_success", {}, as_="admin", op="shared-op") == {"status": 2}
        assert await other.ok("/msg/check_msg_is_send_success", {}, as_="bob", op="shared-op") == {"status": 0}
        for api in apis:
            await api.http.aclose()
    finally:
        await first.close()
        await second.close()
