"""Messages: the (sender, clientMsgID) unique index leads with client_msg_id.

A batch's resend check asks `client_msg_id IN (…)`; with client_msg_id first both databases answer it with
one index probe per message (PostgreSQL planned the former (send_id, client_msg_id) row-value list as a scan).
Uniqueness is unchanged.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.drop_index("ix_msg_send_id_client_msg_id", table_name="msg")
    op.create_index("ix_msg_client_msg_id_send_id", "msg", ["client_msg_id", "send_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_msg_client_msg_id_send_id", table_name="msg")
    op.create_index("ix_msg_send_id_client_msg_id", "msg", ["send_id", "client_msg_id"], unique=True)
