"""MsgSearchRepo: /msg/search_msg over the `msg` table — OpenIM's filters, answered from indexes.

Only chat messages are searched, as OpenIM searches only its `si_` and `sg_` documents (not notification
conversations). Filters: sender (`send_id`), receiver (`recv_id`: recvID or groupID), content type, session
type and a send-time range; each given filter narrows the result. The indexes (send_id, send_time),
(recv_id, send_time) and (send_time) let a search by sender, receiver or day read only its own rows; content and
session type are checked on those rows. Order: send_time, then conversation, then seq (oldest first, as OpenIM's
document order roughly is).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, or_, select

from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.storage.db import Db
from openim.storage.msg.render import parse_msg
from openim.storage.schema import msg

__all__ = ["FoundMsg", "MsgQuery", "MsgSearchRepo"]


@dataclass(frozen=True, slots=True)
class MsgQuery:
    """What to search for; an empty string or 0 (None for times) means "any"."""

    send_id: str = ""
    recv_id: str = ""
    content_type: int = 0
    session_type: int = 0
    start_ms: int | None = None  # send_time >= start_ms
    end_ms: int | None = None  # send_time < end_ms


@dataclass(frozen=True, slots=True)
class FoundMsg:
    msg: MsgData  # as sent, with its seq
    revoked: bool


class MsgSearchRepo:
    """Searches `msg`; every method is one transaction named `msg_search.<method>`."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def search(self, query: MsgQuery, offset: int, limit: int) -> tuple[int, list[FoundMsg]]:
        """(matching total, one page of matches); past the end the page is empty, the total still counts all."""
        async with self.db.read("msg_search.search") as conn:
            count = select(func.count()).select_from(msg).where(*_where(query))
            total = (await conn.execute(count)).scalar_one()
            if limit <= 0 or offset >= total:
                return total, []
            result = await conn.execute(search_statement(query, limit).offset(offset))
            return total, [FoundMsg(parse_msg(data), revoke is not None) for data, revoke in result]


def search_statement(query: MsgQuery, limit: int = 20) -> Select[bytes, str | None]:
    """The first page of `query` as `search` reads it (offset it for later pages); EXPLAIN it in tests and bench."""
    return (
        select(msg.c.data, msg.c.revoke)
        .where(*_where(query))
        .order_by(msg.c.send_time, msg.c.conversation_id, msg.c.seq)
        .limit(limit)
    )


def _where(query: MsgQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        or_(
            msg.c.conversation_id.startswith("si_", autoescape=True),
            msg.c.conversation_id.startswith("sg_", autoescape=True),
        )
    ]
    if query.send_id:
        where.append(msg.c.send_id == query.send_id)
    if query.recv_id:
        where.append(msg.c.recv_id == query.recv_id)
    if query.content_type:
        where.append(msg.c.content_type == query.content_type)
    if query.session_type:
        where.append(msg.c.session_type == query.session_type)
    if query.start_ms is not None:
        where.append(msg.c.send_time >= query.start_ms)
    if query.end_ms is not None:
        where.append(msg.c.send_time < query.end_ms)
    return where
