"""Identifiers as OpenIM builds them: conversation IDs, message IDs, version IDs; and the `MsgData.options` flags.

Conversation IDs (docs/protocol/messages.md §1; OpenIM server
`pkg/msgprocessor/conversation.go`, `pkg/util/conversationutil`): user IDs are sorted byte-wise and joined by
`_`. Chat conversations are `si_<a>_<b>` (single), `sg_<group>` (group), `g_<group>` (legacy group),
`sn_<a>_<b>` (notification account); notifications live in the `n_` twin (`n_<a>_<b>`, `n_<group>`). A message
goes to the chat conversation unless its option `isNotNotification` is false.

Options: an absent key, or no map at all, means true (`option`).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import secrets
import time
from typing import Final

from openim.protocol.constants import OPT_IS_NOT_NOTIFICATION, SessionType
from openim.protocol.pb.sdkws_pb2 import MsgData

__all__ = [
    "chat_conversation_id",
    "conversation_id_by_session_type",
    "conversation_id_of",
    "group_conversation_id",
    "is_group_conversation_id",
    "is_notification_conversation_id",
    "new_client_msg_id",
    "new_server_msg_id",
    "new_version_id",
    "notification_conversation_id",
    "notification_twin",
    "option",
    "self_notification_conversation_id",
    "set_options",
    "single_conversation_id",
]

SINGLE_PREFIX: Final = "si_"
GROUP_PREFIX: Final = "sg_"
LEGACY_GROUP_PREFIX: Final = "g_"
NOTIFICATION_CHAT_PREFIX: Final = "sn_"
NOTIFICATION_PREFIX: Final = "n_"


def _pair(a: str, b: str) -> str:
    return f"{a}_{b}" if a <= b else f"{b}_{a}"  # code-point order = Go's byte-wise order of UTF-8


def single_conversation_id(a: str, b: str) -> str:
    """`si_` + the two user IDs sorted: the single chat between a and b."""
    return SINGLE_PREFIX + _pair(a, b)


def group_conversation_id(group_id: str) -> str:
    """`sg_<groupID>`: the conversation of a (read-diffusion) group."""
    return GROUP_PREFIX + group_id


def self_notification_conversation_id(user_id: str) -> str:
    """`n_<uid>_<uid>`: where notifications a user sends to themself (read receipts, deletes) go."""
    return f"{NOTIFICATION_PREFIX}{user_id}_{user_id}"


def conversation_id_by_session_type(session_type: int, *ids: str) -> str:
    """The chat conversation of a session type from one group ID or one/two user IDs; "" if none applies."""
    if not 1 <= len(ids) <= 2:
        return ""
    ordered = sorted(ids)
    if session_type == SessionType.SINGLE_CHAT:
        return SINGLE_PREFIX + "_".join(ordered)
    if session_type == SessionType.WRITE_GROUP_CHAT:
        return LEGACY_GROUP_PREFIX + ordered[0]
    if session_type == SessionType.READ_GROUP_CHAT:
        return GROUP_PREFIX + ordered[0]
    if session_type == SessionType.NOTIFICATION_CHAT:
        return NOTIFICATION_CHAT_PREFIX + "_".join(ordered)
    return ""


def chat_conversation_id(msg: MsgData) -> str:
    """The chat conversation of a message by its session type (si_/g_/sg_/sn_); "" for an unknown type."""
    st = msg.sessionType
    if st == SessionType.SINGLE_CHAT:
        return SINGLE_PREFIX + _pair(msg.sendID, msg.recvID)
    if st == SessionType.WRITE_GROUP_CHAT:
        return LEGACY_GROUP_PREFIX + msg.groupID
    if st == SessionType.READ_GROUP_CHAT:
        return GROUP_PREFIX + msg.groupID
    if st == SessionType.NOTIFICATION_CHAT:
        return NOTIFICATION_CHAT_PREFIX + _pair(msg.sendID, msg.recvID)
    return ""


def notification_conversation_id(msg: MsgData) -> str:
    """The `n_` conversation of a message: `n_<a>_<b>` (single and notification chats), `n_<groupID>` (groups)."""
    st = msg.sessionType
    if st in (SessionType.SINGLE_CHAT, SessionType.NOTIFICATION_CHAT):
        return NOTIFICATION_PREFIX + _pair(msg.sendID, msg.recvID)
    if st in (SessionType.WRITE_GROUP_CHAT, SessionType.READ_GROUP_CHAT):
        return NOTIFICATION_PREFIX + msg.groupID
    return ""


def conversation_id_of(msg: MsgData) -> str:
    """Where a message is stored and pushed: the `n_` conversation if `isNotNotification` is false, else the chat."""
    if option(msg, OPT_IS_NOT_NOTIFICATION):
        return chat_conversation_id(msg)
    return notification_conversation_id(msg)


def notification_twin(conversation_id: str) -> str:
    """The `n_` twin of a conversation ID: the prefix before the first `_` becomes `n`; "" if there is no `_`."""
    _, sep, rest = conversation_id.partition("_")
    return f"n_{rest}" if sep else ""


def is_notification_conversation_id(conversation_id: str) -> bool:
    """True for `n_` conversations (they go to `notificationMsgs` in pull and push replies)."""
    return conversation_id.startswith(NOTIFICATION_PREFIX)


def is_group_conversation_id(conversation_id: str) -> bool:
    """True for group chat conversations (`sg_`, or the legacy `g_`)."""
    return conversation_id.startswith((GROUP_PREFIX, LEGACY_GROUP_PREFIX))


# --- message and version IDs ------------------------------------------------------------------------------


def _md5_hex(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def new_server_msg_id(send_id: str) -> str:
    """A serverMsgID as OpenIM makes one: MD5 hex (32 chars) of time, sender and a random number."""
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    return _md5_hex(f"{now}.{time.time_ns() % 1_000_000_000}-{send_id}-{secrets.randbits(63)}")


def new_client_msg_id(send_id: str = "") -> str:
    """A clientMsgID for server-made messages (notifications): MD5 hex (32 chars), as OpenIM's GetMsgIDByMD5."""
    return _md5_hex(f"{time.time_ns()}{send_id}{secrets.randbits(63)}")


_OID_RANDOM: Final = os.urandom(5)
_oid_counter = itertools.count(secrets.randbits(24))


def new_version_id() -> str:
    """A version-log ID: 24 hex chars shaped like the MongoDB ObjectID OpenIM uses (time, process random, counter)."""
    counter = next(_oid_counter) & 0xFFFFFF
    raw = int(time.time()).to_bytes(4, "big") + _OID_RANDOM + counter.to_bytes(3, "big")
    return raw.hex()


# --- options ----------------------------------------------------------------------------------------------


def option(msg: MsgData, key: str) -> bool:
    """The flag `key` of `msg.options`; an absent key (or an empty map) means true."""
    options = msg.options
    return options[key] if key in options else True


def set_options(msg: MsgData, **flags: bool) -> None:
    """Set option flags by their wire names, e.g. `set_options(msg, history=False, isNotNotification=False)`."""
    for key, value in flags.items():
        msg.options[key] = value
