"""Chat-record retention (the msgtransfer role's retain_chat_records job): OpenIM's DestructMsgs.

Messages sent before a cutoff (now − `cronTask.retainChatRecords` days) are deleted for everyone, oldest first
per conversation, and the conversation's min seq moves past them, so no reader pulls the gap. OpenIM deletes
whole documents of 100 seqs whose messages are all older than the cutoff and sets the conversation's min seq past
each; here the unit is a conversation's contiguous oldest prefix, so the outcome is the same without the
document boundaries. Nobody is notified (OpenIM sends nothing either): clients keep what they already have.
"""

from __future__ import annotations

from dataclasses import dataclass

from openim.services.msg.core import MsgCore

__all__ = ["Expired", "ExpiryMixin"]

_WALK = 1000  # index entries read per step of the walk over old messages
_CHUNK = 1000  # messages deleted per transaction
_MAX_STEPS = 10_000  # per call: a backlog larger than that is worked off over the next runs


@dataclass(frozen=True, slots=True)
class Expired:
    """Messages a retention run deleted from one conversation: `count` of them, seqs up to `last_seq`."""

    conversation_id: str
    count: int
    last_seq: int


class ExpiryMixin(MsgCore):
    async def destruct_msgs(self, before: int) -> list[Expired]:
        """Delete every message sent before `before` (ms), conversation by conversation; what was deleted.

        Internal: the job is the caller; no access check.
        """
        done: dict[str, Expired] = {}
        after = None
        for _ in range(_MAX_STEPS):
            conversation_ids, after = await self.storage.msg_expiry.conversations_sent_before(
                before, after=after, limit=_WALK
            )
            for cid in conversation_ids:
                while True:
                    count, last = await self.storage.msg_expiry.delete_prefix_before(cid, before, max_rows=_CHUNK)
                    if count:
                        seen = done.get(cid)
                        done[cid] = Expired(cid, count + (seen.count if seen else 0), last)
                    if count < _CHUNK:
                        break
            if after is None:
                break
        return list(done.values())
