"""The config centre: table `config_override` (/config/set_config's changes and the config manager's flag).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "config_override",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("update_time", sa.BigInteger(), nullable=False),
        sa.Column("operator_user_id", sa.String(64), nullable=False, server_default=sa.text("''")),
        sa.PrimaryKeyConstraint("key", name="pk_config_override"),
    )


def downgrade() -> None:
    op.drop_table("config_override")
