"""The job queue of the embedded default: table `queue_job` (offline-push jobs and later work of msgtransfer).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "queue_job",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_at", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("consumer", sa.String(128), nullable=False, server_default=sa.text("''")),
        sa.Column("deliveries", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("id", name="pk_queue_job"),
    )
    op.create_index("ix_queue_job_topic_claimed_at_id", "queue_job", ["topic", "claimed_at", "id"])


def downgrade() -> None:
    op.drop_table("queue_job")
