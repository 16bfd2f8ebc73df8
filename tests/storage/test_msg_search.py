"""Tests for openim.storage.msg.search and revision 0006: recv_id filled on append and by the migration's backfill,
and the query plans of a search by sender, receiver and day reading their indexes on both databases."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import column, insert, select, table, text
from sqlalchemy.engine import Connection
from tests.storage.msgs import group_text
from tests.storage.msgs import text as text_msg
from tests.storage.test_migrate import empty_db_url  # noqa: F401 - the fixture

from openim.storage import Storage
from openim.storage.db import Db
from openim.storage.migrate import MIGRATIONS_DIR, upgrade
from openim.storage.msg.search import MsgQuery, search_statement
from openim.storage.schema import msg


async def test_append_fills_recv_id_and_search_filters(storage: Storage) -> None:
    """recv_id is the receiver of single chats and the group of group messages; each filter narrows."""
    await storage.msg.append_batch([text_msg("a", "b", send_time=10), text_msg("b", "a", send_time=20)])
    await storage.msg.append_batch([group_text("c", "g1")])
    async with storage.db.read("test.recv_ids") as conn:
        rows = (await conn.execute(select(msg.c.send_id, msg.c.recv_id).order_by(msg.c.send_id))).all()
    assert [tuple(r) for r in rows] == [("a", "b"), ("b", "a"), ("c", "g1")]
    search = storage.msg_search.search
    assert (await search(MsgQuery(), 0, 10))[0] == 3
    total, found = await search(MsgQuery(recv_id="a"), 0, 10)
    assert (total, [f.msg.sendID for f in found]) == (1, ["b"])
    total, found = await search(MsgQuery(start_ms=10, end_ms=20), 0, 10)
    assert (total, [f.msg.sendTime for f in found]) == (1, [10])
    assert (await search(MsgQuery(send_id="c", session_type=3), 0, 0)) == (1, [])


def _to(revision: str) -> object:
    def run(conn: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)

    return run


async def test_migration_backfills_recv_id(empty_db_url: str) -> None:  # noqa: F811
    """Messages stored before revision 0006 get their recv_id from their data."""
    db = await Db.connect(empty_db_url, pool_size=1)
    try:
        async with db.write("test.to_0005") as conn:
            await conn.run_sync(_to("0005"))  # type: ignore[arg-type]
        rows = []
        for i, new in enumerate([text_msg("a", "b"), text_msg("b", "a"), group_text("c", "g1")]):
            m = new.msg
            rows.append(
                {
                    "conversation_id": new.conversation_id,
                    "seq": i + 1,
                    "client_msg_id": m.clientMsgID,
                    "server_msg_id": m.serverMsgID,
                    "send_id": m.sendID,
                    "session_type": m.sessionType,
                    "content_type": m.contentType,
                    "send_time": m.sendTime,
                    "data": m.SerializeToString(),
                }
            )
        old_msg = table("msg", *(column(c.name) for c in msg.c if c.name != "recv_id"))  # as of revision 0005
        async with db.write("test.old_rows") as conn:
            await conn.execute(insert(old_msg), rows)
        await upgrade(db)
        async with db.read("test.recv_ids") as conn:
            found = (await conn.execute(select(msg.c.send_id, msg.c.recv_id).order_by(msg.c.send_id))).all()
        assert [tuple(r) for r in found] == [("a", "b"), ("b", "a"), ("c", "g1")]
    finally:
        await db.close()


async def _plan(storage: Storage, query: MsgQuery) -> str:
    """The database's plan of the search page query (PostgreSQL with seq scans priced out: the table is tiny)."""
    sql = str(search_statement(query).compile(storage.db.engine, compile_kwargs={"literal_binds": True}))
    async with storage.db.read("test.explain") as conn:
        if storage.db.dialect == "sqlite":
            rows = (await conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"))).all()
            return "\n".join(str(r[-1]) for r in rows)
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        rows = (await conn.execute(text(f"EXPLAIN {sql}"))).all()
        return "\n".join(str(r[0]) for r in rows)


async def test_searches_read_their_indexes(storage: Storage) -> None:
    """By sender, by receiver and by day, the plan reads (send_id, send_time), (recv_id, send_time), (send_time)."""
    await storage.msg.append_batch([text_msg("a", "b", send_time=10), group_text("c", "g1")])
    assert "ix_msg_send_id_send_time" in await _plan(storage, MsgQuery(send_id="a"))
    assert "ix_msg_recv_id_send_time" in await _plan(storage, MsgQuery(recv_id="g1", content_type=101))
    assert "ix_msg_send_time" in await _plan(storage, MsgQuery(start_ms=0, end_ms=86_400_000))
