"""The message hooks through the REST API, against the test receiver: OpenIM's bodies field for field, a refusal
stops the send with the receiver's own error, beforeMsgModify rewrites what is stored, the after hooks arrive
with `?key=`, and the filters (notifications, typing, deniedTypes, attentionIds). SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.api.chat import SI_AB, content_of
from tests.factories import make_group
from tests.webhook_receiver import Reply, refuse
from tests.webhooks.conftest import MSG_HOOKS, Build, Hooked, enable

COMMON = {
    "sendID",
    "callbackCommand",
    "serverMsgID",
    "clientMsgID",
    "operationID",
    "senderPlatformID",
    "senderNickname",
    "sessionType",
    "msgFrom",
    "contentType",
    "status",
    "sendTime",
    "createTime",
    "content",
    "seq",
    "atUserList",
    "faceURL",
    "ex",
}
BEFORE_SINGLE = "callbackBeforeSendSingleMsgCommand"
AFTER_SINGLE = "callbackAfterSendSingleMsgCommand"
MODIFY = "callbackBeforeMsgModifyCommand"
SAVED = "callbackAfterMsgSaveDBCommand"


def text(send_id: str, recv_id: str, words: str, **extra: Any) -> dict[str, Any]:
    return {
        "sendID": send_id,
        "recvID": recv_id,
        "senderNickname": "Alice",
        "senderPlatformID": 5,
        "contentType": 101,
        "sessionType": 1,
        "content": {"content": words},
        **extra,
    }


async def test_single_chat_hooks_post_openims_bodies(hooked: Hooked) -> None:
    """beforeSendSingleMsg, beforeMsgModify, afterSendSingleMsg and afterMsgSaveDB fire once each, with
    CommonCallbackReq and their extra fields; the after ones carry ?key= and the stored seq."""
    chat = await hooked.chat("alice", "bob")
    sent = await chat.ok("/msg/send_msg", text("alice", "bob", "hello"), as_="admin", op="op-single")
    [before] = hooked.receiver.calls_of(BEFORE_SINGLE)
    assert set(before.body) == COMMON | {"recvID"}
    assert before.headers["operationid"] == "op-single"
    body = before.body
    assert (body["sendID"], body["recvID"], body["callbackCommand"]) == ("alice", "bob", BEFORE_SINGLE)
    assert (body["operationID"], body["contentType"], body["sessionType"], body["senderPlatformID"]) == (
        "op-single",
        101,
        1,
        5,
    )
    assert json.loads(body["content"]) == {"content": "hello"}
    assert (body["seq"], body["atUserList"], body["senderNickname"]) == (0, None, "Alice")
    assert body["serverMsgID"] == sent["serverMsgID"] and body["clientMsgID"] == sent["clientMsgID"]
    [modify] = hooked.receiver.calls_of(MODIFY)
    assert set(modify.body) == COMMON
    [after] = await hooked.receiver.wait_for(AFTER_SINGLE)
    assert set(after.body) == COMMON | {"recvID"} and after.body["seq"] == 1
    key = json.loads(base64.b64decode(after.query["key"]))
    assert key == {"sendID": "alice", "recvID": "bob", "groupID": ""}
    [saved] = await hooked.receiver.wait_for(SAVED)
    assert set(saved.body) == COMMON | {"recvID", "groupID"}
    assert (saved.body["recvID"], saved.body["groupID"], saved.body["seq"]) == ("bob", "", 1)
    assert "key" in saved.query


async def test_refusal_stops_the_send_with_the_receivers_error(hooked: Hooked) -> None:
    """beforeSendSingleMsg answering actionCode 0 / nextCode 1: the sender gets errCode/errMsg/errDlt, nothing
    is stored and no after hook fires."""
    chat = await hooked.chat("alice", "bob")
    hooked.receiver.answer(BEFORE_SINGLE, refuse(5001, "no spam here", "rule 7"))
    result = await chat.post("/msg/send_msg", text("alice", "bob", "buy spam"), as_="admin")
    assert (result["errCode"], result["errMsg"], result["errDlt"]) == (5001, "no spam here", "rule 7")
    assert await chat.pull("bob", SI_AB) == []
    assert hooked.receiver.calls_of(MODIFY) == []
    hooked.receiver.answer(BEFORE_SINGLE, {"actionCode": 0, "errCode": 0, "nextCode": 0})
    await chat.ok("/msg/send_msg", text("alice", "bob", "fine"), as_="admin")
    assert await chat.texts("bob", SI_AB) == ["fine"]


async def test_admin_senders_and_notifications_skip_before_send(hooked: Hooked) -> None:
    """OpenIM skips beforeSendSingleMsg for an admin sender (imAdmin) and for notification content."""
    chat = await hooked.chat("alice", "bob")
    await chat.ok("/msg/send_msg", text("imAdmin", "bob", "from the admin"), as_="admin")
    assert hooked.receiver.calls_of(BEFORE_SINGLE) == []
    assert len(hooked.receiver.calls_of(MODIFY)) == 1  # beforeMsgModify is not skipped for admins


async def test_before_msg_modify_rewrites_what_is_stored(hooked: Hooked) -> None:
    """beforeMsgModify's content and ex are stored and pulled; the REST answer's `modify` lists them."""
    chat = await hooked.chat("alice", "bob")
    hooked.receiver.answer(MODIFY, {"actionCode": 0, "content": json.dumps({"content": "d**n"}), "ex": "checked"})
    data = await chat.ok("/msg/send_msg", text("alice", "bob", "darn"), as_="admin")
    assert data["modify"]["content"] == json.dumps({"content": "d**n"}) and data["modify"]["ex"] == "checked"
    [pulled] = await chat.pull("bob", SI_AB)
    assert content_of(pulled) == {"content": "d**n"} and pulled["ex"] == "checked"
    [after] = await hooked.receiver.wait_for(AFTER_SINGLE)
    assert json.loads(after.body["content"]) == {"content": "d**n"}
    hooked.receiver.answer(MODIFY, {"actionCode": 0})
    plain = await chat.ok("/msg/send_msg", text("alice", "bob", "plain"), as_="admin")
    assert "modify" not in plain


async def test_before_msg_modify_content_must_be_json(hooked: Hooked) -> None:
    """A modified content that is not JSON fails the send with 1001 (OpenIM's check); a field of the wrong type
    is an answer that cannot be decoded: failedContinue (true) sends the message unchanged."""
    chat = await hooked.chat("alice", "bob")
    hooked.receiver.answer(MODIFY, {"content": "not json"})
    result = await chat.post("/msg/send_msg", text("alice", "bob", "x"), as_="admin")
    assert result["errCode"] == 1001 and "not json" in result["errDlt"]
    hooked.receiver.answer(MODIFY, {"content": 7})
    await chat.ok("/msg/send_msg", text("alice", "bob", "unchanged"), as_="admin")
    assert await chat.texts("bob", SI_AB) == ["unchanged"]


async def test_group_hooks(hooked: Hooked) -> None:
    """beforeSendGroupMsg carries groupID and can refuse; afterSendGroupMsg's key names the group."""
    chat = await hooked.chat("alice", "bob")
    await make_group(hooked.runtime.storage, "g1", "alice", ["bob"], now=1)
    await chat.ok("/msg/send_msg", {**text("alice", "", "hi all"), "groupID": "g1", "sessionType": 3}, as_="admin")
    [before] = hooked.receiver.calls_of("callbackBeforeSendGroupMsgCommand")
    assert set(before.body) == COMMON | {"groupID"} and before.body["groupID"] == "g1"
    [after] = await hooked.receiver.wait_for("callbackAfterSendGroupMsgCommand")
    assert set(after.body) == COMMON | {"groupID"}
    assert json.loads(base64.b64decode(after.query["key"])) == {"sendID": "alice", "recvID": "", "groupID": "g1"}
    [saved] = await hooked.receiver.wait_for(SAVED)
    assert (saved.body["groupID"], saved.body["recvID"]) == ("g1", "")
    hooked.receiver.answer("callbackBeforeSendGroupMsgCommand", refuse(6001, "group closed"))
    result = await chat.post(
        "/msg/send_msg", {**text("alice", "", "again"), "groupID": "g1", "sessionType": 3}, as_="admin"
    )
    assert (result["errCode"], result["errMsg"]) == (6001, "group closed")


async def test_filters(hooked_with: Build) -> None:
    """deniedTypes skips a content type; attentionIds keeps the after-send hook to the listed receivers;
    typing (113) fires nothing."""
    hooked = await hooked_with(
        **enable(
            *MSG_HOOKS,
            OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_DENIEDTYPES="110",
            OPENIM_WEBHOOKS_AFTERSENDSINGLEMSG_ATTENTIONIDS="carol",
        )
    )
    chat = await hooked.chat("alice", "bob", "carol")
    custom = {**text("alice", "bob", ""), "contentType": 110, "content": {"data": "{}"}}
    await chat.ok("/msg/send_msg", custom, as_="admin")
    assert hooked.receiver.calls_of(BEFORE_SINGLE) == []
    await chat.ok("/msg/send_msg", text("alice", "carol", "to carol"), as_="admin")
    assert len(hooked.receiver.calls_of(BEFORE_SINGLE)) == 1
    [after] = await hooked.receiver.wait_for(AFTER_SINGLE)
    assert after.body["recvID"] == "carol"
    await hooked.receiver.wait_for(SAVED, 2)
    assert len(hooked.receiver.calls_of(AFTER_SINGLE)) == 1  # bob is not in attentionIds


async def test_failed_continue_false_fails_the_send(hooked_with: Build) -> None:
    """beforeSendSingleMsg with failedContinue false and a receiver answering 502: the send fails with 90004;
    with true (the default) it goes through."""
    hooked = await hooked_with(
        **enable("beforeSendSingleMsg", OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_FAILEDCONTINUE="false")
    )
    chat = await hooked.chat("alice", "bob")
    hooked.receiver.answer(BEFORE_SINGLE, Reply(b"bad gateway", status=502))
    result = await chat.post("/msg/send_msg", text("alice", "bob", "x"), as_="admin")
    assert result["errCode"] == 90004
    assert await chat.pull("bob", SI_AB) == []
    lenient = await hooked_with(**enable("beforeSendSingleMsg"))
    lenient_chat = await lenient.chat("dave", "erin")
    await lenient_chat.ok("/msg/send_msg", text("dave", "erin", "through"), as_="admin")


async def test_after_hooks_are_not_fired_for_notifications(hooked: Hooked) -> None:
    """A friend/user notification stored by the server fires no message hook (content types 1000-5000)."""
    chat = await hooked.chat("alice", "bob")
    await chat.ok("/user/update_user_info", {"userInfo": {"userID": "alice", "nickname": "Al"}}, as_="alice")
    await hooked.api.runtime.services.msg.drain_jobs()
    commands = {c.command for c in hooked.receiver.calls}
    assert not commands & {BEFORE_SINGLE, MODIFY, AFTER_SINGLE, SAVED}


async def test_read_and_revoke_hooks(hooked: Hooked) -> None:
    """mark_msgs_as_read → afterSingleMsgRead {conversationID, userID, Seqs, contentType}; mark_conversation_as_read
    of a group → afterGroupMsgRead {sendID, receiveID, unreadMsgNum, contentType}; revoke → afterRevokeMsg (posted
    as callbackBeforeAfterMsgCommand) and, in a group, afterGroupMsgRevoke."""
    chat = await hooked.chat("alice", "bob")
    await chat.ok("/msg/send_msg", text("alice", "bob", "one"), as_="admin")
    await chat.ok("/msg/mark_msgs_as_read", {"conversationID": SI_AB, "userID": "bob", "seqs": [1]}, as_="bob")
    [read] = await hooked.receiver.wait_for("callbackAfterSingleMsgReadCommand")
    assert read.body == {
        "callbackCommand": "callbackAfterSingleMsgReadCommand",
        "conversationID": SI_AB,
        "userID": "bob",
        "Seqs": [1],
        "contentType": 1,
    }
    await make_group(hooked.runtime.storage, "g2", "alice", ["bob"], now=1)
    await chat.ok("/msg/send_msg", {**text("alice", "", "group"), "groupID": "g2", "sessionType": 3}, as_="admin")
    body = {"conversationID": "sg_g2", "userID": "bob", "hasReadSeq": 1}
    await chat.ok("/msg/mark_conversation_as_read", body, as_="bob")
    [group_read] = await hooked.receiver.wait_for("callbackAfterGroupMsgReadCommand")
    assert group_read.body == {
        "callbackCommand": "callbackAfterGroupMsgReadCommand",
        "sendID": "bob",
        "receiveID": "bob",
        "unreadMsgNum": 1,
        "contentType": 3,
    }
    await chat.ok("/msg/revoke_msg", {"conversationID": "sg_g2", "seq": 1, "userID": "alice"}, as_="alice")
    [revoked] = await hooked.receiver.wait_for("callbackBeforeAfterMsgCommand")
    assert revoked.body == {
        "callbackCommand": "callbackBeforeAfterMsgCommand",
        "conversationID": "sg_g2",
        "seq": 1,
        "userID": "alice",
    }
    [group_revoked] = await hooked.receiver.wait_for("callbackAfterGroupMsgRevokeCommand")
    assert group_revoked.body["conversationID"] == "sg_g2"


async def test_send_simple_msg_answers_through_the_key(hooked: Hooked) -> None:
    """A bot takes ?key= from afterSendSingleMsg and answers with /msg/send_simple_msg: a markdown text (118)
    from the receiver back to the sender, with the bot's token; another user's token gets 1002."""
    chat = await hooked.chat("alice", "bot", "mallory")
    await chat.ok("/msg/send_msg", text("alice", "bot", "help"), as_="admin")
    [after] = await hooked.receiver.wait_for(AFTER_SINGLE)
    key = after.query["key"]
    path = "/msg/send_simple_msg?key=" + key.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    data = await chat.ok(path, {"content": "**on it**"}, as_="bot")
    assert set(data) == {"serverMsgID", "clientMsgID", "sendTime"}
    [_question, answer] = await chat.pull("alice", SI_AB.replace("bob", "bot"))
    assert (answer["sendID"], answer["recvID"], answer["contentType"]) == ("bot", "alice", 118)
    assert (answer["senderPlatformID"], answer["msgFrom"], answer["senderNickname"]) == (10, 100, "nick-bot")
    assert content_of(answer) == {"content": "**on it**"}
    refused = await chat.post(path, {"content": "not me"}, as_="mallory")
    assert refused["errCode"] == 1002
    missing = await chat.post("/msg/send_simple_msg", {"content": "x"}, as_="bot")
    assert (missing["errCode"], missing["errDlt"]) == (1001, "missing key in query")
    bad = await chat.post("/msg/send_simple_msg?key=%%%", {"content": "x"}, as_="bot")
    assert bad["errCode"] == 1001
    empty = await chat.post(path, {"content": ""}, as_="bot")
    assert empty["errCode"] == 1001


async def test_send_simple_msg_into_a_group(hooked: Hooked) -> None:
    """A key naming a group sends into the group from the body's sendID."""
    chat = await hooked.chat("alice", "bot")
    await make_group(hooked.runtime.storage, "g3", "alice", ["bot"], now=1)
    await chat.ok("/msg/send_msg", {**text("alice", "", "hi bot"), "groupID": "g3", "sessionType": 3}, as_="admin")
    [after] = await hooked.receiver.wait_for("callbackAfterSendGroupMsgCommand")
    path = "/msg/send_simple_msg?key=" + after.query["key"].replace("+", "%2B").replace("=", "%3D")
    await chat.ok(path, {"sendID": "bot", "content": "hello group"}, as_="bot")
    texts = [content_of(m).get("content") for m in await chat.pull("alice", "sg_g3")]
    assert texts == ["hi bot", "hello group"]
    missing = await chat.post(path, {"content": "who?"}, as_="bot")
    assert (missing["errCode"], missing["errDlt"]) == (1001, "missing sendID")
