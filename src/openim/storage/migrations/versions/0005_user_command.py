"""User commands: table `user_command` (OpenIM's `userCommands`), keyed by (user_id, type, uuid).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "user_command",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("type", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("ex", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "type", "uuid", name="pk_user_command"),
    )


def downgrade() -> None:
    op.drop_table("user_command")
