"""ConversationRepo: the `conversation` table — each owner's settings, caps and read position per conversation.

Every change a client can see through `/conversation/get_incremental_conversations` (a row created, deleted,
or one of the `Conversation` fields changed, caps included) is logged in the owner's conversation version log
in the same transaction (`version.record`). `has_read_seq` is not part of the `Conversation` message, so
moving it is not logged. Rows are created by the message path (`MsgRepo.append_batch`, whose new rows the
conversation hooks may then change with `set_on_rows`) and by `set_fields`/`set_private_chat`; which rows a caller
may touch is decided by the services.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.facts import FACT_RECV_OPT, FactCache
from openim.storage.rows import Conversation
from openim.storage.schema import conversation, seq_conversation
from openim.storage.version import KIND_CONVERSATION, STATE_DELETE, STATE_INSERT, STATE_UPDATE, record, record_many

__all__ = ["SETTABLE_FIELDS", "ConversationKey", "ConversationRepo"]

_IN_CHUNK = 1000
_COLUMNS = tuple(conversation.c[f.name] for f in fields(Conversation))

# The fields set_conversations may write (OpenIM's UpdateConversationsMap), by column name.
SETTABLE_FIELDS = frozenset(
    {
        "recv_msg_opt",
        "attached_info",
        "ex",
        "is_pinned",
        "group_at_type",
        "msg_destruct_time",
        "is_msg_destruct",
        "burn_duration",
    }
)


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """What a row is created with when a setting arrives before any message: identity and type."""

    conversation_id: str
    conversation_type: int
    user_id: str = ""
    group_id: str = ""


def _row(row: Sequence[Any]) -> Conversation:
    return Conversation(*row)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _IN_CHUNK):
        yield items[i : i + _IN_CHUNK]


def _new_row(owner: str, key: ConversationKey, now: int, values: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "owner_user_id": owner,
        "conversation_id": key.conversation_id,
        "conversation_type": key.conversation_type,
        "user_id": key.user_id,
        "group_id": key.group_id,
        "create_time": now,
    }
    row.update(values)
    return row


class ConversationRepo:
    """Reads and writes `conversation`; every method is one transaction named `conversation.<method>`."""

    def __init__(self, db: Db, facts: FactCache | None = None) -> None:
        self.db = db
        self.facts = facts if facts is not None else FactCache(db)

    # ---- reads --------------------------------------------------------------------------------------------

    async def get(self, owner_user_id: str, conversation_id: str) -> Conversation | None:
        """One row, or None when `owner_user_id` has no row for the conversation."""
        async with self.db.read("conversation.get") as conn:
            row = (
                await conn.execute(
                    select(*_COLUMNS).where(
                        conversation.c.owner_user_id == owner_user_id,
                        conversation.c.conversation_id == conversation_id,
                    )
                )
            ).first()
        return None if row is None else _row(row)

    async def get_many(self, owner_user_id: str, conversation_ids: Iterable[str]) -> list[Conversation]:
        """The owner's rows among `conversation_ids`, in request order, each once; missing ones omitted."""
        wanted = list(dict.fromkeys(conversation_ids))
        found: dict[str, Conversation] = {}
        async with self.db.read("conversation.get_many") as conn:
            for chunk in _chunks(wanted):
                result = await conn.execute(
                    select(*_COLUMNS).where(
                        conversation.c.owner_user_id == owner_user_id, conversation.c.conversation_id.in_(chunk)
                    )
                )
                found.update({r.conversation_id: _row(r) for r in result})
        return [found[c] for c in wanted if c in found]

    async def list_all(self, owner_user_id: str) -> list[Conversation]:
        """All of the owner's rows, by conversation ID."""
        async with self.db.read("conversation.list_all") as conn:
            result = await conn.execute(
                select(*_COLUMNS)
                .where(conversation.c.owner_user_id == owner_user_id)
                .order_by(conversation.c.conversation_id)
            )
            return [_row(r) for r in result]

    async def list_ids(self, owner_user_id: str) -> list[str]:
        """The owner's conversation IDs, sorted (the order of get_full_conversation_ids and of paging)."""
        async with self.db.read("conversation.list_ids") as conn:
            result = await conn.execute(
                select(conversation.c.conversation_id)
                .where(conversation.c.owner_user_id == owner_user_id)
                .order_by(conversation.c.conversation_id)
            )
            return list(result.scalars())

    async def page(self, owner_user_id: str, offset: int, limit: int) -> tuple[int, list[Conversation]]:
        """(total rows of the owner, one page by conversation ID); past the end the page is empty."""
        async with self.db.read("conversation.page") as conn:
            total = (
                await conn.execute(
                    select(func.count()).select_from(conversation).where(conversation.c.owner_user_id == owner_user_id)
                )
            ).scalar_one()
            result = await conn.execute(
                select(*_COLUMNS)
                .where(conversation.c.owner_user_id == owner_user_id)
                .order_by(conversation.c.conversation_id)
                .offset(offset)
                .limit(limit)
            )
            return total, [_row(r) for r in result]

    async def ids_where(
        self, owner_user_id: str, *, recv_msg_opt: int | None = None, pinned: bool | None = None
    ) -> list[str]:
        """The owner's conversation IDs with the given receive option and/or pin state, sorted."""
        where = [conversation.c.owner_user_id == owner_user_id]
        if recv_msg_opt is not None:
            where.append(conversation.c.recv_msg_opt == recv_msg_opt)
        if pinned is not None:
            where.append(conversation.c.is_pinned == pinned)
        async with self.db.read("conversation.ids_where") as conn:
            result = await conn.execute(
                select(conversation.c.conversation_id).where(*where).order_by(conversation.c.conversation_id)
            )
            return list(result.scalars())

    async def owner_ids(self, conversation_id: str, *, recv_msg_opt: int | None = None) -> list[str]:
        """Who owns a row of the conversation (optionally only those with that receive option), sorted."""
        where = [conversation.c.conversation_id == conversation_id]
        if recv_msg_opt is not None:
            where.append(conversation.c.recv_msg_opt == recv_msg_opt)
        async with self.db.read("conversation.owner_ids") as conn:
            result = await conn.execute(
                select(conversation.c.owner_user_id).where(*where).order_by(conversation.c.owner_user_id)
            )
            return list(result.scalars())

    # ---- settings ---------------------------------------------------------------------------------------

    async def set_fields(
        self, owner_user_ids: Sequence[str], key: ConversationKey, changes: Mapping[str, Any], *, now: int
    ) -> list[str]:
        """Apply `changes` (columns of SETTABLE_FIELDS) to each owner's row, creating missing rows from `key`.

        Only rows whose values actually differ are written and logged (update); created rows are logged as
        inserts. Returns the owners whose row was created or changed, in the order given.
        """
        unknown = set(changes) - SETTABLE_FIELDS
        if unknown:
            raise ValueError(f"not settable conversation fields: {sorted(unknown)}")
        owners = list(dict.fromkeys(owner_user_ids))
        touched: list[str] = []
        if not owners or not changes:
            return touched
        recv_opt_owners = owners if "recv_msg_opt" in changes else ()  # what a send checks (storage/facts.py)
        async with (
            self.facts.writing(FACT_RECV_OPT, recv_opt_owners),
            self.db.write("conversation.set_fields") as conn,
        ):
            current = await self._rows(conn, owners, key.conversation_id)
            for owner in owners:
                row = current.get(owner)
                if row is None:
                    await conn.execute(
                        dialect.insert_ignore(conn, conversation).values(_new_row(owner, key, now, changes))
                    )
                    await record(conn, KIND_CONVERSATION, owner, [key.conversation_id], STATE_INSERT, now=now)
                    touched.append(owner)
                elif any(getattr(row, name) != value for name, value in changes.items()):
                    await self._update(conn, owner, key.conversation_id, dict(changes), now=now)
                    touched.append(owner)
        return touched

    async def set_on_rows(
        self, owner_user_ids: Sequence[str], conversation_id: str, changes: Mapping[str, Any], *, now: int
    ) -> list[str]:
        """Apply `changes` (columns of SETTABLE_FIELDS or `is_private_chat`) to those owners' existing rows, creating
        none: what a beforeCreate…Conversations answer sets on the rows the first message made. Changed rows are
        logged as updates; returns their owners, sorted."""
        unknown = set(changes) - SETTABLE_FIELDS - {"is_private_chat"}
        if unknown:
            raise ValueError(f"not settable conversation fields: {sorted(unknown)}")
        owners = sorted(set(owner_user_ids))
        changed: list[str] = []
        if not owners or not changes:
            return changed
        recv_opt_owners = owners if "recv_msg_opt" in changes else ()  # what a send checks (storage/facts.py)
        async with (
            self.facts.writing(FACT_RECV_OPT, recv_opt_owners),
            self.db.write("conversation.set_on_rows") as conn,
        ):
            for chunk in _chunks(owners):
                result = await conn.execute(
                    update(conversation)
                    .where(conversation.c.conversation_id == conversation_id, conversation.c.owner_user_id.in_(chunk))
                    .values(dict(changes))
                    .returning(conversation.c.owner_user_id)
                )
                changed.extend(result.scalars())
            if changed:
                await record_many(conn, KIND_CONVERSATION, sorted(changed), [conversation_id], STATE_UPDATE, now=now)
        return sorted(changed)

    async def set_private_chat(
        self, pairs: Sequence[tuple[str, str]], key: ConversationKey, is_private: bool, *, now: int
    ) -> None:
        """Set `is_private_chat` on both sides of each (owner, peer) pair, creating missing rows (OpenIM mirrors it)."""
        async with self.db.write("conversation.set_private_chat") as conn:
            for owner, peer in pairs:
                for a, b in ((owner, peer), (peer, owner)):
                    row = (await self._rows(conn, [a], key.conversation_id)).get(a)
                    if row is None:
                        side = ConversationKey(key.conversation_id, key.conversation_type, b, key.group_id)
                        await conn.execute(
                            dialect.insert_ignore(conn, conversation).values(
                                _new_row(a, side, now, {"is_private_chat": is_private})
                            )
                        )
                        await record(conn, KIND_CONVERSATION, a, [key.conversation_id], STATE_INSERT, now=now)
                    elif row.is_private_chat != is_private:
                        await self._update(conn, a, key.conversation_id, {"is_private_chat": is_private}, now=now)

    async def set_ex_everywhere(self, owner_user_id: str, ex: str, *, now: int) -> list[str]:
        """Set `ex` on every row of the owner (update_conversations_by_user); returns the changed conversations."""
        async with self.db.write("conversation.set_ex_everywhere") as conn:
            result = await conn.execute(
                update(conversation)
                .where(conversation.c.owner_user_id == owner_user_id, conversation.c.ex != ex)
                .values(ex=ex)
                .returning(conversation.c.conversation_id)
            )
            changed = sorted(result.scalars())
            if changed:
                await record(conn, KIND_CONVERSATION, owner_user_id, changed, STATE_UPDATE, now=now)
        return changed

    async def delete(self, owner_user_id: str, conversation_ids: Sequence[str], *, now: int) -> list[str]:
        """Delete the owner's rows (delete_conversations); returns the ones that existed, logged as deletes."""
        wanted = sorted(set(conversation_ids))
        deleted: list[str] = []
        if not wanted:
            return deleted
        async with (
            self.facts.writing(FACT_RECV_OPT, (owner_user_id,)),
            self.db.write("conversation.delete") as conn,
        ):
            for chunk in _chunks(wanted):
                result = await conn.execute(
                    delete(conversation)
                    .where(conversation.c.owner_user_id == owner_user_id, conversation.c.conversation_id.in_(chunk))
                    .returning(conversation.c.conversation_id)
                )
                deleted.extend(result.scalars())
            if deleted:
                await record(conn, KIND_CONVERSATION, owner_user_id, sorted(deleted), STATE_DELETE, now=now)
        return sorted(deleted)

    # ---- seqs kept on the row -------------------------------------------------------------------------------

    async def set_has_read_seq(
        self, owner_user_id: str, conversation_id: str, seq: int, *, only_raise: bool
    ) -> int | None:
        """Set (or with `only_raise`, raise) the owner's read position; returns the new value, None if no row."""
        async with self.db.write("conversation.set_has_read_seq") as conn:
            stmt = update(conversation).where(
                conversation.c.owner_user_id == owner_user_id, conversation.c.conversation_id == conversation_id
            )
            if only_raise:
                stmt = stmt.where(conversation.c.has_read_seq < seq)
            stmt = stmt.values(has_read_seq=seq)
            await conn.execute(stmt)
            value = (
                await conn.execute(
                    select(conversation.c.has_read_seq).where(
                        conversation.c.owner_user_id == owner_user_id, conversation.c.conversation_id == conversation_id
                    )
                )
            ).scalar()
        return None if value is None else int(value)

    async def clear_for_user(self, owner_user_id: str, conversation_ids: Sequence[str], *, now: int) -> dict[str, int]:
        """Hide the current history of the owner's conversations from the owner only: its min_seq := max seq + 1
        and has_read_seq := max seq. Returns conversation → max seq for the conversations that have messages."""
        cids = sorted(set(conversation_ids))
        async with self.db.write("conversation.clear_for_user") as conn:
            maxes: dict[str, int] = {}
            for chunk in _chunks(cids):
                result = await conn.execute(
                    select(seq_conversation.c.conversation_id, seq_conversation.c.max_seq).where(
                        seq_conversation.c.conversation_id.in_(chunk), seq_conversation.c.max_seq > 0
                    )
                )
                maxes.update({c: m for c, m in result})
            existing = await self._owned(conn, owner_user_id, sorted(maxes))
            changed = sorted(c for c in existing if existing[c].min_seq != maxes[c] + 1)
            if maxes:
                await conn.execute(
                    update(conversation)
                    .where(
                        conversation.c.owner_user_id == owner_user_id,
                        conversation.c.conversation_id == bindparam("b_cid"),
                    )
                    .values(min_seq=bindparam("b_min"), has_read_seq=bindparam("b_read")),
                    [{"b_cid": c, "b_min": m + 1, "b_read": m} for c, m in sorted(maxes.items()) if c in existing],
                )
            if changed:
                await record(conn, KIND_CONVERSATION, owner_user_id, changed, STATE_UPDATE, now=now)
        return {c: m for c, m in maxes.items() if c in existing}

    async def set_user_seq_caps(
        self,
        owner_user_ids: Sequence[str],
        conversation_id: str,
        *,
        min_seq: int | None = None,
        max_seq: int | None = None,
        now: int,
    ) -> list[str]:
        """Set owners' min_seq and/or max_seq caps on a conversation (group join/quit/kick, destruct jobs).

        Only existing rows change; each change is logged. Returns the owners whose row changed.
        """
        changes: dict[str, Any] = {}
        if min_seq is not None:
            changes["min_seq"] = min_seq
        if max_seq is not None:
            changes["max_seq"] = max_seq
        owners = list(dict.fromkeys(owner_user_ids))
        touched: list[str] = []
        if not changes or not owners:
            return touched
        async with self.db.write("conversation.set_user_seq_caps") as conn:
            current = await self._rows(conn, owners, conversation_id)
            for owner in owners:
                row = current.get(owner)
                if row is not None and any(getattr(row, k) != v for k, v in changes.items()):
                    await self._update(conn, owner, conversation_id, changes, now=now)
                    touched.append(owner)
        return touched

    # ---- self-destructing messages (jobs/crontask.py) -------------------------------------------------------

    async def due_for_destruct(self, now: int, limit: int) -> list[Conversation]:
        """Rows with isMsgDestruct on and a msgDestructTime whose last run is a msgDestructTime or more ago (OpenIM's
        FindRandConversation), the longest-waiting first; at most `limit`."""
        c = conversation.c
        async with self.db.read("conversation.due_for_destruct") as conn:
            result = await conn.execute(
                select(*_COLUMNS)
                .where(
                    c.is_msg_destruct.is_(True),
                    c.msg_destruct_time > 0,
                    c.latest_msg_destruct_time + c.msg_destruct_time * 1000 < now,
                )
                .order_by(c.latest_msg_destruct_time, c.owner_user_id, c.conversation_id)
                .limit(limit)
            )
            return [_row(r) for r in result]

    async def destructed(self, owner_user_id: str, conversation_id: str, *, min_seq: int, now: int) -> bool:
        """Record a destruct run on the owner's row (`latest_msg_destruct_time` := now) and raise its min_seq to
        `min_seq` (never lower it: a clear stays cleared). True when min_seq moved, which is logged as a change."""
        async with self.db.write("conversation.destructed") as conn:
            where = (conversation.c.owner_user_id == owner_user_id, conversation.c.conversation_id == conversation_id)
            raised = (
                await conn.execute(
                    update(conversation)
                    .where(*where, conversation.c.min_seq < min_seq)
                    .values(min_seq=min_seq, latest_msg_destruct_time=now)
                    .returning(conversation.c.owner_user_id)
                )
            ).first()
            if raised is None:
                await conn.execute(update(conversation).where(*where).values(latest_msg_destruct_time=now))
                return False
            await record(conn, KIND_CONVERSATION, owner_user_id, [conversation_id], STATE_UPDATE, now=now)
        return True

    # ---- helpers --------------------------------------------------------------------------------------------

    @staticmethod
    async def _rows(conn: AsyncConnection, owners: Sequence[str], conversation_id: str) -> dict[str, Conversation]:
        found: dict[str, Conversation] = {}
        for chunk in _chunks(list(owners)):
            result = await conn.execute(
                select(*_COLUMNS).where(
                    conversation.c.conversation_id == conversation_id, conversation.c.owner_user_id.in_(chunk)
                )
            )
            found.update({r.owner_user_id: _row(r) for r in result})
        return found

    @staticmethod
    async def _owned(conn: AsyncConnection, owner: str, conversation_ids: Sequence[str]) -> dict[str, Conversation]:
        found: dict[str, Conversation] = {}
        for chunk in _chunks(list(conversation_ids)):
            result = await conn.execute(
                select(*_COLUMNS).where(
                    conversation.c.owner_user_id == owner, conversation.c.conversation_id.in_(chunk)
                )
            )
            found.update({r.conversation_id: _row(r) for r in result})
        return found

    @staticmethod
    async def _update(
        conn: AsyncConnection, owner: str, conversation_id: str, values: dict[str, Any], *, now: int
    ) -> None:
        await conn.execute(
            update(conversation)
            .where(conversation.c.owner_user_id == owner, conversation.c.conversation_id == conversation_id)
            .values(values)
        )
        await record(conn, KIND_CONVERSATION, owner, [conversation_id], STATE_UPDATE, now=now)
