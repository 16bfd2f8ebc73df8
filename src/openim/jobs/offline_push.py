"""Offline push: the handler of the `offline_push` topic — candidates without a live mobile connection → Pusher.

A job (`services/msg/offline_push.py`) names the candidates of one committed message. When it runs, it decides who gets
a push (docs/protocol/messages.md §4, step 10): a candidate with a live iOS or Android connection (presence, read now)
got the message on that device and is skipped; others — offline, or online on web or desktop only — are pushed. In a
group, members whose conversation receive option is "do not receive" (1) or "receive without notification" (2) are
skipped too (single chats settled this at send time: such a message has `offlinePush` false). The rest go to the
`Pusher` in one call; a Pusher that raises makes the job fail, and the worker retries it.
"""

from __future__ import annotations

import logging

from openim.infra.presence import Presence
from openim.infra.pushers import Pusher
from openim.infra.queue import Job
from openim.protocol.constants import ANDROID, IOS, RecvMsgOpt, SessionType
from openim.services.msg.offline_push import decode
from openim.storage import Storage

__all__ = ["MOBILE_PLATFORMS", "OfflinePushHandler"]

logger = logging.getLogger("openim.jobs")

MOBILE_PLATFORMS = frozenset({IOS, ANDROID})  # a live connection on these received the message: no offline push


class OfflinePushHandler:
    """`await handler(job)`: push the offline recipients of one offline-push job."""

    def __init__(self, presence: Presence, storage: Storage, pusher: Pusher) -> None:
        self.presence = presence
        self.storage = storage
        self.pusher = pusher

    async def __call__(self, job: Job) -> None:
        try:
            push = decode(job.payload)
        except ValueError:
            logger.error("offline_push job %s is malformed: dropped", job.id)
            return
        users = await self.offline_recipients(push.user_ids)
        msg = push.msg
        if users and msg.sessionType in (SessionType.READ_GROUP_CHAT, SessionType.WRITE_GROUP_CHAT):
            muted: set[str] = set()
            for opt in (RecvMsgOpt.NOT_RECEIVE, RecvMsgOpt.RECEIVE_NOT_NOTIFY):
                muted.update(await self.storage.conversation.owner_ids(push.conversation_id, recv_msg_opt=opt))
            users = [u for u in users if u not in muted]
        if users:
            await self.pusher.push(users, msg, conversation_id=push.conversation_id, operation_id=push.operation_id)

    async def offline_recipients(self, user_ids: tuple[str, ...]) -> list[str]:
        """Those of `user_ids` with no live iOS or Android connection, in the given order."""
        online = await self.presence.online_platforms(user_ids)
        return [u for u in dict.fromkeys(user_ids) if not MOBILE_PLATFORMS.intersection(online.get(u, ()))]
