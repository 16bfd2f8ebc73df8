"""/third: tables `fcm_token` (push token per user and platform), `user_badge` (app badge) and `log` (client logs).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.String(64)


def _text(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False, server_default=sa.text("''"))


def upgrade() -> None:
    op.create_table(
        "fcm_token",
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("expire_time", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("user_id", "platform_id", name="pk_fcm_token"),
    )
    op.create_table(
        "user_badge",
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("unread_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_badge"),
    )
    op.create_table(
        "log",
        sa.Column("log_id", sa.String(32), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False, server_default=sa.text("''")),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        _text("url"),
        _text("file_name"),
        _text("system_type"),
        _text("app_framework"),
        _text("version"),
        _text("ex"),
        sa.PrimaryKeyConstraint("log_id", name="pk_log"),
    )
    op.create_index("ix_log_create_time", "log", ["create_time"])
    op.create_index("ix_log_user_id_create_time", "log", ["user_id", "create_time"])


def downgrade() -> None:
    op.drop_table("log")
    op.drop_table("user_badge")
    op.drop_table("fcm_token")
