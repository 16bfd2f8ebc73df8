"""Conversation IDs, message and version IDs and option flags are built as OpenIM builds them (docs/protocol/messages.md
§1-§2)."""

from __future__ import annotations

import re
import time

import pytest

from openim.protocol import ids
from openim.protocol.constants import OPT_HISTORY, OPT_IS_NOT_NOTIFICATION, SessionType
from openim.protocol.pb.sdkws_pb2 import MsgData


def test_single_conversation_id_sorts_the_pair() -> None:
    """`si_` + both user IDs sorted, whatever the order they are given in."""
    assert ids.single_conversation_id("bob", "alice") == "si_alice_bob"
    assert ids.single_conversation_id("alice", "bob") == "si_alice_bob"
    assert ids.single_conversation_id("u1", "u1") == "si_u1_u1"


def test_sort_is_bytewise() -> None:
    """The order is Go's byte-wise string order: upper case before lower case, UTF-8 by code point."""
    assert ids.single_conversation_id("a", "B") == "si_B_a"
    assert ids.single_conversation_id("é", "z") == "si_z_é"
    assert ids.single_conversation_id("10", "9") == "si_10_9"


def test_group_and_self_notification_ids() -> None:
    """Groups are `sg_<id>`; a user's own notification conversation is `n_<uid>_<uid>`."""
    assert ids.group_conversation_id("g1") == "sg_g1"
    assert ids.self_notification_conversation_id("bob") == "n_bob_bob"


@pytest.mark.parametrize(
    ("session_type", "send", "recv", "group", "chat", "notification"),
    [
        (SessionType.SINGLE_CHAT, "bob", "alice", "", "si_alice_bob", "n_alice_bob"),
        (SessionType.WRITE_GROUP_CHAT, "bob", "", "g1", "g_g1", "n_g1"),
        (SessionType.READ_GROUP_CHAT, "bob", "", "g1", "sg_g1", "n_g1"),
        (SessionType.NOTIFICATION_CHAT, "notice", "bob", "", "sn_bob_notice", "n_bob_notice"),
    ],
)
def test_conversation_of_a_message(
    session_type: int, send: str, recv: str, group: str, chat: str, notification: str
) -> None:
    """A message lands in its chat conversation unless isNotNotification is false, then in the `n_` one."""
    msg = MsgData(sendID=send, recvID=recv, groupID=group, sessionType=session_type)
    assert ids.chat_conversation_id(msg) == chat
    assert ids.notification_conversation_id(msg) == notification
    assert ids.conversation_id_of(msg) == chat  # no options: chat
    ids.set_options(msg, isNotNotification=True)
    assert ids.conversation_id_of(msg) == chat
    ids.set_options(msg, isNotNotification=False)
    assert ids.conversation_id_of(msg) == notification


def test_unknown_session_type_has_no_conversation() -> None:
    """A session type OpenIM does not know gives ""."""
    msg = MsgData(sendID="a", recvID="b", sessionType=9)
    assert ids.conversation_id_of(msg) == ""
    assert ids.notification_conversation_id(msg) == ""


@pytest.mark.parametrize(
    ("session_type", "given", "expected"),
    [
        (SessionType.SINGLE_CHAT, ("b", "a"), "si_a_b"),
        (SessionType.WRITE_GROUP_CHAT, ("g1",), "g_g1"),
        (SessionType.READ_GROUP_CHAT, ("g1",), "sg_g1"),
        (SessionType.NOTIFICATION_CHAT, ("n", "a"), "sn_a_n"),
        (SessionType.SINGLE_CHAT, (), ""),
        (SessionType.SINGLE_CHAT, ("a", "b", "c"), ""),
        (7, ("a",), ""),
    ],
)
def test_conversation_id_by_session_type(session_type: int, given: tuple[str, ...], expected: str) -> None:
    """As OpenIM's GetConversationIDBySessionType: one or two IDs, sorted; anything else is ""."""
    assert ids.conversation_id_by_session_type(session_type, *given) == expected


@pytest.mark.parametrize(
    ("cid", "twin"),
    [("si_a_b", "n_a_b"), ("sg_g1", "n_g1"), ("sn_x_y", "n_x_y"), ("g_g_1", "n_g_1"), ("n_a_b", "n_a_b"), ("abc", "")],
)
def test_notification_twin(cid: str, twin: str) -> None:
    """The prefix before the first `_` becomes `n`; an ID without `_` has no twin."""
    assert ids.notification_twin(cid) == twin


def test_kind_predicates() -> None:
    """`n_` IDs are notification conversations; `sg_` and `g_` are groups."""
    assert ids.is_notification_conversation_id("n_a_b")
    assert not ids.is_notification_conversation_id("sn_a_b")
    assert ids.is_group_conversation_id("sg_1") and ids.is_group_conversation_id("g_1")
    assert not ids.is_group_conversation_id("si_a_b")


def test_msg_ids_are_md5_hex() -> None:
    """serverMsgID and clientMsgID are 32 lower-case hex chars, different every time."""
    made = {ids.new_server_msg_id("u1") for _ in range(200)} | {ids.new_client_msg_id("u1") for _ in range(200)}
    assert len(made) == 400
    assert all(re.fullmatch(r"[0-9a-f]{32}", x) for x in made)


def test_version_ids_look_like_object_ids() -> None:
    """Version IDs are 24 hex chars whose first 4 bytes are the current Unix time, all distinct."""
    made = [ids.new_version_id() for _ in range(1000)]
    assert len(set(made)) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{24}", x) for x in made)
    assert abs(int(made[0][:8], 16) - time.time()) < 5


def test_option_absent_is_true() -> None:
    """An absent key, or no options at all, means true; an explicit false is false."""
    msg = MsgData()
    assert ids.option(msg, OPT_HISTORY)
    ids.set_options(msg, history=False, unreadCount=True)
    assert not ids.option(msg, OPT_HISTORY)
    assert ids.option(msg, "unreadCount")
    assert ids.option(msg, OPT_IS_NOT_NOTIFICATION)
    assert dict(msg.options) == {"history": False, "unreadCount": True}
