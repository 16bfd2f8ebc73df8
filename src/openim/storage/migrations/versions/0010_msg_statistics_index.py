"""Messages: an index on (send_time, send_id, conversation_id) for /statistics/*/active.

The active-user and active-group statistics count a time range of messages by sender, by group and by day.
With this index both databases answer them from the index alone (a range scan), without reading the rows and
their serialized `data`, so a year of messages stays a scan of small index entries.

It starts with send_time, so it also serves /msg/search_msg's search by day: the (send_time) index of revision
0006 goes, one index fewer to maintain on every message insert.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

_NAME = "ix_msg_send_time_send_id_conversation_id"
_REPLACED = "ix_msg_send_time"


def upgrade() -> None:
    op.create_index(_NAME, "msg", ["send_time", "send_id", "conversation_id"])
    op.drop_index(_REPLACED, table_name="msg")


def downgrade() -> None:
    op.create_index(_REPLACED, "msg", ["send_time"])
    op.drop_index(_NAME, table_name="msg")
