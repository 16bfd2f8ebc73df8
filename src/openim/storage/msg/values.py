"""The values of the message write and read paths: what goes into `MsgRepo` and what comes out."""

from __future__ import annotations

from dataclasses import dataclass

from openim.protocol.pb.sdkws_pb2 import MsgData

__all__ = ["AppendStats", "Appended", "MsgRevoke", "NewMsg", "SeqState", "SeqView", "StoredMsg"]


@dataclass(frozen=True, slots=True)
class NewMsg:
    """One message to store.

    `msg` has seq 0 and every other field final. `owners` are the users whose conversation row must exist
    after this message (single chat: both; a group's first message: its members; `n_` conversations: none);
    a created row's conversation_type is the message's sessionType, its user_id the other party (1, 4) or its
    group_id the group (3). With `owners_first_only` the rows are made only when the message is its
    conversation's first (seq 1): a group's members get theirs with its first message, later messages write none.
    `tag` is the caller's own: it comes back on the message's `Appended` untouched (the msg service carries each
    message's push there).
    """

    conversation_id: str
    msg: MsgData
    owners: tuple[str, ...] = ()
    tag: object = None
    owners_first_only: bool = False


@dataclass(frozen=True, slots=True)
class Appended:
    """A message after its transaction committed: `msg` carries its seq (for a resend, the stored message);
    `tag` is the `NewMsg`'s. `created` names the owners whose conversation row the transaction created for this
    message's conversation, on the first message of that conversation in the batch (the conversation hooks
    fire for them); () on every other."""

    conversation_id: str
    seq: int
    msg: MsgData
    duplicate: bool  # (send_id, client_msg_id) was stored before: nothing new was written
    tag: object = None
    created: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MsgRevoke:
    """Who revoked a message and when (OpenIM's RevokeModel); `role` is the revoker's level or group role."""

    role: int
    user_id: str
    nickname: str
    time: int


@dataclass(frozen=True, slots=True)
class StoredMsg:
    """A message as stored, before any per-user rendering: raw `msg` (with its seq), read flag, revoke."""

    conversation_id: str
    seq: int
    msg: MsgData
    is_read: bool
    revoke: MsgRevoke | None


@dataclass(frozen=True, slots=True)
class SeqState:
    """A conversation's seq counter: newest seq and its send time, and the conversation-wide minimum."""

    max_seq: int
    min_seq: int
    max_seq_time: int


@dataclass(frozen=True, slots=True)
class SeqView:
    """A conversation's seqs as one user sees them: the counter plus the user's row (if it owns one).

    `user_min_seq`/`user_max_seq` are the row's caps (0 = none), `has_read_seq` its read position.
    """

    conversation_id: str
    max_seq: int
    min_seq: int
    max_seq_time: int
    owned: bool
    user_min_seq: int = 0
    user_max_seq: int = 0
    has_read_seq: int = 0

    @property
    def visible_min(self) -> int:
        """The first seq this user may read (at least 1)."""
        return max(1, self.min_seq, self.user_min_seq)

    @property
    def visible_max(self) -> int:
        """The last seq this user may read: the counter, capped by the user's max_seq when it has one."""
        if self.user_max_seq > 0:
            return min(self.max_seq, self.user_max_seq)
        return self.max_seq


@dataclass(slots=True)
class AppendStats:
    """What `append_batch` wrote since the repository was built: proves the O(1)-rows-per-message claim."""

    batches: int = 0
    messages: int = 0
    duplicates: int = 0
    rows: int = 0  # rows inserted or updated: msg, seq_conversation, conversation, version logs

    @property
    def rows_per_message(self) -> float:
        """Rows written per stored message (0 before the first one)."""
        return self.rows / self.messages if self.messages else 0.0

    @property
    def mean_batch(self) -> float:
        """Mean number of messages (resends included) per transaction."""
        return (self.messages + self.duplicates) / self.batches if self.batches else 0.0
