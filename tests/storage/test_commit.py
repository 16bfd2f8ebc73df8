"""Tests for openim.storage.commit: group commit, seq order of on_commit, failures, duplicates, close."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

import pytest
from tests.storage.msgs import text

from openim.storage import Storage
from openim.storage.commit import Appended, MsgWriter, NewMsg, WriterClosed
from openim.storage.msg import repo as msg_module


async def test_200_concurrent_sends_get_contiguous_seqs_in_commit_order(storage: Storage) -> None:
    """200 concurrent appends over 5 conversations: seqs 1..40 each, no gaps, on_commit in seq order."""
    committed: list[Appended] = []
    writer = MsgWriter(storage.msg, on_commit=committed.extend)
    peers = ["b", "c", "d", "e", "f"]
    news = [text("a", peers[i % 5], f"m{i}") for i in range(200)]
    results = await asyncio.gather(*(writer.append(n) for n in news))
    await writer.close()

    by_conversation: dict[str, list[int]] = defaultdict(list)
    for a in committed:
        by_conversation[a.conversation_id].append(a.seq)
    assert sorted(by_conversation) == [f"si_a_{p}" for p in peers]
    for seqs in by_conversation.values():
        assert seqs == list(range(1, 41))  # strictly increasing, gap-free, in on_commit order
    for new, result in zip(news, results, strict=True):
        assert result.conversation_id == new.conversation_id and not result.duplicate
        assert result.msg.clientMsgID == new.msg.clientMsgID
    stored = await storage.msg.get_msgs("a", "si_a_b", list(range(1, 41)))
    assert [json.loads(m.content)["content"] for m in stored] == [f"m{i}" for i in range(0, 200, 5)]
    assert storage.msg.stats.batches < 200  # concurrent appends were grouped


async def test_callers_resume_only_after_on_commit(storage: Storage) -> None:
    """on_commit runs before any caller of the batch is resumed (pushes leave before the ack)."""
    events: list[str] = []
    writer = MsgWriter(storage.msg, on_commit=lambda batch: events.append(f"commit {len(batch)}"))

    async def send(i: int) -> None:
        await writer.append(text("a", "b", client_msg_id=f"k{i}"))
        events.append("resumed")

    await asyncio.gather(*(send(i) for i in range(3)))
    await writer.close()
    assert events[0].startswith("commit")
    assert events.count("resumed") == 3


async def test_failed_transaction_fails_every_caller_and_writes_nothing(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction failing after some writes: every caller of the batch gets the error, nothing is stored."""
    committed: list[Appended] = []
    writer = MsgWriter(storage.msg, on_commit=committed.extend)
    await writer.append(text("x", "y"))  # a conversation with history, so the failure comes mid-transaction

    real = msg_module.record_many

    async def failing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(msg_module, "record_many", failing)
    gate = asyncio.Event()
    original = storage.msg.append_batch

    async def gated(news: Any) -> Any:
        await gate.wait()  # hold the first batch until every message below is queued
        return await original(news)

    monkeypatch.setattr(storage.msg, "append_batch", gated)
    tasks = [asyncio.create_task(writer.append(n)) for n in (text("x", "y"), text("p", "q"), text("x", "y"))]
    await asyncio.sleep(0.05)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert len(committed) == 1  # only the message before the failure
    states = await storage.msg.seq_states(["si_x_y", "si_p_q"])
    assert states["si_x_y"].max_seq == 1 and "si_p_q" not in states
    assert await storage.conversation.get("p", "si_p_q") is None

    monkeypatch.setattr(msg_module, "record_many", real)
    monkeypatch.setattr(storage.msg, "append_batch", original)
    after = await writer.append(text("x", "y"))
    assert after.seq == 2  # no seq was lost to the failed batch
    await writer.close()


async def test_on_commit_error_does_not_fail_stored_messages(storage: Storage) -> None:
    """If on_commit raises, the callers still get their (stored) messages."""

    def broken(batch: list[Appended]) -> None:
        raise ValueError("publisher down")

    writer = MsgWriter(storage.msg, on_commit=broken)
    result = await writer.append(text("a", "b"))
    await writer.close()
    assert result.seq == 1
    assert (await storage.msg.seq_states(["si_a_b"]))["si_a_b"].max_seq == 1


async def test_duplicates_reach_on_commit_flagged(storage: Storage) -> None:
    """A resend reaches on_commit and its caller as the stored message with duplicate=True."""
    committed: list[Appended] = []
    writer = MsgWriter(storage.msg, on_commit=committed.extend)
    first = await writer.append(text("a", "b", client_msg_id="same"))
    again = await writer.append(text("a", "b", "changed", client_msg_id="same"))
    await writer.close()
    assert again.duplicate and again.seq == first.seq
    assert [a.duplicate for a in committed] == [False, True]


async def test_batches_are_bounded_by_max_batch(storage: Storage) -> None:
    """No transaction holds more than max_batch messages."""
    sizes: list[int] = []
    writer = MsgWriter(storage.msg, on_commit=lambda batch: sizes.append(len(batch)), max_batch=7)
    await asyncio.gather(*(writer.append(text("a", "b")) for _ in range(30)))
    await writer.close()
    assert sum(sizes) == 30 and max(sizes) <= 7


async def test_close_drains_then_refuses(storage: Storage) -> None:
    """close() stores what was queued; later appends raise WriterClosed."""
    writer = MsgWriter(storage.msg, on_commit=lambda batch: None)
    pending = [asyncio.create_task(writer.append(text("a", "b"))) for _ in range(5)]
    await asyncio.sleep(0)
    await writer.close()
    assert sorted(p.result().seq for p in pending) == [1, 2, 3, 4, 5]
    with pytest.raises(WriterClosed):
        await writer.append(NewMsg("si_a_b", text("a", "b").msg))


async def test_a_commit_whose_answer_was_lost_is_pushed_once_found(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transaction commits and the connection breaks before its answer (PostgreSQL cut mid-COMMIT): the
    callers get the error, and once the database answers the lookup, on_commit hears the messages that were stored
    by this attempt — not a resend of an earlier message, not a batch that rolled back."""
    committed: list[Appended] = []
    writer = MsgWriter(storage.msg, on_commit=committed.extend)
    earlier = await writer.append(text("a", "b", "first", client_msg_id="sent-before"))
    original = storage.msg.append_batch
    lookups: list[int] = []
    real_find = storage.msg.find_sent

    async def commit_then_break(news: Any, **kwargs: Any) -> Any:
        await original(news, **kwargs)
        raise ConnectionError("connection was closed in the middle of operation")

    async def away_twice(keys: Any) -> Any:
        lookups.append(len(keys))
        if len(lookups) <= 2:
            raise ConnectionError("connection refused")
        return await real_find(keys)

    monkeypatch.setattr(storage.msg, "append_batch", commit_then_break)
    monkeypatch.setattr(storage.msg, "find_sent", away_twice)
    lost = [text("a", "b", "lost answer"), text("c", "d", "lost answer"), text("a", "b", client_msg_id="sent-before")]
    results = await asyncio.gather(*(writer.append(n) for n in lost), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert committed == [earlier]  # nothing pushed while the outcome is unknown

    async with asyncio.timeout(10):
        while len(committed) == 1:  # noqa: ASYNC110 - the writer's lookup task appends
            await asyncio.sleep(0.05)
    assert len(lookups) == 3  # retried while the database was away
    found = committed[1:]
    assert [(a.conversation_id, a.seq, a.duplicate) for a in found] == [("si_a_b", 2, False), ("si_c_d", 1, False)]
    assert [a.tag for a in found] == [lost[0].tag, lost[1].tag]
    assert [a.msg.serverMsgID for a in found] == [lost[0].msg.serverMsgID, lost[1].msg.serverMsgID]

    async def rolled_back(news: Any, **kwargs: Any) -> Any:
        raise ConnectionError("connection refused")

    monkeypatch.setattr(storage.msg, "append_batch", rolled_back)
    with pytest.raises(ConnectionError):
        await writer.append(text("e", "f"))
    async with asyncio.timeout(10):
        while len(lookups) < 4:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    await writer.close()
    assert len(committed) == 3  # the rolled-back message was looked up, not found, not pushed
