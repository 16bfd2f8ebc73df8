"""Objects: tables `object` (names → stored keys) and `object_upload` (uploads not yet completed).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "object",
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("cause", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("engine", "name", name="pk_object"),
    )
    op.create_index("ix_object_engine_key", "object", ["engine", "key"])
    op.create_table(
        "object_upload",
        sa.Column("upload_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, server_default=sa.text("''")),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("part_size", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("content_type", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("cause", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("engine_upload_id", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        sa.Column("expire_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("upload_id", name="pk_object_upload"),
    )
    op.create_index("ix_object_upload_expire_time", "object_upload", ["expire_time"])


def downgrade() -> None:
    op.drop_index("ix_object_upload_expire_time", table_name="object_upload")
    op.drop_table("object_upload")
    op.drop_index("ix_object_engine_key", table_name="object")
    op.drop_table("object")
