"""The sync calls (docs/protocol/messages.md §5): newest seqs (1001), pulls by range (1002) and by seq list (1005),
read and max seqs (1006), last messages (1007).

A user reads only conversations it owns a row of; others are silently left out, as OpenIM leaves out
conversations it cannot read. An `n_` conversation has no rows: it is readable when its chat twin is
(`n_<a>_<b>` ↔ `si_<a>_<b>`/`sn_<a>_<b>`, `n_<g>` ↔ `sg_<g>`), and `n_<uid>_<uid>` by that user. Unlike OpenIM,
the userID of every request must be the caller (or the caller an admin), and the user's caps apply to 1001
and 1007 too, so a user who left a group is never told about, nor shown, later messages.
Messages returned by 1002 and 1005 are counted in `openim_msg_pulled_total`.

Every answer that carries messages (1002, 1005, 1007) holds at most `msg.pullMaxBytes` of them
(`services/msg/budget.py`): 1002 keeps each conversation's newest, 1005 the seqs nearest to what the client has
(highest first for a Desc page, lowest first for Asc), 1007 the conversations in the order asked. A 1005
conversation cut short says isEnd false, so the client asks again rather than take its history as complete.
"""

from __future__ import annotations

from collections.abc import Iterable

from openim.metrics import MSG_PULLED
from openim.protocol.errors import ArgsError
from openim.protocol.ids import is_notification_conversation_id, notification_twin, self_notification_conversation_id
from openim.protocol.pb import msg_pb2, sdkws_pb2
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.services.auth import Caller
from openim.services.msg.budget import MAX_PULL_SEQS, capped, choose, trim
from openim.services.msg.core import MsgCore
from openim.storage.msg import SeqView

__all__ = ["SyncMixin", "readable_views"]

_TWIN_PREFIXES = ("si_", "sn_", "sg_", "g_")


def _chat_twins(conversation_id: str) -> list[str]:
    rest = conversation_id[2:]
    return [prefix + rest for prefix in _TWIN_PREFIXES]


async def readable_views(core: MsgCore, user_id: str, conversation_ids: Iterable[str]) -> dict[str, SeqView]:
    """The requested conversations `user_id` may read, with their seq views; the others are left out.

    For an `n_` conversation the caps of the user's row do not apply (they count another conversation's
    seqs); its readability comes from the chat twin.
    """
    wanted = list(dict.fromkeys(conversation_ids))
    twins = {c: _chat_twins(c) for c in wanted if is_notification_conversation_id(c)}
    lookup = set(wanted) | {t for ts in twins.values() for t in ts}
    views = await core.storage.msg.seq_views(user_id, lookup)
    own_n = self_notification_conversation_id(user_id)
    out: dict[str, SeqView] = {}
    for cid in wanted:
        view = views[cid]
        if cid in twins:
            if cid == own_n or any(views[t].owned for t in twins[cid]):
                out[cid] = SeqView(cid, view.max_seq, view.min_seq, view.max_seq_time, owned=True)
        elif view.owned:
            out[cid] = view
    return out


class SyncMixin(MsgCore):
    """The sync calls of MsgService."""

    async def get_max_seq(self, caller: Caller, req: sdkws_pb2.GetMaxSeqReq) -> sdkws_pb2.GetMaxSeqResp:
        """1001: the newest seq of each of the user's conversations, their `n_` twins and its own `n_`."""
        user_id = self._user(caller, req.userID)
        own = await self.storage.conversation.list_ids(user_id)
        ids = [*own, *(notification_twin(c) for c in own), self_notification_conversation_id(user_id)]
        views = await readable_views(self, user_id, ids)
        resp = sdkws_pb2.GetMaxSeqResp()
        for cid, view in views.items():
            if view.visible_max > 0:
                resp.maxSeqs[cid] = view.visible_max
        return resp

    async def pull_by_ranges(
        self, caller: Caller, req: sdkws_pb2.PullMessageBySeqsReq
    ) -> sdkws_pb2.PullMessageBySeqsResp:
        """1002: messages by seq range; chat conversations return at most the last `num` of the range."""
        user_id = self._user(caller, req.userID)
        views = await readable_views(self, user_id, (r.conversationID for r in req.seqRanges))
        wanted: dict[str, list[int]] = {}
        ends: dict[str, tuple[bool, int]] = {}
        for r in req.seqRanges:
            view = views.get(r.conversationID)
            if view is None or r.conversationID in wanted:
                continue
            low, high = view.visible_min, view.visible_max
            if low > r.end:
                continue
            begin, end = max(r.begin, low), min(r.end, high)
            if end < begin:
                continue
            if is_notification_conversation_id(r.conversationID):  # every seq of the range (the newest that count)
                seqs = list(range(max(begin, end - MAX_PULL_SEQS + 1), end + 1))
            else:
                if r.num <= 0:
                    continue
                seqs = list(range(max(begin, end - r.num + 1), end + 1))
            wanted[r.conversationID] = seqs
            is_end = high <= r.end if req.order == sdkws_pb2.PullOrderAsc else r.begin <= low
            ends[r.conversationID] = (is_end, 0)
        msgs = await self._budgeted(user_id, wanted, {cid: seqs[::-1] for cid, seqs in wanted.items()})
        MSG_PULLED.inc(sum(len(got) for got in msgs.values()))
        resp = sdkws_pb2.PullMessageBySeqsResp()
        for cid, got in msgs.items():
            if not got:
                continue
            target = resp.notificationMsgs if is_notification_conversation_id(cid) else resp.msgs
            target[cid].Msgs.extend(got)
            target[cid].isEnd = ends[cid][0]
        return resp

    async def pull_by_seqs(self, caller: Caller, req: msg_pb2.GetSeqMessageReq) -> msg_pb2.GetSeqMessageResp:
        """1005: messages by explicit seqs; out-of-range seqs mark the end of history in the pull direction."""
        user_id = self._user(caller, req.userID)
        views = await readable_views(self, user_id, (c.conversationID for c in req.conversations))
        resp = msg_pb2.GetSeqMessageResp()
        wanted: dict[str, list[int]] = {}
        bounds: dict[str, tuple[bool, int]] = {}
        for conv in req.conversations:
            view = views.get(conv.conversationID)
            if view is None:
                continue
            low, high = view.visible_min, view.visible_max
            is_end, end_seq = bounds.get(conv.conversationID, (False, 0))
            seqs = wanted.setdefault(conv.conversationID, [])
            for seq in conv.seqs:
                if seq <= 0:
                    continue
                if low <= seq <= high:
                    seqs.append(seq)
                elif seq < low and req.order == sdkws_pb2.PullOrderDesc:
                    is_end, end_seq = True, low
                elif seq > high and req.order == sdkws_pb2.PullOrderAsc:
                    is_end, end_seq = True, high
            bounds[conv.conversationID] = (is_end, end_seq)
        descending = req.order == sdkws_pb2.PullOrderDesc
        priority = {cid: sorted(s, reverse=descending) for cid, s in wanted.items() if s}
        msgs = await self._budgeted(user_id, {c: s for c, s in wanted.items() if s}, priority)
        MSG_PULLED.inc(sum(len(got) for got in msgs.values()))
        for cid, (is_end, end_seq) in bounds.items():
            target = resp.notificationMsgs if is_notification_conversation_id(cid) else resp.msgs
            pulled = target[cid]
            got = msgs.get(cid, [])
            pulled.Msgs.extend(got)
            if len(got) < len(wanted[cid]):  # cut by the byte budget: the client must not take this as the end
                is_end, end_seq = False, 0
            pulled.isEnd = is_end
            pulled.endSeq = end_seq
        return resp

    async def get_has_read_and_max_seq(
        self, caller: Caller, req: msg_pb2.GetConversationsHasReadAndMaxSeqReq
    ) -> msg_pb2.GetConversationsHasReadAndMaxSeqResp:
        """1006: per conversation (asked, or all the user's) its read position, newest seq (capped) and time."""
        user_id = self._user(caller, req.userID)
        ids = list(req.conversationIDs) or await self.storage.conversation.list_ids(user_id)
        views = await readable_views(self, user_id, ids)
        resp = msg_pb2.GetConversationsHasReadAndMaxSeqResp()
        for cid, view in views.items():
            resp.seqs[cid].maxSeq = view.visible_max
            resp.seqs[cid].hasReadSeq = view.has_read_seq
            resp.seqs[cid].maxSeqTime = view.max_seq_time
        if req.returnPinned:
            resp.pinnedConversationIDs.extend(await self.storage.conversation.ids_where(user_id, pinned=True))
        return resp

    async def get_last_message(self, caller: Caller, req: msg_pb2.GetLastMessageReq) -> msg_pb2.GetLastMessageResp:
        """1007: the newest message the user can see per conversation; conversations without one are left out."""
        user_id = self._user(caller, req.userID)
        views = await readable_views(self, user_id, req.conversationIDs)
        spans = {cid: (v.visible_min, v.visible_max) for cid, v in views.items() if v.visible_max > 0}
        last = {cid: [seq] for cid, seq in (await self.storage.msg.last_seqs(user_id, spans)).items()}
        resp = msg_pb2.GetLastMessageResp()
        for cid, got in (await self._budgeted(user_id, last, last)).items():
            if got:
                resp.msgs[cid].CopyFrom(got[0])
        return resp

    async def _budgeted(
        self, user_id: str, wanted: dict[str, list[int]], priority: dict[str, list[int]]
    ) -> dict[str, list[MsgData]]:
        """The messages of `wanted` (seqs in answer order) that fit the pull budget, `priority` (the same seqs, most
        wanted first) deciding which; see services/msg/budget.py."""
        budget = self.limits.pull_max_bytes
        priority = capped(priority)
        picked = choose(priority, await self.storage.msg.msg_sizes(priority), budget)
        chosen = {cid: [s for s in seqs if s in picked.get(cid, ())] for cid, seqs in wanted.items()}
        msgs = await self.storage.msg.get_msgs_many(user_id, {c: s for c, s in chosen.items() if s}, max_each=budget)
        trim(msgs, priority, budget)
        return msgs

    async def server_time(self) -> int:
        """The server's clock in ms (/msg/get_server_time)."""
        return self.clock.now_ms()

    @staticmethod
    def _user(caller: Caller, user_id: str) -> str:
        if not user_id:
            raise ArgsError("userID is empty")
        caller.require_self_or_admin(user_id)
        return user_id
