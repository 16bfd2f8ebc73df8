"""Messages, conversations and version logs: `seq_conversation`, `msg`, `msg_user_delete`, `conversation`,
`version_log`, `version_log_entry`.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.String(64)
_CONV_ID = sa.String(192)


def upgrade() -> None:
    op.create_table(
        "seq_conversation",
        sa.Column("conversation_id", _CONV_ID, nullable=False),
        sa.Column("max_seq", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("min_seq", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("max_seq_time", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_seq_conversation"),
    )
    op.create_table(
        "msg",
        sa.Column("conversation_id", _CONV_ID, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("client_msg_id", _ID, nullable=False),
        sa.Column("server_msg_id", _ID, nullable=False),
        sa.Column("send_id", _ID, nullable=False),
        sa.Column("session_type", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.Integer(), nullable=False),
        sa.Column("send_time", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("is_read", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("revoke", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("conversation_id", "seq", name="pk_msg"),
    )
    op.create_index("ix_msg_send_id_client_msg_id", "msg", ["send_id", "client_msg_id"], unique=True)
    op.create_table(
        "msg_user_delete",
        sa.Column("conversation_id", _CONV_ID, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "seq", "user_id", name="pk_msg_user_delete"),
    )
    op.create_table(
        "conversation",
        sa.Column("owner_user_id", _ID, nullable=False),
        sa.Column("conversation_id", _CONV_ID, nullable=False),
        sa.Column("conversation_type", sa.Integer(), nullable=False),
        sa.Column("user_id", _ID, nullable=False, server_default=sa.text("''")),
        sa.Column("group_id", _ID, nullable=False, server_default=sa.text("''")),
        sa.Column("recv_msg_opt", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("is_pinned", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("is_private_chat", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("burn_duration", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("group_at_type", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("attached_info", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("ex", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("min_seq", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("max_seq", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("has_read_seq", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        sa.Column("is_msg_destruct", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("msg_destruct_time", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("latest_msg_destruct_time", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("owner_user_id", "conversation_id", name="pk_conversation"),
    )
    op.create_index("ix_conversation_conversation_id", "conversation", ["conversation_id"])
    op.create_table(
        "version_log",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("d_id", _ID, nullable=False),
        sa.Column("version_id", sa.String(24), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_update", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "d_id", name="pk_version_log"),
    )
    op.create_table(
        "version_log_entry",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("d_id", _ID, nullable=False),
        sa.Column("e_id", _CONV_ID, nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("last_update", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "d_id", "e_id", name="pk_version_log_entry"),
    )
    op.create_index("ix_version_log_entry_kind_d_id_version", "version_log_entry", ["kind", "d_id", "version"])


def downgrade() -> None:
    op.drop_index("ix_version_log_entry_kind_d_id_version", table_name="version_log_entry")
    op.drop_table("version_log_entry")
    op.drop_table("version_log")
    op.drop_index("ix_conversation_conversation_id", table_name="conversation")
    op.drop_table("conversation")
    op.drop_table("msg_user_delete")
    op.drop_index("ix_msg_send_id_client_msg_id", table_name="msg")
    op.drop_table("msg")
    op.drop_table("seq_conversation")
