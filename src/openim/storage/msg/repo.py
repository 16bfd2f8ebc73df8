"""MsgRepo: messages and their per-conversation seqs (tables `seq_conversation`, `msg`, `msg_user_delete`).

`append_batch` is the write path of every stored message: in ONE transaction it drops resends (a
(send_id, client_msg_id) already stored), allocates contiguous seqs per conversation with
`UPDATE seq_conversation SET max_seq = max_seq + n`, inserts the messages, creates the `conversation` rows of
owners that have none (logging them in the owners' conversation version logs) and raises each sender's
`has_read_seq` to its own message. Steady state costs O(1) rows per message, whatever the group size.

Reads return `MsgData` as a given user sees it (docs/protocol/messages.md §3): a seq with no stored message is a
placeholder `{seq, status: 4}`, a message deleted for that user has status 4 and no content, a revoked one has
contentType 2101 and a `MessageRevokedContent` notification body, and a quote of a revoked message is rewritten.
Which seqs a user may read (caps, ownership) is the msg service's decision; `seq_views` gives it the numbers, and
`msg_sizes` the stored size of each message, so that a pull can choose what fits its byte budget before any
message is loaded (`max_each`: a message larger than that is read as a placeholder, its data never loaded).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, null, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openim.protocol.constants import ContentType
from openim.protocol.errors import MsgAlreadyRevoke, RecordNotFoundError
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.msg.append import AppendOutcome, Resend, append, find_sent
from openim.storage.msg.render import parse_msg, placeholder, render, revoke_from_json, revoke_to_json, revoked_body
from openim.storage.msg.values import Appended, AppendStats, MsgRevoke, NewMsg, SeqState, SeqView, StoredMsg
from openim.storage.schema import conversation, msg, msg_user_delete, seq_conversation
from openim.storage.version import KIND_CONVERSATION, STATE_INSERT, record_many

__all__ = ["InTransaction", "MsgRepo"]

# What `append_batch` runs last in its transaction with the batch's results (MsgWriter's CommitHook).
InTransaction = Callable[[AsyncConnection, list[Appended]], Awaitable[None]]

_IN_CHUNK = 500
_STORED = select(msg.c.seq, msg.c.data, msg.c.is_read, msg.c.revoke).where(
    msg.c.conversation_id == bindparam("cid"), msg.c.seq.in_(bindparam("seqs", expanding=True))
)
_STORED_WITHIN = select(
    msg.c.seq,
    case((func.length(msg.c.data) <= bindparam("max_each"), msg.c.data), else_=null()),
    msg.c.is_read,
    msg.c.revoke,
).where(msg.c.conversation_id == bindparam("cid"), msg.c.seq.in_(bindparam("seqs", expanding=True)))
_SIZES = select(msg.c.conversation_id, msg.c.seq, func.length(msg.c.data)).where(
    tuple_(msg.c.conversation_id, msg.c.seq).in_(bindparam("pairs", expanding=True))
)


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


async def _seq_states(conn: AsyncConnection, conversation_ids: Sequence[str]) -> dict[str, SeqState]:
    """The counters of those conversations that have one, read in the caller's transaction."""
    out: dict[str, SeqState] = {}
    for chunk in _chunks(conversation_ids):
        result = await conn.execute(
            select(
                seq_conversation.c.conversation_id,
                seq_conversation.c.max_seq,
                seq_conversation.c.min_seq,
                seq_conversation.c.max_seq_time,
            ).where(seq_conversation.c.conversation_id.in_(chunk))
        )
        out.update({cid: SeqState(mx, mn, t) for cid, mx, mn, t in result})
    return out


class MsgRepo:
    """Stores and reads messages; every method is one transaction named `msg.<method>`."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self.stats = AppendStats()

    # ---- the write path ---------------------------------------------------------------------------------

    async def append_batch(
        self, news: Sequence[NewMsg], *, in_transaction: InTransaction | None = None
    ) -> list[Appended]:
        """Store `news` in one transaction and return one `Appended` per item, in input order.

        Seqs are contiguous per conversation and follow input order within it. A message whose
        (send_id, client_msg_id) is stored already — or appears earlier in `news` — is not written again: its
        `Appended` is the stored message with `duplicate=True`. If anything fails, nothing is written.
        Each `Appended` carries its `NewMsg`'s tag. The statements are the driver's own (storage/msg/append.py).
        `in_transaction(conn, appended)` runs last in the transaction, so what it writes commits (or not) with the
        messages; it may run more than once (a resend found runs the transaction again), only the last one commits.
        """
        if not news:
            return []
        check_resends = False
        for _ in range(3):  # a resend found by the unique index: again, looking the batch's keys up first
            try:
                outcome = await self._append(news, check_resends=check_resends, in_transaction=in_transaction)
                break
            except Resend:
                check_resends = True
        else:
            outcome = await self._append(news, check_resends=True, in_transaction=in_transaction)
        results = outcome.results
        fresh = sum(1 for a in results if not a.duplicate)
        self.stats.batches += 1
        self.stats.messages += fresh
        self.stats.duplicates += len(results) - fresh
        self.stats.rows += outcome.rows
        return results

    async def _append(
        self, news: Sequence[NewMsg], *, check_resends: bool, in_transaction: InTransaction | None
    ) -> AppendOutcome:
        async with self.db.write("msg.append_batch") as conn:
            outcome = await append(conn, news, check_resends=check_resends)
            owners_by_cid: dict[str, list[str]] = defaultdict(list)
            for owner, cid in sorted(outcome.created):
                owners_by_cid[cid].append(owner)
            send_times = {new.conversation_id: new.msg.sendTime for new in reversed(news)}  # the first message's
            for cid, owners in sorted(owners_by_cid.items()):  # rows made: logged in their owners' logs
                await record_many(conn, KIND_CONVERSATION, owners, [cid], STATE_INSERT, now=send_times[cid])
            if in_transaction is not None:
                await in_transaction(conn, outcome.results)
        return outcome

    # ---- seqs ---------------------------------------------------------------------------------------------

    async def seq_states(self, conversation_ids: Iterable[str]) -> dict[str, SeqState]:
        """The counters of the conversations that have one (a conversation without messages has none)."""
        async with self.db.read("msg.seq_states") as conn:
            return await _seq_states(conn, sorted(set(conversation_ids)))

    async def seq_views(self, user_id: str, conversation_ids: Iterable[str]) -> dict[str, SeqView]:
        """Every requested conversation as `user_id` sees it (max_seq 0 when it has no messages yet)."""
        cids = sorted(set(conversation_ids))
        rows: dict[str, tuple[int, int, int]] = {}
        async with self.db.read("msg.seq_views") as conn:
            states = await _seq_states(conn, cids)
            for chunk in _chunks(cids):
                result = await conn.execute(
                    select(
                        conversation.c.conversation_id,
                        conversation.c.min_seq,
                        conversation.c.max_seq,
                        conversation.c.has_read_seq,
                    ).where(conversation.c.owner_user_id == user_id, conversation.c.conversation_id.in_(chunk))
                )
                rows.update({cid: (mn, mx, hr) for cid, mn, mx, hr in result})
        views: dict[str, SeqView] = {}
        for cid in cids:
            state = states.get(cid, SeqState(0, 0, 0))
            row = rows.get(cid)
            if row is None:
                views[cid] = SeqView(cid, state.max_seq, state.min_seq, state.max_seq_time, owned=False)
            else:
                views[cid] = SeqView(cid, state.max_seq, state.min_seq, state.max_seq_time, True, *row)
        return views

    async def raise_min_seqs(self, min_seqs: Mapping[str, int]) -> None:
        """Raise conversation-wide min seqs (history hidden from everyone below them); never lowers one."""
        if not min_seqs:
            return
        async with self.db.write("msg.raise_min_seqs") as conn:
            await self._raise_min_seqs(conn, min_seqs)

    @staticmethod
    async def _raise_min_seqs(conn: AsyncConnection, min_seqs: Mapping[str, int]) -> None:
        await conn.execute(
            update(seq_conversation)
            .where(
                seq_conversation.c.conversation_id == bindparam("b_cid"),
                seq_conversation.c.min_seq < bindparam("b_min"),
            )
            .values(min_seq=bindparam("b_min")),
            [{"b_cid": c, "b_min": s} for c, s in sorted(min_seqs.items())],
        )

    # ---- reads ----------------------------------------------------------------------------------------------

    async def get_msgs(self, user_id: str, conversation_id: str, seqs: Sequence[int]) -> list[MsgData]:
        """The messages at `seqs` as `user_id` sees them, one per seq in the order given (placeholders for gaps)."""
        return (await self.get_msgs_many(user_id, {conversation_id: seqs})).get(conversation_id, [])

    async def get_msgs_many(
        self, user_id: str, wanted: Mapping[str, Sequence[int]], *, max_each: int = 0
    ) -> dict[str, list[MsgData]]:
        """`get_msgs` for several conversations in one read transaction; with `max_each`, a message stored larger
        than that many bytes is a placeholder (its data is not read)."""
        out: dict[str, list[MsgData]] = {}
        async with self.db.read("msg.get_msgs") as conn:
            for cid, seqs in wanted.items():
                out[cid] = await self._render_seqs(conn, user_id, cid, list(seqs), max_each=max_each)
        return out

    async def msg_sizes(self, wanted: Mapping[str, Sequence[int]]) -> dict[str, dict[int, int]]:
        """Per conversation, the stored size in bytes of the message at each of `seqs` that exists.

        One query per _IN_CHUNK (conversation, seq) pairs, whatever the number of conversations (a pull names up to
        hundreds); the statement is the same each time, so it is compiled once.
        """
        out: dict[str, dict[int, int]] = {cid: {} for cid in wanted}
        pairs = [(cid, seq) for cid, seqs in wanted.items() for seq in sorted(set(seqs))]
        async with self.db.read("msg.msg_sizes") as conn:
            for chunk in _chunks(pairs):
                result = await conn.execute(_SIZES, {"pairs": list(chunk)})
                for cid, seq, size in result:
                    out[cid][seq] = int(size)
        return out

    async def last_seqs(self, user_id: str, spans: Mapping[str, tuple[int, int]]) -> dict[str, int]:
        """Per conversation, the seq of the newest message in [low, high] not deleted for `user_id`; conversations
        without one are omitted (what `last_msgs` would render)."""
        out: dict[str, int] = {}
        async with self.db.read("msg.last_seqs") as conn:
            for cid, (low, high) in spans.items():
                seq = await self._last_seq(conn, user_id, cid, low, high)
                if seq is not None:
                    out[cid] = seq
        return out

    async def find_sent(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Appended]:
        """The stored messages of `keys` ((send_id, client_msg_id)) with `duplicate=True`; absent when not stored."""
        if not keys:
            return {}
        async with self.db.read("msg.find_sent") as conn:
            return await find_sent(conn, keys)

    async def get_stored(self, conversation_id: str, seq: int) -> StoredMsg | None:
        """The message at (conversation_id, seq) exactly as stored, or None."""
        async with self.db.read("msg.get_stored") as conn:
            found = await self._stored(conn, conversation_id, [seq])
        return found.get(seq)

    async def last_msgs(self, user_id: str, spans: Mapping[str, tuple[int, int]]) -> dict[str, MsgData]:
        """Per conversation, the newest message with seq in [low, high] not deleted for `user_id`, rendered.

        Conversations without one are omitted (GetLastMessage, 1007).
        """
        out: dict[str, MsgData] = {}
        async with self.db.read("msg.last_msgs") as conn:
            for cid, (low, high) in spans.items():
                seq = await self._last_seq(conn, user_id, cid, low, high)
                if seq is not None:
                    out[cid] = (await self._render_seqs(conn, user_id, cid, [seq]))[0]
        return out

    @staticmethod
    async def _last_seq(conn: AsyncConnection, user_id: str, cid: str, low: int, high: int) -> int | None:
        if high < low:
            return None
        hidden = select(msg_user_delete.c.seq).where(
            msg_user_delete.c.conversation_id == cid,
            msg_user_delete.c.user_id == user_id,
            msg_user_delete.c.seq == msg.c.seq,
        )
        seq: int | None = (
            await conn.execute(
                select(msg.c.seq)
                .where(msg.c.conversation_id == cid, msg.c.seq.between(low, high), ~hidden.exists())
                .order_by(msg.c.seq.desc())
                .limit(1)
            )
        ).scalar()
        return seq

    async def _stored(
        self, conn: AsyncConnection, cid: str, seqs: Sequence[int], *, max_each: int = 0
    ) -> dict[int, StoredMsg]:
        found: dict[int, StoredMsg] = {}
        # With max_each, an oversized message's data is never fetched: the database measures it and returns NULL.
        query, params = (
            (_STORED_WITHIN, {"cid": cid, "max_each": max_each}) if max_each > 0 else (_STORED, {"cid": cid})
        )
        for chunk in _chunks(sorted(set(seqs))):
            result = await conn.execute(query, {**params, "seqs": list(chunk)})
            for seq, blob, is_read, revoke in result:
                if blob is not None:
                    found[seq] = StoredMsg(cid, seq, parse_msg(blob), bool(is_read), revoke_from_json(revoke))
        return found

    async def _render_seqs(
        self, conn: AsyncConnection, user_id: str, cid: str, seqs: list[int], *, max_each: int = 0
    ) -> list[MsgData]:
        stored = await self._stored(conn, cid, seqs, max_each=max_each)
        hidden: set[int] = set()
        for chunk in _chunks(sorted(stored)):
            result = await conn.execute(
                select(msg_user_delete.c.seq).where(
                    msg_user_delete.c.conversation_id == cid,
                    msg_user_delete.c.user_id == user_id,
                    msg_user_delete.c.seq.in_(chunk),
                )
            )
            hidden.update(result.scalars())
        rendered = {seq: render(s, seq in hidden) for seq, s in stored.items()}
        await self._rewrite_quotes(conn, cid, rendered)
        return [rendered[s] if s in rendered else placeholder(s) for s in seqs]

    async def _rewrite_quotes(self, conn: AsyncConnection, cid: str, rendered: dict[int, MsgData]) -> None:
        """A quote (114) of a message that was revoked since shows the quoted message as revoked (OpenIM)."""
        quotes: dict[int, dict[str, Any]] = {}
        for seq, m in rendered.items():
            if m.contentType != ContentType.QUOTE or not m.content:
                continue
            try:
                body = json.loads(m.content)
            except (ValueError, RecursionError):  # any bytes a client sent; nested past Python's stack too
                continue
            quoted = body.get("quoteMessage") if isinstance(body, dict) else None
            if isinstance(quoted, dict):
                quotes[seq] = body
        if not quotes:
            return
        targets = {q["quoteMessage"].get("seq") for q in quotes.values()}
        target_seqs = [s for s in targets if isinstance(s, int) and 0 < s < 1 << 63]  # client-written: any number
        revoked: dict[int, bytes] = {}
        for seq, s in (await self._stored(conn, cid, target_seqs)).items():
            if s.revoke is not None:
                revoked[seq] = revoked_body(s.msg, s.revoke)
        for seq, body in quotes.items():
            quoted = body["quoteMessage"]
            changed = False
            if quoted.get("content") == "e30=":  # base64 of "{}": a client that sent bytes
                quoted["content"] = "{}"
                changed = True
            target = quoted.get("seq")
            if (
                isinstance(target, int)
                and target in revoked
                and quoted.get("contentType") != ContentType.MSG_REVOKE_NOTIFICATION
            ):
                quoted["contentType"] = int(ContentType.MSG_REVOKE_NOTIFICATION)
                quoted["content"] = revoked[target].decode()
                changed = True
            if changed:
                rendered[seq].content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    # ---- changes ----------------------------------------------------------------------------------------

    async def revoke(self, conversation_id: str, seq: int, revoke: MsgRevoke) -> StoredMsg:
        """Mark the message revoked, once: a second revoke raises MsgAlreadyRevoke (1404), none RecordNotFound."""
        async with self.db.write("msg.revoke") as conn:
            result = await conn.execute(
                update(msg)
                .where(msg.c.conversation_id == conversation_id, msg.c.seq == seq, msg.c.revoke.is_(None))
                .values(revoke=revoke_to_json(revoke))
                .returning(msg.c.data, msg.c.is_read)
            )
            row = result.first()
            if row is None:
                exists = (
                    await conn.execute(
                        select(msg.c.seq).where(msg.c.conversation_id == conversation_id, msg.c.seq == seq)
                    )
                ).first()
                if exists is None:
                    raise RecordNotFoundError(f"msg not found: conversationID={conversation_id} seq={seq}")
                raise MsgAlreadyRevoke(f"msg already revoke: conversationID={conversation_id} seq={seq}")
        return StoredMsg(conversation_id, seq, parse_msg(row.data), bool(row.is_read), revoke)

    async def delete_for_user(self, user_id: str, conversation_id: str, seqs: Sequence[int]) -> None:
        """Hide messages from `user_id` only ("delete for me"); seqs without a message are ignored."""
        wanted = sorted({s for s in seqs if s > 0})
        if not wanted:
            return
        async with self.db.write("msg.delete_for_user") as conn:
            await conn.execute(
                dialect.insert_ignore(conn, msg_user_delete),
                [{"conversation_id": conversation_id, "seq": s, "user_id": user_id} for s in wanted],
            )

    async def delete_physical(self, conversation_id: str, seqs: Sequence[int]) -> int:
        """Delete messages for everyone (their seqs then read as placeholders); returns how many existed."""
        wanted = sorted({s for s in seqs if s > 0})
        deleted = 0
        if not wanted:
            return 0
        async with self.db.write("msg.delete_physical") as conn:
            for chunk in _chunks(wanted):
                result = await conn.execute(
                    delete(msg).where(msg.c.conversation_id == conversation_id, msg.c.seq.in_(chunk))
                )
                deleted += result.rowcount
                await conn.execute(
                    delete(msg_user_delete).where(
                        msg_user_delete.c.conversation_id == conversation_id, msg_user_delete.c.seq.in_(chunk)
                    )
                )
        return deleted

    async def delete_sent_before(self, conversation_ids: Sequence[str], send_time: int) -> dict[str, int]:
        """Delete the messages of `conversation_ids` sent before `send_time` (ms) and raise each conversation's
        min seq past them.

        Returns conversation → its new min seq, for the conversations that lost messages.
        """
        cids = sorted(set(conversation_ids))
        async with self.db.write("msg.delete_sent_before") as conn:
            new_min: dict[str, int] = {}
            for chunk in _chunks(cids):
                result = await conn.execute(
                    select(msg.c.conversation_id, func.max(msg.c.seq))
                    .where(msg.c.conversation_id.in_(chunk), msg.c.send_time < send_time)
                    .group_by(msg.c.conversation_id)
                )
                new_min.update({cid: int(top) + 1 for cid, top in result})
            if not new_min:
                return {}
            for cid, min_seq in sorted(new_min.items()):
                await conn.execute(delete(msg).where(msg.c.conversation_id == cid, msg.c.seq < min_seq))
                await conn.execute(
                    delete(msg_user_delete).where(
                        msg_user_delete.c.conversation_id == cid, msg_user_delete.c.seq < min_seq
                    )
                )
            await self._raise_min_seqs(conn, new_min)
        return new_min

    async def mark_read(
        self, conversation_id: str, seqs: Sequence[int], *, reader: str, through: tuple[int, int] | None = None
    ) -> None:
        """Flag messages read by the peer (`is_read`), except `reader`'s own: `seqs`, plus the range `through`."""
        wanted = sorted({s for s in seqs if s > 0})
        if not wanted and through is None:
            return
        async with self.db.write("msg.mark_read") as conn:
            base = update(msg).where(msg.c.conversation_id == conversation_id, msg.c.send_id != reader, ~msg.c.is_read)
            if through is not None and through[0] <= through[1]:
                await conn.execute(base.where(msg.c.seq.between(*through)).values(is_read=True))
            for chunk in _chunks(wanted):
                await conn.execute(base.where(msg.c.seq.in_(chunk)).values(is_read=True))

    async def clear_for_everyone(self, user_id: str, conversation_ids: Sequence[str]) -> dict[str, int]:
        """Hide all current history of the conversations from everyone (min seq := max seq + 1) and set
        `user_id`'s has_read_seq to the max seq. Returns conversation → max seq of those with messages."""
        cids = sorted(set(conversation_ids))
        async with self.db.write("msg.clear_for_everyone") as conn:
            maxes: dict[str, int] = {}
            for chunk in _chunks(cids):
                result = await conn.execute(
                    select(seq_conversation.c.conversation_id, seq_conversation.c.max_seq).where(
                        seq_conversation.c.conversation_id.in_(chunk)
                    )
                )
                maxes.update({cid: mx for cid, mx in result})
            if maxes:
                await self._raise_min_seqs(conn, {c: m + 1 for c, m in maxes.items()})
                await conn.execute(
                    update(conversation)
                    .where(
                        and_(
                            conversation.c.owner_user_id == user_id,
                            conversation.c.conversation_id == bindparam("b_cid"),
                        )
                    )
                    .values(has_read_seq=bindparam("b_seq")),
                    [{"b_cid": c, "b_seq": m} for c, m in sorted(maxes.items())],
                )
        return maxes
