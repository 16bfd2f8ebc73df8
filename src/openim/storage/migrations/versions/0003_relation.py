"""Social graph: tables `friend`, `friend_request`, `black`, `group`, `group_member`, `group_request`.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.String(64)


def _text(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False, server_default=sa.text("''"))


def _id(name: str) -> sa.Column[str]:
    return sa.Column(name, _ID, nullable=False, server_default=sa.text("''"))


def _int(name: str, default: int = 0) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text(str(default)))


def _time(name: str, *, required: bool = False) -> sa.Column[int]:
    if required:
        return sa.Column(name, sa.BigInteger(), nullable=False)
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default=sa.text("0"))


def upgrade() -> None:
    op.create_table(
        "friend",
        sa.Column("owner_user_id", _ID, nullable=False),
        sa.Column("friend_user_id", _ID, nullable=False),
        _text("remark"),
        _time("create_time", required=True),
        _int("add_source"),
        _id("operator_user_id"),
        _text("ex"),
        sa.Column("is_pinned", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.PrimaryKeyConstraint("owner_user_id", "friend_user_id", name="pk_friend"),
    )
    op.create_index("ix_friend_friend_user_id", "friend", ["friend_user_id"])

    op.create_table(
        "friend_request",
        sa.Column("from_user_id", _ID, nullable=False),
        sa.Column("to_user_id", _ID, nullable=False),
        _int("handle_result"),
        _text("req_msg"),
        _time("create_time", required=True),
        _id("handler_user_id"),
        _text("handle_msg"),
        _time("handle_time"),
        _text("ex"),
        sa.PrimaryKeyConstraint("from_user_id", "to_user_id", name="pk_friend_request"),
    )
    op.create_index("ix_friend_request_to_user_id_create_time", "friend_request", ["to_user_id", "create_time"])
    op.create_index("ix_friend_request_from_user_id_create_time", "friend_request", ["from_user_id", "create_time"])

    op.create_table(
        "black",
        sa.Column("owner_user_id", _ID, nullable=False),
        sa.Column("block_user_id", _ID, nullable=False),
        _time("create_time", required=True),
        _int("add_source"),
        _id("operator_user_id"),
        _text("ex"),
        sa.PrimaryKeyConstraint("owner_user_id", "block_user_id", name="pk_black"),
    )

    op.create_table(
        "group",
        sa.Column("group_id", _ID, nullable=False),
        _text("group_name"),
        _text("notification"),
        _text("introduction"),
        _text("face_url"),
        _time("create_time", required=True),
        _text("ex"),
        _int("status"),
        _id("creator_user_id"),
        _int("group_type", 2),
        _int("need_verification"),
        _int("look_member_info"),
        _int("apply_member_friend"),
        _time("notification_update_time"),
        _id("notification_user_id"),
        sa.PrimaryKeyConstraint("group_id", name="pk_group"),
    )
    op.create_index("ix_group_create_time", "group", ["create_time"])

    op.create_table(
        "group_member",
        sa.Column("group_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        _text("nickname"),
        _text("face_url"),
        _int("role_level", 20),
        _time("join_time", required=True),
        _int("join_source"),
        _id("inviter_user_id"),
        _id("operator_user_id"),
        _time("mute_end_time"),
        _text("ex"),
        sa.PrimaryKeyConstraint("group_id", "user_id", name="pk_group_member"),
    )
    op.create_index("ix_group_member_user_id", "group_member", ["user_id"])
    op.create_index("ix_group_member_group_id_role_level", "group_member", ["group_id", "role_level"])

    op.create_table(
        "group_request",
        sa.Column("group_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        _int("handle_result"),
        _text("req_msg"),
        _text("handled_msg"),
        _time("req_time", required=True),
        _id("handle_user_id"),
        _time("handled_time"),
        _int("join_source"),
        _id("inviter_user_id"),
        _text("ex"),
        sa.PrimaryKeyConstraint("group_id", "user_id", name="pk_group_request"),
    )
    op.create_index("ix_group_request_user_id_req_time", "group_request", ["user_id", "req_time"])
    op.create_index("ix_group_request_group_id_req_time", "group_request", ["group_id", "req_time"])


def downgrade() -> None:
    op.drop_table("group_request")
    op.drop_table("group_member")
    op.drop_table("group")
    op.drop_table("black")
    op.drop_table("friend_request")
    op.drop_table("friend")
