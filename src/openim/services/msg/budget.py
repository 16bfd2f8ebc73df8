"""Paging pulls by bytes as well as by count: which of the wanted messages one answer holds.

The Go and wasm SDKs read at most 1 MiB per frame and drop the connection past it; OpenIM answers a pull in one
frame whatever its size, so a few large messages made every sync of a conversation fail. A pull here chooses, from
the stored sizes (`MsgRepo.msg_sizes`), the messages that fit `msg.pullMaxBytes`, most wanted first, taking one
message of each conversation in turn so that every conversation gets its newest before any gets its second. A
conversation stops at its first message that no longer fits (no holes inside a conversation); what is left out is
what the SDKs fetch later, when the user scrolls (they ask again for seqs they lack). A message larger than the
whole budget alone (stored before the limits, or under larger ones) is answered as a placeholder, so it cannot
block its conversation. Pure functions; `services/msg/sync.py` calls them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from openim.protocol.pb.sdkws_pb2 import MsgData

__all__ = ["MAX_PULL_SEQS", "MSG_OVERHEAD", "capped", "choose", "conversation_overhead", "trim"]

# Seqs considered per pull, over all its conversations: bounds the work of a request naming a million seqs
# (OpenIM's SDKs ask for at most 100 messages per pull, 50 per history page).
MAX_PULL_SEQS: Final = 10_000
# Bytes a message costs in the answer besides its stored size: its field tag and length, the read flag, and
# room for what rendering changes (a revoked body, a rewritten quote), which `trim` checks afterwards.
MSG_OVERHEAD: Final = 64


def conversation_overhead(conversation_id: str) -> int:
    """Bytes one conversation costs in a pull answer: its map entry, ID, isEnd and endSeq."""
    return len(conversation_id) + 32


def choose(
    wanted: Mapping[str, Sequence[int]], sizes: Mapping[str, Mapping[int, int]], budget: int
) -> dict[str, set[int]]:
    """The seqs of each conversation the answer holds; `wanted` lists each conversation's seqs most wanted first.

    A seq without a stored message, or with one larger than `budget` (read as a placeholder), costs only the
    overhead. At most MAX_PULL_SEQS seqs are considered.
    """
    chosen: dict[str, set[int]] = {cid: set() for cid in wanted}
    queues = {cid: list(seqs) for cid, seqs in wanted.items() if seqs}
    used = 0
    considered = 0
    index = 0
    while queues and considered < MAX_PULL_SEQS:
        for cid in list(queues):
            seqs = queues[cid]
            if index >= len(seqs) or considered >= MAX_PULL_SEQS:
                del queues[cid]
                continue
            considered += 1
            seq = seqs[index]
            size = sizes.get(cid, {}).get(seq, 0)
            cost = MSG_OVERHEAD + (size if size <= budget else 0)
            if index == 0:
                cost += conversation_overhead(cid)
            if used + cost > budget:
                del queues[cid]
                continue
            used += cost
            chosen[cid].add(seq)
        index += 1
    return chosen


def trim(msgs: dict[str, list[MsgData]], priority: Mapping[str, Sequence[int]], budget: int) -> None:
    """After rendering: drop the least wanted messages until the answer's messages fit `budget` (in place).

    `choose` planned with stored sizes; rendering rarely adds to them (a revoked body, a quote rewritten), and
    this makes sure the answer still fits. `priority` is `choose`'s `wanted`.
    """
    total = sum(conversation_overhead(cid) + sum(m.ByteSize() + 8 for m in got) for cid, got in msgs.items() if got)
    if total <= budget:
        return
    rank = {cid: {seq: i for i, seq in enumerate(seqs)} for cid, seqs in priority.items()}
    order = sorted(
        ((rank.get(cid, {}).get(m.seq, 0), cid, m) for cid, got in msgs.items() for m in got),
        key=lambda item: item[0],
        reverse=True,
    )  # least wanted first
    dropped: set[int] = set()
    for _, _, m in order:
        if total <= budget:
            break
        dropped.add(id(m))
        total -= m.ByteSize() + 8
    for cid, got in msgs.items():
        msgs[cid] = [m for m in got if id(m) not in dropped]


def capped(wanted: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    """`wanted` cut to MAX_PULL_SEQS seqs in all, each conversation's most wanted kept, conversations in order."""
    out: dict[str, list[int]] = {}
    left = MAX_PULL_SEQS
    for cid, seqs in wanted.items():
        out[cid] = list(seqs[:left])
        left -= len(out[cid])
    return out
