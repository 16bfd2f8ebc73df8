"""The schema property docs/scale-out.md relies on for the path past one PostgreSQL primary: the hot message tables
are keyed by conversation first and hold no foreign key, so a distributed PostgreSQL (Citus, or another compatible
engine) can shard them by `conversation_id` and every statement of a send or a pull stays on one shard."""

from __future__ import annotations

from sqlalchemy import Table

from openim.storage import schema

# Written on every send or pulled on every sync, and keyed by conversation: the tables to distribute.
HOT_MESSAGE_TABLES = (schema.seq_conversation, schema.msg, schema.msg_user_delete)


def test_hot_message_tables_are_keyed_by_conversation_first() -> None:
    for table in HOT_MESSAGE_TABLES:
        key = [c.name for c in table.primary_key.columns]
        assert key[0] == "conversation_id", f"{table.name}: primary key {key}"


def test_hot_message_tables_have_no_foreign_keys() -> None:
    """A foreign key to another table (or to another conversation's row) would be a cross-shard check per insert."""
    for table in HOT_MESSAGE_TABLES:
        assert not table.foreign_keys, f"{table.name}: {table.foreign_keys}"


def test_no_table_points_at_the_hot_tables() -> None:
    """Nothing else references them either, so they can move to another engine or shard without the rest."""
    hot = {t.name for t in HOT_MESSAGE_TABLES}
    for table in schema.metadata.tables.values():
        assert isinstance(table, Table)
        targets = {fk.column.table.name for fk in table.foreign_keys}
        assert not targets & hot, f"{table.name} references {targets & hot}"


def test_unique_indexes_of_hot_tables_other_than_the_key_are_known() -> None:
    """A distributed engine enforces uniqueness only on indexes that contain the distribution column. msg's
    (client_msg_id, send_id) resend check does not: the docs say it becomes per-conversation (or is checked in
    the conversation's shard) when msg is distributed. A new unique index here must be weighed the same way."""
    found = {
        (table.name, tuple(c.name for c in index.columns))
        for table in HOT_MESSAGE_TABLES
        for index in table.indexes
        if index.unique and "conversation_id" not in [c.name for c in index.columns]
    }
    assert found == {("msg", ("client_msg_id", "send_id"))}
