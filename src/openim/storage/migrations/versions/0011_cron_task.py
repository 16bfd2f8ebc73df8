"""Scheduled jobs: table `cron_task` (one lease and last-run record per job) and the conversation index the
self-destruct job reads (`is_msg_destruct`, `latest_msg_destruct_time`).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

_INDEX = "ix_conversation_is_msg_destruct_latest_msg_destruct_time"


def _zero(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default=sa.text("0"))


def upgrade() -> None:
    op.create_table(
        "cron_task",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False, server_default=sa.text("''")),
        _zero("lease_until"),
        _zero("slot"),
        _zero("last_start"),
        _zero("last_end"),
        _zero("last_removed"),
        sa.Column("last_error", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.PrimaryKeyConstraint("name", name="pk_cron_task"),
    )
    op.create_index(_INDEX, "conversation", ["is_msg_destruct", "latest_msg_destruct_time"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="conversation")
    op.drop_table("cron_task")
