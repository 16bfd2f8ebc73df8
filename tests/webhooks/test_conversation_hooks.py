"""The conversation hooks through the REST API, against the test receiver: the first message of a conversation
fires before/afterCreate{Single,Group}ChatConversations with OpenIM's bodies (pkg/callbackstruct/conversation.go),
the before answer's settings land on the rows it created, a refusal leaves them at their defaults, later messages
fire nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

from tests.api.chat import SI_AB, Chat
from tests.factories import make_group
from tests.webhook_receiver import Reply, refuse
from tests.webhooks.conftest import CONVERSATION_HOOKS, Build, Hooked, enable

from openim.protocol.constants import OPT_IS_NOT_NOTIFICATION
from openim.protocol.pb.sdkws_pb2 import MsgData

BEFORE_SINGLE = "callbackBeforeCreateSingleChatConversationsCommand"
AFTER_SINGLE = "callbackAfterCreateSingleChatConversationsCommand"
BEFORE_GROUP = "callbackBeforeCreateGroupChatConversationsCommand"
AFTER_GROUP = "callbackAfterCreateGroupChatConversationsCommand"
DEFAULTS = {
    "recvMsgOpt": 0,
    "isPinned": False,
    "isPrivateChat": False,
    "burnDuration": 0,
    "groupAtType": 0,
    "attachedInfo": "",
    "ex": "",
}
SETTINGS = {
    "recvMsgOpt": 2,
    "isPinned": True,
    "isPrivateChat": True,
    "burnDuration": 30,
    "groupAtType": 1,
    "attachedInfo": "from the app",
    "ex": "vip",
}


def single(owner: str, peer: str, command: str, **settings: Any) -> dict[str, Any]:
    """OpenIM's single-chat conversation body, key for key and in its order."""
    head = {"callbackCommand": command, "ownerUserId": owner, "conversationId": SI_AB, "conversationType": 1}
    return head | {"userId": peer} | DEFAULTS | settings


async def settled(hooked: Hooked) -> None:
    """Until the conversation-hook tasks of every commit so far ended."""
    await hooked.runtime.services.msg.drain_jobs()


async def conversation(chat: Chat, owner: str, conversation_id: str) -> dict[str, Any]:
    data = await chat.ok(
        "/conversation/get_conversation", {"ownerUserID": owner, "conversationID": conversation_id}, as_=owner
    )
    found: dict[str, Any] = data["conversation"]
    return found


async def test_a_first_message_fires_the_single_chat_hooks_once_per_row(hooked_with: Build) -> None:
    """The sender's row, then the receiver's: one before and one after call each, OpenIM's keys in its order, the
    rows' default settings; the conversation's next message fires nothing."""
    hooked = await hooked_with(**enable(*CONVERSATION_HOOKS))
    chat = await hooked.chat("alice", "bob")
    await chat.send("alice", "bob", "first", op="op-first")
    await settled(hooked)
    befores = hooked.receiver.calls_of(BEFORE_SINGLE)
    assert [list(c.body.items()) for c in befores] == [
        list(single("alice", "bob", BEFORE_SINGLE).items()),
        list(single("bob", "alice", BEFORE_SINGLE).items()),
    ]
    assert {c.headers["operationid"] for c in befores} == {"op-first"}
    afters = await hooked.receiver.wait_for(AFTER_SINGLE, 2)
    assert [c.body for c in afters] == [single("alice", "bob", AFTER_SINGLE), single("bob", "alice", AFTER_SINGLE)]
    assert hooked.receiver.calls_of(BEFORE_GROUP) == []
    hooked.receiver.clear()
    await chat.send("bob", "alice", "second")
    await settled(hooked)
    assert hooked.receiver.calls_of(BEFORE_SINGLE) == []


async def test_the_before_answer_sets_the_rows_settings(hooked_with: Build) -> None:
    """Every setting the answer names is written on the row it was asked for (and only there); the after call
    carries them; absent or null fields keep the default."""
    hooked = await hooked_with(**enable(*CONVERSATION_HOOKS))
    chat = await hooked.chat("alice", "bob")
    hooked.receiver.answer(
        BEFORE_SINGLE,
        lambda call: {"actionCode": 0, **SETTINGS} if call.body["ownerUserId"] == "bob" else {"ex": None},
    )
    await chat.send("alice", "bob", "hello")
    await settled(hooked)
    bob = await conversation(chat, "bob", SI_AB)
    assert {k: bob[k] for k in SETTINGS} == SETTINGS
    alice = await conversation(chat, "alice", SI_AB)
    assert {k: alice[k] for k in DEFAULTS} == DEFAULTS
    afters = await hooked.receiver.wait_for(AFTER_SINGLE, 2)
    assert [c.body for c in afters] == [
        single("alice", "bob", AFTER_SINGLE),
        single("bob", "alice", AFTER_SINGLE, **SETTINGS),
    ]
    assert await chat.texts("bob", SI_AB) == ["hello"]


async def test_a_refusal_leaves_the_rows_at_their_defaults(hooked_with: Build) -> None:
    """A refused before call: the message is stored and the rows exist with the default settings; no after call
    for them."""
    hooked = await hooked_with(**enable(*CONVERSATION_HOOKS))
    chat = await hooked.chat("alice", "bob")
    hooked.receiver.answer(BEFORE_SINGLE, {**refuse(7001, "not now"), **SETTINGS})
    await chat.send("alice", "bob", "hello")
    await settled(hooked)
    assert len(hooked.receiver.calls_of(BEFORE_SINGLE)) == 2
    for owner in ("alice", "bob"):
        row = await conversation(chat, owner, SI_AB)
        assert {k: row[k] for k in DEFAULTS} == DEFAULTS
    assert await chat.texts("bob", SI_AB) == ["hello"]
    await hooked.runtime.services.msg.drain_jobs()
    assert hooked.receiver.calls_of(AFTER_SINGLE) == []


async def test_an_undecodable_answer_changes_nothing(hooked_with: Build) -> None:
    """isPinned "yes" cannot be decoded into OpenIM's *bool: a failed call; failedContinue (true) goes on with the
    defaults, and the after calls carry them."""
    hooked = await hooked_with(**enable(*CONVERSATION_HOOKS))
    chat = await hooked.chat("alice", "bob")
    hooked.receiver.answer(BEFORE_SINGLE, {"actionCode": 0, "isPinned": "yes", "ex": "vip"})
    await chat.send("alice", "bob", "hello")
    await settled(hooked)
    row = await conversation(chat, "bob", SI_AB)
    assert (row["isPinned"], row["ex"]) == (False, "")
    afters = await hooked.receiver.wait_for(AFTER_SINGLE, 2)
    assert [c.body["ex"] for c in afters] == ["", ""]


async def test_a_groups_first_message_fires_one_pair_for_every_member(hooked_with: Build) -> None:
    """One before call for the group — groupId, no owner (OpenIM's body) — whose settings go to every member's
    row, and one after call with them."""
    hooked = await hooked_with(**enable(*CONVERSATION_HOOKS))
    chat = await hooked.chat("alice", "bob", "carol")
    await make_group(hooked.runtime.storage, "g1", "alice", ["bob", "carol"], now=1)
    hooked.receiver.answer(BEFORE_GROUP, {"actionCode": 0, "groupAtType": 1, "attachedInfo": "team", "ex": "g"})
    await chat.send("alice", group_id="g1", text="hi all", op="op-group")
    await settled(hooked)
    [before] = hooked.receiver.calls_of(BEFORE_GROUP)
    head = {"callbackCommand": BEFORE_GROUP, "ownerUserId": "", "conversationId": "sg_g1", "conversationType": 3}
    assert list(before.body.items()) == list((head | {"groupId": "g1"} | DEFAULTS).items())
    assert before.headers["operationid"] == "op-group"
    changed = {"groupAtType": 1, "attachedInfo": "team", "ex": "g"}
    for member in ("alice", "bob", "carol"):
        row = await conversation(chat, member, "sg_g1")
        assert {k: row[k] for k in changed} == changed
        assert (row["isPinned"], row["recvMsgOpt"]) == (False, 0)
    [after] = await hooked.receiver.wait_for(AFTER_GROUP)
    assert after.body == head | {"callbackCommand": AFTER_GROUP, "groupId": "g1"} | DEFAULTS | changed
    assert hooked.receiver.calls_of(BEFORE_SINGLE) == []
    hooked.receiver.clear()
    await chat.send("bob", group_id="g1", text="again")
    await settled(hooked)
    assert hooked.receiver.calls_of(BEFORE_GROUP) == []


async def test_a_group_refusal_leaves_every_row_at_its_defaults(hooked_with: Build) -> None:
    hooked = await hooked_with(**enable(*CONVERSATION_HOOKS))
    chat = await hooked.chat("alice", "bob")
    await make_group(hooked.runtime.storage, "g2", "alice", ["bob"], now=1)
    hooked.receiver.answer(BEFORE_GROUP, {**refuse(7002), "ex": "never"})
    await chat.send("alice", group_id="g2", text="hi")
    await settled(hooked)
    for member in ("alice", "bob"):
        assert (await conversation(chat, member, "sg_g2"))["ex"] == ""
    assert await chat.texts("bob", "sg_g2") == ["hi"]
    assert hooked.receiver.calls_of(AFTER_GROUP) == []


async def test_the_send_does_not_wait_for_the_before_answer(hooked_with: Build) -> None:
    """The hooks are asked after the commit: a receiver taking 2 s per answer does not hold the sender, whose
    message is pushed and pullable at once; the settings arrive later."""
    hooked = await hooked_with(**enable(*CONVERSATION_HOOKS))
    chat = await hooked.chat("alice", "bob")
    hooked.receiver.answer(BEFORE_SINGLE, Reply({"actionCode": 0, "isPinned": True}, delay_s=2.0))
    started = time.monotonic()
    await chat.send("alice", "bob", "quick")
    assert time.monotonic() - started < 1.5
    assert await chat.texts("bob", SI_AB) == ["quick"]
    await settled(hooked)
    assert (await conversation(chat, "bob", SI_AB))["isPinned"] is True


async def test_a_notification_account_chat_fires_for_the_receivers_row(hooked_with: Build) -> None:
    """A notification-account chat (sessionType 4) makes the receiver's row only: one single-chat pair, the
    account as `userId` (OpenIM's NotificationChatType case)."""
    hooked = await hooked_with(**enable(*CONVERSATION_HOOKS))
    await hooked.chat("bob")
    msg = MsgData(sendID="news", recvID="bob", sessionType=4, contentType=1400, content=b'{"detail":"{}"}')
    msg.options[OPT_IS_NOT_NOTIFICATION] = True
    await hooked.runtime.services.msg.send_notification(msg, operation_id="op-oa")
    await settled(hooked)
    [before] = hooked.receiver.calls_of(BEFORE_SINGLE)
    head = {"callbackCommand": BEFORE_SINGLE, "ownerUserId": "bob", "conversationId": "sn_bob_news"}
    assert before.body == head | {"conversationType": 4, "userId": "news"} | DEFAULTS
    [after] = await hooked.receiver.wait_for(AFTER_SINGLE)
    assert (after.body["ownerUserId"], after.body["conversationType"]) == ("bob", 4)


async def test_hooks_off_post_nothing(hooked: Hooked) -> None:
    """The shipped settings (the conversation hooks off, the message hooks on): a first message posts no
    conversation hook."""
    chat = await hooked.chat("alice", "bob")
    await chat.send("alice", "bob", "hello")
    await settled(hooked)
    commands = {c.command for c in hooked.receiver.calls}
    assert not commands & {BEFORE_SINGLE, AFTER_SINGLE, BEFORE_GROUP, AFTER_GROUP}
    assert "callbackBeforeSendSingleMsgCommand" in commands
