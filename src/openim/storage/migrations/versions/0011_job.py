"""The durable job queue: tables `job` (queued, possibly claimed) and `job_dead` (dead letters).

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


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("consumer", sa.String(128), nullable=False, server_default=sa.text("''")),
        sa.Column("claimed_at", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("deliveries", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("id", name="pk_job"),
    )
    op.create_index("ix_job_topic_id", "job", ["topic", "id"])
    op.create_table(
        "job_dead",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("buried_at", sa.BigInteger(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("id", name="pk_job_dead"),
    )
    op.create_index("ix_job_dead_topic_buried_at", "job_dead", ["topic", "buried_at"])


def downgrade() -> None:
    op.drop_table("job_dead")
    op.drop_table("job")
