"""MsgCore: what every part of the msg service shares — collaborators, routing, storing and pushing.

`deliver` is the single way a message leaves: an online-only message (`history` false) is published at once
with seq 0; any other goes through the group-commit writer, and `on_commit` — which `MsgWriter` calls after
the commit, in seq order, before the sender is answered — publishes its push. The push (recipients and
operationID) travels with the message as its `NewMsg.tag` and comes back on its `Appended`: no map on the side.
A notification with `isSendMsg` is also stored as a copy in the chat conversation (OpenIM's msgtransfer does the
same). Recipients follow docs/protocol/messages.md §4 step 8: the receiver plus the sender's own devices
(senderSync) for single and notification chats, every member for groups; the online-push hooks, when on, are
asked after the commit and may change who is pushed to (services/msg/push_hooks.py; the pushes of a conversation
keep their order through services/msg/push_order.py), never whose conversation rows a first message makes. The
conversation hooks of the rows a message created leave from `on_commit` (services/msg/conversation_hooks.py).

The group and friend reads are seams (`_group_member_ids`, `_group_send_info`): they use the social-graph
repositories when the storage has them, and refuse group traffic with a clear ArgsError when it does not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from openim.infra.bus import TOPIC_PUSH, Bus, Push
from openim.infra.clock import Clock
from openim.infra.queue import JobQueue
from openim.infra.send_status import MemorySendStatus, SendStatusStore
from openim.protocol.constants import (
    OPT_HISTORY,
    OPT_IS_NOT_NOTIFICATION,
    OPT_IS_SEND_MSG,
    OPT_OFFLINE_PUSH,
    OPT_SENDER_SYNC,
    OPT_UNREAD_COUNT,
    ContentType,
    SessionType,
)
from openim.protocol.errors import ArgsError
from openim.protocol.ids import (
    chat_conversation_id,
    conversation_id_of,
    new_client_msg_id,
    new_server_msg_id,
    option,
)
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.services.msg import conversation_hooks, offline_push
from openim.services.msg.limits import MsgLimits
from openim.services.msg.push_hooks import hooked, online_push_to
from openim.services.msg.push_order import PushOrder
from openim.services.msg.tips import build_notification, notification_options
from openim.storage import Storage
from openim.storage.commit import Appended, MsgWriter, NewMsg
from openim.webhooks import Webhooks
from openim.webhooks.bodies import key_query, msg_body

__all__ = ["MsgCore"]

logger = logging.getLogger("openim.services")
# How long an offline-push job is retried while the queue (Redis) does not answer: the jobs waiting meanwhile
# are at most this many seconds of sends, each in its own task.
ENQUEUE_RETRY_S = 30.0


@dataclass(frozen=True, slots=True)
class _Pending:
    """What to push once the message is stored: the `NewMsg.tag` of every append, back on its `Appended`.

    `hooked`: an online-push hook is asked first (decided once, when the message is routed, so that the job
    written in the transaction and `on_commit` agree even if the hook is switched meanwhile)."""

    user_ids: tuple[str, ...]
    operation_id: str
    hooked: bool = False


class MsgCore:
    """State and plumbing shared by the parts of MsgService."""

    def __init__(
        self,
        storage: Storage,
        writer: MsgWriter,
        bus: Bus,
        clock: Clock,
        *,
        admin_user_ids: list[str] | tuple[str, ...] | frozenset[str],
        friend_verify: bool = False,
        send_status: SendStatusStore | None = None,
        queue: JobQueue | None = None,
        limits: MsgLimits | None = None,
        hooks: Webhooks | None = None,
    ) -> None:
        self.storage = storage
        self.writer = writer
        self.bus = bus
        self.clock = clock
        self.admin_user_ids = frozenset(admin_user_ids)
        self.friend_verify = friend_verify
        # check_msg_is_send_success's store: in memory, or Redis so that every process answers (runtime.py)
        self.send_status: SendStatusStore = send_status if send_status is not None else MemorySendStatus()
        self.queue = queue  # None: no offline push (tests, tools)
        # True when the message writer writes the offline-push jobs in its own transaction (runtime.py, with the
        # database queue: `DbQueue.with_messages`), so on_commit enqueues none.
        self.jobs_in_commit = False
        self.limits = limits or MsgLimits()  # message sizes and the bytes of a pull (services/msg/limits.py)
        self._enqueueing: set[asyncio.Future[None]] = set()
        self.hooks = hooks or Webhooks.off()
        self._push_order = PushOrder()  # the pushes waiting for an online-push hook, per conversation

    # ---- after the commit -----------------------------------------------------------------------------------

    def on_commit(self, batch: list[Appended]) -> None:
        """MsgWriter's callback: publish the push of each committed message, in commit (seq) order.

        A resend (duplicate) is pushed again to its sender's devices only, so the resending device learns
        the seq it missed; other recipients had the first push. A new message whose online-push hook is on is
        pushed once the hook answered (`_push_when_asked`); a conversation's pushes behind it wait for it.
        """
        for appended in batch:
            pending = appended.tag
            if not isinstance(pending, _Pending):
                continue  # appended by someone else sharing the writer: nothing to push from here
            if pending.hooked and not appended.duplicate:
                self._push_when_asked(appended.conversation_id, appended.msg, pending, stored=True)
            else:
                user_ids = (appended.msg.sendID,) if appended.duplicate else pending.user_ids
                if user_ids:
                    self._push(Push(appended.conversation_id, appended.msg, user_ids, pending.operation_id))
            if not appended.duplicate:
                if self.hooks.after_msg_save_db.enable:
                    self._after_save(appended, pending.operation_id)
                if appended.created and conversation_hooks.hooked(self.hooks, appended.msg):
                    self._conversations_created(appended, pending.operation_id)
        if self.queue is not None and not self.jobs_in_commit:
            jobs = self.offline_push_payloads(batch)
            if jobs:
                # One enqueue per commit batch: with the database queue that is one transaction.
                self._spawn(self._enqueue(self.queue, jobs))

    def offline_push_payloads(self, batch: list[Appended]) -> list[bytes]:
        """The offline-push jobs of a batch, encoded: one per new message with candidates. A message whose online
        push hook is asked has none here: its job is enqueued once the hook answered (`_pushed`)."""
        jobs: list[bytes] = []
        for appended in batch:
            pending = appended.tag
            if isinstance(pending, _Pending) and not appended.duplicate and not pending.hooked:
                job = self._offline_push_job(appended, pending)
                if job is not None:
                    jobs.append(offline_push.encode(job))
        return jobs

    def _offline_push_job(self, appended: Appended, pending: _Pending) -> offline_push.OfflinePushJob | None:
        """The offline-push job of a committed message, if it has candidates (docs/protocol/messages.md §4 step 10).

        The worker picks the offline recipients when it runs.
        """
        user_ids = offline_push.candidates(appended.msg, pending.user_ids)
        if not user_ids:
            return None
        return offline_push.OfflinePushJob(appended.conversation_id, appended.msg, user_ids, pending.operation_id)

    # ---- pushes that wait for an online-push hook (services/msg/push_hooks.py) --------------------------------

    def _push_when_asked(self, conversation_id: str, msg: MsgData, pending: _Pending, *, stored: bool) -> None:
        """Ask the online-push hook of `msg` now, push (and, `stored`, enqueue its offline push) once it answered
        and the conversation's earlier pushes left; nobody waits for it but `drain_jobs`."""
        decide = online_push_to(self.hooks, msg, pending.user_ids, operation_id=pending.operation_id)
        self._track(
            self._push_order.add(
                conversation_id, decide, lambda push_to: self._pushed(conversation_id, msg, pending, push_to, stored)
            )
        )

    def _push(self, push: Push) -> None:
        """Publish `push` now, or after the pushes of its conversation still waiting for a hook's answer (the
        map is empty unless a hook is on)."""
        waiting = self._push_order.tails
        if waiting and push.conversation_id in waiting:
            self._track(self._push_order.add(push.conversation_id, _ready(push), self._publish))
        else:
            self.bus.publish(TOPIC_PUSH, push)

    def _publish(self, push: Push) -> None:
        self.bus.publish(TOPIC_PUSH, push)

    def _pushed(
        self, conversation_id: str, msg: MsgData, pending: _Pending, push_to: tuple[str, ...], stored: bool
    ) -> None:
        """The hook answered: push to whom it left (nobody when it refused), then queue the offline push of a
        stored message for them. The job is a transaction of its own here, after the answer, not one written
        with the message (docs/integrations.md "Pushes")."""
        if push_to:
            self.bus.publish(TOPIC_PUSH, Push(conversation_id, msg, push_to, pending.operation_id))
        if not stored or self.queue is None:
            return
        user_ids = offline_push.candidates(msg, push_to)
        if user_ids:
            job = offline_push.OfflinePushJob(conversation_id, msg, user_ids, pending.operation_id)
            self._spawn(self._enqueue(self.queue, [offline_push.encode(job)]))

    def _after_save(self, appended: Appended, operation_id: str) -> None:
        """afterMsgSaveDB of a committed message (services/msg/hooks.py), queued by a task as the offline push."""
        hook = self.hooks.after_msg_save_db
        msg = appended.msg
        if not hook.accepts(msg.contentType):
            return
        group = msg.sessionType in (SessionType.READ_GROUP_CHAT, SessionType.WRITE_GROUP_CHAT)
        if not hook.attends(msg.groupID if group else msg.recvID):
            return
        body = msg_body(msg, operation_id=operation_id, recvID="", groupID="")
        if group:
            body["groupID"] = msg.groupID
        elif msg.sessionType in (SessionType.SINGLE_CHAT, SessionType.NOTIFICATION_CHAT):
            body["recvID"] = msg.recvID
        self._spawn(hook.fire(body, operation_id=operation_id, query=key_query(msg)))

    def _conversations_created(self, appended: Appended, operation_id: str) -> None:
        """The conversation hooks of the rows this message created (services/msg/conversation_hooks.py), in a task
        as the offline push: the commit path never waits for the app server."""
        self._spawn(
            conversation_hooks.created(
                self.hooks, self.storage.conversation, appended, operation_id=operation_id, now=self.clock.now_ms()
            )
        )

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` after the commit, in a task that `drain_jobs` waits for (the caller never does)."""
        self._track(asyncio.ensure_future(work))

    def _track(self, task: asyncio.Future[None]) -> None:
        self._enqueueing.add(task)
        task.add_done_callback(self._enqueueing.discard)

    async def _enqueue(self, queue: JobQueue, payloads: list[bytes]) -> None:
        # The messages are committed and acknowledged already, so a queue that is briefly away (a Redis restart)
        # is waited for rather than losing the pushes: retried with backoff for ENQUEUE_RETRY_S, then given up.
        deadline = asyncio.get_running_loop().time() + ENQUEUE_RETRY_S
        pause = 0.1
        while True:
            try:
                await queue.enqueue_many(offline_push.TOPIC_OFFLINE_PUSH, payloads)
                return
            except Exception:
                if asyncio.get_running_loop().time() + pause > deadline:
                    logger.exception(
                        "%d offline-push jobs not enqueued: the messages are stored, only their offline pushes "
                        "are lost",
                        len(payloads),
                    )
                    return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)

    async def drain_jobs(self) -> None:
        """Wait until every job handed to the queue so far is enqueued and every push waiting for a hook left
        (orderly shutdown, tests)."""
        while self._enqueueing:
            await asyncio.gather(*self._enqueueing, return_exceptions=True)

    # ---- routing --------------------------------------------------------------------------------------------

    async def route(self, msg: MsgData, *, operation_id: str) -> Appended | None:
        """Store (or push online only) a verified, encapsulated message; the answer for the sender.

        Returns the Appended of the message the sender sees (its chat or `n_` conversation), None when the
        message was online-only. A notification with isSendMsg also stores its chat copy.
        """
        if option(msg, OPT_IS_NOT_NOTIFICATION) or not option(msg, OPT_IS_SEND_MSG):
            return await self.deliver(msg, operation_id=operation_id)
        copy = MsgData()
        copy.CopyFrom(msg)
        copy.clientMsgID = new_client_msg_id(msg.sendID)  # (sendID, clientMsgID) is unique per stored message
        copy.options.clear()
        copy.options[OPT_OFFLINE_PUSH] = option(msg, OPT_OFFLINE_PUSH)
        copy.options[OPT_UNREAD_COUNT] = option(msg, OPT_UNREAD_COUNT)
        msg.options[OPT_OFFLINE_PUSH] = False
        msg.options[OPT_UNREAD_COUNT] = False
        results = await asyncio.gather(
            self.deliver(copy, operation_id=operation_id), self.deliver(msg, operation_id=operation_id)
        )
        return results[1]

    async def deliver(self, msg: MsgData, *, operation_id: str) -> Appended | None:
        """Push an online-only message now, or store it and let `on_commit` push it; see `route`."""
        conversation_id = conversation_id_of(msg)
        if not conversation_id:
            raise ArgsError("unknown sessionType")
        recipients = await self.recipients(msg)
        asks = self._asks_push_hook(msg)
        if not option(msg, OPT_HISTORY):
            msg.seq = 0
            if asks:
                self._push_when_asked(conversation_id, msg, _Pending(recipients, operation_id, True), stored=False)
            elif recipients:
                self._push(Push(conversation_id, msg, recipients, operation_id))
            return None
        new = self._new_msg(msg, conversation_id, recipients, operation_id, asks)
        task = asyncio.ensure_future(self.writer.append(new))
        # A sender that goes away (its request cancelled) does not take its message with it: the append
        # goes on, and the push leaves from on_commit as for any other message.
        return await asyncio.shield(task)

    async def deliver_many(self, msgs: list[MsgData], *, operation_id: str) -> list[Appended | BaseException | None]:
        """`deliver` for many messages at once: their appends are queued back to back (`MsgWriter.enqueue_many`),
        so they commit together, one transaction per writer batch instead of one per message.

        One result per message, in order: its Appended, None when it was online-only, or the exception that
        stopped it (a failed transaction fails every message it held; none stored unless the commit's answer was
        lost, storage/commit.py).
        """
        results: list[Appended | BaseException | None] = [None] * len(msgs)
        stored: list[tuple[int, NewMsg]] = []
        for i, msg in enumerate(msgs):
            if not option(msg, OPT_HISTORY):
                try:
                    results[i] = await self.deliver(msg, operation_id=operation_id)
                except Exception as exc:
                    results[i] = exc
                continue
            conversation_id = conversation_id_of(msg)
            if not conversation_id:
                results[i] = ArgsError("unknown sessionType")
                continue
            recipients = await self.recipients(msg)
            stored.append((i, self._new_msg(msg, conversation_id, recipients, operation_id, self._asks_push_hook(msg))))
        futures = await self.writer.enqueue_many([new for _, new in stored])
        # As in deliver: a caller that goes away does not take the messages with it.
        outcomes = await asyncio.shield(asyncio.gather(*futures, return_exceptions=True))
        for (i, _), outcome in zip(stored, outcomes, strict=True):
            results[i] = outcome
        return results

    def _asks_push_hook(self, msg: MsgData) -> bool:
        """Whether the push of `msg` waits for an online-push hook's answer (never with both hooks off)."""
        hooks = self.hooks
        if hooks.before_online_push.enable or hooks.before_group_online_push.enable:
            return hooked(hooks, msg)
        return False

    async def recipients(self, msg: MsgData) -> tuple[str, ...]:
        """Who gets the push (docs/protocol/messages.md §4 step 8): group members, or receiver and senderSync sender."""
        if msg.sessionType in (SessionType.READ_GROUP_CHAT, SessionType.WRITE_GROUP_CHAT):
            return await self._group_member_ids(msg.groupID)
        users = [msg.recvID]
        if option(msg, OPT_SENDER_SYNC) and msg.sendID != msg.recvID:
            users.append(msg.sendID)
        return tuple(u for u in users if u)

    @staticmethod
    def _new_msg(
        msg: MsgData, conversation_id: str, recipients: tuple[str, ...], operation_id: str, asks_hook: bool
    ) -> NewMsg:
        """The append of a stored message, with its push (to the recipients, or to whom its online-push hook
        leaves when `asks_hook`) as the tag and the owners whose rows it needs (from `recipients`)."""
        tag = _Pending(recipients, operation_id, asks_hook)
        if conversation_id.startswith("n_"):
            return NewMsg(conversation_id, msg, (), tag)
        if msg.sessionType == SessionType.SINGLE_CHAT:
            return NewMsg(conversation_id, msg, tuple(dict.fromkeys((msg.sendID, msg.recvID))), tag)
        if msg.sessionType == SessionType.NOTIFICATION_CHAT:
            return NewMsg(conversation_id, msg, (msg.recvID,), tag)
        # A group: every member's row is made with the conversation's first message (O(members) once), decided
        # by the writer from the seq it allocates; later messages write none and read nothing for it. Members
        # joining later get theirs from the group service.
        return NewMsg(conversation_id, msg, recipients, tag, owners_first_only=True)

    # ---- the msg service's own notifications ------------------------------------------------------------------

    async def notify(
        self,
        send_id: str,
        recv_id: str,
        content_type: int,
        tips: Message,
        *,
        session_type: int,
        reliable: bool,
        operation_id: str,
    ) -> None:
        """Send a tips notification; a failure is logged and swallowed (the request it follows succeeded)."""
        if send_id == recv_id and content_type == ContentType.HAS_READ_RECEIPT:
            reliable = False  # a read receipt to oneself is online only (OpenIM)
        msg = build_notification(
            send_id,
            recv_id,
            content_type,
            tips,
            session_type=session_type,
            now=self.clock.now_ms(),
            options=notification_options(reliable=reliable),
        )
        try:
            await self.send_notification(msg, operation_id=operation_id)
        except Exception:
            logger.exception("notification %d from %s to %s failed", content_type, send_id, recv_id)

    async def send_notification(self, msg: MsgData, *, operation_id: str) -> Appended | None:
        """The internal send path: no access or permission checks (notifications, server-made messages)."""
        if not msg.serverMsgID:
            msg.serverMsgID = new_server_msg_id(msg.sendID)
        if not msg.sendTime:
            msg.sendTime = self.clock.now_ms()
        if not msg.clientMsgID:
            msg.clientMsgID = new_client_msg_id(msg.sendID)
        return await self.route(msg, operation_id=operation_id)

    # ---- seams for the social-graph work --------------------------------------------------------------------

    async def _group_member_ids(self, group_id: str) -> tuple[str, ...]:
        """Every member of the group (push recipients, a group's first-message rows), from the fact cache."""
        return (await self.storage.facts.members(group_id)).ids

    def chat_conversation_id(self, msg: MsgData) -> str:
        """The chat conversation of `msg` (si_/sg_/sn_), whatever its isNotNotification flag."""
        return chat_conversation_id(msg)


async def _ready(push: Push) -> Push:
    """A push that waits for no answer, only for its turn (`MsgCore._push`)."""
    return push
