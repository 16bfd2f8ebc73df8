"""MsgExpiryRepo: the reads and deletes of messages past their time, for the scheduled jobs (`jobs/crontask.py`).

Chat-record retention (OpenIM's `retainChatRecords`): `conversations_sent_before` walks the conversations that
hold a message sent before a cutoff, through the (send_time, send_id, conversation_id) index, with a keyset so
a long run neither repeats nor skips; `delete_prefix_before` deletes, in seq order, a conversation's messages
from its oldest up to (not past) the first one sent at or after the cutoff — a contiguous prefix, at most
`max_rows` per transaction — and raises the conversation's min seq past them, so every reader's pulls start after
the gap (placeholders are never handed out for it).

Self-destructing messages: `last_seq_sent_by` is the newest seq of a conversation sent at or before a time,
read backwards from the newest message through the primary key (it reads as many rows as were sent since).
"""

from __future__ import annotations

from sqlalchemy import delete, select, tuple_, update

from openim.storage.db import Db
from openim.storage.schema import msg, msg_user_delete, seq_conversation

__all__ = ["MsgExpiryRepo", "SentKey"]

SentKey = tuple[int, str, str]  # (send_time, send_id, conversation_id): where a walk of old messages stands


class MsgExpiryRepo:
    def __init__(self, db: Db) -> None:
        self.db = db

    async def conversations_sent_before(
        self, before: int, *, after: SentKey | None, limit: int
    ) -> tuple[list[str], SentKey | None]:
        """Conversations with a message sent before `before` (ms), in index order after `after`; the key to
        continue from (None at the end). Up to `limit` index entries are read, so a conversation may repeat."""
        query = select(msg.c.send_time, msg.c.send_id, msg.c.conversation_id).where(msg.c.send_time < before)
        if after is not None:
            query = query.where(tuple_(msg.c.send_time, msg.c.send_id, msg.c.conversation_id) > tuple_(*after))
        query = query.order_by(msg.c.send_time, msg.c.send_id, msg.c.conversation_id).limit(limit)
        async with self.db.read("msg.conversations_sent_before") as conn:
            rows = (await conn.execute(query)).all()
        if not rows:
            return [], None
        last = rows[-1]
        return list(dict.fromkeys(r.conversation_id for r in rows)), (
            last.send_time,
            last.send_id,
            last.conversation_id,
        )

    async def delete_prefix_before(self, conversation_id: str, before: int, *, max_rows: int) -> tuple[int, int]:
        """Delete the conversation's oldest messages while they were sent before `before`, at most `max_rows`;
        returns (how many, the last seq deleted — 0 for none). The conversation's min seq moves past them."""
        async with self.db.write("msg.delete_prefix_before") as conn:
            rows = (
                await conn.execute(
                    select(msg.c.seq, msg.c.send_time)
                    .where(msg.c.conversation_id == conversation_id)
                    .order_by(msg.c.seq)
                    .limit(max_rows)
                )
            ).all()
            last = 0
            count = 0
            for row in rows:
                if row.send_time >= before:
                    break
                last, count = row.seq, count + 1
            if not count:
                return 0, 0
            await conn.execute(delete(msg).where(msg.c.conversation_id == conversation_id, msg.c.seq <= last))
            await conn.execute(
                delete(msg_user_delete).where(
                    msg_user_delete.c.conversation_id == conversation_id, msg_user_delete.c.seq <= last
                )
            )
            await conn.execute(
                update(seq_conversation)
                .where(seq_conversation.c.conversation_id == conversation_id, seq_conversation.c.min_seq <= last)
                .values(min_seq=last + 1)
            )
        return count, last

    async def last_seq_sent_by(self, conversation_id: str, send_time: int) -> int:
        """The newest seq of the conversation whose message was sent at or before `send_time` (ms); 0 if none."""
        async with self.db.read("msg.last_seq_sent_by") as conn:
            seq = (
                await conn.execute(
                    select(msg.c.seq)
                    .where(msg.c.conversation_id == conversation_id, msg.c.send_time <= send_time)
                    .order_by(msg.c.seq.desc())
                    .limit(1)
                )
            ).scalar()
        return int(seq or 0)
