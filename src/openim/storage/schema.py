"""Schema: `metadata` and every table, the single description both databases are built from.

Alembic revisions under `migrations/versions/` reproduce this file exactly (a test compares them), so a
change here always comes with a new revision. Conventions:

- Table names are OpenIM's collection names (`user`, `config` → `client_config`), singular.
  `user` is a reserved word in PostgreSQL: SQLAlchemy and Alembic quote it, but by hand in psql write
  `SELECT * FROM "user"` — unquoted `user` is the `current_user` function and silently returns one row.
- Free text (nicknames, URLs, `ex`) is `Text`, so SQLite and PostgreSQL accept the same values;
  identifiers are `String(64)`, which PostgreSQL enforces and SQLite does not, so services validate lengths.
- Times are `BigInteger` Unix milliseconds; no timezone-aware types anywhere.
- Constraint and index names come from `naming_convention`, so later revisions can name what they alter.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

__all__ = [
    "black",
    "client_config",
    "conversation",
    "fcm_token",
    "friend",
    "friend_request",
    "group",
    "group_member",
    "group_request",
    "job",
    "job_dead",
    "log",
    "metadata",
    "msg",
    "msg_user_delete",
    "object_upload",
    "seq_conversation",
    "stored_object",
    "token_state",
    "token_temporary",
    "user",
    "user_badge",
    "user_command",
    "version_log",
    "version_log_entry",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_ID = String(64)

user = Table(
    "user",
    metadata,
    Column("user_id", _ID, primary_key=True),
    Column("nickname", Text, nullable=False, server_default=text("''")),
    Column("face_url", Text, nullable=False, server_default=text("''")),
    Column("ex", Text, nullable=False, server_default=text("''")),
    Column("app_manager_level", Integer, nullable=False, server_default=text("0")),
    Column("global_recv_msg_opt", Integer, nullable=False, server_default=text("0")),
    Column("create_time", BigInteger, nullable=False),
    Index(None, "create_time"),
)

# A user's commands (OpenIM's `userCommands`: favourites and other per-user items the SDK syncs), revision 0005.
# OpenIM keeps no key and lets an add duplicate (type, uuid); here (user_id, type, uuid) is the key and an add of
# an existing one replaces it. `create_time` is Unix seconds, as OpenIM stores it.
user_command = Table(
    "user_command",
    metadata,
    Column("user_id", _ID, nullable=False),
    Column("type", Integer, nullable=False),
    Column("uuid", _ID, nullable=False),
    Column("value", Text, nullable=False, server_default=text("''")),
    Column("ex", Text, nullable=False, server_default=text("''")),
    Column("create_time", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "type", "uuid"),
)

client_config = Table(
    "client_config",
    metadata,
    Column("key", Text, nullable=False),
    Column("user_id", _ID, nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("key", "user_id"),
    Index(None, "user_id"),
)

# --- messages, conversations and version logs (revision 0002) ----------------------------------------------
#
# Conversation IDs are built from two userIDs (`si_<a>_<b>`) or a groupID, so they get their own width.
# `msg.data` is the serialized `sdkws.MsgData` with its seq; the other `msg` columns are copies of its fields
# that queries filter on. A message is read-diffused: one row per message, whatever the number of readers;
# each reader's position (`has_read_seq`) and caps (`min_seq`, `max_seq`, 0 = none) live on its own
# `conversation` row.

_CONV_ID = String(192)

seq_conversation = Table(
    "seq_conversation",
    metadata,
    Column("conversation_id", _CONV_ID, primary_key=True),
    Column("max_seq", BigInteger, nullable=False, server_default=text("0")),
    Column("min_seq", BigInteger, nullable=False, server_default=text("0")),
    Column("max_seq_time", BigInteger, nullable=False, server_default=text("0")),
)

msg = Table(
    "msg",
    metadata,
    Column("conversation_id", _CONV_ID, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("client_msg_id", _ID, nullable=False),
    Column("server_msg_id", _ID, nullable=False),
    Column("send_id", _ID, nullable=False),
    Column("session_type", Integer, nullable=False),
    Column("content_type", Integer, nullable=False),
    Column("send_time", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("is_read", Boolean, nullable=False, server_default=text("false")),
    Column("revoke", Text, nullable=True),
    # The receiver, for /msg/search_msg's recvID (revision 0006): recvID of single and notification chats,
    # groupID of group messages (OpenIM matches recvID against either).
    Column("recv_id", _ID, nullable=False, server_default=text("''")),
    PrimaryKeyConstraint("conversation_id", "seq"),
    Index(None, "client_msg_id", "send_id", unique=True),  # resend check: client_msg_id IN (…)
    Index(None, "send_id", "send_time"),  # search_msg by sender, newest first
    Index(None, "recv_id", "send_time"),  # search_msg by receiver or group
    # /statistics/*/active (revision 0010): a time range read from the index alone, never the `data` blobs;
    # search_msg by day alone uses it too (it replaced revision 0006's (send_time) index).
    Index(None, "send_time", "send_id", "conversation_id"),
)

msg_user_delete = Table(
    "msg_user_delete",
    metadata,
    Column("conversation_id", _CONV_ID, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("user_id", _ID, nullable=False),
    PrimaryKeyConstraint("conversation_id", "seq", "user_id"),
)

conversation = Table(
    "conversation",
    metadata,
    Column("owner_user_id", _ID, nullable=False),
    Column("conversation_id", _CONV_ID, nullable=False),
    Column("conversation_type", Integer, nullable=False),
    Column("user_id", _ID, nullable=False, server_default=text("''")),
    Column("group_id", _ID, nullable=False, server_default=text("''")),
    Column("recv_msg_opt", Integer, nullable=False, server_default=text("0")),
    Column("is_pinned", Boolean, nullable=False, server_default=text("false")),
    Column("is_private_chat", Boolean, nullable=False, server_default=text("false")),
    Column("burn_duration", Integer, nullable=False, server_default=text("0")),
    Column("group_at_type", Integer, nullable=False, server_default=text("0")),
    Column("attached_info", Text, nullable=False, server_default=text("''")),
    Column("ex", Text, nullable=False, server_default=text("''")),
    Column("min_seq", BigInteger, nullable=False, server_default=text("0")),
    Column("max_seq", BigInteger, nullable=False, server_default=text("0")),
    Column("has_read_seq", BigInteger, nullable=False, server_default=text("0")),
    Column("create_time", BigInteger, nullable=False),
    Column("is_msg_destruct", Boolean, nullable=False, server_default=text("false")),
    Column("msg_destruct_time", BigInteger, nullable=False, server_default=text("0")),
    Column("latest_msg_destruct_time", BigInteger, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("owner_user_id", "conversation_id"),
    Index(None, "conversation_id"),
)

# Incremental sync (docs/protocol/rest.md §6): one log per (kind, d_id), e.g. ("conversation", ownerUserID); its
# `version_id` (24 hex) is the versionID clients hold. Each element appears once, with its latest state.
version_log = Table(
    "version_log",
    metadata,
    Column("kind", String(32), nullable=False),
    Column("d_id", _ID, nullable=False),
    Column("version_id", String(24), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("deleted", BigInteger, nullable=False, server_default=text("0")),
    Column("last_update", BigInteger, nullable=False),
    PrimaryKeyConstraint("kind", "d_id"),
)

version_log_entry = Table(
    "version_log_entry",
    metadata,
    Column("kind", String(32), nullable=False),
    Column("d_id", _ID, nullable=False),
    Column("e_id", _CONV_ID, nullable=False),
    Column("state", Integer, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("last_update", BigInteger, nullable=False),
    PrimaryKeyConstraint("kind", "d_id", "e_id"),
    Index(None, "kind", "d_id", "version"),
)

# --- social graph (migration 0003_relation): friends, friend requests, blacklist, groups, members, group requests
# OpenIM's MongoDB collections of the same names (its pkg/common/storage/model/). A relation's identity is its primary
# key (OpenIM's unique index); times are ms; "never" is 0. Order rules the reads rely on: friends by is_pinned desc then
# create_time, members by role_level desc then join_time, requests by their time desc (hence the indexes below).

friend = Table(
    "friend",
    metadata,
    Column("owner_user_id", _ID, nullable=False),
    Column("friend_user_id", _ID, nullable=False),
    Column("remark", Text, nullable=False, server_default=text("''")),
    Column("create_time", BigInteger, nullable=False),
    Column("add_source", Integer, nullable=False, server_default=text("0")),
    Column("operator_user_id", _ID, nullable=False, server_default=text("''")),
    Column("ex", Text, nullable=False, server_default=text("''")),
    Column("is_pinned", Boolean, nullable=False, server_default=text("false")),
    PrimaryKeyConstraint("owner_user_id", "friend_user_id"),
    Index(None, "friend_user_id"),  # whose friend is X (profile-change fan-out)
)

friend_request = Table(
    "friend_request",
    metadata,
    Column("from_user_id", _ID, nullable=False),
    Column("to_user_id", _ID, nullable=False),
    Column("handle_result", Integer, nullable=False, server_default=text("0")),  # 0 pending, 1 agreed, -1 refused
    Column("req_msg", Text, nullable=False, server_default=text("''")),
    Column("create_time", BigInteger, nullable=False),
    Column("handler_user_id", _ID, nullable=False, server_default=text("''")),
    Column("handle_msg", Text, nullable=False, server_default=text("''")),
    Column("handle_time", BigInteger, nullable=False, server_default=text("0")),
    Column("ex", Text, nullable=False, server_default=text("''")),
    PrimaryKeyConstraint("from_user_id", "to_user_id"),
    Index(None, "to_user_id", "create_time"),  # requests to me, newest first
    Index(None, "from_user_id", "create_time"),  # my requests, newest first
)

black = Table(
    "black",
    metadata,
    Column("owner_user_id", _ID, nullable=False),
    Column("block_user_id", _ID, nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("add_source", Integer, nullable=False, server_default=text("0")),
    Column("operator_user_id", _ID, nullable=False, server_default=text("''")),
    Column("ex", Text, nullable=False, server_default=text("''")),
    PrimaryKeyConstraint("owner_user_id", "block_user_id"),
)

group = Table(  # a reserved word like `user`: by hand write SELECT * FROM "group"
    "group",
    metadata,
    Column("group_id", _ID, primary_key=True),
    Column("group_name", Text, nullable=False, server_default=text("''")),
    Column("notification", Text, nullable=False, server_default=text("''")),
    Column("introduction", Text, nullable=False, server_default=text("''")),
    Column("face_url", Text, nullable=False, server_default=text("''")),
    Column("create_time", BigInteger, nullable=False),
    Column("ex", Text, nullable=False, server_default=text("''")),
    Column("status", Integer, nullable=False, server_default=text("0")),  # 0 ok, 2 dismissed, 3 muted
    Column("creator_user_id", _ID, nullable=False, server_default=text("''")),
    Column("group_type", Integer, nullable=False, server_default=text("2")),
    Column("need_verification", Integer, nullable=False, server_default=text("0")),
    Column("look_member_info", Integer, nullable=False, server_default=text("0")),
    Column("apply_member_friend", Integer, nullable=False, server_default=text("0")),
    Column("notification_update_time", BigInteger, nullable=False, server_default=text("0")),
    Column("notification_user_id", _ID, nullable=False, server_default=text("''")),
    Index(None, "create_time"),
)

group_member = Table(
    "group_member",
    metadata,
    Column("group_id", _ID, nullable=False),
    Column("user_id", _ID, nullable=False),
    Column("nickname", Text, nullable=False, server_default=text("''")),  # "" = the user's own nickname
    Column("face_url", Text, nullable=False, server_default=text("''")),  # "" = the user's own face
    Column("role_level", Integer, nullable=False, server_default=text("20")),  # 100 owner, 60 admin, 20 member
    Column("join_time", BigInteger, nullable=False),
    Column("join_source", Integer, nullable=False, server_default=text("0")),
    Column("inviter_user_id", _ID, nullable=False, server_default=text("''")),
    Column("operator_user_id", _ID, nullable=False, server_default=text("''")),
    Column("mute_end_time", BigInteger, nullable=False, server_default=text("0")),
    Column("ex", Text, nullable=False, server_default=text("''")),
    PrimaryKeyConstraint("group_id", "user_id"),
    Index(None, "user_id"),  # the groups a user joined
    Index(None, "group_id", "role_level"),  # owner and admins of a group
)

group_request = Table(
    "group_request",
    metadata,
    Column("group_id", _ID, nullable=False),
    Column("user_id", _ID, nullable=False),
    Column("handle_result", Integer, nullable=False, server_default=text("0")),  # 0 pending, 1 agreed, -1 refused
    Column("req_msg", Text, nullable=False, server_default=text("''")),
    Column("handled_msg", Text, nullable=False, server_default=text("''")),
    Column("req_time", BigInteger, nullable=False),
    Column("handle_user_id", _ID, nullable=False, server_default=text("''")),
    Column("handled_time", BigInteger, nullable=False, server_default=text("0")),
    Column("join_source", Integer, nullable=False, server_default=text("0")),
    Column("inviter_user_id", _ID, nullable=False, server_default=text("''")),
    Column("ex", Text, nullable=False, server_default=text("''")),
    PrimaryKeyConstraint("group_id", "user_id"),
    Index(None, "user_id", "req_time"),  # a user's own requests, newest first
    Index(None, "group_id", "req_time"),  # requests to the groups one manages, newest first
)

# --- objects: pictures, voice, video and files (revision 0007) ---------------------------------------------
#
# `object` maps a name a client chose (`<userID>/…`) to the stored bytes (`key`, content-addressed by the
# upload's hash, so many names may share one key); `engine` is the store that holds the key (local, minio, aws).
# `object_upload` holds uploads begun and not finished (multipart or browser form); the clean-up job removes the
# ones past `expire_time` with their parts.

stored_object = Table(
    "object",
    metadata,
    Column("engine", String(16), nullable=False),
    Column("name", Text, nullable=False),
    Column("user_id", _ID, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("key", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content_type", Text, nullable=False, server_default=text("''")),
    Column("cause", Text, nullable=False, server_default=text("''")),  # OpenIM's `group` (request field `cause`)
    Column("create_time", BigInteger, nullable=False),
    PrimaryKeyConstraint("engine", "name"),
    Index(None, "engine", "key"),
)

object_upload = Table(
    "object_upload",
    metadata,
    Column("upload_id", _ID, primary_key=True),
    Column("kind", String(16), nullable=False),  # multipart | form
    Column("engine", String(16), nullable=False),
    Column("user_id", _ID, nullable=False),
    Column("name", Text, nullable=False),
    Column("hash", String(64), nullable=False, server_default=text("''")),
    Column("size", BigInteger, nullable=False),
    Column("part_size", BigInteger, nullable=False, server_default=text("0")),
    Column("content_type", Text, nullable=False, server_default=text("''")),
    Column("cause", Text, nullable=False, server_default=text("''")),
    Column("key", Text, nullable=False),
    Column("engine_upload_id", Text, nullable=False, server_default=text("''")),
    Column("create_time", BigInteger, nullable=False),
    Column("expire_time", BigInteger, nullable=False),
    Index(None, "expire_time"),
)

# --- token states (revision 0008) ----------------------------------------------------------------------------
#
# Without `redis.url` the `TokenStore` lives here (`storage/token.py`), so a restart keeps every login: one row
# per token of OpenIM's Redis hash `UID_PID_TOKEN_STATUS:<userID>:<PlatformName>`, the hash's TTL copied onto each
# of its rows as `expires_at` (Unix ms), and one row per admin token in its grace period. The primary key serves
# the hot read (every REST call and WS connect: one user and platform); `expires_at` serves the pruning.

token_state = Table(
    "token_state",
    metadata,
    Column("user_id", _ID, nullable=False),
    Column("platform", String(32), nullable=False),  # OpenIM's platform name ("Android", "Admin"), as in the key
    Column("token", Text, nullable=False),
    Column("state", Integer, nullable=False),  # TokenState: 0 normal, 2 kicked
    Column("expires_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "platform", "token"),
    Index(None, "expires_at"),
)

token_temporary = Table(
    "token_temporary",
    metadata,
    Column("user_id", _ID, nullable=False),
    Column("platform", String(32), nullable=False),
    Column("token", Text, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "platform", "token"),
    Index(None, "expires_at"),
)

# --- /third (migration 0009_third): push tokens, app badges, client log records --------------------------------
# OpenIM keeps the first two in Redis (`FCM_TOKEN:<account>:<platformID>` with the client's TTL,
# `USER_BADGE_UNREAD_COUNT_SUM:<userID>`) and the third in its `log` collection; here all three are rows, so every
# API process and the push worker see the same values. `expire_time` is absolute ms, 0 = never.

fcm_token = Table(
    "fcm_token",
    metadata,
    Column("user_id", _ID, nullable=False),
    Column("platform_id", Integer, nullable=False),
    Column("token", Text, nullable=False),
    Column("expire_time", BigInteger, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("user_id", "platform_id"),
)

user_badge = Table(
    "user_badge",
    metadata,
    Column("user_id", _ID, primary_key=True),
    Column("unread_count", Integer, nullable=False, server_default=text("0")),
)

log = Table(  # client log uploads (SDK `UploadLogs`): the file itself lives in object storage, `url` points to it
    "log",
    metadata,
    Column("log_id", String(32), primary_key=True),
    Column("platform", String(32), nullable=False, server_default=text("''")),
    Column("user_id", _ID, nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("url", Text, nullable=False, server_default=text("''")),
    Column("file_name", Text, nullable=False, server_default=text("''")),
    Column("system_type", Text, nullable=False, server_default=text("''")),
    Column("app_framework", Text, nullable=False, server_default=text("''")),
    Column("version", Text, nullable=False, server_default=text("''")),
    Column("ex", Text, nullable=False, server_default=text("''")),
    Index(None, "create_time"),  # search: newest first within a time range
    Index(None, "user_id", "create_time"),  # one user's logs
)


# --- the durable job queue (migration 0011_job): what the msgtransfer role must not lose ---------------------------
# Without Redis, jobs that must survive a kill -9 (after-hook calls) are rows: `storage/queue.py`, `jobs/db_queue.py`.
# `id` is made by the writer and sorts by creation time (no autoincrement: a restore sets no sequence).
# `consumer` '' = not claimed; a claim older than the queue's idle limit goes to the next consumer that asks.
# `job_dead` keeps the jobs that failed every try, with the reason (the newest DEAD_MAX per topic).

job = Table(
    "job",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("topic", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("consumer", String(128), nullable=False, server_default=text("''")),
    Column("claimed_at", BigInteger, nullable=False, server_default=text("0")),
    Column("deliveries", Integer, nullable=False, server_default=text("0")),
    Index(None, "topic", "id"),  # the next jobs of a topic, oldest first
)

job_dead = Table(
    "job_dead",
    metadata,
    Column("id", String(32), primary_key=True),  # the job's
    Column("topic", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("reason", Text, nullable=False, server_default=text("''")),
    Column("buried_at", BigInteger, nullable=False),
    Column("deliveries", Integer, nullable=False, server_default=text("0")),
    Index(None, "topic", "buried_at"),  # a topic's dead letters, newest first
)
