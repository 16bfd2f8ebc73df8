"""Tests for openim.storage.msg: seq allocation, dedupe, owner rows, rendering of reads, revoke, deletes, caps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.databases import copy_migrated_sqlite
from tests.storage.msgs import group_text, text

from openim.protocol.constants import ContentType, MsgStatus, SessionType
from openim.protocol.errors import MsgAlreadyRevoke, RecordNotFoundError
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.storage import Storage, open_storage
from openim.storage.msg import MsgRevoke
from openim.storage.version import KIND_CONVERSATION


async def test_first_messages_get_seq_1_and_contiguous_seqs(storage: Storage) -> None:
    """Seqs start at 1 per conversation and are contiguous in input order, per conversation independently."""
    news = [text("a", "b"), text("b", "a"), text("a", "c"), text("a", "b")]
    out = await storage.msg.append_batch(news)
    assert [(o.conversation_id, o.seq) for o in out] == [
        ("si_a_b", 1),
        ("si_a_b", 2),
        ("si_a_c", 1),
        ("si_a_b", 3),
    ]
    assert all(o.msg.seq == o.seq and not o.duplicate for o in out)
    more = await storage.msg.append_batch([text("b", "a")])
    assert more[0].seq == 4
    states = await storage.msg.seq_states(["si_a_b", "si_a_c", "si_x_y"])
    assert {c: s.max_seq for c, s in states.items()} == {"si_a_b": 4, "si_a_c": 1}


async def test_append_does_not_mutate_the_callers_message(storage: Storage) -> None:
    """The stored copy carries the seq; the MsgData the caller passed keeps seq 0."""
    new = text("a", "b")
    out = await storage.msg.append_batch([new])
    assert new.msg.seq == 0 and out[0].msg.seq == 1


async def test_resending_a_client_msg_id_writes_nothing(storage: Storage) -> None:
    """A (sendID, clientMsgID) already stored returns the stored message as a duplicate and writes nothing."""
    first = (await storage.msg.append_batch([text("a", "b", "one", client_msg_id="same")]))[0]
    rows_before = storage.msg.stats.rows
    again = (await storage.msg.append_batch([text("a", "b", "two", client_msg_id="same")]))[0]
    assert again.duplicate and again.seq == first.seq
    assert json.loads(again.msg.content) == {"content": "one"}
    assert storage.msg.stats.rows == rows_before
    assert (await storage.msg.seq_states(["si_a_b"]))["si_a_b"].max_seq == 1


async def test_duplicate_inside_one_batch_is_stored_once(storage: Storage) -> None:
    """The same clientMsgID twice in one batch: stored once, the second answer is that message as a duplicate."""
    out = await storage.msg.append_batch([text("a", "b", client_msg_id="x"), text("a", "b", client_msg_id="x")])
    assert [o.duplicate for o in out] == [False, True]
    assert out[0].seq == out[1].seq == 1


async def test_other_senders_may_reuse_a_client_msg_id(storage: Storage) -> None:
    """Dedupe is per sender: the same clientMsgID from two users is two messages."""
    out = await storage.msg.append_batch([text("a", "b", client_msg_id="x"), text("b", "a", client_msg_id="x")])
    assert [o.seq for o in out] == [1, 2]


async def test_first_message_creates_both_rows_and_logs_them(storage: Storage) -> None:
    """A single chat's first message creates a row for each side (user_id = the peer) and logs an insert."""
    await storage.msg.append_batch([text("a", "b")])
    row_a = await storage.conversation.get("a", "si_a_b")
    row_b = await storage.conversation.get("b", "si_a_b")
    assert row_a is not None and row_b is not None
    assert (row_a.user_id, row_b.user_id, row_a.conversation_type) == ("b", "a", SessionType.SINGLE_CHAT)
    assert row_a.create_time == 1000
    for owner in ("a", "b"):
        state = await storage.version.current(KIND_CONVERSATION, owner)
        assert state.version == 1


async def test_sender_has_read_seq_follows_its_own_messages(storage: Storage) -> None:
    """The sender's has_read_seq becomes the seq of its newest message; the receiver's does not move."""
    await storage.msg.append_batch([text("a", "b"), text("a", "b"), text("b", "a")])
    views = await storage.msg.seq_views("a", ["si_a_b"])
    assert views["si_a_b"].has_read_seq == 2
    assert (await storage.msg.seq_views("b", ["si_a_b"]))["si_a_b"].has_read_seq == 3
    await storage.msg.append_batch([text("a", "b")])
    assert (await storage.msg.seq_views("b", ["si_a_b"]))["si_a_b"].has_read_seq == 3


async def test_group_rows_only_for_given_owners(storage: Storage) -> None:
    """A group's first message creates every member's row; later ones (no owners) write O(1) rows each."""
    members = tuple(f"m{i}" for i in range(20))
    await storage.msg.append_batch([group_text("m0", "g1", owners=members)])
    assert len(await storage.conversation.owner_ids("sg_g1")) == 20
    row = await storage.conversation.get("m5", "sg_g1")
    assert row is not None and (row.group_id, row.user_id, row.conversation_type) == ("g1", "", 3)
    rows, msgs = storage.msg.stats.rows, storage.msg.stats.messages
    await storage.msg.append_batch([group_text(f"m{i}", "g1") for i in range(10)])
    written = (storage.msg.stats.rows - rows) / (storage.msg.stats.messages - msgs)
    assert written <= 3  # the message, its share of the seq row, the sender's read position


async def test_rows_per_message_is_constant_in_steady_state(storage: Storage) -> None:
    """Single-chat sends in steady state write the same small number of rows per message."""
    await storage.msg.append_batch([text("a", "b")])
    rows, msgs = storage.msg.stats.rows, storage.msg.stats.messages
    await storage.msg.append_batch([text("a", "b") for _ in range(50)])
    assert (storage.msg.stats.rows - rows) / (storage.msg.stats.messages - msgs) < 2.1


async def test_reads_render_placeholders_for_missing_seqs(storage: Storage) -> None:
    """Every requested seq yields an entry; a seq without a message is {seq, status 4} and nothing else."""
    await storage.msg.append_batch([text("a", "b", "one"), text("a", "b", "two")])
    got = await storage.msg.get_msgs("b", "si_a_b", [1, 2, 3])
    assert [m.seq for m in got] == [1, 2, 3]
    assert json.loads(got[1].content) == {"content": "two"}
    assert got[2] == MsgData(seq=3, status=MsgStatus.HAS_DELETED)


async def test_delete_for_user_hides_only_for_that_user(storage: Storage) -> None:
    """A message deleted for a is status 4 with no content for a, unchanged for b."""
    await storage.msg.append_batch([text("a", "b", "secret")])
    await storage.msg.delete_for_user("a", "si_a_b", [1])
    mine = (await storage.msg.get_msgs("a", "si_a_b", [1]))[0]
    theirs = (await storage.msg.get_msgs("b", "si_a_b", [1]))[0]
    assert mine.status == MsgStatus.HAS_DELETED and mine.content == b"" and mine.clientMsgID
    assert json.loads(theirs.content) == {"content": "secret"}


async def test_delete_physical_leaves_placeholders(storage: Storage) -> None:
    """A physically deleted message reads as a placeholder for everyone; its seq is never reused."""
    await storage.msg.append_batch([text("a", "b"), text("a", "b")])
    assert await storage.msg.delete_physical("si_a_b", [1, 7]) == 1
    assert (await storage.msg.get_msgs("b", "si_a_b", [1]))[0] == MsgData(seq=1, status=4)
    assert (await storage.msg.append_batch([text("a", "b")]))[0].seq == 3


async def test_revoke_once_then_1404(storage: Storage) -> None:
    """A revoked message reads as contentType 2101 with MessageRevokedContent; a second revoke raises 1404."""
    await storage.msg.append_batch([text("a", "b", "oops")])
    revoke = MsgRevoke(role=0, user_id="a", nickname="Alice", time=5000)
    stored = await storage.msg.revoke("si_a_b", 1, revoke)
    assert stored.revoke == revoke and stored.msg.contentType == ContentType.TEXT
    with pytest.raises(MsgAlreadyRevoke):
        await storage.msg.revoke("si_a_b", 1, revoke)
    with pytest.raises(RecordNotFoundError):
        await storage.msg.revoke("si_a_b", 9, revoke)
    got = (await storage.msg.get_msgs("b", "si_a_b", [1]))[0]
    assert got.contentType == ContentType.MSG_REVOKE_NOTIFICATION
    detail = json.loads(json.loads(got.content)["detail"])
    assert detail == {
        "revokerID": "a",
        "revokerRole": 0,
        "clientMsgID": got.clientMsgID,
        "revokerNickname": "Alice",
        "revokeTime": 5000,
        "sourceMessageSendTime": 1000,
        "sourceMessageSendID": "a",
        "sourceMessageSenderNickname": "",
        "sessionType": 1,
        "seq": 1,
        "ex": "",
    }


async def test_quote_of_a_revoked_message_is_rewritten(storage: Storage) -> None:
    """A quote (114) whose quoted message was revoked shows the quoted message as revoked (contentType 2101)."""
    await storage.msg.append_batch([text("a", "b", "original")])
    quote = text("b", "a")
    quote.msg.contentType = ContentType.QUOTE
    quote.msg.content = json.dumps(
        {"text": "re", "quoteMessage": {"seq": 1, "contentType": 101, "content": "{}"}, "extra": 1}
    ).encode()
    await storage.msg.append_batch([quote])
    await storage.msg.revoke("si_a_b", 1, MsgRevoke(0, "a", "", 9))
    got = (await storage.msg.get_msgs("a", "si_a_b", [2]))[0]
    body = json.loads(got.content)
    assert body["extra"] == 1 and body["text"] == "re"
    assert body["quoteMessage"]["contentType"] == 2101
    assert json.loads(json.loads(body["quoteMessage"]["content"])["detail"])["revokerID"] == "a"


async def test_mark_read_flags_only_the_peers_messages(storage: Storage) -> None:
    """mark_read sets isRead on messages the reader did not send, by list and by range."""
    await storage.msg.append_batch([text("a", "b"), text("b", "a"), text("a", "b"), text("a", "b")])
    await storage.msg.mark_read("si_a_b", [4], reader="b", through=(1, 2))
    got = await storage.msg.get_msgs("a", "si_a_b", [1, 2, 3, 4])
    assert [m.isRead for m in got] == [True, False, False, True]


async def test_seq_views_caps(storage: Storage) -> None:
    """seq_views combine the counter with the user's row: visible range, ownership and read position."""
    await storage.msg.append_batch([text("a", "b") for _ in range(5)])
    await storage.conversation.set_user_seq_caps(["b"], "si_a_b", min_seq=2, max_seq=4, now=1)
    await storage.msg.raise_min_seqs({"si_a_b": 3})
    view = await storage.msg.seq_views("b", ["si_a_b", "si_none"])
    assert (view["si_a_b"].visible_min, view["si_a_b"].visible_max, view["si_a_b"].owned) == (3, 4, True)
    assert not view["si_none"].owned and view["si_none"].max_seq == 0
    assert (await storage.msg.seq_views("c", ["si_a_b"]))["si_a_b"].owned is False


async def test_last_msgs_skips_deleted_and_respects_the_span(storage: Storage) -> None:
    """last_msgs returns the newest message in the span not deleted for the user; none → omitted."""
    await storage.msg.append_batch([text("a", "b", "1"), text("a", "b", "2"), text("a", "b", "3")])
    await storage.msg.delete_for_user("b", "si_a_b", [3])
    got = await storage.msg.last_msgs("b", {"si_a_b": (1, 3), "si_a_c": (1, 5)})
    assert list(got) == ["si_a_b"] and got["si_a_b"].seq == 2
    assert (await storage.msg.last_msgs("a", {"si_a_b": (1, 3)}))["si_a_b"].seq == 3
    assert await storage.msg.last_msgs("a", {"si_a_b": (4, 3)}) == {}


async def test_clear_for_everyone_raises_min_seq_and_read_position(storage: Storage) -> None:
    """clear_for_everyone hides history from all (min seq = max + 1) and sets the clearer's read position."""
    await storage.msg.append_batch([text("a", "b"), text("b", "a")])
    assert await storage.msg.clear_for_everyone("a", ["si_a_b", "si_none"]) == {"si_a_b": 2}
    view = (await storage.msg.seq_views("b", ["si_a_b"]))["si_a_b"]
    assert view.visible_min == 3 and view.visible_max == 2
    assert (await storage.msg.seq_views("a", ["si_a_b"]))["si_a_b"].has_read_seq == 2


async def test_delete_sent_before_raises_min_seq(storage: Storage) -> None:
    """delete_sent_before removes old messages of the listed conversations only and moves their min seq past them."""
    await storage.msg.append_batch(
        [
            text("a", "b", send_time=10),
            text("a", "b", send_time=20),
            text("a", "b", send_time=30),
            text("a", "c", send_time=10),
        ]
    )
    assert await storage.msg.delete_sent_before(["si_a_b", "si_none"], 25) == {"si_a_b": 3}
    assert await storage.msg.delete_sent_before(["si_a_b"], 5) == {}
    assert (await storage.msg.seq_states(["si_a_b"]))["si_a_b"].min_seq == 3
    assert [m.sendTime for m in await storage.msg.get_msgs("a", "si_a_c", [1])] == [10]
    assert (await storage.msg.get_msgs("a", "si_a_b", [3]))[0].sendTime == 30


async def test_sqlite_batches_of_any_size_run_few_distinct_statements(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every distinct SQL a SQLite connection runs stays prepared in its statement cache (128 per connection,
    ~0.7 KiB per row of a multi-row VALUES): batches of 1 to 80 new conversations must not make a variant per
    size (they made 80 of each insert, the connection's SQLite memory growing with them), only one per power of
    two."""
    url = f"sqlite:///{tmp_path / 'data' / 'openim.db'}"
    await copy_migrated_sqlite(url, tmp_path_factory)
    storage = await open_storage(url, pool_size=1)  # one connection: every batch runs on the traced one
    seen: set[str] = set()
    try:
        async with storage.db.read("test.trace") as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            await driver._execute(driver._conn.set_trace_callback, seen.add)
        for size in range(1, 81):
            await storage.msg.append_batch([text(f"s{size}-{i}", f"r{size}-{i}") for i in range(size)])
    finally:
        await storage.close()
    for table in ("seq_conversation", "conversation"):
        # The trace shows the SQL with its values in place: a statement of n rows has n - 1 "),(" between them.
        variants = {sql.count("),(") + 1 for sql in seen if sql.startswith(f"INSERT INTO {table} ")}
        assert variants and variants <= {1, 2, 4, 8, 16, 32, 64, 128, 256}, (table, sorted(variants))
