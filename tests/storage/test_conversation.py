"""Tests for openim.storage.conversation: reads, settings with version logging, caps, clear, delete."""

from __future__ import annotations

import pytest
from tests.storage.msgs import text

from openim.storage import Storage
from openim.storage.conversation import ConversationKey
from openim.storage.version import KIND_CONVERSATION

KEY = ConversationKey("si_a_b", 1, user_id="b")


async def _version(storage: Storage, owner: str) -> int:
    return (await storage.version.current(KIND_CONVERSATION, owner)).version


async def test_set_fields_creates_missing_rows_and_logs_inserts(storage: Storage) -> None:
    """Setting a field for a user without a row creates the row from the key and logs an insert."""
    base = await storage.version.current(KIND_CONVERSATION, "a")
    touched = await storage.conversation.set_fields(["a"], KEY, {"is_pinned": True}, now=77)
    assert touched == ["a"]
    row = await storage.conversation.get("a", "si_a_b")
    assert row is not None and row.is_pinned and row.user_id == "b" and row.create_time == 77
    delta = await storage.version.incremental(KIND_CONVERSATION, "a", base.version_id, base.version)
    assert not delta.full and delta.inserted == ["si_a_b"] and delta.version == base.version + 1


async def test_set_fields_writes_only_real_changes(storage: Storage) -> None:
    """A value equal to the stored one changes nothing and bumps no version; a different one bumps once."""
    await storage.msg.append_batch([text("a", "b")])
    v0 = await _version(storage, "a")
    assert await storage.conversation.set_fields(["a"], KEY, {"recv_msg_opt": 0}, now=1) == []
    assert await _version(storage, "a") == v0
    assert await storage.conversation.set_fields(["a", "b"], KEY, {"recv_msg_opt": 2, "ex": "x"}, now=1) == ["a", "b"]
    assert await _version(storage, "a") == v0 + 1
    row = await storage.conversation.get("a", "si_a_b")
    assert row is not None and (row.recv_msg_opt, row.ex) == (2, "x")


async def test_set_fields_rejects_unknown_columns(storage: Storage) -> None:
    """Only the settable columns may be written through set_fields."""
    with pytest.raises(ValueError, match="has_read_seq"):
        await storage.conversation.set_fields(["a"], KEY, {"has_read_seq": 9}, now=1)


async def test_reads_order_and_filters(storage: Storage) -> None:
    """get_many keeps request order, list_ids sorts, ids_where filters by receive option and pin."""
    await storage.msg.append_batch([text("a", "c"), text("a", "b")])
    await storage.conversation.set_fields(["a"], ConversationKey("si_a_c", 1, "c"), {"recv_msg_opt": 2}, now=1)
    await storage.conversation.set_fields(["a"], KEY, {"is_pinned": True}, now=1)
    assert [r.conversation_id for r in await storage.conversation.get_many("a", ["si_a_c", "x", "si_a_b"])] == [
        "si_a_c",
        "si_a_b",
    ]
    assert await storage.conversation.list_ids("a") == ["si_a_b", "si_a_c"]
    assert await storage.conversation.ids_where("a", recv_msg_opt=2) == ["si_a_c"]
    assert await storage.conversation.ids_where("a", pinned=True) == ["si_a_b"]
    total, page = await storage.conversation.page("a", 1, 5)
    assert total == 2 and [r.conversation_id for r in page] == ["si_a_c"]
    assert await storage.conversation.owner_ids("si_a_b") == ["a", "b"]


async def test_private_chat_is_mirrored_to_the_peer(storage: Storage) -> None:
    """set_private_chat writes both sides, creating the peer's row when missing."""
    await storage.conversation.set_private_chat([("a", "b")], KEY, True, now=1)
    row_a = await storage.conversation.get("a", "si_a_b")
    row_b = await storage.conversation.get("b", "si_a_b")
    assert row_a is not None and row_b is not None
    assert row_a.is_private_chat and row_b.is_private_chat
    assert (row_a.user_id, row_b.user_id) == ("b", "a")


async def test_has_read_seq_set_and_raise(storage: Storage) -> None:
    """only_raise never lowers the read position; a plain set does; no row → None. No version bump."""
    await storage.msg.append_batch([text("a", "b")])
    v0 = await _version(storage, "b")
    assert await storage.conversation.set_has_read_seq("b", "si_a_b", 5, only_raise=True) == 5
    assert await storage.conversation.set_has_read_seq("b", "si_a_b", 3, only_raise=True) == 5
    assert await storage.conversation.set_has_read_seq("b", "si_a_b", 3, only_raise=False) == 3
    assert await storage.conversation.set_has_read_seq("z", "si_a_b", 3, only_raise=False) is None
    assert await _version(storage, "b") == v0


async def test_clear_for_user_moves_only_that_users_caps(storage: Storage) -> None:
    """clear_for_user sets min_seq = max + 1 and has_read_seq = max for the owner only, logging an update."""
    await storage.msg.append_batch([text("a", "b"), text("b", "a")])
    v0 = await _version(storage, "a")
    assert await storage.conversation.clear_for_user("a", ["si_a_b", "si_x"], now=1) == {"si_a_b": 2}
    row_a = await storage.conversation.get("a", "si_a_b")
    row_b = await storage.conversation.get("b", "si_a_b")
    assert row_a is not None and row_b is not None
    assert (row_a.min_seq, row_a.has_read_seq, row_b.min_seq) == (3, 2, 0)
    assert await _version(storage, "a") == v0 + 1


async def test_seq_caps_and_delete_are_logged(storage: Storage) -> None:
    """Caps changes log updates; deleting rows logs deletes and reports only rows that existed."""
    await storage.msg.append_batch([text("a", "b")])
    base = await storage.version.current(KIND_CONVERSATION, "a")
    assert await storage.conversation.set_user_seq_caps(["a", "zz"], "si_a_b", max_seq=1, now=1) == ["a"]
    assert await storage.conversation.delete("a", ["si_a_b", "si_nope"], now=1) == ["si_a_b"]
    delta = await storage.version.incremental(KIND_CONVERSATION, "a", base.version_id, base.version)
    assert delta.deleted == ["si_a_b"] and delta.updated == []
    assert await storage.conversation.get("a", "si_a_b") is None


async def test_set_ex_everywhere(storage: Storage) -> None:
    """set_ex_everywhere changes ex on all the owner's rows that differ and logs them in one bump."""
    await storage.msg.append_batch([text("a", "b"), text("a", "c")])
    v0 = await _version(storage, "a")
    assert await storage.conversation.set_ex_everywhere("a", "E", now=1) == ["si_a_b", "si_a_c"]
    assert await storage.conversation.set_ex_everywhere("a", "E", now=1) == []
    assert await _version(storage, "a") == v0 + 1
