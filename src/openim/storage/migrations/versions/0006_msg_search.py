"""Messages: the `recv_id` column and the indexes of /msg/search_msg.

`recv_id` is the message's recvID (single and notification chats) or groupID (groups), filled for the messages
already stored from their serialized MsgData, in chunks. Indexes: (send_id, send_time), (recv_id, send_time),
(send_time): a search by sender, by receiver or by day reads only its own rows on both databases.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from openim.protocol.pb.sdkws_pb2 import MsgData

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_CHUNK = 1000
_GROUP_SESSIONS = (2, 3)


def upgrade() -> None:
    op.add_column("msg", sa.Column("recv_id", sa.String(64), nullable=False, server_default=sa.text("''")))
    _backfill()
    op.create_index("ix_msg_send_id_send_time", "msg", ["send_id", "send_time"])
    op.create_index("ix_msg_recv_id_send_time", "msg", ["recv_id", "send_time"])
    op.create_index("ix_msg_send_time", "msg", ["send_time"])


def _backfill() -> None:
    """recv_id of every stored message, read from its data, walking the primary key a chunk at a time."""
    conn = op.get_bind()
    msg = sa.table(
        "msg",
        sa.column("conversation_id", sa.String),
        sa.column("seq", sa.BigInteger),
        sa.column("data", sa.LargeBinary),
        sa.column("recv_id", sa.String),
    )
    update = (
        sa.update(msg)
        .where(msg.c.conversation_id == sa.bindparam("cid"), msg.c.seq == sa.bindparam("s"))
        .values(recv_id=sa.bindparam("r"))
    )
    after: tuple[str, int] = ("", -1)
    while True:
        rows = conn.execute(
            sa.select(msg.c.conversation_id, msg.c.seq, msg.c.data)
            .where(sa.tuple_(msg.c.conversation_id, msg.c.seq) > sa.tuple_(sa.literal(after[0]), sa.literal(after[1])))
            .order_by(msg.c.conversation_id, msg.c.seq)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return
        values = []
        for cid, seq, data in rows:
            m = MsgData.FromString(data)
            values.append({"cid": cid, "s": seq, "r": m.groupID if m.sessionType in _GROUP_SESSIONS else m.recvID})
        conn.execute(update, values)
        after = (rows[-1][0], rows[-1][1])


def downgrade() -> None:
    op.drop_index("ix_msg_send_time", table_name="msg")
    op.drop_index("ix_msg_recv_id_send_time", table_name="msg")
    op.drop_index("ix_msg_send_id_send_time", table_name="msg")
    op.drop_column("msg", "recv_id")
