"""The online-push webhooks, beforeOnlinePush and beforeGroupOnlinePush (docs/integrations.md "Pushes"), as OpenIM's
push service fires them (`internal/push/callback.go`, `push_handler.go` in open-im-server):

- beforeOnlinePush: single and notification chats, with the users the message is pushed to (the receiver, and the
  sender's own devices with senderSync). OpenIM reads nothing of its answer but the refusal.
- beforeGroupOnlinePush: groups, with no user list; a non-empty `userIDList` in the answer replaces the members
  the message is pushed to (online, and so the candidates of its offline push).
- Both skip typing (113). A refusal — or a failed call when failedContinue is false — cancels the push, online
  and offline (OpenIM's Push2User / Push2Group return before either); the message itself is stored all the same.

`MsgCore.deliver` asks them where it settles the recipients, before the message goes to the writer, so that the
answer travels with the message to `on_commit`: the send waits for the hook (OpenIM's push service asks after
storing, and the sender does not wait), and `seq` in the group body is 0, the message having none yet. Callers
check the two hooks' `enable` first: off, nothing here runs.
"""

from __future__ import annotations

import logging

from openim.protocol.constants import ContentType, SessionType
from openim.protocol.errors import OpenIMError
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.webhooks import Webhooks
from openim.webhooks.bodies import group_push_body, push_answer, push_body

__all__ = ["online_push_to"]

logger = logging.getLogger("openim.services")

_GROUPS = (SessionType.READ_GROUP_CHAT, SessionType.WRITE_GROUP_CHAT)


async def online_push_to(
    hooks: Webhooks, msg: MsgData, recipients: tuple[str, ...], *, operation_id: str
) -> tuple[str, ...]:
    """Who the message is pushed to once its push hook answered: `recipients`, the group hook's user list, or ()
    when the hook refused (or failed with failedContinue false)."""
    if msg.contentType == ContentType.TYPING:
        return recipients
    group = msg.sessionType in _GROUPS
    hook = hooks.before_group_online_push if group else hooks.before_online_push
    if not hook.enable:
        return recipients
    body = (
        group_push_body(msg, operation_id=operation_id)
        if group
        else push_body(msg, recipients, operation_id=operation_id)
    )
    try:
        answer = await hook.ask(body, push_answer, operation_id=operation_id)
    except OpenIMError as exc:
        logger.info(
            "%s stopped the push of %s: %s", hook.name, msg.clientMsgID, exc, extra={"operationID": operation_id}
        )
        return ()
    if group and answer is not None and answer.user_ids is not None:
        return answer.user_ids
    return recipients
