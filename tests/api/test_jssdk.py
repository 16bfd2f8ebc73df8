"""/jssdk routes over HTTP: the JS SDK's protobuf calls byte for byte as traced, JSON answers, caller scoping."""

from __future__ import annotations

import base64
from typing import Any

from tests.api.chat import Chat, open_chat
from tests.api.conftest import Api
from tests.factories import make_friend, make_group

from openim.infra.clock import FakeClock
from openim.protocol.pb import jssdk_pb2, sdkws_pb2
from openim.services.auth import Caller

PROTOBUF = {"Content-Type": "application/x-protobuf"}
SI = "si_userA_userB"
# The bodies the trace (client-sdk-login.md #21, #38, #54) shows the JS SDK sending, 9 and 23 bytes.
ACTIVE_A = bytes.fromhex("0a05") + b"userA" + bytes.fromhex("1014")
ACTIVE_B = bytes.fromhex("0a05") + b"userB" + bytes.fromhex("1014")
CONVERSATIONS_B = bytes.fromhex("0a05") + b"userB" + bytes.fromhex("120e") + SI.encode()
CREATE_TIME = 1795916065254


async def _trace_users(api: Api) -> Chat:
    """userA (Alice) and userB (Bob) registered as the trace's harness does, each with a Web token."""
    admin = await api.admin_token()
    users = [
        {"userID": "userA", "nickname": "Alice", "faceURL": ""},
        {"userID": "userB", "nickname": "Bob", "faceURL": ""},
    ]
    await api.ok("/user/user_register", {"users": users}, token=admin)
    return Chat(api, admin, {u: await api.user_token(u) for u in ("userA", "userB")})


async def _send_as_the_sdk(api: Api) -> None:
    """The trace's WS 1003 MsgData from userA to userB, sent through the msg service as the gateway does."""
    msg = sdkws_pb2.MsgData(
        sendID="userA",
        recvID="userB",
        clientMsgID="ed63bdae87f9dfc503d7c21e4d2f013f",
        senderPlatformID=5,
        senderNickname="Alice",
        sessionType=1,
        msgFrom=100,
        contentType=101,
        content=b'{"content":"hello from A"}',
        createTime=CREATE_TIME,
        status=1,
        offlinePushInfo=sdkws_pb2.OfflinePushInfo(
            title="you hava a new message.", desc="you hava a new message.", iOSBadgeCount=True
        ),
    )
    await api.runtime.services.msg.send(Caller("userA", 5), msg, operation_id="un1pouysf1795916065254")


async def _protobuf(chat: Chat, path: str, body: bytes, *, as_: str) -> dict[str, Any]:
    """The envelope of a protobuf call made as the JS SDK makes it."""
    return await chat.api.post(path, raw=body, token=chat.tokens[as_], headers=PROTOBUF)


def _decoded(result: dict[str, Any], cls: type[Any]) -> Any:
    assert result["errCode"] == 0 and result["errMsg"] == "" and result["errDlt"] == "", result
    assert isinstance(result["data"], str)
    return cls.FromString(base64.b64decode(result["data"], validate=True))


async def test_active_conversations_before_any_message_is_empty_data(api: Api) -> None:
    """#21/#38: the 9-byte request of a user without messages answers `data: ""` (an empty response)."""
    chat = await _trace_users(api)
    assert len(ACTIVE_A) == 9
    for user, body in (("userA", ACTIVE_A), ("userB", ACTIVE_B)):
        result = await _protobuf(chat, "/jssdk/get_active_conversations", body, as_=user)
        assert result == {"errCode": 0, "errMsg": "", "errDlt": "", "data": ""}


async def test_get_conversations_answers_the_traced_message(api: Api, clock: FakeClock) -> None:
    """#54: B's 23-byte request gets the conversation, A's message, A's profile, maxSeq 1 and unreadCount 1."""
    chat = await _trace_users(api)
    await _send_as_the_sdk(api)
    assert len(CONVERSATIONS_B) == 23
    resp = _decoded(
        await _protobuf(chat, "/jssdk/get_conversations", CONVERSATIONS_B, as_="userB"), jssdk_pb2.GetConversationsResp
    )
    assert resp.unreadCount == 1
    (item,) = resp.conversations
    assert [f.name for f, _ in item.ListFields()] == ["conversation", "lastMsg", "user", "maxSeq"]
    conv = item.conversation
    assert (conv.ownerUserID, conv.conversationID, conv.conversationType, conv.userID) == ("userB", SI, 1, "userA")
    last = item.lastMsg
    assert (last.sendID, last.recvID, last.clientMsgID) == ("userA", "userB", "ed63bdae87f9dfc503d7c21e4d2f013f")
    assert len(last.serverMsgID) == 32 and last.seq == 1 and last.status == 2
    assert last.sendTime == clock.now_ms() and last.createTime == CREATE_TIME
    assert last.content == b'{"content":"hello from A"}' and last.senderNickname == "Alice"
    assert last.offlinePushInfo.title == "you hava a new message." and last.offlinePushInfo.iOSBadgeCount
    assert (item.user.userID, item.user.nickname) == ("userA", "Alice")
    assert item.maxSeq == 1 and item.readSeq == 0


async def test_active_conversations_after_a_message(api: Api) -> None:
    """The sender's own list shows the conversation read (readSeq 1, unreadCount 0); the receiver's unread."""
    chat = await _trace_users(api)
    await _send_as_the_sdk(api)
    mine = _decoded(
        await _protobuf(chat, "/jssdk/get_active_conversations", ACTIVE_A, as_="userA"),
        jssdk_pb2.GetActiveConversationsResp,
    )
    assert mine.unreadCount == 0
    (item,) = mine.conversations
    assert item.conversation.ownerUserID == "userA" and item.readSeq == 1 and item.maxSeq == 1
    assert item.user.nickname == "Bob"
    theirs = _decoded(
        await _protobuf(chat, "/jssdk/get_active_conversations", ACTIVE_B, as_="userB"),
        jssdk_pb2.GetActiveConversationsResp,
    )
    assert theirs.unreadCount == 1 and theirs.conversations[0].readSeq == 0


async def test_reading_clears_the_unread_count(api: Api) -> None:
    """After #61's mark_conversation_as_read, B's list counts nothing unread."""
    chat = await _trace_users(api)
    await _send_as_the_sdk(api)
    body = {"conversationID": SI, "seqs": [1], "hasReadSeq": 1, "userID": "userB"}
    await chat.ok("/msg/mark_conversation_as_read", body, as_="userB")
    resp = _decoded(
        await _protobuf(chat, "/jssdk/get_conversations", CONVERSATIONS_B, as_="userB"), jssdk_pb2.GetConversationsResp
    )
    assert resp.unreadCount == 0 and resp.conversations[0].readSeq == 1


async def test_json_callers_get_the_go_shape(api: Api) -> None:
    """The same routes speak JSON too: every ConversationMsg field, nulls for friend and group, content base64."""
    chat = await _trace_users(api)
    await _send_as_the_sdk(api)
    data = await chat.ok("/jssdk/get_conversations", {"ownerUserID": "userB", "conversationIDs": [SI]}, as_="userB")
    assert data["unreadCount"] == 1
    (item,) = data["conversations"]
    assert set(item) == {f.name for f in jssdk_pb2.ConversationMsg.DESCRIPTOR.fields}
    assert item["friend"] is None and item["group"] is None and item["readSeq"] == 0 and item["maxSeq"] == 1
    assert base64.b64decode(item["lastMsg"]["content"]) == b'{"content":"hello from A"}'
    assert item["lastMsg"]["options"] is None
    assert item["user"]["nickname"] == "Alice" and item["conversation"]["conversationID"] == SI
    empty = await chat.ok("/jssdk/get_active_conversations", {"ownerUserID": "userB", "count": 0}, as_="admin")
    assert empty == {"unreadCount": 0, "conversations": None}


async def test_friend_and_group_details(api: Api, clock: FakeClock) -> None:
    """A friend's conversation carries the friendship; a group conversation carries the group instead of a user."""
    chat = await _trace_users(api)
    await make_friend(api.runtime.storage, "userB", "userA", now=clock.now_ms(), remark="A!")
    await _send_as_the_sdk(api)
    await make_group(api.runtime.storage, "g1", "userA", ["userB"], now=clock.now_ms(), name="Team")
    clock.advance(1)
    await chat.send("userA", group_id="g1", text="team")
    resp = _decoded(
        await _protobuf(chat, "/jssdk/get_active_conversations", ACTIVE_B, as_="userB"),
        jssdk_pb2.GetActiveConversationsResp,
    )
    group_item, single_item = resp.conversations
    assert group_item.conversation.conversationID == "sg_g1" and group_item.group.groupName == "Team"
    assert not group_item.HasField("user") and not group_item.HasField("friend")
    assert single_item.friend.friendUserID == "userA" and single_item.friend.remark == "A!"
    assert resp.unreadCount == 2


async def test_active_conversations_count_and_order(api: Api, clock: FakeClock) -> None:
    """Newest first, pinned before all, `count` caps the list; unreadCount still counts every conversation."""
    chat = await open_chat(api, "alice", "bob", "carol")
    await chat.send("alice", "bob", "1")
    clock.advance(1)
    await chat.send("carol", "bob", "2")
    body = {"ownerUserID": "bob", "count": 1}
    data = await chat.ok("/jssdk/get_active_conversations", body, as_="bob")
    assert [c["conversation"]["conversationID"] for c in data["conversations"]] == ["si_bob_carol"]
    assert data["unreadCount"] == 2
    pin = {"conversationID": "si_alice_bob", "conversationType": 1, "userID": "alice", "isPinned": True}
    await chat.ok("/conversation/set_conversations", {"userIDs": ["bob"], "conversation": pin}, as_="bob")
    data = await chat.ok("/jssdk/get_active_conversations", {"ownerUserID": "bob", "count": 0}, as_="bob")
    assert [c["conversation"]["conversationID"] for c in data["conversations"]] == ["si_alice_bob", "si_bob_carol"]


async def test_always_acts_for_the_caller(api: Api) -> None:
    """ownerUserID is ignored: carol asking as bob, or for A–B, sees only her own (no) conversations."""
    chat = await open_chat(api, "alice", "bob", "carol")
    await chat.send("alice", "bob", "secret")
    as_bob = await chat.ok("/jssdk/get_active_conversations", {"ownerUserID": "bob", "count": 10}, as_="carol")
    assert as_bob == {"unreadCount": 0, "conversations": None}
    body = jssdk_pb2.GetConversationsReq(ownerUserID="bob", conversationIDs=["si_alice_bob"]).SerializeToString()
    result = await chat.api.post("/jssdk/get_conversations", raw=body, token=chat.tokens["carol"], headers=PROTOBUF)
    assert result == {"errCode": 0, "errMsg": "", "errDlt": "", "data": ""}


async def test_bad_requests_are_1001(api: Api) -> None:
    """Broken protobuf, an unsupported Content-Type and mistyped JSON are 1001 in the JSON envelope."""
    chat = await _trace_users(api)
    broken = await _protobuf(chat, "/jssdk/get_conversations", CONVERSATIONS_B[:-3] + b"\xff", as_="userB")
    assert broken["errCode"] == 1001 and "data" not in broken
    truncated = await _protobuf(chat, "/jssdk/get_active_conversations", ACTIVE_B[:4], as_="userB")
    assert truncated["errCode"] == 1001
    text = await api.post(
        "/jssdk/get_active_conversations",
        raw=b"ownerUserID=userB",
        token=chat.tokens["userB"],
        headers={"Content-Type": "text/plain"},
    )
    assert text["errCode"] == 1001 and "content type" in text["errDlt"]
    mistyped = await chat.post("/jssdk/get_active_conversations", {"count": "20"}, as_="userB")
    assert mistyped["errCode"] == 1001
