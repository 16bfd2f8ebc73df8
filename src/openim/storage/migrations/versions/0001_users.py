"""Users and client configuration: tables `user` and `client_config`.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "user",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("nickname", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("face_url", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("ex", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("app_manager_level", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("global_recv_msg_opt", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_user"),
    )
    op.create_index("ix_user_create_time", "user", ["create_time"])
    op.create_table(
        "client_config",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", "user_id", name="pk_client_config"),
    )
    op.create_index("ix_client_config_user_id", "client_config", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_client_config_user_id", table_name="client_config")
    op.drop_table("client_config")
    op.drop_index("ix_user_create_time", table_name="user")
    op.drop_table("user")
