"""Row dataclasses: the immutable values repositories return and accept.

They mirror the tables in `schema.py` column for column, snake_case, with times as Unix milliseconds.
They are plain data: no database handles, no wire spelling (the API models map `userID` ↔ `user_id`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ClientConfigEntry", "Conversation", "User"]


@dataclass(frozen=True, slots=True)
class User:
    """One row of `user`; `app_manager_level` 2 = imAdmin, ≥ 3 = notification account (OpenIM's appMangerLevel)."""

    user_id: str
    nickname: str
    face_url: str
    ex: str
    app_manager_level: int
    global_recv_msg_opt: int
    create_time: int


@dataclass(frozen=True, slots=True)
class ClientConfigEntry:
    """One row of `client_config`; `user_id` "" is the global entry every user inherits."""

    key: str
    user_id: str
    value: str

# --- messages and conversations ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Conversation:
    """One row of `conversation`: `owner_user_id`'s settings and position in one conversation.

    `min_seq`/`max_seq` are the owner's caps on visible history (0 = none); `has_read_seq` its read position,
    so unread = conversation max seq − has_read_seq. `msg_destruct_time` is seconds, other times ms.
    """

    owner_user_id: str
    conversation_id: str
    conversation_type: int
    user_id: str
    group_id: str
    recv_msg_opt: int
    is_pinned: bool
    is_private_chat: bool
    burn_duration: int
    group_at_type: int
    attached_info: str
    ex: str
    min_seq: int
    max_seq: int
    has_read_seq: int
    create_time: int
    is_msg_destruct: bool
    msg_destruct_time: int
    latest_msg_destruct_time: int
