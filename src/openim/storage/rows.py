"""Row dataclasses: the immutable values repositories return and accept.

They mirror the tables in `schema.py` column for column, snake_case, with times as Unix milliseconds.
They are plain data: no database handles, no wire spelling (the API models map `userID` ↔ `user_id`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Black",
    "ClientConfigEntry",
    "ClientLog",
    "Conversation",
    "Friend",
    "FriendRequest",
    "Group",
    "GroupMember",
    "GroupRequest",
    "ObjectInfo",
    "ObjectUpload",
    "QueuedJob",
    "User",
    "UserCommand",
]


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


@dataclass(frozen=True, slots=True)
class UserCommand:
    """One row of `user_command`: an item of a user's list `type` (favourites, ...); create_time in seconds."""

    user_id: str
    type: int
    uuid: str
    value: str
    ex: str
    create_time: int


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


# --- social graph: friend, friend_request, black, group, group_member, group_request -----------------------


@dataclass(frozen=True, slots=True)
class Friend:
    """One row of `friend`: `friend_user_id` is in `owner_user_id`'s list (one direction; delete is one-sided)."""

    owner_user_id: str
    friend_user_id: str
    remark: str
    create_time: int
    add_source: int
    operator_user_id: str
    ex: str
    is_pinned: bool


@dataclass(frozen=True, slots=True)
class FriendRequest:
    """One row of `friend_request`; `handle_result` 0 pending, 1 agreed, -1 refused."""

    from_user_id: str
    to_user_id: str
    handle_result: int
    req_msg: str
    create_time: int
    handler_user_id: str
    handle_msg: str
    handle_time: int
    ex: str


@dataclass(frozen=True, slots=True)
class Black:
    """One row of `black`: `owner_user_id` blocks messages from `block_user_id`."""

    owner_user_id: str
    block_user_id: str
    create_time: int
    add_source: int
    operator_user_id: str
    ex: str


@dataclass(frozen=True, slots=True)
class Group:
    """One row of `group`; `status` 0 ok, 2 dismissed, 3 muted (protocol.constants.GroupStatus)."""

    group_id: str
    group_name: str
    notification: str
    introduction: str
    face_url: str
    create_time: int
    ex: str
    status: int
    creator_user_id: str
    group_type: int
    need_verification: int
    look_member_info: int
    apply_member_friend: int
    notification_update_time: int
    notification_user_id: str


@dataclass(frozen=True, slots=True)
class GroupMember:
    """One row of `group_member`; empty `nickname`/`face_url` mean "the user's own" (services fill them in)."""

    group_id: str
    user_id: str
    nickname: str
    face_url: str
    role_level: int
    join_time: int
    join_source: int
    inviter_user_id: str
    operator_user_id: str
    mute_end_time: int
    ex: str


@dataclass(frozen=True, slots=True)
class GroupRequest:
    """One row of `group_request`: `user_id` asks to join (or was invited into) `group_id`."""

    group_id: str
    user_id: str
    handle_result: int
    req_msg: str
    handled_msg: str
    req_time: int
    handle_user_id: str
    handled_time: int
    join_source: int
    inviter_user_id: str
    ex: str


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One row of `object`: the name a client uploaded under and the stored key it points to."""

    engine: str
    name: str
    user_id: str
    hash: str
    key: str
    size: int
    content_type: str
    cause: str
    create_time: int


@dataclass(frozen=True, slots=True)
class ObjectUpload:
    """One row of `object_upload`: an upload begun and not yet completed (kind `multipart` or `form`)."""

    upload_id: str
    kind: str
    engine: str
    user_id: str
    name: str
    hash: str
    size: int
    part_size: int
    content_type: str
    cause: str
    key: str
    engine_upload_id: str
    create_time: int
    expire_time: int


# --- /third --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientLog:
    """One row of `log`: a client log file an SDK uploaded (`url`) and what the client said about itself.

    `platform` is the platform's name ("Android"), as OpenIM stores it; `log_id` a 10-digit string.
    """

    log_id: str
    platform: str
    user_id: str
    create_time: int
    url: str
    file_name: str
    system_type: str
    app_framework: str
    version: str
    ex: str


@dataclass(frozen=True, slots=True)
class CronTaskState:
    """One row of `cron_task`: who holds a scheduled job's lease until when, and how its last run went (times ms)."""

    name: str
    owner: str
    lease_until: int
    slot: int
    last_start: int
    last_end: int
    last_removed: int
    last_error: str


# --- the job queue of the embedded default ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """One row of `queue_job` as a consumer claimed it: `deliveries` counts this delivery (1 the first time)."""

    id: int
    topic: str
    payload: bytes
    deliveries: int
