"""MsgExpiryRepo (`storage/msg/expiry.py`): the walk over old messages, prefix deletes in chunks and the min seq,
and the newest seq sent by a time — on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.storage.msgs import text

from openim.storage import Storage

SI_AB, SI_AC = "si_a_b", "si_a_c"


async def test_prefix_deletes_oldest_first_in_chunks_and_raises_min_seq(storage: Storage) -> None:
    """Old messages go in seq order, at most max_rows per call; the conversation's min seq follows."""
    await storage.msg.append_batch([text("a", "b", send_time=t) for t in (100, 200, 300, 400, 900)])
    expiry = storage.msg_expiry
    assert await expiry.delete_prefix_before(SI_AB, 500, max_rows=3) == (3, 3)
    assert (await storage.msg.seq_states([SI_AB]))[SI_AB].min_seq == 4
    assert await expiry.delete_prefix_before(SI_AB, 500, max_rows=3) == (1, 4)
    assert await expiry.delete_prefix_before(SI_AB, 500, max_rows=3) == (0, 0)
    assert (await storage.msg.seq_states([SI_AB]))[SI_AB].min_seq == 5
    assert [m.seq for m in await storage.msg.get_msgs("a", SI_AB, [5])] == [5]


async def test_prefix_stops_at_the_first_young_message(storage: Storage) -> None:
    """A message sent after the cutoff ends the prefix, even if later seqs are older (clock skew)."""
    await storage.msg.append_batch([text("a", "b", send_time=t) for t in (100, 900, 200)])
    assert await storage.msg_expiry.delete_prefix_before(SI_AB, 500, max_rows=10) == (1, 1)


async def test_walk_lists_conversations_with_old_messages_once_each_step(storage: Storage) -> None:
    """The keyset walk reads index entries after the last one, so a small limit still reaches every conversation."""
    await storage.msg.append_batch(
        [text("a", "b", send_time=100), text("a", "c", send_time=150), text("a", "b", send_time=700)]
    )
    expiry = storage.msg_expiry
    found: list[str] = []
    after = None
    for _ in range(10):
        ids, after = await expiry.conversations_sent_before(500, after=after, limit=1)
        found += ids
        if after is None:
            break
    assert found == [SI_AB, SI_AC]


async def test_last_seq_sent_by(storage: Storage) -> None:
    """The newest seq sent at or before a time; 0 when none is that old."""
    await storage.msg.append_batch([text("a", "b", send_time=t) for t in (100, 200, 300)])
    expiry = storage.msg_expiry
    assert [await expiry.last_seq_sent_by(SI_AB, t) for t in (50, 100, 250, 999)] == [0, 1, 2, 3]
    assert await expiry.last_seq_sent_by("si_x_y", 999) == 0
