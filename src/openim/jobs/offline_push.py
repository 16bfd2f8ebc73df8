"""Offline push: the handler of the `offline_push` topic — who gets a push, what it says, then the Pusher.

A job (`services/msg/offline_push.py`) names the candidates of one committed message. When it runs, `decide`
settles the push (docs/push.md "Who gets a push"), in OpenIM's order (its `internal/push/push_handler.go`):

1. A candidate with a live iOS or Android connection (presence, read now) got the message on that device and is
   skipped; others — offline, online on web or desktop only, or on iOS with the app in background (which the
   gateway does not push to) — stay.
2. In a group, members whose conversation receive option is 1 (do not receive) or 2 (receive without
   notification) are skipped, as OpenIM's GetConversationOfflinePushUserIDs does; so are members whose global
   receive option (/user/set_global_msg_recv_opt) is 1 or 2 (OpenIM applies that one to single chats only, at send
   time; here it means what it says in groups too). Single chats settled both options at send time: such a
   message carries `offlinePush` false and has no job.
3. The notification text (`notice_of`): offlinePushInfo.title and desc when the sender gave them, else OpenIM's
   placeholder for the content type ("[TEXT]", "[PICTURE]", …, "[NEWMSG]"), the body defaulting to the title;
   `ex`, `iOSPushSound`, `iOSBadgeCount` and the clientMsgID travel with it.

4. The beforeOfflinePush webhook, when on (docs/integrations.md "Pushes"; OpenIM's `webhookBeforeOfflinePush`): its
   body names the users left and the message (with its offlinePushInfo flattened in, when it has one); a non-empty
   `userIDList` in the answer replaces the users (taken as they are, as OpenIM does), an `offlinePushInfo`
   replaces the message's before the notice is made; a refusal — or a failed call with failedContinue false —
   cancels the push (logged, not retried: OpenIM drops it too).

The hook (4) runs before the notification text (3) is made from the offlinePushInfo it may have replaced.
`decide` is the one place where the recipients and payload are decided. The rest goes to the `Pusher` in one
call; a Pusher that raises makes the job fail, and the worker retries it with backoff and keeps it as a dead
letter in the end (`jobs/worker.py`).
"""

from __future__ import annotations

import logging

from openim.infra.presence import Presence
from openim.infra.pushers import Notice, Pusher
from openim.infra.queue import Job
from openim.protocol.constants import ContentType, RecvMsgOpt, SessionType
from openim.protocol.errors import OpenIMError
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.services.msg.offline_push import OfflinePushJob, decode
from openim.storage import Storage
from openim.webhooks import Webhooks
from openim.webhooks.bodies import push_answer, push_body

__all__ = ["PUSH_TITLES", "OfflinePushHandler", "notice_of", "push_title"]

logger = logging.getLogger("openim.jobs")

MUTED = frozenset({RecvMsgOpt.NOT_RECEIVE, RecvMsgOpt.RECEIVE_NOT_NOTIFY})

# OpenIM's ContentType2PushContent (protocol constant.go): the title of a push whose message names none.
PUSH_TITLES: dict[int, str] = {
    ContentType.TEXT: "[TEXT]",
    ContentType.PICTURE: "[PICTURE]",
    ContentType.VOICE: "[VOICE]",
    ContentType.VIDEO: "[VIDEO]",
    ContentType.FILE: "[File]",
    ContentType.AT_TEXT: "[@TEXT]",
}
SIGNAL_TITLE = "[SIGNALINVITE]"  # signaling invitations (1601)
COMMON_TITLE = "[NEWMSG]"  # everything else
SIGNALING_NOTIFICATION = 1601


def push_title(msg: MsgData) -> str:
    """OpenIM's title for a message whose offlinePushInfo has none.

    OpenIM parses an @-text (106) and then leaves the title empty (a push with no text at all); its own table
    says "[@TEXT]", which is used here.
    """
    if msg.contentType == SIGNALING_NOTIFICATION:
        return SIGNAL_TITLE
    return PUSH_TITLES.get(msg.contentType, COMMON_TITLE)


def notice_of(msg: MsgData, user_ids: tuple[str, ...], *, conversation_id: str, operation_id: str) -> Notice:
    """The notification of `msg` for `user_ids`, as OpenIM's getOfflinePushInfos builds it."""
    info = msg.offlinePushInfo
    title = info.title or push_title(msg)
    return Notice(
        user_ids=user_ids,
        title=title,
        content=info.desc or title,
        ex=info.ex,
        ios_push_sound=info.iOSPushSound,
        ios_badge_count=info.iOSBadgeCount,
        client_msg_id=msg.clientMsgID,
        conversation_id=conversation_id,
        msg=msg,
        operation_id=operation_id,
    )


class OfflinePushHandler:
    """`await handler(job)`: decide the offline push of one job and hand it to the pusher."""

    def __init__(self, presence: Presence, storage: Storage, pusher: Pusher, hooks: Webhooks | None = None) -> None:
        self.presence = presence
        self.storage = storage
        self.pusher = pusher
        self.hooks = hooks or Webhooks.off()

    async def __call__(self, job: Job) -> None:
        try:
            push = decode(job.payload)
        except ValueError:
            logger.error("offline_push job %s is malformed: dropped", job.id)
            return
        notice = await self.decide(push)
        if notice is not None:
            await self.pusher.push(notice)

    async def decide(self, push: OfflinePushJob) -> Notice | None:
        """Who gets the push of `push.msg` and what it says; None when nobody does. See the module docstring."""
        users = await self.offline_recipients(push.user_ids)
        msg = push.msg
        if users and msg.sessionType in (SessionType.READ_GROUP_CHAT, SessionType.WRITE_GROUP_CHAT):
            users = await self._not_muted(users, push.conversation_id)
        if not users:
            return None
        if self.hooks.before_offline_push.enable and msg.contentType != ContentType.TYPING:
            try:
                answer = await self.hooks.before_offline_push.ask(
                    push_body(msg, users, operation_id=push.operation_id, offline=True),
                    push_answer,
                    operation_id=push.operation_id,
                )
            except OpenIMError as exc:
                logger.info(
                    "beforeOfflinePush stopped the push of %s: %s",
                    msg.clientMsgID,
                    exc,
                    extra={"operationID": push.operation_id},
                )
                return None
            if answer is not None and answer.user_ids is not None:
                users = list(answer.user_ids)
            if answer is not None and answer.offline_push_info is not None:
                msg.offlinePushInfo.CopyFrom(answer.offline_push_info)
        return notice_of(msg, tuple(users), conversation_id=push.conversation_id, operation_id=push.operation_id)

    async def offline_recipients(self, user_ids: tuple[str, ...]) -> list[str]:
        """Those of `user_ids` with no live iOS or Android connection that takes online pushes, in the given order
        (an iOS app in background gets none: the gateway skips it, as OpenIM's does)."""
        reached = await self.presence.pushed_on_mobile(user_ids)
        unique = dict.fromkeys(user_ids)
        return [u for u in unique if u not in reached] if reached else list(unique)

    async def _not_muted(self, users: list[str], conversation_id: str) -> list[str]:
        """Those of `users` whose conversation and global receive options both allow offline pushes.

        Read from the fact cache (storage/facts.py), which the writes of both options keep current: a group
        message to 1,000 members otherwise read 1,000 user rows and two conversation queries per message, which
        cost as much server CPU as its 1,000 online pushes (docs/push.md "Cost").
        """
        facts = self.storage.facts
        found = await facts.users(users)
        opts = await facts.recv_opts(users)
        kept: list[str] = []
        for u in users:
            profile = found.get(u)
            if profile is not None and profile.global_recv_msg_opt in MUTED:
                continue
            own = opts.get(u)
            if own and own.get(conversation_id) in MUTED:
                continue
            kept.append(u)
        return kept
