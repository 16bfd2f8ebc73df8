"""Token states in the database: tables `token_state` and `token_temporary` (the embedded `TokenStore`).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "token_state",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "platform", "token", name="pk_token_state"),
    )
    op.create_index("ix_token_state_expires_at", "token_state", ["expires_at"])
    op.create_table(
        "token_temporary",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "platform", "token", name="pk_token_temporary"),
    )
    op.create_index("ix_token_temporary_expires_at", "token_temporary", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_token_temporary_expires_at", table_name="token_temporary")
    op.drop_table("token_temporary")
    op.drop_index("ix_token_state_expires_at", table_name="token_state")
    op.drop_table("token_state")
